"""No key on disk: a whole headless session, then every file it wrote is searched for the keys.

The session runs ``pbx-companion`` as real processes in a throwaway home (HOME, XDG_*, TMPDIR,
PBX_COMPANION_HOME) against the simulator, with keys in a real Secret Service: add a
connection, run the doctor with reports and verbose logs, rotate the key (a new one generated
through the simulator's admin API; a rejected one too), write reports, list, remove. Each
command's output is kept as a log file in that home. Then every file there is searched for
both keys: raw, UTF-16, URL-encoded, hex and base64 (at any alignment), inside compressed PDF
streams and in the PDFs' text. The scanner is itself tested on planted keys, so the scan could
fail.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from keyring.backend import KeyringBackend

from app.sim import Simulator
from tests.conftest import SimFactory
from tests.services.connections.test_key_rotation import generate_key
from tests.services.connections.test_store import keyring_entry
from tests.support.pdf import require_poppler
from tests.support.secret_service import SecretServiceBus
from tests.support.sim_process import COMMAND

TIMEOUT_S = 120
NAME = "Scan Dental"
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)


# ---- the scanner ------------------------------------------------------------------------------
def _base64_fragments(raw: bytes) -> Iterator[tuple[str, bytes]]:
    """The part of base64(... + key + ...) that only the key decides, at all 3 alignments."""
    for shift in range(3):
        for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            encoded = encode(b"\0" * shift + raw + b"\0\0").rstrip(b"=")
            start = -(-shift * 8 // 6)  # the first character holding only key bits
            end = (shift + len(raw)) * 8 // 6  # past it, the following bytes count too
            yield f"{name}@{shift}", encoded[start:end]


def key_forms(key: str) -> dict[str, bytes]:
    raw = key.encode()
    forms = {
        "raw": raw,
        "utf-16-le": key.encode("utf-16-le"),
        "utf-16-be": key.encode("utf-16-be"),
        "url": quote(key, safe="").encode(),
        "url-plus": quote_plus(key).encode(),
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
    }
    forms.update(_base64_fragments(raw))
    return forms


def _inflated(data: bytes) -> Iterator[bytes]:
    """Compressed PDF (Flate) streams, opened: a key there would not show as raw bytes."""
    for match in _STREAM.finditer(data):
        try:
            yield zlib.decompress(match.group(1))
        except zlib.error:
            continue


def _pdf_text(path: Path) -> bytes:
    """The text a reader sees (glyphs are not stored as text); empty for a broken PDF."""
    require_poppler()
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, timeout=TIMEOUT_S)
    return done.stdout


@dataclass(frozen=True)
class Hit:
    path: Path
    key: str  # which key ("first" / "second"), never the key itself
    form: str
    where: str


def scan(root: Path, keys: dict[str, str]) -> tuple[list[Hit], int]:
    """Every place under ``root`` a key shows up, and how many files were read."""
    forms = {label: key_forms(key) for label, key in keys.items()}
    hits: list[Hit] = []
    files = 0
    for path in sorted(root.rglob("*")):
        for label, key in keys.items():
            if key in str(path.relative_to(root)):
                hits.append(Hit(path, label, "raw", "file name"))
        if path.is_symlink() or not path.is_file():
            continue
        files += 1
        data = path.read_bytes()
        blobs = [("content", data), *(("pdf stream", b) for b in _inflated(data))]
        if data.startswith(b"%PDF"):
            blobs.append(("pdf text", _pdf_text(path)))
        for where, blob in blobs:
            for label, encoded in forms.items():
                hits.extend(
                    Hit(path, label, form, where)
                    for form, needle in encoded.items()
                    if needle in blob
                )
    return hits, files


def test_the_scanner_finds_a_planted_key_in_every_form(tmp_path: Path) -> None:
    key = "Pl4ntedKeyPl4ntedKeyPl4nted_-42"
    other = "0therKey0therKey0therKey"
    planted = {
        "app.log": f"2026-06-01 INFO pbx: token request client_secret={key}&grant\n".encode(),
        "odd.b64": base64.b64encode(b"x" + key.encode() + b"tail"),
        "url.txt": f"client_secret={quote(key)}".encode(),
        "wide.bin": ("prefix " + key).encode("utf-16-le"),
        "report.pdf": b"%PDF-1.4\n1 0 obj<<>>stream\n"
        + zlib.compress(f"BT ({key}) Tj ET".encode())
        + b"\nendstream\nendobj\n%%EOF\n",
        f"cache-{key}.tmp": b"",
        "clean.txt": b"nothing to see here",
    }
    for name, data in planted.items():
        (tmp_path / name).write_bytes(data)
    hits, files = scan(tmp_path, {"planted": key, "other": other})
    assert files == len(planted)
    found = {(hit.path.name, hit.where) for hit in hits}
    assert ("app.log", "content") in found
    assert ("odd.b64", "content") in found
    assert ("url.txt", "content") in found
    assert ("wide.bin", "content") in found
    assert ("report.pdf", "pdf stream") in found
    assert (f"cache-{key}.tmp", "file name") in found
    assert all(hit.key == "planted" for hit in hits)
    assert not any(hit.path.name == "clean.txt" for hit in hits)


# ---- the session ------------------------------------------------------------------------------
@dataclass
class Session:
    root: Path
    env: dict[str, str]
    sim: Simulator
    count: int = 0

    async def run(self, *args: str, stdin: str = "", expect: int = 0) -> str:
        """``pbx-companion -v ARGS``; its stdout and stderr are kept as logs in the home."""
        assert self.sim.ca_file is not None
        process = await asyncio.create_subprocess_exec(
            *COMMAND,
            "-v",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
            cwd=self.root / "home",
        )
        out, err = await asyncio.wait_for(process.communicate(stdin.encode()), TIMEOUT_S)
        self.count += 1
        logs = self.root / "session-logs"
        stem = f"{self.count:02d}-{'-'.join(a for a in args[:2] if not a.startswith('-'))}"
        await asyncio.to_thread((logs / f"{stem}.out").write_bytes, out)
        await asyncio.to_thread((logs / f"{stem}.err").write_bytes, err)
        assert process.returncode == expect, f"{args}: {err.decode()}"
        return out.decode()


def private_home(root: Path, bus: SecretServiceBus) -> dict[str, str]:
    for sub in ("home", "config", "data", "cache", "state", "runtime", "tmp", "app", "out"):
        (root / sub).mkdir(mode=0o700)
    (root / "session-logs").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PBX_"))}
    env.update(
        HOME=str(root / "home"),
        XDG_CONFIG_HOME=str(root / "config"),
        XDG_DATA_HOME=str(root / "data"),
        XDG_CACHE_HOME=str(root / "cache"),
        XDG_STATE_HOME=str(root / "state"),
        XDG_RUNTIME_DIR=str(root / "runtime"),
        TMPDIR=str(root / "tmp"),
        PBX_COMPANION_HOME=str(root / "app"),
        DBUS_SESSION_BUS_ADDRESS=bus.address,
        PYTHON_KEYRING_BACKEND="keyring.backends.SecretService.Keyring",
        QT_QPA_PLATFORM="offscreen",
    )
    return env


@pytest.mark.keyring
async def test_a_full_session_writes_no_key_anywhere(
    keyring_backend: KeyringBackend,
    secret_service: SecretServiceBus,
    make_sim: SimFactory,
    tmp_path: Path,
) -> None:
    require_poppler()
    sim = await make_sim(tls=True, faults=["retention-deleted=30"])
    assert sim.ca_file is not None
    root = tmp_path / "scan"
    root.mkdir()
    session = Session(root, private_home(root, secret_service), sim)
    first = sim.client_secret
    out = root / "out"

    await session.run(
        "connections", "add", NAME, "--url", sim.url, "--client-id", sim.client_id,
        "--secret-stdin", "--ca-file", sim.ca_file, "--customer", "Scan Dental Pty Ltd",
        stdin=f" {first}\n",
    )  # fmt: skip
    doctor_json = await session.run(
        "doctor", "--connection", NAME, "--json", "--report", str(out / "first.pdf"), expect=1
    )
    await asyncio.to_thread((out / "doctor.json").write_text, doctor_json)
    await session.run("doctor", "--connection", NAME, "--report", str(out / "first.html"), expect=1)

    second = await generate_key(sim)  # 3CX: the first key stops working at once
    await session.run("doctor", "--connection", NAME, expect=1)  # now rejected: cause 7
    await session.run("keys", "rotate", NAME, "--secret-stdin", stdin=second)
    await session.run("keys", "rotate", NAME, "--secret-stdin", stdin=first, expect=1)
    await session.run(
        "doctor", "--connection", NAME, "--json", "--report", str(out / "second.json"), expect=1
    )
    for suffix in ("pdf", "html", "json"):
        await session.run(
            "report", "--from", str(out / "doctor.json"), "--out", str(out / f"report.{suffix}")
        )
    listed = await session.run("connections", "list")
    assert NAME in listed and "set today" in listed
    await session.run("connections", "list", "--json")

    # The session did write what it should, so the scan below is not of an empty home.
    written = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert "app/config/settings.json" in written
    assert {f"out/report.{s}" for s in ("pdf", "html", "json")} <= written
    assert {"out/first.pdf", "out/first.html", "out/second.json"} <= written
    assert await keyring_entry(_connection_id(root)) == second

    await session.run("connections", "remove", NAME)
    hits, files = await asyncio.to_thread(scan, root, {"first": first, "second": second})
    assert files >= 25, files
    assert hits == [], "\n".join(f"{h.key} key ({h.form}) in {h.path} {h.where}" for h in hits)


def _connection_id(root: Path) -> str:
    import json

    document = json.loads((root / "app/config/settings.json").read_text())
    (entry,) = document["connections"]
    return str(entry["id"])
