"""A customer's PBX as the engineer sees it: address, generation, hosting and region."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.domain.addresses import AddressError, parse_pbx_address
from app.domain.version import PbxVersion


class HostingMode(enum.StrEnum):
    SELF_MANAGED = "self-managed"
    HOSTED_BY_3CX = "hosted-by-3cx"
    UNKNOWN = "unknown"


# 3CX-hosted FQDNs answer on 443; self-managed installs usually on 5001 (API-NOTES 1).
HOSTED_DOMAIN_SUFFIXES = (".3cx.us", ".3cx.co", ".3cx.eu", ".3cx.com.au", ".3cx.uk")
HOSTED_DOMAIN_MARKERS = (".my3cx.",)


def is_3cx_domain(host: str) -> bool:
    """A name 3CX hands out (``*.my3cx.*``, ``*.3cx.us``, ...), hosted or self-managed."""
    host = host.lower()
    return any(marker in host for marker in HOSTED_DOMAIN_MARKERS) or host.endswith(
        HOSTED_DOMAIN_SUFFIXES
    )


def guess_hosting_mode(host: str, port: int) -> HostingMode:
    # The port decides first: 3CX also gives its FQDNs to self-managed installs (x.3cx.eu:5001).
    if port == 5001:
        return HostingMode.SELF_MANAGED
    if is_3cx_domain(host):
        return HostingMode.HOSTED_BY_3CX
    return HostingMode.UNKNOWN


def hosting_of_url(url: str) -> str | None:
    """The hosting guess for a saved address, as text; None when the address does not parse."""
    try:
        address = parse_pbx_address(url)
    except AddressError:
        return None
    return str(guess_hosting_mode(address.host, address.port))


@dataclass(frozen=True)
class PbxIdentity:
    """What a PBX says about itself once we can talk to it."""

    base_url: str
    version: PbxVersion | None
    fqdn: str | None = None

    @property
    def generation(self) -> str:
        if self.version is None:
            return "unknown"
        return "v20" if self.version.is_v20 else f"v{self.version.major}"
