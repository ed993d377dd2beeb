"""Step 3: the dedicated API user, created by hand (guided steps) or through the API (automatic).

3CX has no roles called "Reports User" or "Recording Manager" (API-NOTES §3): the field docs
name two capabilities, call history and recording fetch. The steps say both names and the real
3CX setting; the key check that follows proves them by probing, whatever the role is called.

The automatic path makes the client and its key, then its Department, Role and Extensions to
Monitor; whatever the PBX will not set is named, with where to set it by hand, and never
costs the client or its key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.domain.causes.wording import listing, plural
from app.services.logs.setup import REDACTOR
from app.threecx.errors import BadRequest, Forbidden, NotFound, ThreeCXError
from app.threecx.v20.admin import SYSTEM_OWNER, AdminSession, ClientIdInUse, Department

MAX_CLIENT_ID = 64
ROLE_NAME = "System Owner"  # SYSTEM_OWNER as the admin console names it
# The three settings of Integrations > API the automatic path makes, in the console's words.
DEPARTMENT, ROLE, MONITOR = "Department", "Role", "Extensions to Monitor"


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
    follow_up: str = ""  # what was done and what is left by hand, in plain words
    department: str = ""  # the department it was put in; "" when left by hand
    role: str = ""  # its role as the console names it ("System Owner"); "" when left by hand
    monitored: int = 0  # extensions it monitors (Extensions to Monitor)
    unmonitored: int = 0  # user extensions of other departments it does not monitor
    left: tuple[str, ...] = ()  # the settings left by hand: DEPARTMENT, ROLE, MONITOR


@dataclass
class _Outcome:
    """What the automatic path set on the new client, and why anything is left."""

    chosen: Department | None
    department: bool = False
    role: bool = False
    monitored: tuple[str, ...] = ()
    left: dict[str, str] = field(default_factory=dict)  # setting -> why, in the console's order


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


def choose_department(departments: Sequence[Department]) -> Department | None:
    """The only department; else the one with the most user extensions (ties: first by name)."""
    if len(departments) <= 1:
        return departments[0] if departments else None
    return min(departments, key=lambda d: (-len(d.extensions), d.name.casefold(), d.name))


async def create_api_user(
    session: AdminSession, client_id: str, *, call_control: bool = True
) -> CreatedApiUser:
    """Create the API client and its key through the admin's session, then put it in a
    department as System Owner and, with Call Control, monitor that department's extensions.

    Raises ``ApiUserError`` when the Client ID cannot be used or the key could not be made
    after the client was created, and ``ThreeCXError`` for the PBX (sign-in expired, no right).
    A setting the PBX refuses is left by hand and said in ``follow_up``; the client and key
    stay. The key is registered with the log redactor before anything else can see it.
    """
    number = check_client_id(client_id)
    existing = {p.number for p in await session.service_principals()}
    if number in existing:
        raise _taken(number)
    departments, unlisted = await _departments(session)
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
            f"{number} and regenerate its key, then paste it into the key field. Set its "
            f"{listing(_settings(call_control))} there too (Role: {ROLE_NAME}).",
        ) from exc
    REDACTOR.register(secret)
    chosen = choose_department(departments)
    outcome = _Outcome(chosen)
    await _configure(session, principal.id, principal.call_control, outcome, unlisted)
    missed = _unmonitored(outcome, departments)
    return CreatedApiUser(
        client_id=principal.number,
        principal_id=principal.id,
        secret=secret,
        call_control=principal.call_control,
        follow_up=_follow_up(number, outcome, missed),
        department=chosen.name if chosen and outcome.department else "",
        role=ROLE_NAME if outcome.role else "",
        monitored=len(outcome.monitored),
        unmonitored=_count(missed),
        left=tuple(outcome.left),
    )


def _settings(call_control: bool) -> list[str]:
    """The settings the automatic path makes: no Extensions to Monitor without Call Control."""
    return [DEPARTMENT, ROLE, MONITOR] if call_control else [DEPARTMENT, ROLE]


async def _departments(session: AdminSession) -> tuple[list[Department], str]:
    """The departments, or none and why: the client is made either way."""
    try:
        return await session.departments(), ""
    except ThreeCXError as exc:
        return [], f"the PBX would not list its departments: {_cause(exc)}"


async def _configure(
    session: AdminSession, principal_id: int, call_control: bool, outcome: _Outcome, unlisted: str
) -> None:
    chosen = outcome.chosen
    if chosen is None:
        why = unlisted or "the PBX lists no departments"
        outcome.left.update(dict.fromkeys(_settings(call_control), why))
        return
    await _place(session, principal_id, chosen, outcome)
    if call_control:
        await _monitor(session, principal_id, chosen, outcome)


async def _place(
    session: AdminSession, principal_id: int, chosen: Department, outcome: _Outcome
) -> None:
    """Department and role in one PATCH; if refused, the department alone, so that only the
    role is left when the role is what this admin may not hand out."""
    try:
        await session.set_department(principal_id, chosen.id, SYSTEM_OWNER)
    except ThreeCXError as exc:
        why = _why(exc)
        # Only after a refusal: a timeout may have set the role, which a retry would undo.
        if _refused(exc) and await _department_alone(session, principal_id, chosen.id):
            outcome.department = True
        else:
            outcome.left[DEPARTMENT] = why
        outcome.left[ROLE] = why
        return
    outcome.department = outcome.role = True


async def _department_alone(session: AdminSession, principal_id: int, group_id: int) -> bool:
    try:
        await session.set_department(principal_id, group_id, None)
    except ThreeCXError:
        return False
    return True


async def _monitor(
    session: AdminSession, principal_id: int, chosen: Department, outcome: _Outcome
) -> None:
    if not chosen.extensions:
        outcome.left[MONITOR] = f"the department {chosen.name} has no extensions"
        return
    try:
        await session.set_monitored(principal_id, chosen.extensions)
    except ThreeCXError as exc:
        outcome.left[MONITOR] = _why(exc)
        return
    outcome.monitored = chosen.extensions


def _status(exc: ThreeCXError) -> int | None:
    for kind, status in ((Forbidden, 403), (BadRequest, 400), (NotFound, 404)):
        if isinstance(exc, kind):
            return status
    found = getattr(exc, "status", None)
    return found if isinstance(found, int) else None


def _refused(exc: ThreeCXError) -> bool:
    status = _status(exc)
    return status is not None and 400 <= status < 500


def _cause(exc: ThreeCXError) -> str:
    """What went wrong in a few words: "HTTP 403" for a refusal, else the error's own."""
    if _refused(exc):
        return f"HTTP {_status(exc)}"
    return exc.what[:1].lower() + exc.what[1:].rstrip(".")


