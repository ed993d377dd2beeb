"""Step 3: the dedicated API user, created by hand (guided steps) or through the API (automatic).

3CX has no roles called "Reports User" or "Recording Manager" (API-NOTES §3): the field docs
name two capabilities, call history and recording fetch. The steps say both names and the real
3CX setting; the key check that follows proves them by probing, whatever the role is called.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.services.logs.setup import REDACTOR
from app.threecx.errors import ThreeCXError
from app.threecx.v20.admin import AdminSession, ClientIdInUse

MAX_CLIENT_ID = 64


class ApiUserError(Exception):
    """The API user could not be created; ``field`` names the wizard field at fault, if any."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class GuidedStep:
    title: str
    text: str


@dataclass(frozen=True)
class CreatedApiUser:
    client_id: str
    principal_id: int
    secret: str = field(repr=False)  # the new API key: into the keyring, never on screen
    call_control: bool = True
    follow_up: str = ""  # what is left to do by hand in the admin console


DEDICATED = GuidedStep(
    "Use a dedicated API user, not your own admin account",
    "Create one API user for the CRM bridge and nothing else. Its key opens only what the "
    "bridge needs, it can be regenerated without locking anyone out of the admin console, "
    "and the PBX's logs show what the bridge did. Your admin password never leaves your hands.",
)
BLAST_RADIUS = GuidedStep(
    "Give it no more than it needs: the blast radius",
    "One dedicated user with both capabilities and nothing else keeps the blast radius low if "
    "the credentials leak. On v20 the role that grants both is System Owner, which is "
    "admin-level: if that key leaks, the attacker has the keys to the PBX. So keep the key in "
    "the bridge and this app's keyring only, and regenerate it if anyone else may have seen "
    "it. Call history on its own will fail: calls reach the CRM without their recordings, the "
    "most common DIY mistake.",
)

V20_STEPS = (
    DEDICATED,
    GuidedStep(
        "Open the API page",
        "In the 3CX admin console, open Integrations, then API, and click Add.",
    ),
    GuidedStep(
        "Client ID",
        "Type a Client ID: a number that no extension, queue or other API client uses (for "
        "example 900). The bridge signs in with it, so note it down for the next step.",
    ),
    GuidedStep(
        "XAPI Access: call history and recordings",
        "Tick XAPI Access. The bridge reads the call history and fetches the recordings "
        'through it: the two capabilities the field docs call "Reports User" (call history) '
        'and "Recording Manager" (recording fetch).',
    ),
    GuidedStep(
        "Call Control API Access and the extensions to monitor",
        "Tick Call Control API Access and, under Extensions to Monitor, select the extensions "
        "whose calls should reach the CRM. With none selected the API answers, but no call "
        "events ever arrive.",
    ),
    GuidedStep(
        "Department and Role: the setting that grants both capabilities",
        "Pick the Department the extensions belong to, not System Wide: System Wide forces the "
        "role User. Then pick the Role System Owner. 3CX has no roles named Reports User or "
        "Recording Manager: this Role is the real setting behind both, and on current v20 "
        "builds System Administrator is refused recordings and call reports (403, field "
        "reports). The key check in the next step proves both capabilities, whatever the role "
        "is called.",
    ),
    BLAST_RADIUS,
    GuidedStep(
        "Save, and copy the key: it is shown only once",
        "Click Save. 3CX shows the API key once: paste it straight into this wizard's key field "
        "(it goes into the OS keyring, never into a file or an email). If it is lost, "
        "regenerate it on the same page; every bridge that holds the old key then needs the "
        "new one.",
    ),
)

