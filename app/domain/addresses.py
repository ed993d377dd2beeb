"""Turn whatever an engineer pastes (FQDN, URL, admin console link) into a PBX base URL."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)


class AddressError(ValueError):
    """The pasted PBX address cannot be used; the message says why in plain words."""


@dataclass(frozen=True)
class PbxAddress:
    scheme: str
    host: str
    port: int

    @property
    def base_url(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        suffix = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{host}{suffix}"


def parse_pbx_address(text: str) -> PbxAddress:
    """Accept ``pbx.example.com``, ``https://pbx.example.com:5001/#/office/dashboard`` and the like.

    Paths, queries and fragments (admin console links) are dropped: the API lives at the root.
    """
    raw = text.strip()
    if not raw:
        raise AddressError("The PBX address is empty: paste the address of the 3CX admin console.")
    if any(ch.isspace() for ch in raw):
        raise AddressError(
            "The PBX address contains spaces: paste just the address, like pbx.example.com."
        )
    candidate = raw if "://" in raw else f"https://{raw}"
    try:
        parts = urlsplit(candidate)
        port = parts.port
    except ValueError as exc:
        raise AddressError(f"The PBX address is not a valid URL ({exc}).") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise AddressError(f"The PBX address must start with https:// (got {scheme}://).")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise AddressError(
            "The PBX address has no host name: paste something like pbx.example.com."
        )
    if parts.username or parts.password:
        raise AddressError("Remove the user name and password from the PBX address.")
    if not _valid_host(host):
        raise AddressError(f"'{host}' is not a valid host name or IP address.")
    return PbxAddress(
        scheme=scheme, host=host.lower(), port=port or (443 if scheme == "https" else 80)
    )


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.split(".")
    return all(_HOST_LABEL.match(label) for label in labels)
