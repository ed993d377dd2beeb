; Inno Setup 6 script: the per-user Windows installer for PBX Companion.
;
; Packs the frozen app (build/dist/pbx-companion, from `python build/package.py`) into
; build/installer/PBX-Companion-<version>-windows-x64-setup.exe. No administrator rights: it
; installs under %LOCALAPPDATA%\Programs, adds a Start-menu entry and an uninstaller.
;
;   iscc /DAppVersion=0.1.0 installer\windows\pbx-companion.iss
;
; Signing (the release workflow, when the certificate secrets are set): pass /DSIGN=1 and define
; the sign tool named "signtool" on the command line, e.g.
;   iscc /DAppVersion=0.1.0 /DSIGN=1 "/Ssigntool=signtool.exe sign /sha1 <thumbprint> /fd sha256 /tr http://timestamp.digicert.com /td sha256 $f" installer\windows\pbx-companion.iss
; Then both executables, the setup and the uninstaller are signed. Without /DSIGN nothing is.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z (the release workflow reads app.__version__)
#endif

#define AppName "PBX Companion"
#define GuiExe "PBX Companion.exe"
#define CliExe "pbx-companion.exe"
#define Dist "..\..\build\dist\pbx-companion"

[Setup]
; The AppId ties upgrades and the uninstaller to this product: never change it.
AppId={{6B0D7F2E-4C1A-4E8B-9D53-2F7A1C9E5B40}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=PBX Companion
VersionInfoVersion={#AppVersion}
VersionInfoProductVersion={#AppVersion}
VersionInfoProductName={#AppName}
VersionInfoDescription={#AppName} installer
VersionInfoCompany=PBX Companion
; Per user: no UAC prompt; {autopf} is %LOCALAPPDATA%\Programs in this mode.
PrivilegesRequired=lowest
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
WizardStyle=modern
SetupIconFile=..\..\resources\icons\pbx-companion.ico
UninstallDisplayIcon={app}\{#GuiExe}
UninstallDisplayName={#AppName}
OutputDir=..\..\build\installer
OutputBaseFilename=PBX-Companion-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
; An upgrade replaces files the running app holds open: ask to close it first.
CloseApplications=yes
#ifdef SIGN
SignTool=signtool
SignedUninstaller=yes
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
#ifdef SIGN
Source: "{#Dist}\{#GuiExe}"; DestDir: "{app}"; Flags: ignoreversion signonce
Source: "{#Dist}\{#CliExe}"; DestDir: "{app}"; Flags: ignoreversion signonce
#else
Source: "{#Dist}\{#GuiExe}"; DestDir: "{app}"; Flags: ignoreversion
Source: "{#Dist}\{#CliExe}"; DestDir: "{app}"; Flags: ignoreversion
#endif
Source: "{#Dist}\_internal\*"; DestDir: "{app}\_internal"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade starts from a clean bundle: files a newer build no longer ships must not linger.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#GuiExe}"; Comment: "Diagnose 3CX call recording to the CRM"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#GuiExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#GuiExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