V18_STEPS = (
    DEDICATED,
    GuidedStep(
        "Check the build first",
        "The version is in the top banner of the 3CX management console (or on the support "
        "page at the top right). v18 build 11 or later is needed; an older build must be "
        "upgraded first.",
    ),
    GuidedStep(
        "Add the API user",
        "In the v18 management console, open Users and add a user for the bridge only (for "
        "example crm-bridge). Its user name is the Client ID in this wizard and its password is "
        "the key. Automatic setup needs v20, so this part is by hand.",
    ),
    GuidedStep(
        "Rights: call history and recordings",
        'Set the user\'s rights group so it may read the call log ("Reports User": call '
        'history) and the recordings ("Recording Manager": recording fetch). With call '
        "history alone, calls reach the CRM without "
        "their recordings. The key check in the next step proves both.",
    ),
    BLAST_RADIUS,
    GuidedStep(
        "Set the password and enter it once",
        "Give the user a strong password of its own and type it straight into this wizard's "
        "key field (it goes into the OS keyring). v18 has no Call Control websocket: the bridge "
        "polls the call log instead. Plan the move to v20, which is current and adds "
        "transcription.",
    ),
)


def guided_steps(generation: str) -> tuple[GuidedStep, ...]:
    """The by-hand steps for a "v20" or "v18" PBX."""
    if generation == "v20":
        return V20_STEPS
    if generation == "v18":
        return V18_STEPS
    raise ValueError(f"No guided steps for generation {generation!r}: expected v20 or v18.")


def check_client_id(text: str) -> str:
    """The Client ID trimmed; ``ApiUserError`` (field "client_id") when it cannot be used."""
    client_id = text.strip()
    if not client_id:
        raise ApiUserError(
            "The Client ID is empty: choose a number no extension, queue or other API client "
            "uses (for example 900).",
            field="client_id",
        )
    if any(ch.isspace() or not ch.isprintable() for ch in client_id):
        raise ApiUserError(
            "The Client ID contains a space or an invisible character: use digits only, such "
            "as 900.",
            field="client_id",
        )
    if len(client_id) > MAX_CLIENT_ID:
        raise ApiUserError(
            f"The Client ID is {len(client_id)} characters long: use a short number, such as 900.",
            field="client_id",
        )
    return client_id


async def create_api_user(
    session: AdminSession, client_id: str, *, call_control: bool = True
) -> CreatedApiUser:
    """Create the API client and its key through the admin's session.

    Raises ``ApiUserError`` when the Client ID cannot be used or the key could not be made
    after the client was created, and ``ThreeCXError`` for the PBX (sign-in expired, no right).
    The key is registered with the log redactor before anything else can see it.
    """
    number = check_client_id(client_id)
    existing = {p.number for p in await session.service_principals()}
    if number in existing:
        raise _taken(number)
    try:
        principal = await session.create_service_principal(
            number, xapi=True, call_control=call_control
        )
    except ClientIdInUse as exc:
        raise _taken(number) from exc
    try:
        secret = await session.generate_app_token(principal.id)
    except ThreeCXError as exc:
        raise ApiUserError(
            f"The API client {number} was created, but its key could not be generated "
            f"({exc.message}). In the admin console open Integrations > API, edit client "
            f"{number} and regenerate its key, then paste it into the key field.",
        ) from exc
    REDACTOR.register(secret)
    return CreatedApiUser(
        client_id=principal.number,
        principal_id=principal.id,
        secret=secret,
        call_control=principal.call_control,
        follow_up=_follow_up(number, principal.call_control),
    )


def _taken(number: str) -> ApiUserError:
    return ApiUserError(
        f"The Client ID {number} is already used by an extension, a queue or another API "
        "client on this PBX: choose another number. To reuse an existing API client instead, "
        "regenerate its key under Admin console > Integrations > API.",
        field="client_id",
    )


def _follow_up(number: str, call_control: bool) -> str:
    monitor = (
        " and select the Extensions to Monitor (with none selected, no call events arrive)"
        if call_control
        else ""
    )
    return (
        f"In the admin console open Integrations > API and edit client {number}: pick its "
        f"Department and Role (the Role decides whether it may read call history and fetch "
        f"recordings){monitor}. The key check in the next step proves both capabilities."
    )
