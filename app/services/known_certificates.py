"""The certificate each PBX presented at its last good check, to notice a renewal since.

A renewal that comes with a different chain breaks every bridge that pinned the old
certificate (API-NOTES §8 item 9), so the doctor warns when the fingerprint changes.
Fingerprints, issuers and dates are public: nothing secret is written here.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.domain.clock import utc_now
from app.services import paths
from app.services.atomic_files import free_sibling, write_text_atomically
from app.threecx.probe import CertificateInfo

log = logging.getLogger(__name__)

FILE_NAME = "known-certificates.json"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class KnownCertificate:
    sha256: str
    issuer: str
    not_after: datetime
    seen_at: datetime


class _Corrupt(ValueError):
    pass


class KnownCertificates:
    """A small JSON file keyed by ``host:port``; every change is written atomically."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        # The file as last read or written, by its (inode, mtime, size): a fleet sweep asks
        # once per PBX, and re-reading hundreds of entries each time would be the loop's work.
        self._read: tuple[tuple[int, int, int], dict[str, KnownCertificate]] | None = None

    @property
    def path(self) -> Path:
        # Resolved late so PBX_COMPANION_HOME set after construction still counts.
        return self._path or paths.state_dir() / FILE_NAME

    def get(self, host: str, port: int) -> KnownCertificate | None:
        return self._load().get(_key(host, port))

    def remember(self, host: str, port: int, cert: CertificateInfo, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("remember() needs an aware datetime")
        entries = dict(self._load())
        key = _key(host, port)
        seen = KnownCertificate(
            sha256=cert.sha256, issuer=cert.issuer, not_after=cert.not_after, seen_at=now
        )
        if _same_day_again(entries.get(key), seen):
            return  # the warning names the day last seen: nothing to write (each sweep, each PBX)
        entries[key] = seen
        self._save(entries)

    def changed(self, host: str, port: int, cert: CertificateInfo) -> KnownCertificate | None:
        """The certificate remembered for this PBX when the one presented now differs."""
        previous = self.get(host, port)
        if previous is not None and previous.sha256 != cert.sha256:
            return previous
        return None

    # ---- the file --------------------------------------------------------------------------
    def _load(self) -> dict[str, KnownCertificate]:
        path = self.path
        try:
            stamp = _stamp(path)
            if self._read is not None and self._read[0] == stamp:
                return self._read[1]  # unchanged since (another process's write changes it)
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            self._set_aside(path, f"unreadable ({exc})")
            return {}
        try:
            entries = _decode(text)
        except _Corrupt as exc:
            self._set_aside(path, str(exc))
            return {}
        self._read = (stamp, entries)
        return entries

    def _save(self, entries: dict[str, KnownCertificate]) -> None:
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "version": SCHEMA_VERSION,
            "certificates": {
                key: {
                    "sha256": entry.sha256,
                    "issuer": entry.issuer,
                    "not_after": entry.not_after.isoformat(),
                    "seen_at": entry.seen_at.isoformat(),
                }
                for key, entry in sorted(entries.items())
            },
        }
        write_text_atomically(path, json.dumps(body, indent=2) + "\n")
        self._read = (_stamp(path), entries)

    @staticmethod
    def _set_aside(path: Path, why: str) -> None:
        target = free_sibling(path, "corrupt", utc_now().strftime("%Y%m%dT%H%M%SZ"))
        try:
            path.rename(target)
        except OSError as exc:
            log.warning(
                "Known certificates file %s is %s and cannot be set aside (%s); ignoring it",
                path,
                why,
                exc,
            )
            return
        log.warning(
            "Known certificates file %s is %s; set aside as %s, starting afresh",
            path,
            why,
            target.name,
        )


def _stamp(path: Path) -> tuple[int, int, int]:
    """What changes when the file is rewritten (an atomic write gives a new inode)."""
    status = path.stat()
    return status.st_ino, status.st_mtime_ns, status.st_size


def _same_day_again(known: KnownCertificate | None, seen: KnownCertificate) -> bool:
    """The same certificate seen again on the day it was last seen (UTC)."""
    return (
        known is not None
        and (known.sha256, known.issuer, known.not_after)
        == (seen.sha256, seen.issuer, seen.not_after)
        and known.seen_at.astimezone(UTC).date() == seen.seen_at.astimezone(UTC).date()
    )


def _key(host: str, port: int) -> str:
    host = host.strip().lower().strip("[]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _decode(text: str) -> dict[str, KnownCertificate]:
    try:
        body: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Corrupt(f"not JSON ({exc})") from exc
    if not isinstance(body, dict) or body.get("version") != SCHEMA_VERSION:
        raise _Corrupt("not a known-certificates file of this version")
    raw = body.get("certificates")
    if not isinstance(raw, dict):
        raise _Corrupt("missing its certificates")
    entries: dict[str, KnownCertificate] = {}
    for key, item in raw.items():
        try:
            entries[key] = KnownCertificate(
                sha256=_text(item, "sha256"),
                issuer=_text(item, "issuer"),
                not_after=_aware(item, "not_after"),
                seen_at=_aware(item, "seen_at"),
            )
        except (TypeError, KeyError, ValueError) as exc:
            raise _Corrupt(f"unusable entry {key!r} ({exc})") from exc
    return entries


def _text(item: Any, field: str) -> str:
    value = item[field]
    if not isinstance(value, str):
        raise TypeError(f"{field} is not text")
    return value


def _aware(item: Any, field: str) -> datetime:
    value = datetime.fromisoformat(_text(item, field))
    if value.tzinfo is None:
        raise ValueError(f"{field} has no time zone")
    return value
