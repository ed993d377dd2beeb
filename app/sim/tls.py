"""Certificates for TLS mode: one local CA, a good leaf, two broken ones and field variants.

The variants are what a PBX serves over its life: a certificate about to expire, and a renewal
(new key, new serial, issued through an intermediate, so the chain differs too).
"""

from __future__ import annotations

import os
import ssl
from datetime import UTC, datetime, timedelta

import trustme

NAMES = ("localhost", "127.0.0.1", "::1")


class SimCertificates:
    def __init__(self, state_dir: str) -> None:
        self.ca = trustme.CA(organization_name="PBX Companion Simulator CA")
        self.ca_file = os.path.join(state_dir, "sim-ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)
        # Renewals come from an intermediate the client does not know: the server sends it.
        self.intermediate = trustme.CA(
            parent_cert=self.ca,
            path_length=0,
            organization_name="PBX Companion Simulator CA",
            organization_unit_name="Renewal Intermediate CA",
        )
        now = datetime.now(UTC)
        expired = self.ca.issue_cert(
            *NAMES, not_before=now - timedelta(days=400), not_after=now - timedelta(days=2)
        )
        wrong = self.ca.issue_cert("pbx.wrong-host.example")
        self.good = self._context(self.ca.issue_cert(*NAMES))
        self.expired = self._context(expired)
        self.wrong_host = self._context(wrong)
        self._variants: dict[tuple[bool, float | None], ssl.SSLContext] = {}

    def variant(
        self, *, renewed: bool = False, expires_in_days: float | None = None
    ) -> ssl.SSLContext:
        """A valid certificate for the same names, issued once per combination and then reused.

        The same combination keeps serving the same certificate, so fingerprints stay stable.
        """
        key = (renewed, expires_in_days)
        ctx = self._variants.get(key)
        if ctx is None:
            issuer = self.intermediate if renewed else self.ca
            not_after = None
            if expires_in_days is not None:
                not_after = datetime.now(UTC) + timedelta(days=expires_in_days)
            ctx = self._context(issuer.issue_cert(*NAMES, not_after=not_after))
            self._variants[key] = ctx
        return ctx

    @staticmethod
    def _context(leaf: trustme.LeafCert) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(ctx)
        return ctx
