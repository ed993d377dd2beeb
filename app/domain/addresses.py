"""Turn whatever an engineer pastes (FQDN, URL, admin console link) into a PBX base URL."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

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


# The ports 3CX serves its web API on over HTTPS: 5001 (self-managed) and 443 (hosted, or set).
HTTPS_PORTS = (443, 5001)


def parse_pbx_address(text: str) -> PbxAddress:
    """Accept ``pbx.example.com``, ``https://pbx.example.com:5001/#/office/dashboard`` and the like.

    Paths, queries and fragments (admin console links) are dropped: the API lives at the root.
    A bare IPv6 address (``::1``, ``fe80::1``) is a host; with a port it needs brackets
    (``[fe80::1]:5001``), as in any URL.
    """
    raw = text.strip()
    if not raw:
        raise AddressError("The PBX address is empty: paste the address of the 3CX admin console.")
    if any(ch.isspace() for ch in raw):
        raise AddressError(
            "The PBX address contains spaces: paste just the address, like pbx.example.com."
        )
    candidate = _bracket_bare_ipv6(raw if "://" in raw else f"https://{raw}")
    try:
        parts = urlsplit(candidate)
    except ValueError as exc:
        raise AddressError(f"The PBX address is not a valid URL ({exc}).") from exc
    port = _port(parts)
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


def plain_http_warning(address: PbxAddress) -> str | None:
    """A warning for ``http://`` on a port where 3CX speaks only HTTPS; None otherwise.

    Still allowed (a local proxy may translate), but such a PBX answers plain HTTP with a
    reset or a TLS alert, which otherwise reads as "unreachable".
    """
    if address.scheme != "http" or address.port not in HTTPS_PORTS:
        return None
    secure = PbxAddress("https", address.host, address.port).base_url
    return (
        f"3CX serves its API over HTTPS on port {address.port}, and this address says "
        f"http:// — did you mean {secure}?"
    )


def _bracket_bare_ipv6(url: str) -> str:
    """``https://fe80::1/x`` -> ``https://[fe80::1]/x``: a URL needs IPv6 hosts in brackets."""
    scheme, _, rest = url.partition("://")
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc = rest[:end]
    if netloc.count(":") < 2 or "[" in netloc or "@" in netloc:
        return url
    try:
        ipaddress.IPv6Address(netloc)
    except ValueError:
        raise AddressError(
            f"'{netloc}' is neither a host with a port nor an IPv6 address. An IPv6 address "
            "with a port goes in brackets, like [fe80::1]:5001."
        ) from None
    return f"{scheme}://[{netloc}]{rest[end:]}"


def _port(parts: SplitResult) -> int | None:
    """The port the address names (None: the scheme's default), or a message naming it."""
    try:
        port = parts.port
    except ValueError:
        given = parts.netloc.rpartition(":")[2]
        if given.isdigit():
            raise AddressError(
                f"Port {given} is out of range: a port is 1 to 65535 (3CX listens on 5001 or 443)."
            ) from None
        raise AddressError(
            f"The port '{given}' is not a number: give 1 to 65535 (3CX listens on 5001 or 443)."
        ) from None
    if port == 0:
        raise AddressError(
            "Port 0 is not a port a PBX can listen on: give 1 to 65535 (3CX listens on 5001 or "
            "443), or leave the port out for 443."
        )
    return port


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.split(".")
    return all(_HOST_LABEL.match(label) for label in labels)