def _why(exc: ThreeCXError) -> str:
    return f"refused by the PBX: {_cause(exc)}" if _refused(exc) else _cause(exc)


def _unmonitored(
    outcome: _Outcome, departments: Sequence[Department]
) -> list[tuple[str, set[str]]]:
    """Each other department's extensions the client does not monitor (only once it
    monitors some: otherwise the left-by-hand sentence says what to add)."""
    if not outcome.monitored or outcome.chosen is None:
        return []
    watched = set(outcome.monitored)
    others = sorted(
        (d for d in departments if d.id != outcome.chosen.id), key=lambda d: d.name.casefold()
    )
    return [(d.name, rest) for d in others if (rest := set(d.extensions) - watched)]


def _follow_up(number: str, outcome: _Outcome, missed: list[tuple[str, set[str]]]) -> str:
    sentences = [_done(number, outcome)]
    if outcome.left:
        sentences.append(_left(number, outcome))
    if missed:
        sentences.append(_not_monitored(number, missed))
    sentences.append("The key check in the next step proves both capabilities.")
    return " ".join(sentences)


def _done(number: str, outcome: _Outcome) -> str:
    chosen = outcome.chosen
    if outcome.department and chosen is not None:
        parts = [f"Done: client {number} in department {chosen.name}"]
    else:
        parts = [f"Done: client {number} created with its key"]
    if outcome.role:
        parts.append(f"role {ROLE_NAME}")
    if outcome.monitored:
        parts.append(f"monitoring {plural(len(outcome.monitored), 'extension')}")
    return ", ".join(parts) + "."


def _left(number: str, outcome: _Outcome) -> str:
    by_reason: dict[str, list[str]] = {}
    for setting, why in outcome.left.items():
        by_reason.setdefault(why, []).append(setting)
    reasons = "; ".join(f"{listing(names)} ({why})" for why, names in by_reason.items())
    steps = listing([_how(setting, outcome.chosen) for setting in outcome.left])
    return (
        f"Left by hand: {reasons}. To finish, in the admin console open Integrations > API, "
        f"edit client {number} and {steps}."
    )


def _how(setting: str, chosen: Department | None) -> str:
    if setting == DEPARTMENT:
        if chosen is not None:
            return f"set Department to {chosen.name}"
        return "set Department to the one its extensions belong to (not System Wide)"
    if setting == ROLE:
        return f"set Role to {ROLE_NAME} (the role that may read call history and recordings)"
    if chosen is not None and chosen.extensions:
        what = f"the {plural(len(chosen.extensions), 'extension')} of {chosen.name}"
    else:
        what = "the extensions whose calls should reach the CRM"
    return f"add {what} to Extensions to Monitor (with none, no call events arrive)"


def _count(missed: list[tuple[str, set[str]]]) -> int:
    """How many extensions are not monitored (one in two departments counts once)."""
    return len(set().union(*(numbers for _, numbers in missed)))


def _not_monitored(number: str, missed: list[tuple[str, set[str]]]) -> str:
    total = _count(missed)
    if len(missed) == 1:
        where = f"in the department {missed[0][0]}"
    else:
        shares = listing([f"{len(numbers)} in {name}" for name, numbers in missed])
        where = f"in other departments ({shares})"
    verb, them = ("is", "it") if total == 1 else ("are", "them")
    return (
        f"{plural(total, 'extension')} {where} {verb} not monitored: to include {them}, edit "
        f"client {number} under Integrations > API and add {them} to Extensions to Monitor."
    )


def _taken(number: str) -> ApiUserError:
    return ApiUserError(
        f"The Client ID {number} is already used by an extension, a queue or another API "
        "client on this PBX: choose another number. To reuse an existing API client instead, "
        "regenerate its key under Admin console > Integrations > API.",
        field="client_id",
    )
