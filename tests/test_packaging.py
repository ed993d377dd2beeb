"""The packaging files, checked statically: icons, the PyInstaller spec, installers, the workflow.

The frozen build itself is proved by ``make package`` (it builds, runs the frozen --self-test
and checks the size), which CI runs after the tests: too slow for pytest.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import plistlib
import re
import struct
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"
SPEC = ROOT / "build" / "pbx-companion.spec"
ISS = ROOT / "installer" / "windows" / "pbx-companion.iss"
MACOS = ROOT / "installer" / "macos"
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_icons = _load(ROOT / "build" / "make_icons.py")
package = _load(ROOT / "build" / "package.py")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def ico_entries(data: bytes) -> dict[int, str]:
    """Size -> "png" or "bmp" for each image of an ICO file, checking every offset and header."""
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1), "not an icon file"
    entries = {}
    for index in range(count):
        width, height, _, _, planes, bits, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * index : 22 + 16 * index]
        )
        size = width or 256
        assert (height or 256) == size and (planes, bits) == (1, 32)
        image = data[offset : offset + length]
        assert len(image) == length, f"entry {size} runs past the end of the file"
        if image.startswith(PNG_SIGNATURE):
            assert png_size(image) == (size, size)
            entries[size] = "png"
        else:
            header_size, bmp_width, bmp_height, _, bmp_bits = struct.unpack("<IiiHH", image[:16])
            assert (header_size, bmp_width, bmp_height, bmp_bits) == (40, size, 2 * size, 32)
            mask_stride = ((size + 31) // 32) * 4
            assert length == 40 + size * size * 4 + mask_stride * size
            entries[size] = "bmp"
    return entries


def icns_entries(data: bytes) -> dict[bytes, tuple[int, int]]:
    """Type -> PNG size for each entry of an ICNS file, checking the container's lengths."""
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    entries = {}
    position = 8
    while position < len(data):
        kind, length = (
            data[position : position + 4],
            struct.unpack(">I", data[position + 4 : position + 8])[0],
        )
        assert length > 8 and position + length <= len(data)
        entries[kind] = png_size(data[position + 8 : position + length])
        position += length
    assert position == len(data)
    return entries


# ---- icons ---------------------------------------------------------------------------------


def test_every_png_size_is_committed_and_square() -> None:
    for size in make_icons.PNG_SIZES:
        path = ICONS / f"pbx-companion-{size}.png"
        assert png_size(path.read_bytes()) == (size, size), path


def test_the_ico_holds_every_windows_size_small_ones_as_bitmaps() -> None:
    entries = ico_entries((ICONS / "pbx-companion.ico").read_bytes())
    assert sorted(entries) == [16, 24, 32, 48, 64, 128, 256]
    assert {size for size, kind in entries.items() if kind == "bmp"} == {16, 24, 32, 48}


def test_the_icns_holds_every_macos_size() -> None:
    entries = icns_entries((ICONS / "pbx-companion.icns").read_bytes())
    expected = {b"ic07": 128, b"ic08": 256, b"ic09": 512, b"ic10": 1024}
    expected |= {b"ic11": 32, b"ic12": 64, b"ic13": 256, b"ic14": 512}
    for kind, size in expected.items():
        assert entries[kind] == (size, size), kind


def test_the_script_writes_icons_that_parse_from_any_square_source(
    qapp: object, tmp_path: Path
) -> None:
    written = make_icons.write_icons(make_icons.draw_source(512), tmp_path)
    assert {path.name for path in written} == {
        *(f"pbx-companion-{size}.png" for size in make_icons.PNG_SIZES),
        "pbx-companion.ico",
        "pbx-companion.icns",
    }
    # Scaled up from 512 when a designer's source is that small; every entry still parses.
    assert png_size((tmp_path / "pbx-companion-1024.png").read_bytes()) == (1024, 1024)
    assert len(ico_entries((tmp_path / "pbx-companion.ico").read_bytes())) == 7
    assert len(icns_entries((tmp_path / "pbx-companion.icns").read_bytes())) == 10


def test_ico_bitmaps_hold_the_image_upright_with_its_alpha(qapp: object) -> None:
    image = make_icons.scaled(make_icons.draw_source(), 32)
    data = make_icons.ico_bytes({32: image})
    offset = struct.unpack("<I", data[18:22])[0]
    pixels = data[offset + 40 : offset + 40 + 32 * 32 * 4]
    for x, y in ((0, 0), (16, 16), (24, 8), (8, 24), (31, 31)):
        row = 31 - y  # bitmaps store the bottom row first
        blue, green, red, alpha = pixels[(row * 32 + x) * 4 : (row * 32 + x) * 4 + 4]
        colour = image.pixelColor(x, y)
        assert (red, green, blue, alpha) == (
            colour.red(),
            colour.green(),
            colour.blue(),
            colour.alpha(),
        ), (x, y)


