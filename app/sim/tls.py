"""Certificates for TLS mode: one local CA, a good leaf and two broken ones (same CA)."""

from __future__ import annotations

import os
import ssl
from datetime import UTC, datetime, timedelta

import trustme


class SimCertificates:
    def __init__(self, state_dir: str) -> None:
        self.ca = trustme.CA(organization_name="PBX Companion Simulator CA")
        self.ca_file = os.path.join(state_dir, "sim-ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)
        now = datetime.now(UTC)
        good = self.ca.issue_cert("localhost", "127.0.0.1", "::1")
        expired = self.ca.issue_cert(
            "localhost",
            "127.0.0.1",
            "::1",
            not_before=now - timedelta(days=400),
            not_after=now - timedelta(days=2),
        )
        wrong = self.ca.issue_cert("pbx.wrong-host.example")
        self.good = self._context(good)
        self.expired = self._context(expired)
        self.wrong_host = self._context(wrong)

    @staticmethod
    def _context(leaf: trustme.LeafCert) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(ctx)
        return ctx
