"""Known certificates for a doctor run in the window, read and written off the GUI thread."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path

from app.domain.addresses import AddressError, parse_pbx_address
from app.services.known_certificates import KnownCertificate, KnownCertificates
from app.services.pbx_access import CertificateInfo

log = logging.getLogger(__name__)


class OffThreadCertificates(KnownCertificates):
    """The doctor reads and writes known certificates synchronously; this reads the one entry
    it needs before the run and writes after it, both in a worker thread."""

    def __init__(self, path: Path | None) -> None:
        super().__init__(path)
        self._previous: dict[tuple[str, int], KnownCertificate | None] = {}
        self._pending: list[tuple[str, int, CertificateInfo, datetime]] = []

    async def prefetch(self, host: str, port: int) -> None:
        try:
            found = await asyncio.to_thread(KnownCertificates.get, self, host, port)
        except OSError as exc:
            log.warning("Known certificates not readable: %s", exc)
            found = None
        self._previous[_cert_key(host, port)] = found

    def get(self, host: str, port: int) -> KnownCertificate | None:
        return self._previous.get(_cert_key(host, port))

    def remember(self, host: str, port: int, cert: CertificateInfo, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("remember() needs an aware datetime")
        self._pending.append((host, port, cert, now))

    async def flush(self) -> None:
        pending, self._pending = self._pending, []
        for host, port, cert, now in pending:
            try:
                await asyncio.to_thread(KnownCertificates.remember, self, host, port, cert, now)
            except OSError as exc:
                log.warning("Could not remember the certificate: %s", exc)


def _cert_key(host: str, port: int) -> tuple[str, int]:
    return host.strip().lower().strip("[]"), port


def host_port(url: str) -> tuple[str, int] | None:
    """Where the PBX listens; None when the address does not parse (nothing to prefetch)."""
    try:
        address = parse_pbx_address(url)
    except AddressError:
        return None
    return address.host, address.port
