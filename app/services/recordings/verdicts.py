"""Each call's recording status in plain words: ready, archived, deleted, missing or none.

One row per call, explained in the field docs' words, with what to do next.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, tzinfo

from app.domain.calls import CallOutcome, CallRecord
from app.domain.causes.api_answers import DOWNLOAD_UNCONFIRMED, HISTORY, RECORDINGS, roles_fix
from app.domain.causes.recording import (
    Recorder,
    recorder,
    recording_fix,
    settle_words,
    settled,
    unrecorded_reason,
)
from app.domain.causes.retention import WHERE as RETENTION_WHERE
from app.domain.causes.wording import plural
from app.domain.phones import to_e164
from app.domain.recordings import Recording, RetentionPolicy, recording_for_call
from app.services.facts.outcome import Outcome
from app.services.recordings.matching import MATCH_TOLERANCE
from app.services.recordings.results import (
    LookupFacts,
    RecordingLookupError,
    RecordingRow,
    RecordingStatus,
)
from app.threecx.errors import (
    AuthRejected,
    DownloadUnconfirmed,
    Forbidden,
    RecordingFileMissing,
    ThreeCXError,
    Unsupported,
)

ARCHIVE_FIX = (
    "Play or download it from the archive (3CX admin console, Recordings, the archive "
    "location), not from the PBX. A CRM link that points at the PBX answers 404 for it."
)
# Why a setting that writes no file for an external call loses it for good.
SETTING_NOTES = {
    Recorder.ON_DEMAND: "On demand records only the calls the user starts recording; the others "
    "reach the CRM without audio, and no bridge can recover them.",
    Recorder.OFF: "Recording is switched off (or forbidden) for this extension, so no bridge can "
    "recover it.",
}
NO_ACCESS = (
    "The API user may not list or download recordings (403): it lacks the Recording Manager "
    "capability, so no bridge with this key can fetch a recording."
)


def row_for(
    call: CallRecord, facts: LookupFacts, recordings: list[Recording], region: str
) -> RecordingRow:
    raw = call.external_number
    age = (facts.now - call.started_at).days if call.started_at is not None else None
    base = RecordingRow(
        call=call,
        number_raw=raw,
        number_e164=to_e164(raw, region) if raw else None,
        status=RecordingStatus.UNKNOWN,
        recording_id=None,
        recording=None,
        age_days=age,
        days_left=None,
        days_left_text="—",
        retention_text="",
        explanation="",
        fix="",
    )
    if call.answered is not True or is_voicemail(call):
        return replace(base, status=RecordingStatus.NO_AUDIO, explanation=no_audio_reason(call))

    listed = facts.recordings
    if facts.is_v20:
        ids = call.recording_ids
        if not ids:
            return unrecorded_row(base, call, facts)
        if listed is None:
            return unlisted_row(replace(base, recording_id=ids[0]), facts)
        present = [listed[i] for i in ids if i in listed]
        present.sort(key=lambda r: r.archived)  # a playable one first
        if present:
            return listed_row(base, present[0], facts)
        if absence_unproven(call, facts):
            return replace(
                base,
                recording_id=ids[0],
                status=RecordingStatus.UNKNOWN,
                explanation="The call log points at a recording that was not in the "
                "recordings list, but the list was cut at its limit, so that proves nothing.",
                fix="Press Verify to try downloading it.",
            )
        if older_than_retention(age, facts.retention):
            return as_deleted(replace(base, recording_id=ids[0]), facts)
        return as_missing(replace(base, recording_id=ids[0]), facts)

    # v18: the call log carries no reference; match on number and start time.
    if listed is None:
        return unlisted_row(base, facts)
    found = recording_for_call(call, recordings, MATCH_TOLERANCE)
    if found is not None:
        return listed_row(base, found, facts)
    return unrecorded_row(base, call, facts)


def listed_row(base: RecordingRow, rec: Recording, facts: LookupFacts) -> RecordingRow:
    if rec.archived:
        where = f" It is in the archive at {rec.archived_url}." if rec.archived_url else ""
        return replace(
            base,
            status=RecordingStatus.ARCHIVED,
            recording_id=rec.id,
            recording=rec,
            days_left_text="in the archive",
            retention_text="Archived recordings are no longer on the PBX, so its auto-delete "
            "does not count down for them.",
            explanation="3CX moved this recording to the archive: it no longer plays from the "
            "PBX." + where,
            fix=ARCHIVE_FIX,
        )
    return as_ready(
        replace(base, recording_id=rec.id, recording=rec),
        facts,
        "The recording is on the PBX (listed by it): play it or save it.",
    )


def as_ready(row: RecordingRow, facts: LookupFacts | None, explanation: str) -> RecordingRow:
    """The row with a recording on the PBX, and the days it has left before auto-delete."""
    ready = replace(row, status=RecordingStatus.READY, explanation=explanation, fix="")
    if facts is None:
        return ready
    policy = facts.retention
    if policy is None:
        if not facts.is_v20:
            return replace(
                ready,
                days_left=None,
                days_left_text="v18: not reported",
                retention_text=f"v18 does not report retention: read it in 3CX, {RETENTION_WHERE}.",
            )
        return replace(
            ready,
            days_left=None,
            days_left_text="unknown",
            retention_text="The retention policy could not be read, so the days left are unknown.",
        )
    if policy.auto_delete is False:
        return replace(
            ready,
            days_left=None,
            days_left_text="never auto-deleted",
            retention_text="Auto-delete is off: the recording is kept until it is archived "
            "or deleted by hand.",
        )
    left = policy.days_left(row.started_at, facts.now) if row.started_at is not None else None
    if left is None:
        return replace(
            ready,
            days_left=None,
            days_left_text="unknown",
            retention_text="The PBX did not say after how many days it deletes recordings.",
        )
    short = f"{left} days" if left > 1 else ("1 day" if left == 1 else "due now")
    when = (
        f"this one goes in {plural(left, 'day')}."
        if left > 0
        else "this one is due for deletion at the next clean-up."
    )
    return replace(
        ready,
        days_left=left,
        days_left_text=short,
        retention_text=f"3CX deletes recordings after {policy.auto_delete_days} days: {when}",
    )


def as_deleted(row: RecordingRow, facts: LookupFacts) -> RecordingRow:
    days = facts.retention.auto_delete_days if facts.retention else None
    return replace(
        row,
        status=RecordingStatus.DELETED_BY_RETENTION,
        recording=None,
        days_left=None,
        days_left_text="gone",
        retention_text=f"3CX deletes recordings after {days} days.",
        explanation=f"The recording was deleted by the retention policy: the call is "
        f"{age_phrase(row.age_days)} and 3CX deletes recordings after {days} days. The call log "
        "still points at it, so a CRM link to it answers 404.",
        fix="Deleted audio cannot be recovered from the PBX. To keep future recordings "
        f"longer, open 3CX, {RETENTION_WHERE}, and raise the retention to cover the oldest call "
        "the customer needs (or turn auto-delete off). Increase the number on 3CX rather than "
        "copying recordings to the CRM: the PBX is the system of record for audio.",
    )


def as_missing(row: RecordingRow, facts: LookupFacts | None) -> RecordingRow:
    policy = facts.retention if facts is not None else None
    if policy is not None and policy.auto_delete is False:
        why = "Auto-delete is off, so retention did not delete it."
    elif policy is not None and policy.auto_delete and policy.auto_delete_days:
        why = (
            f"The call is {age_phrase(row.age_days)}, within the {policy.auto_delete_days}-day "
            "retention, so retention did not delete it."
        )
    else:
        why = "The retention policy is not known, so retention may have deleted it."
    return replace(
        row,
        status=RecordingStatus.MISSING,
        recording=None,
        days_left=None,
        days_left_text="gone",
        retention_text=policy_text(facts) if facts is not None else "",
        explanation="This is a real problem: the call log points at a recording the PBX no "
        f"longer has. {why} It was deleted by hand or lost from storage.",
        fix="Check who deleted recordings (3CX admin console, Recordings, and the audit log) "
        "and the recording storage; restore the file from a backup if one exists. Deleted "
        "audio cannot be recovered from the PBX itself.",
    )


def unrecorded_row(base: RecordingRow, call: CallRecord, facts: LookupFacts) -> RecordingRow:
    # An internal call may be recorded by the other party, so only external calls are judged
    # by the extension's own setting.
    extension = facts.extensions.get(call.extension or "") if call.is_external else None
    reason = unrecorded_reason(extension, external=True)
    if reason is not None and extension is not None:
        # The setting says no file is written: not "later", whatever the call's age.
        return replace(
            base,
            status=RecordingStatus.NOT_RECORDED,
            explanation=f"{reason[0].upper()}{reason[1:]}: no file was written. "
            + SETTING_NOTES[recorder(extension.recording)],
            fix=recording_fix(facts.is_v20, f"extension {extension.number}"),
        )
    if not settled(call, facts.now):
        return replace(
            base,
            status=RecordingStatus.PENDING,
            explanation="The call ended moments ago: 3CX writes the recording after hang-up, "
            "from a few seconds to about a minute later (longer on busy PBXs), and a bridge "
            f"keeps looking for it; {settle_words()} after hang-up a missing recording is lost.",
            fix="Search again in a minute.",
        )
    explanation = (
        "The call was answered but 3CX recorded nothing: the extension or inbound rule is "
        "not flagged to record (cause 3)."
    )
    if not facts.is_v20:
        explanation += (
            " v18's call log does not point at recordings, so a recording deleted since "
            "would look the same."
        )
    who = f"extension {call.extension}" if call.extension else "the extension"
    return replace(
        base,
        status=RecordingStatus.NOT_RECORDED,
        explanation=explanation,
        fix=recording_fix(facts.is_v20, who),
    )


def unlisted_row(base: RecordingRow, facts: LookupFacts) -> RecordingRow:
    error = facts.recordings_error
    if isinstance(error, (Forbidden, AuthRejected)):
        return replace(
            base,
            status=RecordingStatus.NO_ACCESS,
            explanation=NO_ACCESS,
            fix=roles_fix(facts.is_v20, [RECORDINGS]),
        )
    what = error.what + error_detail(error) if error is not None else "no answer"
    return replace(
        base,
        status=RecordingStatus.UNKNOWN,
        explanation=f"The recordings list could not be read: {what}",
        fix=(error.next_step if error is not None else "") or "Search again in a minute.",
    )


def is_voicemail(call: CallRecord) -> bool:
    # v18 writes the voicemail leg as its own answered row whose destination is "Voicemail (109)".
    return call.outcome is CallOutcome.VOICEMAIL or "voicemail" in call.callee.lower()


def no_audio_reason(call: CallRecord) -> str:
    if is_voicemail(call):
        return (
            "The call went to voicemail: nobody talked, so there is no call recording (the "
            "message is in the voicemail box)."
        )
    if call.outcome is CallOutcome.UNANSWERED_OUTBOUND:
        return "The other party did not answer: there was no conversation to record."
    return "Nobody answered (a missed call): there was no conversation to record."


def absence_unproven(call: CallRecord, facts: LookupFacts) -> bool:
    cut = facts.oldest_listed_trusted
    return cut is not None and (call.started_at is None or call.started_at < cut)


def age_phrase(days: int | None) -> str:
    if days is None:
        return "of unknown age"
    if days <= 0:
        return "from today"
    return f"{plural(days, 'day')} old"


def older_than_retention(age: int | None, policy: RetentionPolicy | None) -> bool:
    return (
        age is not None
        and policy is not None
        and bool(policy.auto_delete)
        and policy.auto_delete_days is not None
        and age >= policy.auto_delete_days
    )


def policy_text(facts: LookupFacts) -> str:
    policy = facts.retention
    if policy is None:
        if not facts.is_v20 or isinstance(facts.retention_error, Unsupported):
            return "v18 does not report retention"
        error = facts.retention_error
        return f"Retention not readable: {error.what}" if error else "Retention not readable"
    if policy.auto_delete is False:
        return "Auto-delete off: recordings are kept until archived"
    if policy.auto_delete and policy.auto_delete_days:
        return f"Auto-delete after {policy.auto_delete_days} days"
    return "Auto-delete not reported"


def search_notes(
    facts: LookupFacts,
    listed: Outcome[list[Recording]],
    calls: list[CallRecord],
    call_limit: int,
    recordings: list[Recording] | None,
    recording_limit: int,
    zone: tzinfo | None,
) -> list[str]:
    notes: list[str] = []
    if len(calls) >= call_limit:
        oldest = oldest_call(calls)
        since = f" back to {oldest.astimezone(zone):%Y-%m-%d %H:%M %Z}" if oldest else ""
        notes.append(
            f"The PBX returned its limit of {call_limit} calls for these dates (newest "
            f"first{since}): older calls were not read, so the result may be incomplete. "
            "Narrow the dates."
        )
    if recordings is not None and len(recordings) >= recording_limit:
        notes.append(
            f"The recordings list stopped at its limit of {recording_limit}: a recording "
            "absent from it may still exist (Verify downloads it to make sure). Narrow the dates."
        )
    if listed.error is not None:
        if listed.denied:
            notes.append(
                "The API user may not list recordings (Recording Manager missing): the calls "
                "are shown without their recordings."
            )
        else:
            notes.append(f"Recordings not read: {listed.error.what}{error_detail(listed.error)}")
    if facts.retention is None and facts.is_v20 and facts.retention_error is not None:
        notes.append(f"Retention policy not read: {facts.retention_error.what}")
    return notes


def oldest_call(calls: list[CallRecord]) -> datetime | None:
    times = [c.started_at for c in calls if c.started_at is not None]
    return min(times) if times else None


def history_error(error: ThreeCXError, is_v20: bool) -> RecordingLookupError:
    if isinstance(error, Forbidden):
        return RecordingLookupError(
            "The API user may not read the call history (403): it lacks the Reports User "
            "capability, so calls cannot be searched.",
            roles_fix(is_v20, [HISTORY]),
        )
    return RecordingLookupError(
        f"The call history could not be read: {error.what}{error_detail(error)}", error.next_step
    )


def download_failure(row: RecordingRow, error: ThreeCXError) -> str:
    if row.status is RecordingStatus.NO_ACCESS:
        return NO_ACCESS
    if isinstance(error, RecordingFileMissing):
        return row.explanation
    if isinstance(error, DownloadUnconfirmed):
        return DOWNLOAD_UNCONFIRMED
    return f"The recording could not be downloaded: {error.what}{error_detail(error)}"


def error_detail(error: ThreeCXError) -> str:
    return f" ({error.detail})" if error.detail else ""
