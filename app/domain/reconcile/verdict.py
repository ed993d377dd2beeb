"""Each call's one state and its cause, decided here and nowhere else.

The order follows the field guide's first moves (seed 000): is the call in the CRM at all, once
or twice, on the right contact, with its recording; and when the recording is missing, the
bridge log says why (a 401 or 403: the role; 404s that stopped before 3CX wrote the file: the
bridge gave up too early; the file gone: retention). An unanswered call is about the missed-call
workflow (seed 003): did it fire, and if not, the two usual causes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from app.domain.calls import CallDirection
from app.domain.contact_match import MatchKind, display_name
from app.domain.diagnosis import CheckId
from app.domain.reconcile.join import Joined, in_time_order
from app.domain.reconcile.records import (
    BridgeEvent,
    CallState,
    CrmMatch,
    LedgerEntry,
    PbxCall,
    PbxRecording,
)

DENIED = (401, 403)


def decide(calls: Sequence[PbxCall], joined: Joined) -> list[LedgerEntry]:
    """One entry per call, in start order; a key revoked mid-period is found across calls."""
    ordered = sorted(calls, key=lambda c: c.started_at)
    entries = [_one(call, joined) for call in ordered]
    return _key_revoked(entries)


def _one(call: PbxCall, joined: Joined) -> LedgerEntry:
    bridge = tuple(in_time_order(joined.bridge.get(call.call_id, [])))
    crm = tuple(joined.crm.get(call.call_id, []))
    if _is_missed(call):
        return _missed(call, tuple(joined.triggers.get(call.call_id, [])), crm, bridge)
    if not crm:
        return LedgerEntry(
            call, CallState.MISSING, _missing_cause(bridge), (), bridge, _missing_evidence(bridge)
        )
    if len(crm) > 1:
        rows = ", ".join(str(m.activity.row) for m in crm)
        return LedgerEntry(
            call,
            CallState.DUPLICATED,
            None,
            crm,
            bridge,
            (f"{len(crm)} CRM activities for this one call (rows {rows}).",),
        )
    wrong = _wrong_contact(call, crm[0])
    if wrong is not None:
        return LedgerEntry(
            call, CallState.WRONG_CONTACT, CheckId.CONTACT_MATCH, crm, bridge, (wrong,)
        )
    return _recording(call, crm, bridge)


def _is_missed(call: PbxCall) -> bool:
    return not call.answered and call.direction is CallDirection.INBOUND


# ---- missed calls ----------------------------------------------------------------------------
def _missed(
    call: PbxCall,
    triggers: tuple[CrmMatch, ...],
    crm: tuple[CrmMatch, ...],
    bridge: tuple[BridgeEvent, ...],
) -> LedgerEntry:
    fired = triggers or tuple(m for m in crm if m.activity.kind.is_trigger)
    if fired:
        kinds = ", ".join(sorted({m.activity.kind.value for m in fired}))
        return LedgerEntry(
            call,
            CallState.MISSED_TRIGGERED,
            None,
            (*crm, *fired),
            bridge,
            (f"The missed-call workflow fired: {kinds}.",),
        )
    if any(e.status == 401 for e in bridge):
        return LedgerEntry(
            call,
            CallState.MISSED_NOT_TRIGGERED,
            CheckId.REACHABILITY,
            crm,
            bridge,
            (
                "Nothing fired: the bridge was refused with 401 (the API key was rotated or "
                "revoked), so it never saw this missed call.",
            ),
        )
    match = call.bridge_match
    if match is not None and match.kind is MatchKind.NORMALISED:
        return LedgerEntry(
            call,
            CallState.MISSED_NOT_TRIGGERED,
            CheckId.CONTACT_MATCH,
            crm,
            bridge,
            (f"Nothing fired. {match.reason}",),
        )
    where = f"DID {call.did}" if call.did else "the DID"
    on = f"extension {call.extension}" if call.extension else "the extension"
    return LedgerEntry(
        call,
        CallState.MISSED_NOT_TRIGGERED,
        None,
        crm,
        bridge,
        (
            f"Nothing fired for this missed call: check that the workflow covers {on} and "
            f"{where} (the usual gap), and that the caller's number is stored in E.164.",
        ),
    )


# ---- answered calls --------------------------------------------------------------------------
def _missing_cause(bridge: tuple[BridgeEvent, ...]) -> CheckId | None:
    if any(e.status == 401 and not e.asks_for_recording for e in bridge):
        return CheckId.REACHABILITY
    return None


def _missing_evidence(bridge: tuple[BridgeEvent, ...]) -> tuple[str, ...]:
    if not bridge:
        return ("Not in the CRM, and the bridge log has no line for this call.",)
    statuses = sorted({e.status for e in bridge if e.status is not None})
    said = ", ".join(str(s) for s in statuses) or "no HTTP status"
    return (f"Not in the CRM; the bridge log has {len(bridge)} line(s) for it ({said}).",)


def _wrong_contact(call: PbxCall, logged: CrmMatch) -> str | None:
    """Why the activity sits on the wrong contact, or None when it is the right one."""
    match = call.bridge_match
    activity = logged.activity
    if match is None or not match.contacts:
        return None  # no contact owns this number: a new contact is the expected landing
    owners = {_name_key(display_name(c)) for c in match.contacts}
    owners |= {_name_key(c.name) for c in match.contacts}
    owners |= {c.id.casefold() for c in match.contacts if c.id}
    on = (activity.contact or "").strip()
    if not activity.new_contact and (_name_key(on) in owners or on.casefold() in owners):
        return None
    landed = "a new contact the bridge created" if activity.new_contact or not on else on
    owner = display_name(match.contacts[0])
    if match.kind is MatchKind.NORMALISED:
        return f"Logged on {landed}, not on {owner}: {match.reason}"
    stored = ", ".join(sorted({entry.raw for entry in match.stored}))
    return (
        f"Logged on {landed}, although {owner} has this number (stored as {stored}) and the "
        "bridge's own match finds them: the activity went astray in the bridge or the CRM."
    )


def _name_key(name: str) -> str:
    """A name as compared across systems: 3CX writes "Nguyen, Archie", a CRM "Archie Nguyen"."""
    words = "".join(ch if ch.isalnum() else " " for ch in name.casefold()).split()
    return " ".join(sorted(words))


def _recording(
    call: PbxCall, crm: tuple[CrmMatch, ...], bridge: tuple[BridgeEvent, ...]
) -> LedgerEntry:
    linked = bool(crm[0].activity.recording_link)
    if call.recording is PbxRecording.DELETED:
        if linked:
            why = "The CRM links a recording that retention has since deleted on the PBX."
        else:
            why = "Retention deleted the recording on the PBX before the bridge fetched it."
        return LedgerEntry(call, CallState.NO_RECORDING, CheckId.RETENTION, crm, bridge, (why,))
    if call.recording is PbxRecording.LOST:
        # Cause 6's family (the file is gone), but retention did not take it: say so.
        why = (
            "The PBX's call log points at a recording the PBX no longer has, and retention did "
            "not delete it: it was deleted by hand or lost from storage"
            + (
                ", so the CRM's link to it answers 404."
                if linked
                else ", before the bridge fetched it."
            )
        )
        return LedgerEntry(call, CallState.NO_RECORDING, CheckId.RETENTION, crm, bridge, (why,))
    if call.recording is PbxRecording.NOT_RECORDED:
        why = (
            f"The PBX has no recording: extension {call.extension or '?'} is not set to "
            "record, and no bridge can recover it."
        )
        return LedgerEntry(
            call, CallState.NO_RECORDING, CheckId.EXTENSION_RECORDING, crm, bridge, (why,)
        )
    if call.recording is not PbxRecording.PRESENT or linked:
        return LedgerEntry(call, CallState.LOGGED, None, crm, bridge, (_logged_words(crm[0]),))
    cause, evidence = _why_no_recording(call, bridge)
    return LedgerEntry(call, CallState.NO_RECORDING, cause, crm, bridge, evidence)


def _logged_words(logged: CrmMatch) -> str:
    how = logged.confidence.value
    if logged.seconds_apart:
        how += f", {logged.seconds_apart:g} s apart"
    with_file = " with its recording" if logged.activity.recording_link else ""
    return f"In the CRM (row {logged.activity.row}, matched by {how}){with_file}."


def _why_no_recording(
    call: PbxCall, bridge: tuple[BridgeEvent, ...]
) -> tuple[CheckId | None, tuple[str, ...]]:
    # A try is a request with an answer; "fetching recording…" lines only narrate.
    asks = [e for e in bridge if e.asks_for_recording and e.status is not None]
    denied = [e for e in asks if e.status in DENIED]
    if denied:
        return CheckId.API_ROLES, (
            f"The bridge was refused the recording ({denied[0].status} on "
            f"{denied[0].path or 'the recording endpoint'}): the API user can read call "
            "history but not recordings (role 2 of 2 is missing).",
        )
    if not asks:
        return CheckId.LATE_RECORDING, (
            "The PBX has the recording, but the bridge never asked for it: it gave up (or "
            "never tried) before 3CX finished writing the file.",
        )
    return CheckId.LATE_RECORDING, (_late_words(call, asks),)


def _late_words(call: PbxCall, asks: list[BridgeEvent]) -> str:
    hung_up = call.hung_up_at
    tries = [f"{e.status} at {_after(e.at, hung_up)}" for e in asks]
    last = _after(asks[-1].at, hung_up)
    ready = call.recording_ready_after_s
    wrote = f"; 3CX wrote the file at +{ready:g} s" if ready is not None else ""
    return (
        f"The bridge asked {len(asks)} {'time' if len(asks) == 1 else 'times'} "
        f"({', '.join(tries)}) and gave up; its last try "
        f"was at {last}{wrote}. Retry for at least two minutes after hang-up."
    )


def _after(at: datetime | None, hung_up: datetime) -> str:
    if at is None:
        return "an unknown time"
    return f"+{(at - hung_up).total_seconds():.0f} s"


# ---- across calls: the key -------------------------------------------------------------------
def _key_revoked(entries: list[LedgerEntry]) -> list[LedgerEntry]:
    """From the first moment after which every answered call is missing and the bridge log
    shows 401s, the cause is the key (cause 7), not each call on its own."""
    answered = [i for i, e in enumerate(entries) if not _is_missed(e.call)]
    start = None
    for i in reversed(answered):
        if entries[i].state is not CallState.MISSING:
            break
        start = i
    if start is None:
        return entries
    tail = [entries[i] for i in answered if i >= start]
    if not any(ev.status == 401 for e in tail for ev in e.bridge):
        return entries
    since = entries[start].call.started_at
    said = (
        f"From {since:%Y-%m-%d %H:%M} every answered call is missing and the bridge log shows "
        "401: the API key was rotated or revoked. Put the new key into the bridge."
    )
    fixed = list(entries)
    for i in answered:
        if i >= start:
            entry = fixed[i]
            fixed[i] = LedgerEntry(
                entry.call,
                CallState.MISSING,
                CheckId.REACHABILITY,
                entry.crm,
                entry.bridge,
                (said, *entry.evidence),
            )
    return fixed