def test_the_drawn_icon_is_a_teal_tile_with_white_marks(qapp: object) -> None:
    image = make_icons.draw_source(200)  # 2 px per unit of the drawing's 100-unit grid
    assert image.pixelColor(2, 2).alpha() == 0  # outside the rounded tile
    tile = image.pixelColor(170, 170)
    assert tile.alpha() == 255 and tile.green() > tile.red() + 50  # teal
    bar = image.pixelColor(142, 66)  # the waveform's tall middle bar
    assert min(bar.red(), bar.green(), bar.blue()) > 240


def test_a_source_that_is_not_square_is_refused_naming_the_option(
    qapp: object, tmp_path: Path
) -> None:
    from PySide6.QtGui import QImage

    wide = QImage(1024, 512, QImage.Format.Format_ARGB32)
    with pytest.raises(ValueError, match=r"--source: .*square.*1024 x 512"):
        make_icons.write_icons(wide, tmp_path)


# ---- the PyInstaller spec ------------------------------------------------------------------


def _spec_constant(name: str) -> Any:
    tree = ast.parse(SPEC.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not assigned in the spec")


def test_the_spec_is_python_and_names_files_that_exist() -> None:
    text = SPEC.read_text(encoding="utf-8")
    compile(text, str(SPEC), "exec")
    assert 'ROOT / "app" / "cli" / "__main__.py"' in text
    assert (ROOT / "app" / "cli" / "__main__.py").is_file()
    for name in ("pbx-companion.ico", "pbx-companion.icns", "Info.plist", "entitlements.plist"):
        assert f'"{name}"' in text, name
    assert (ICONS / "pbx-companion.ico").is_file() and (ICONS / "pbx-companion.icns").is_file()
    assert (ROOT / "build" / "hook-PySide6.QtGui.py").is_file()  # the spec's hookspath
    assert 'copy_metadata("keyring")' in text  # keyring finds its backends by entry points
    assert '"resources"), "resources")' in text  # report_export reads _MEIPASS/resources


def test_the_spec_excludes_no_qt_module_the_app_imports() -> None:
    used = set()
    for path in (ROOT / "app").rglob("*.py"):
        used |= set(re.findall(r"\bPySide6\.(Qt\w+)", path.read_text(encoding="utf-8")))
    assert used == {"QtCore", "QtGui", "QtWidgets"}, "a new Qt module: update UNUSED_QT too"
    unused = set(_spec_constant("UNUSED_QT"))
    assert not used & unused
    assert {"QtNetwork", "QtQml", "QtQuick", "QtWebEngineCore", "QtMultimedia"} <= unused


def test_the_bundle_size_counts_each_file_once(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "libbig.so").write_bytes(b"x" * 1000)
    (tmp_path / "libbig.so").symlink_to(tmp_path / "lib" / "libbig.so")
    (tmp_path / "app").write_bytes(b"y" * 24)
    assert package.size_bytes(tmp_path) == 1024


# ---- installers ----------------------------------------------------------------------------


def test_the_windows_installer_is_per_user_with_start_menu_uninstaller_and_version() -> None:
    text = ISS.read_text(encoding="utf-8")
    settings = dict(re.findall(r"^(\w+)=(.*)$", text, flags=re.MULTILINE))
    assert settings["PrivilegesRequired"] == "lowest"
    assert settings["DefaultDirName"].startswith("{autopf}")
    assert settings["VersionInfoVersion"] == "{#AppVersion}"
    assert settings["UninstallDisplayIcon"] == "{app}\\{#GuiExe}"
    assert re.search(
        r'^Name: "\{autoprograms\}\\\{#AppName\}"; Filename: "\{app\}\\\{#GuiExe\}"', text, re.M
    )
    assert "Uninstallable=no" not in text
    # Signing only when the workflow passes /DSIGN=1 with a "signtool" definition.
    signed = re.search(r"#ifdef SIGN\n(.*?)#endif", text, flags=re.DOTALL)
    assert signed is not None and "SignTool=signtool" in signed.group(1)
    assert text.count("SignTool=") == 1
    # Relative paths are from the script's own folder.
    icon = ISS.parent / settings["SetupIconFile"].replace("\\", "/")
    assert icon.resolve() == (ICONS / "pbx-companion.ico").resolve()
    dist = re.search(r'#define Dist "(.+)"', text)
    assert dist is not None
    assert (
        ISS.parent / dist.group(1).replace("\\", "/")
    ).resolve() == package.DIST.resolve() / "pbx-companion"


def test_the_windows_executables_match_the_spec() -> None:
    text = ISS.read_text(encoding="utf-8")
    spec = SPEC.read_text(encoding="utf-8")
    for define in ("GuiExe", "CliExe"):
        name = re.search(rf'#define {define} "(.+)\.exe"', text)
        assert name is not None and f'executable("{name.group(1)}"' in spec, define


def test_the_macos_bundle_settings() -> None:
    with (MACOS / "Info.plist").open("rb") as file:
        info = plistlib.load(file)
    assert re.fullmatch(r"[a-z]+(\.[a-z]+)+", info["CFBundleIdentifier"])
    assert info["CFBundleName"] == "PBX Companion"
    assert info["NSLocalNetworkUsageDescription"]  # the customer's PBX is on their network
    assert "CFBundleShortVersionString" not in info  # the spec sets it from app.__version__
    with (MACOS / "entitlements.plist").open("rb") as file:
        assert plistlib.load(file) == {}  # hardened runtime, no exceptions (see the file)


def test_the_dmg_settings_put_the_app_beside_applications() -> None:
    namespace: dict[str, Any] = {"defines": {"app": "build/dist/PBX Companion.app"}}
    source = (MACOS / "dmg_settings.py").read_text(encoding="utf-8")
    exec(compile(source, "dmg_settings.py", "exec"), namespace)
    assert namespace["files"] == ["build/dist/PBX Companion.app"]
    assert namespace["symlinks"] == {"Applications": "/Applications"}
    assert set(namespace["icon_locations"]) == {"PBX Companion.app", "Applications"}
    assert namespace["icon"].endswith("Contents/Resources/pbx-companion.icns")


def _signing_script(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("MACOS_", "NOTARY_"))
    }
    return subprocess.run(
        ["bash", str(MACOS / "sign_and_notarize.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_macos_signing_skips_cleanly_without_credentials(tmp_path: Path) -> None:
    app = tmp_path / "PBX Companion.app"
    app.mkdir()
    dmg = tmp_path / "PBX-Companion.dmg"
    dmg.write_bytes(b"image")
    for args in (("keychain",), ("app", str(app)), ("dmg", str(dmg))):
        done = _signing_script(*args)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "skipped: no MACOS_" in done.stdout, args


def test_macos_signing_refuses_a_missing_image_and_bad_usage(tmp_path: Path) -> None:
    missing = _signing_script("dmg", str(tmp_path / "none.dmg"))
    assert missing.returncode == 1 and "no disk image at" in missing.stdout
    assert _signing_script("sign").returncode == 2


# ---- the release workflow ------------------------------------------------------------------


def _workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps = job["steps"]
    assert isinstance(steps, list)
    return steps


def test_the_workflow_builds_both_installers_on_their_own_systems() -> None:
    workflow = _workflow()
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"]["tags"] == ["v*"] and "workflow_dispatch" in triggers
    job = workflow["jobs"]["installer"]
    assert job["strategy"]["matrix"]["os"] == ["windows-latest", "macos-latest"]
    assert job["env"]["QT_QPA_PLATFORM"] == "offscreen"
    steps = _steps(job)
    python = next(step for step in steps if step.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"
    runs = [str(step.get("run", "")) for step in steps]
    assert any('pip install -e ".[package]"' in run for run in runs)
    order = [
        next(i for i, run in enumerate(runs) if marker in run)
        for marker in ("build/package.py --self-test", "dmgbuild ", "sign_and_notarize.sh dmg")
    ]
    assert order == sorted(order), "self-test, then the disk image, then notarisation"
    assert any("iscc" in run and "pbx-companion.iss" in run for run in runs)
    assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in steps)


def test_only_tags_publish_a_release() -> None:
    release = _workflow()["jobs"]["release"]
    assert release["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert release["needs"] == "installer"
    assert release["permissions"] == {"contents": "write"}
    assert any("action-gh-release" in step.get("uses", "") for step in _steps(release))


def test_every_path_the_workflow_names_exists() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![\w/])((?:build|installer|resources)/[\w.\-/]+)", text))
    outputs = ("build/dist", "build/work", "build/installer")
    sources = {path for path in named if not path.startswith(outputs)}
    assert {"build/package.py", "installer/macos/sign_and_notarize.sh"} <= sources
    assert "installer/macos/dmg_settings.py" in sources
    missing = sorted(path for path in sources if not (ROOT / path).exists())
    assert not missing
    assert (ROOT / "installer/windows/pbx-companion.iss").is_file()  # named with backslashes


def test_every_secret_the_workflow_uses_is_documented_at_its_top() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    header = text.split("\nname:", 1)[0]
    used = set(re.findall(r"secrets\.(\w+)", text))
    assert used and all(secret in header for secret in used), used - set(header.split())
