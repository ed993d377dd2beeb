"""An admin user's XAPI session: create the API client and its key (automatic setup, v20 only).

The engineer signs in once with an admin account (``/webclient/api/Login/GetAccessToken``);
the password goes into that one request and is never kept. The session holds only the bearer
token, in memory, for the few calls that read the departments (``Groups``), create the API
client (``ServicePrincipals``), set its department, role and Extensions to Monitor, and
generate its key (``Pbx.GenerateAppToken``). The new key is returned to the caller and never
logged or put into an error message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from app.domain.addresses import parse_pbx_address
from app.domain.version import PbxVersion
from app.threecx.errors import (
    AuthRejected,
    BadRequest,
    Forbidden,
    MalformedResponse,
    TlsFailure,
    TlsProblem,
    UnreadableAnswer,
    Unsupported,
)
from app.threecx.generation import detect_generation
from app.threecx.paging import PageLedger
from app.threecx.tls import (
    TlsOptions,
    certificate_fingerprint,
    fetch_peer_certificate,
    normalise_fingerprint,
)
from app.threecx.tolerant_fields import boolean, identity_integer, identity_text, rows, text
from app.threecx.transport import RetryPolicy, Timeouts, Transport, parse_json
from app.threecx.v20.tokens import jwt_lifetime_s, sane_lifetime

LOGIN_PATH = "/webclient/api/Login/GetAccessToken"
TOKEN_PATH = "/connect/token"
# The admin console's own client id for refreshing its sign-in (UNCONFIRMED: the web client's
# renewal as integrators describe it; the password is never kept to sign in again).
WEB_CLIENT_ID = "Webclient"
PRINCIPALS_PATH = "/xapi/v1/ServicePrincipals"
GROUPS_PATH = "/xapi/v1/Groups"
# The one role with both capabilities the bridge needs (API-NOTES §3): "System Owner".
SYSTEM_OWNER = "system_owners"
# Live PBXs list each user's speed dials in /Groups as "___FAVORITES___…" groups; 3CX's console
# and integrators leave them out: they are not departments.
FAVORITES_PREFIX = "___FAVORITES___"


class AdminLoginRejected(AuthRejected):
    what = "The PBX rejected the admin sign-in."
    next_step = (
        "Check the admin user name and password: the ones used to sign in to the 3CX admin "
        "console (the user name is the extension number or email address). If the account "
        "uses two-factor authentication, enter its current security code too."
    )


class AdminSessionExpired(AuthRejected):
    what = "The admin sign-in has expired."
    next_step = "Sign in again with the admin account and repeat the step."


class AdminForbidden(Forbidden):
    what = "This admin account may not manage API clients (403)."
    next_step = (
        "Sign in with an account that can open Admin console > Integrations > API (the PBX's "
        "System Owner), or create the API client by hand with the guided steps."
    )


class ClientIdInUse(BadRequest):
    what = "That Client ID is already in use on this PBX."
    next_step = (
        "Choose a number that no extension, queue or other API client uses (an unused number "
        "such as 900 to 999 is typical)."
    )


@dataclass(frozen=True)
class ServicePrincipal:
    """An API client as ``/ServicePrincipals`` lists it (Admin console > Integrations > API)."""

    id: int
    number: str  # the Client ID
    xapi: bool  # "XAPI Access"
    call_control: bool  # "Call Control API Access"
    is_system: bool = False


def principal_from_row(row: Mapping[str, Any]) -> ServicePrincipal | None:
    principal_id = identity_integer(row, "Id")
    number = identity_text(row, "Number")
    if principal_id is None or number is None:
        return None
    return ServicePrincipal(
        id=principal_id,
        number=number,
        xapi=bool(boolean(row, "XAPIEnabled")),
        call_control=bool(boolean(row, "CallControlEnabled")),
        is_system=bool(boolean(row, "IsSystem")),
    )


@dataclass(frozen=True)
class Department:
    """A department (``/Groups``) and the user extensions in it, by number."""

    id: int
    name: str
    extensions: tuple[str, ...]


def department_from_row(row: Mapping[str, Any]) -> Department | None:
    """A department, or None for a row without Id or Name and for a favourites group."""
    group_id = identity_integer(row, "Id")
    name = identity_text(row, "Name")
    if group_id is None or name is None or name.startswith(FAVORITES_PREFIX):
        return None
    # Members are every DN in the department; users are the "Extension" ones (a member without
    # a Type is read as one: the field is the spec's, not confirmed on every build).
    numbers = {
        number
        for member in rows(row, "Members")
        if member.get("Type") in (None, "Extension") and (number := text(member, "Number"))
    }
    return Department(group_id, name, tuple(sorted(numbers, key=lambda n: (len(n), n))))


async def open_transport(
    url: str,
    tls: TlsOptions,
    *,
    timeouts: Timeouts | None = None,
    retry: RetryPolicy | None = None,
) -> Transport:
    """A transport to the PBX at ``url``, before any API key exists.

    With a pin, the presented certificate is compared first, so nothing (not even an admin
    password) is sent to a server whose certificate changed. Raises ``AddressError`` for an
    unusable address and ``ThreeCXError`` for the network or the pin.
    """
    address = parse_pbx_address(url)
    timeouts = timeouts or Timeouts()
    pinned_der: bytes | None = None
    if tls.pin_sha256 and address.scheme == "https":
        expected = normalise_fingerprint(tls.pin_sha256)
        pinned_der = await fetch_peer_certificate(address.host, address.port, timeouts.connect)
        presented = certificate_fingerprint(pinned_der)
        if presented != expected:
            raise TlsFailure(
                TlsProblem.CHANGED,
                f"The PBX now presents a certificate with SHA-256 {presented}.",
            )
    return Transport(address.base_url, tls, timeouts=timeouts, retry=retry, pinned_der=pinned_der)


@dataclass(frozen=True)
class AdminToken:
    access: str
    refresh: str  # "" when the PBX gave none
    lifetime_s: float | None  # from the JWT's exp - iat, else expires_in (seconds)


class AdminSession:
    """An admin's XAPI login; only its tokens are kept, in memory, until ``aclose()``.

    The admin console's tokens were seen to expire after 60 s (API-NOTES §9.2), shorter than
    an engineer takes to read a wizard page. The session renews itself with the refresh token
    before the access token lapses, and once more if the PBX still answers 401, so the engineer
    keeps their place. Only when renewal is refused does ``AdminSessionExpired`` ask them to
    sign in again.
    """

    RENEW_FRACTION = 0.75

    def __init__(
        self,
        transport: Transport,
        token: AdminToken | str,
        version: PbxVersion | None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self._set(token if isinstance(token, AdminToken) else AdminToken(token, "", None))
        self.version = version
        self.renewals = 0

    @property
    def renew_due(self) -> bool:
        return self._clock() >= self._renew_at

    def _set(self, token: AdminToken) -> None:
        self._token = token.access
        self._refresh = token.refresh
        life = token.lifetime_s
        self._renew_at = self._clock() + life * self.RENEW_FRACTION if life else float("inf")

    def __repr__(self) -> str:
        return f"AdminSession({self._transport.base_url!r}, version={self.version})"

    async def __aenter__(self) -> AdminSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._token = ""
        self._refresh = ""
        await self._transport.aclose()

    async def _renew(self, label: str) -> bool:
        """A new access token from the refresh token; False when there is none or it is refused."""
        if not self._refresh:
            return False
        try:
            response = await self._transport.request(
                "POST",
                TOKEN_PATH,
                data={
                    "client_id": WEB_CLIENT_ID,
                    "grant_type": "refresh_token",
                    "refresh_token": self._refresh,
                },
                label=TOKEN_PATH,
            )
        except (AuthRejected, BadRequest):
            self._refresh = ""
            return False
        token = _admin_token(parse_json(response, TOKEN_PATH), TOKEN_PATH)
        self._set(token)
        self.renewals += 1
        return True

    async def service_principals(self) -> list[ServicePrincipal]:
        """Every API client on the PBX."""
        found = await self._collection(PRINCIPALS_PATH, {}, "/ServicePrincipals")
        try:
            return [p for row in found if (p := principal_from_row(row)) is not None]
        except UnreadableAnswer as exc:
            raise UnreadableAnswer(exc.detail, endpoint="/ServicePrincipals") from exc

    async def departments(self) -> list[Department]:
        """The PBX's departments, each with its user extensions."""
        params = {"$select": "Id,Name", "$expand": "Members($select=Number,Type)"}
        found = await self._collection(GROUPS_PATH, params, "/Groups")
        try:
            return [d for row in found if (d := department_from_row(row)) is not None]
        except UnreadableAnswer as exc:
            raise UnreadableAnswer(exc.detail, endpoint="/Groups") from exc

    async def set_department(self, principal_id: int, group_id: int, role: str | None) -> None:
        """Put the API client in a department with ``role`` (None: the PBX's default role),
        the way 3CX's own examples set a DN's department (``Groups`` in a PATCH)."""
        group: dict[str, Any] = {"GroupId": group_id}
        if role is not None:
            group["Rights"] = {"RoleName": role}
        await self._patch_principal(principal_id, {"Groups": [group]})

    async def set_monitored(self, principal_id: int, numbers: Sequence[str]) -> None:
        """Set the API client's Extensions to Monitor (``Peers``): Call Control sees only these."""
        peers = [{"Number": number, "Type": "Extension"} for number in numbers]
        await self._patch_principal(principal_id, {"Peers": peers})

    async def _patch_principal(self, principal_id: int, body: Mapping[str, Any]) -> None:
        path = f"{PRINCIPALS_PATH}({int(principal_id)})"
        await self._request("PATCH", path, json_body=body, label="/ServicePrincipals(…)")

    async def _collection(
        self, path: str, params: Mapping[str, str], label: str
    ) -> list[Mapping[str, Any]]:
        """Every row of a collection, following ``@odata.nextLink``; paging always ends."""
        ledger = PageLedger(label)
        found: list[Mapping[str, Any]] = []
        target, query, link = path, dict(params), None
        while True:
            response = await self._request("GET", target, label=label, params=query or None)
            body = parse_json(response, label)
            if not isinstance(body, Mapping) or not isinstance(body.get("value"), list):
                raise MalformedResponse("Expected an OData collection.", endpoint=label)
            page = rows(body)
            ledger.page(page, link=link)
            found.extend(page)
            link = body.get("@odata.nextLink")
            if not isinstance(link, str) or not link:
                return found
            target, query = self._on_this_pbx(link, label), {}
            ledger.follow(target)

    def _on_this_pbx(self, link: str, label: str) -> str:
        """A next-page link as a path on this PBX: the admin's token goes with it."""
        base = httpx.URL(self._transport.base_url + "/")
        url = base.join(link)
        if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
            raise MalformedResponse(
                "The PBX pointed the next page at another host; not following it.",
                endpoint=label,
            )
        return url.raw_path.decode("ascii")

    async def create_service_principal(
        self, number: str, *, xapi: bool = True, call_control: bool = True
    ) -> ServicePrincipal:
        """Add an API client with Client ID ``number``; ``ClientIdInUse`` if the number is taken."""
        try:
            response = await self._request(
                "POST",
                PRINCIPALS_PATH,
                json_body={
                    "Number": number,
                    "XAPIEnabled": xapi,
                    "CallControlEnabled": call_control,
                },
                label="/ServicePrincipals",
            )
        except BadRequest as exc:
            if "already" in exc.detail.lower() or "ALREADY_IN_USE" in exc.detail:
                raise ClientIdInUse(f"Client ID {number!r}.", endpoint=exc.endpoint) from exc
            raise
        if response.status_code == 204 or not response.content:
            # Created without a body (OData "return=minimal"): find it by its number.
            found = [p for p in await self.service_principals() if p.number == number]
            if not found:
                raise MalformedResponse(
                    "The PBX accepted the new API client but does not list it.",
                    endpoint="/ServicePrincipals",
                )
            return found[0]
        body = parse_json(response, "/ServicePrincipals")
        principal = principal_from_row(body) if isinstance(body, Mapping) else None
        if principal is None:
            raise MalformedResponse(
                "The created API client has no Id or Number.", endpoint="/ServicePrincipals"
            )
        return principal

    async def generate_app_token(self, principal_id: int) -> str:
        """A new API key for the client (any previous key stops working). Never display it."""
        label = "/ServicePrincipals(…)/Pbx.GenerateAppToken"
        response = await self._request(
            "POST",
            f"{PRINCIPALS_PATH}({int(principal_id)})/Pbx.GenerateAppToken",
            label=label,
        )
        body = parse_json(response, label)
        key = body.get("value") if isinstance(body, Mapping) else None
        if not isinstance(key, str) or not key.strip():
            raise MalformedResponse("The PBX answered without a key.", endpoint=label)
        return key

    async def _request(
        self,
        method: str,
        path: str,
        *,
        label: str,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        if not self._token:
            raise AdminSessionExpired("The session was closed.", endpoint=label)
        if self.renew_due:
            await self._renew(label)  # due: renew first; a refusal shows up as the 401 below
        for last in (False, True):
            try:
                return await self._transport.request(
                    method,
                    path,
                    params=params,
                    headers={"Authorization": f"Bearer {self._token}"},
                    json_body=json_body,
                    label=label,
                )
            except AuthRejected as exc:
                if last or not await self._renew(label):
                    raise AdminSessionExpired(endpoint=label) from exc
            except Forbidden as exc:
                raise AdminForbidden(exc.detail, endpoint=label) from exc
        raise AssertionError("unreachable")


async def admin_sign_in(
    url: str,
    username: str,
    password: str,
    *,
    tls: TlsOptions,
    security_code: str = "",
    timeout_s: float = 10.0,
) -> AdminSession:
    """Sign in as an admin user (v20 only); the password is sent once and never kept.

    Raises ``ValueError`` (``AddressError`` for the address) naming an empty field,
    ``AdminLoginRejected`` (an ``AuthRejected``) for wrong credentials, ``Unsupported`` on v18,
    and other ``ThreeCXError``s for the network.
    """
    if not username.strip():
        raise ValueError(
            "The admin user name is empty: enter the user name you sign in to the 3CX admin "
            "console with."
        )
    if not password:
        raise ValueError("The admin password is empty.")
    timeouts = Timeouts(connect=timeout_s, read=timeout_s, total=timeout_s * 2)
    transport = await open_transport(url, tls, timeouts=timeouts, retry=RetryPolicy(attempts=2))
    try:
        if await detect_generation(transport) != "v20":
            raise Unsupported(
                "Automatic setup needs v20 (this PBX runs the older v18 API): use the guided "
                "steps to create the API user by hand."
            )
        token = await _login(transport, username.strip(), password, security_code.strip())
    except BaseException:
        await transport.aclose()
        raise
    return AdminSession(transport, token, PbxVersion.parse(transport.last_version_header))


async def _login(transport: Transport, username: str, password: str, code: str) -> AdminToken:
    try:
        response = await transport.request(
            "POST",
            LOGIN_PATH,
            json_body={"Username": username, "Password": password, "SecurityCode": code},
            label=LOGIN_PATH,
        )
    except (AuthRejected, BadRequest) as exc:
        raise AdminLoginRejected(endpoint=LOGIN_PATH) from exc
    body = parse_json(response, LOGIN_PATH)
    if not isinstance(body, Mapping):
        raise MalformedResponse("The sign-in answer is not a JSON object.", endpoint=LOGIN_PATH)
    status = str(body.get("Status") or "")
    if status != "AuthSuccess":
        if "two" in status.lower() or "code" in status.lower() or body.get("TwoFactorAuth"):
            raise AdminLoginRejected(
                "The account needs its two-factor security code: enter the current code.",
                endpoint=LOGIN_PATH,
            )
        raise AdminLoginRejected(endpoint=LOGIN_PATH)
    return _admin_token(body.get("Token"), LOGIN_PATH)


def _admin_token(token: object, endpoint: str) -> AdminToken:
    access = token.get("access_token") if isinstance(token, Mapping) else None
    if not isinstance(token, Mapping) or not isinstance(access, str) or not access:
        raise MalformedResponse("The sign-in answer has no access token.", endpoint=endpoint)
    refresh = token.get("refresh_token")
    expires_in = token.get("expires_in")
    lifetime = jwt_lifetime_s(access)
    if (
        lifetime is None
        and isinstance(expires_in, (int, float))
        and not isinstance(expires_in, bool)
    ):
        # 0, -60, NaN, 1e400 or a 400-digit integer: read within sane bounds, never overflowing.
        lifetime = sane_lifetime(float(expires_in)) if abs(expires_in) < 1e12 else None
    elif lifetime is not None:
        lifetime = sane_lifetime(lifetime)
    return AdminToken(access, refresh if isinstance(refresh, str) else "", lifetime)
