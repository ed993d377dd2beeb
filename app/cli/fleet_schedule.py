"""``fleet schedule --print``: the snippet that runs the sweep unattended, as the engineer.

Windows Task Scheduler (XML to import), a macOS launchd agent (a plist for
~/Library/LaunchAgents) or a crontab line. Each runs ``fleet sweep --json --out FILE`` as the
engineer's own user, so the sweep reads keys from that user's OS keyring (Credential Manager,
the login keychain, the Secret Service). Nothing is installed here: the snippet is printed.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from app.cli.args import EXIT_OK, UsageError
from app.services import paths

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
LABEL = "com.pbx-companion.fleet-sweep"


@dataclass(frozen=True)
class Plan:
    """What the snippet runs and where it writes, for one OS."""

    program: str
    arguments: tuple[str, ...]
    out: str
    log: str
    hour: int
    minute: int


def this_os() -> str:
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "linux"


def run_schedule(args: argparse.Namespace) -> int:
    if not args.print_snippet:
        raise UsageError(
            "fleet schedule: add --print; the snippet is printed for you to install (the app "
            "never installs a scheduled task itself)"
        )
    match = _TIME.match(args.at.strip())
    if match is None:
        raise UsageError(f"--at: {args.at!r} is not a time of day as HH:MM (00:00 to 23:59)")
    target = args.target_os or this_os()
    plan = _plan(target, int(match.group(1)), int(match.group(2)), args.only)
    print(SNIPPETS[target](plan), end="")
    return EXIT_OK


def _plan(target: str, hour: int, minute: int, only: list[str]) -> Plan:
    here = target == this_os()
    program = (
        _program() if here else ("pbx-companion.exe" if target == "windows" else "pbx-companion")
    )
    folder = str(paths.data_dir()) if here else _default_folder(target)
    sep = "\\" if target == "windows" else "/"
    out = f"{folder}{sep}fleet-sweep.json"
    extra: list[str] = []
    for name in only:
        extra += ["--only", name]
    return Plan(
        program,
        ("fleet", "sweep", "--json", "--out", out, *extra),
        out,
        f"{folder}{sep}fleet-sweep.log",
        hour,
        minute,
    )


def _program() -> str:
    """This installation's own entry point, so the schedule runs the same version."""
    found = shutil.which("pbx-companion")
    if found:
        return str(Path(found).resolve())
    return str(Path(sys.argv[0]).resolve())


def _default_folder(target: str) -> str:
    if target == "windows":
        return r"%LOCALAPPDATA%\pbx-companion"
    if target == "macos":
        return "~/Library/Application Support/pbx-companion"
    return "~/.local/share/pbx-companion"


def windows_task(plan: Plan) -> str:
    """A Task Scheduler task: daily, as the logged-on user (who holds the Credential Manager
    entries), never elevated."""
    args = " ".join(_windows_quote(a) for a in plan.arguments)
    return f"""<?xml version="1.0" encoding="UTF-16"?>
<!-- Import: schtasks /Create /TN "PBX Companion fleet sweep" /XML this-file.xml -->
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>PBX Companion: doctor every saved connection; JSON to {escape(plan.out)}</Description>
  </RegistrationInfo>
  <Triggers>
    <CalendarTrigger>
      <StartBoundary>2026-01-01T{plan.hour:02d}:{plan.minute:02d}:00</StartBoundary>
      <ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay>
    </CalendarTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <StartWhenAvailable>true</StartWhenAvailable>
    <ExecutionTimeLimit>PT2H</ExecutionTimeLimit>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{escape(plan.program)}</Command>
      <Arguments>{escape(args)}</Arguments>
    </Exec>
  </Actions>
</Task>
"""


def launchd_agent(plan: Plan) -> str:
    """A launchd agent: runs in the engineer's session, with the login keychain."""
    argv = "\n".join(f"    <string>{escape(a)}</string>" for a in (plan.program, *plan.arguments))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Save as ~/Library/LaunchAgents/{LABEL}.plist, then: launchctl load ~/Library/LaunchAgents/{LABEL}.plist -->
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>{LABEL}</string>
  <key>ProgramArguments</key>
  <array>
{argv}
  </array>
  <key>StartCalendarInterval</key>
  <dict>
    <key>Hour</key>
    <integer>{plan.hour}</integer>
    <key>Minute</key>
    <integer>{plan.minute}</integer>
  </dict>
  <key>StandardErrorPath</key>
  <string>{escape(plan.log)}</string>
</dict>
</plist>
"""


def crontab_line(plan: Plan) -> str:
    """A crontab line; cron has no desktop session, so it is pointed at the user's D-Bus, where
    the Secret Service (unlocked at login) holds the keys."""
    command = " ".join(_sh(a) for a in (plan.program, *plan.arguments))
    uid = os.getuid() if hasattr(os, "getuid") else 1000
    return (
        "# Add with `crontab -e`. The keyring must be unlocked: you are logged in, or it unlocks "
        "at login.\n"
        f"{plan.minute} {plan.hour} * * * DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/{uid}/bus "
        f"{command} 2>> {_sh(plan.log)}\n"
    )


def _sh(text: str) -> str:
    """Quoted for sh, keeping a leading ~/ expandable."""
    if text.startswith("~/"):
        return "~/" + shlex.quote(text[2:])
    return shlex.quote(text)


def _windows_quote(text: str) -> str:
    return f'"{text}"' if (" " in text or not text) else text


SNIPPETS = {"windows": windows_task, "macos": launchd_agent, "linux": crontab_line}
