"""Step 1: whatever address the engineer pastes, normalised; the PBX's version, hosting, region.

Nothing here needs the API key. The XAPI answers an unauthenticated probe with 401 and an
``X-3CX-Version`` header (v20 and its build); a v18 PBX answers only its older ``/api``. The
hosting mode and the region are hints from the address until the PBX itself can be asked.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace

from app.domain.addresses import parse_pbx_address
from app.domain.pbx import HostingMode, guess_hosting_mode, is_3cx_domain
from app.domain.phones import default_region
from app.domain.version import PbxVersion
from app.services.certificate_trouble import (
    CertificateTrouble,
    certificate_trouble,
    is_trust_failure,
)
from app.threecx.client import PbxClient
from app.threecx.errors import ThreeCXError, Unreachable, UnreachableKind
from app.threecx.generation import detect_generation
from app.threecx.tls import TlsOptions
from app.threecx.transport import RetryPolicy, Timeouts
from app.threecx.v20.admin import open_transport

HOSTED = "3CX-hosted"
SELF_HOSTED = "self-hosted"
UNKNOWN = "unknown"
SELF_MANAGED_PORT = 5001

# Country-code top-level domains that are used as generic names, not as a country.
_GENERIC_CCTLDS = frozenset({"ai", "cc", "co", "fm", "io", "ly", "me", "tv", "ws", "to", "eu"})
_TLD_REGIONS = {"uk": "GB"}  # the one ccTLD that is not its ISO code
COUNTRY_NAMES = {
    "AU": "Australia",
    "NZ": "New Zealand",
    "GB": "the United Kingdom",
    "IE": "Ireland",
    "US": "the United States",
    "CA": "Canada",
    "ZA": "South Africa",
    "DE": "Germany",
    "FR": "France",
    "NL": "the Netherlands",
    "CY": "Cyprus",
    "SG": "Singapore",
}
PBX_EXPRESS_NOTE = (
    "PBX Express (3CX's free hosted starter) is treated the same as 3CX-hosted: UNCONFIRMED, "
    "no API-specific evidence, and the field docs note a bearer-token constraint on some "
    "endpoints."
)


@dataclass(frozen=True)
class PbxDetection:
    url: str  # the normalised base URL
    host: str
    port: int
    generation: str | None  # "v20" or "v18"; None when the PBX did not answer
    version: str | None  # e.g. "20.0.10.1116"
    hosting: str  # "3CX-hosted", "self-hosted" or "unknown"
    hosting_hint: str
    region: str | None  # ISO country for phone numbers: a guess until the PBX says
    region_hint: str
    problem: str | None  # what failed and what to do; None when the PBX answered
    # The certificate to judge when the PBX's certificate is not trusted with these settings.
    certificate_trouble: CertificateTrouble | None = None


async def detect_pbx(text: str, *, tls: TlsOptions, timeout_s: float = 5.0) -> PbxDetection:
    """Normalise ``text`` and ask the PBX what it is, without a key.

    Raises ``AddressError`` for an unusable address (and ``ValueError`` for an unusable pin or
    CA file); network trouble never raises: it is described in ``problem``.
    """
    address = parse_pbx_address(text)
    hosting, hosting_hint = hosting_for(address.host, address.port)
    region, region_hint = region_guess(address.host)
    generation: str | None = None
    version: str | None = None
    problem: str | None = None
    trouble: CertificateTrouble | None = None
    timeouts = Timeouts(connect=timeout_s, read=timeout_s, total=timeout_s * 2)
    try:
        transport = await open_transport(
            address.base_url, tls, timeouts=timeouts, retry=RetryPolicy(attempts=1)
        )
        try:
            generation = await detect_generation(transport)
            parsed = PbxVersion.parse(transport.last_version_header)
            version = str(parsed) if parsed is not None else None
        finally:
            await transport.aclose()
    except ThreeCXError as exc:
        if is_trust_failure(exc):
            trouble = await certificate_trouble(
                address.base_url, tls, timeout_s=timeout_s, seen=exc
            )
        problem = trouble.what if trouble else _problem(exc, address.host, address.port, hosting)
    return PbxDetection(
        url=address.base_url,
        host=address.host,
        port=address.port,
        generation=generation,
        version=version,
        hosting=hosting,
        hosting_hint=hosting_hint,
        region=region,
        region_hint=region_hint,
        problem=problem,
        certificate_trouble=trouble,
    )


async def refine_region(detection: PbxDetection, client: PbxClient) -> PbxDetection:
    """The detection with the PBX's own country (licence ``CountryCode``, else ``E164Settings``)
    in place of the guess from the address; unchanged when the PBX does not say."""
    country: str | None = None
    dialling: str | None = None
    with contextlib.suppress(ThreeCXError):
        country = (await client.licence()).country_code
    if country is None:
        with contextlib.suppress(ThreeCXError):  # v18 has no E.164 settings
            dialling = (await client.numbering_plan()).country_code
    region = default_region(country, dialling)
    if region is None:
        return detection
    source = (
        f"the PBX licence (CountryCode {country})"
        if country
        else f"the PBX's E.164 settings (country code +{str(dialling).lstrip('+')})"
    )
    return replace(
        detection,
        region=region,
        region_hint=f"{_country(region)}, from {source}: local numbers are read as {region} "
        "numbers.",
    )


def hosting_for(host: str, port: int) -> tuple[str, str]:
    """The hosting mode the address suggests, and the hint that explains it."""
    mode = guess_hosting_mode(host, port)
    if port == SELF_MANAGED_PORT:
        on_3cx_name = " with a 3CX-provided name" if is_3cx_domain(host) else ""
        return SELF_HOSTED, (
            f"Port 5001 is where self-managed 3CX installs usually listen: this looks like a "
            f"self-managed PBX (your own server or VPS){on_3cx_name}. The API is the same as on "
            "a 3CX-hosted PBX."
        )
    if mode is HostingMode.HOSTED_BY_3CX:
        port_note = (
            ""
            if port == 443
            else f" They answer on port 443, not {port}: if nothing answers, drop the port."
        )
        return HOSTED, (
            f"{host} is a 3CX-hosted domain: 3CX runs the PBX in its cloud, with full API "
            f"access, the same as self-managed.{port_note} {PBX_EXPRESS_NOTE}"
        )
    if port == 443:
        return UNKNOWN, (
            "A custom domain on port 443: a self-managed PBX on 443, or a hosted one behind "
            "the customer's own name. Self-managed installs usually listen on 5001: if nothing "
            f"answers, try https://{host}:5001."
        )
    return UNKNOWN, (
        f"Port {port} is neither 443 (3CX-hosted) nor 5001 (the usual self-managed port): "
        "check the port in the admin console's address bar."
    )


def region_guess(host: str) -> tuple[str | None, str]:
    """A region from the address's country domain (``.com.au`` → AU), labelled as a guess."""
    labels = host.lower().rstrip(".").split(".")
    tld = labels[-1] if len(labels) > 1 else ""
    later = "The PBX's own licence country replaces this guess once the API key works."
    if len(tld) == 2 and tld.isalpha() and tld not in _GENERIC_CCTLDS:
        region = default_region(_TLD_REGIONS.get(tld, tld.upper()), None)
        if region is not None:
            return region, f"A guess from the address (.{tld}): {_country(region)}. {later}"
    return None, f"The address does not say the country. {later}"


def _country(region: str) -> str:
    name = COUNTRY_NAMES.get(region)
    return f"{name} ({region})" if name else region


def _problem(exc: ThreeCXError, host: str, port: int, hosting: str) -> str:
    parts = [exc.message]
    if exc.next_step:
        parts.append(exc.next_step)
    if isinstance(exc, Unreachable) and exc.kind in (
        UnreachableKind.REFUSED,
        UnreachableKind.TIMEOUT,
    ):
        if port == 443 and hosting != HOSTED:
            parts.append(f"Self-managed PBXs usually listen on 5001: try https://{host}:5001.")
        elif port == SELF_MANAGED_PORT and hosting == HOSTED:
            parts.append(f"3CX-hosted PBXs answer on 443: try https://{host}.")
    return " ".join(parts)
