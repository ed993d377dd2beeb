"""A customer's PBX as the engineer sees it: address, generation, hosting and region."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.domain.version import PbxVersion


class HostingMode(enum.StrEnum):
    SELF_MANAGED = "self-managed"
    HOSTED_BY_3CX = "hosted-by-3cx"
    UNKNOWN = "unknown"


# 3CX-hosted FQDNs answer on 443; self-managed installs usually on 5001 (API-NOTES 1).
HOSTED_DOMAIN_SUFFIXES = (".3cx.us", ".3cx.co", ".3cx.eu", ".3cx.com.au", ".3cx.uk")
HOSTED_DOMAIN_MARKERS = (".my3cx.",)


def guess_hosting_mode(host: str, port: int) -> HostingMode:
    host = host.lower()
    if any(marker in host for marker in HOSTED_DOMAIN_MARKERS) or host.endswith(
        HOSTED_DOMAIN_SUFFIXES
    ):
        return HostingMode.HOSTED_BY_3CX
    if port == 5001:
        return HostingMode.SELF_MANAGED
    return HostingMode.UNKNOWN


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
