"""A PBX certificate this connection does not trust yet, described so the engineer can judge it.

Wherever a TLS trust failure stops the engineer (the setup's address, key and reachability
steps, the doctor's reachability check, a key rotation's check), the caller asks here for the
certificate the PBX presents (read without trusting it) and for what trusting it by pin would
still not get past: a pin replaces the authority, not the certificate's dates or names, so an
expired certificate or one for another name keeps failing in PBX Companion and in the bridge.
The library's own words are kept apart (``raw``) for a Details disclosure; the main words never
carry them and never mention the key.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.addresses import parse_pbx_address
from app.threecx.errors import TlsFailure, TlsProblem
from app.threecx.probe import CertificateInfo, ProbeStep, probe_network
from app.threecx.tls import TlsOptions

# What happened, in plain words, per kind of trust failure. A handshake that fails for another
# reason (the port does not speak TLS) is not a trust question and gets no offer.
TRUST_WORDS = {
    TlsProblem.UNTRUSTED: (
        "The PBX's certificate is not signed by an authority this computer trusts (a private "
        "CA or a self-signed certificate), so nothing was sent to the PBX."
    ),
    TlsProblem.EXPIRED: "The PBX's certificate has expired, so nothing was sent to the PBX.",
    TlsProblem.HOSTNAME: (
        "The PBX's certificate is for another name, so nothing was sent to the PBX."
    ),
    TlsProblem.CHANGED: (
        "The PBX presents a different certificate from the one trusted for this connection, "
        "so nothing was sent to the PBX."
    ),
}
ASK_THE_CUSTOMER = (
    "Trust it only if the customer confirms it is their PBX's certificate (compare the SHA-256 "
    "fingerprint with the one in the 3CX admin console or their IT records), or choose their "
    "CA file (PEM)."
)


@dataclass(frozen=True)
class CertificateTrouble:
    host: str
    port: int
    problem: str  # a TlsProblem value
    what: str  # what happened and what to do, in plain words
    certificate: CertificateInfo | None  # as presented, read without trusting it
    warnings: tuple[str, ...]  # what a pin does not get past (expired, another name)
    raw: str  # the TLS library's own words, for Details only

    @property
    def pinnable(self) -> bool:
        """Trusting by pin would let the connection through (a certificate, no warning)."""
        return self.certificate is not None and not self.warnings


def is_trust_failure(exc: BaseException) -> bool:
    """A failure the engineer can answer by trusting the certificate or giving its CA."""
    return isinstance(exc, TlsFailure) and exc.problem in TRUST_WORDS


async def certificate_trouble(
    url: str, tls: TlsOptions, *, timeout_s: float, seen: BaseException | None = None
) -> CertificateTrouble | None:
    """The certificate ``url`` presents when ``tls`` does not trust it; None when it does
    (or when the failure is not one of trust). ``seen`` is the failure that sent the caller
    here: its words go to ``raw`` beside the probe's.

    Raises ``AddressError``/``ValueError`` for an unusable address, pin or CA file."""
    probe = await probe_network(url, tls, timeout_s=timeout_s)
    failed = probe.failed
    error = failed.error if failed is not None and failed.step is ProbeStep.TLS else None
    failure = error if error is not None else seen
    if not isinstance(failure, TlsFailure) or not is_trust_failure(failure):
        return None
    cert = probe.certificate
    warnings = await _what_a_pin_meets(url, cert, timeout_s) if cert else ()
    raw = [text for text in (_raw(seen), _raw(error)) if text]
    return CertificateTrouble(
        host=probe.host,
        port=probe.port,
        problem=str(failure.problem),
        what=f"{TRUST_WORDS[failure.problem]} {failure.next_step if warnings else ASK_THE_CUSTOMER}",
        certificate=cert,
        warnings=warnings,
        raw="\n".join(dict.fromkeys(raw)),
    )


async def _what_a_pin_meets(url: str, cert: CertificateInfo, timeout_s: float) -> tuple[str, ...]:
    """Probe again with this certificate pinned: what still fails is what a pin cannot fix."""
    probe = await probe_network(url, TlsOptions(pin_sha256=cert.sha256), timeout_s=timeout_s)
    failed = probe.failed
    if failed is None or failed.step is not ProbeStep.TLS:
        return ()
    error = failed.error
    address = parse_pbx_address(url)
    if isinstance(error, TlsFailure) and error.problem is TlsProblem.EXPIRED:
        return (
            f"This certificate expired on {cert.not_after:%d %b %Y}. Trusting it does not get "
            "past that: PBX Companion and the bridge refuse an expired certificate even when "
            "it is pinned. Renew it in the 3CX admin console, then check again.",
        )
    if isinstance(error, TlsFailure) and error.problem is TlsProblem.HOSTNAME:
        names = ", ".join(cert.names) or "no name"
        return (
            f"This certificate is for {names}, not {address.host}. Trusting it does not get "
            "past that: PBX Companion and the bridge check the name even when it is pinned. "
            "Use the PBX address with a name on the certificate, or have the certificate "
            f"reissued for {address.host}.",
        )
    return ()


def _raw(error: BaseException | None) -> str:
    if isinstance(error, TlsFailure):
        return error.detail or error.message
    return ""
