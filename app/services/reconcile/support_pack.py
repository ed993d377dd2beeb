"""The support pack: one zip an engineer attaches to a ticket, with the setup report, the doctor
result, the call ledger, the app's log and the versions; secrets removed, numbers and names
masked. Nothing in it is a key.

Every text goes through the log redactor (every secret the process was handed), then the
masker (numbers keep their last 3 digits, names become initials), then a final check that no
secret given here survived, before the zip is written atomically.
"""

from __future__ import annotations

import io
import json
import platform
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from app import __version__
from app.domain.diagnosis import Diagnosis
from app.domain.masking import Masker
from app.domain.reconcile.ledger import Ledger, ledger_json
from app.domain.report import Report, ReportMeta
from app.services.atomic_files import write_bytes_atomically
from app.services.logs.setup import REDACTOR
from app.services.reports.export import render_html, render_json

LOG_TAIL_BYTES = 2_000_000  # the end of the app's log: what happened around the problem


class SupportPackError(Exception):
    """The pack could not be written; the message says where and why."""


@dataclass(frozen=True)
class SupportPack:
    path: Path
    files: tuple[str, ...]


def write_support_pack(
    path: Path,
    *,
    ledger: Ledger | None,
    diagnosis: Diagnosis | None,
    meta: ReportMeta,
    log_file: Path | None,
    secrets: Iterable[str],
    now: datetime,
) -> SupportPack:
    """Write the pack (blocking: run it off the event loop)."""
    secrets = [s for s in secrets if s]
    masker = Masker(enabled=True)
    parts: dict[str, str] = {"versions.json": _versions(diagnosis, now)}
    if ledger is not None:
        parts["ledger.json"] = json.dumps(ledger_json(ledger, masked=masker), indent=2)
    if diagnosis is not None:
        report = Report.build(diagnosis, _masked(meta))
        parts["doctor.json"] = render_json(report, secrets=secrets)
        parts["setup-report.html"] = render_html(report, secrets=secrets)
    if log_file is not None and log_file.is_file():
        try:
            parts["app.log"] = masker.free_text(_log_tail(log_file))
        except OSError as exc:  # the pack is still worth having without the log
            parts["app.log"] = f"The app's log could not be read: {exc.strerror or exc}"
    cleaned = {name: _scrub(text, secrets) for name, text in parts.items()}
    try:
        write_bytes_atomically(path, _zipped(cleaned))
    except OSError as exc:
        raise SupportPackError(f"The support pack could not be written to {path}: {exc}") from exc
    return SupportPack(path, tuple(cleaned))


def _masked(meta: ReportMeta) -> ReportMeta:
    return replace(meta, mask=True)


def _versions(diagnosis: Diagnosis | None, now: datetime) -> str:
    return json.dumps(
        {
            "pbx_companion": __version__,
            "python": platform.python_version(),
            "system": platform.platform(terse=True),
            "pbx": diagnosis.pbx.version if diagnosis is not None else None,
            "written_at": now.isoformat(),
        },
        indent=2,
    )


def _log_tail(log_file: Path) -> str:
    with log_file.open("rb") as file:
        file.seek(0, io.SEEK_END)
        size = file.tell()
        file.seek(max(0, size - LOG_TAIL_BYTES))
        text = file.read().decode("utf-8", errors="replace")
    return text if size <= LOG_TAIL_BYTES else text.split("\n", 1)[-1]  # from a whole line


def _scrub(text: str, secrets: list[str]) -> str:
    text = REDACTOR.redact(text)
    for secret in secrets:
        text = text.replace(secret, "[secret removed]")
    return text


def _zipped(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as pack:
        for name, text in parts.items():
            pack.writestr(name, text)
    return buffer.getvalue()
