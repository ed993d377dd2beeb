"""Step 7: every extension's (and queue's) recording setting, the ones that will not record marked.

The verdicts are cause 3's rule (app.domain.causes.extension_recording), asked over the facts
the doctor gathers, so the audit and the doctor never disagree: an extension the doctor names
as the cause carries the doctor's own sentence here, with the same fix, and answered external
calls without a recording are counted the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.causes.extension_recording import (
    ExtensionRecordingDetails,
    ExtensionRow,
    cause_sentence,
    judge_extension_recording,
    override_sentence,
)
from app.domain.causes.recording import Recorder, recording_fix
from app.domain.clock import utc_now
from app.domain.extensions import Queue, QueueRecording, RecordingMode
from app.services.facts.extension_recording import gather_extension_recording
from app.services.facts.gatherer import Facts
from app.services.facts.options import RECENT_DAYS, DoctorOptions
from app.threecx.client import PbxClient

EXTENSION_MODES = {
    RecordingMode.ALL_CALLS: "all calls",
    RecordingMode.EXTERNAL_ONLY: "external calls only",
    RecordingMode.ON_DEMAND: "on demand (the user starts it)",
    RecordingMode.DISABLED: "off",
    RecordingMode.FORBIDDEN: "forbidden",
    RecordingMode.UNKNOWN: "not reported by v18",
}
EXTENSION_WHY = {
    RecordingMode.ALL_CALLS: "Record calls is on for every call.",
    RecordingMode.EXTERNAL_ONLY: "Records external calls, the ones the CRM needs; internal calls "
    "are not recorded.",
    RecordingMode.ON_DEMAND: "Records only when the user starts recording during a call: the "
    "calls they do not record reach the CRM without audio.",
    RecordingMode.DISABLED: "Record calls is off: its calls reach the CRM without a recording, "
    "and no bridge can recover them.",
    RecordingMode.FORBIDDEN: "Forbid recording is on: nothing is recorded, whatever else is set.",
}
QUEUE_MODES = {
    QueueRecording.DISABLED: "queue recording off",
    QueueRecording.ALLOW_TO_OPT_OUT: "records; callers may opt out",
    QueueRecording.ASK_TO_OPT_IN: "records only callers who opt in",
    QueueRecording.UNKNOWN: "not reported",
}
QUEUE_WHY = {
    QueueRecording.DISABLED: "The queue itself does not record: its calls are recorded only if "
    "the answering agent's extension records.",
    QueueRecording.ALLOW_TO_OPT_OUT: "The queue records its calls; a caller who opts out is not "
    "recorded.",
    QueueRecording.ASK_TO_OPT_IN: "Only callers who opt in are recorded: expect many queue calls "
    "without a recording.",
    QueueRecording.UNKNOWN: "The PBX did not say how this queue records.",
}
QUEUE_FIX = (
    "To record at the queue, edit the queue in the 3CX admin console and set its recording "
    "option; otherwise make sure every agent's extension records."
)


@dataclass(frozen=True)
class RecordingAuditRow:
    number: str
    name: str
    kind: str  # "extension" or "queue"
    mode: str  # plain words
    will_record: bool
    why: str
    fix: str | None = None  # what to do, for the rows that will not record
    unrecorded_calls: int = 0  # answered external calls in the recent days without a recording


async def audit_recording(
    client: PbxClient, *, now: datetime | None = None, recent_days: int = RECENT_DAYS
) -> tuple[RecordingAuditRow, ...]:
    """Enabled extensions in number order, then queues; raises ``ThreeCXError`` when the
    extensions cannot be read."""
    now = now or utc_now()
    options = DoctorOptions(recent_days=recent_days)
    facts = Facts(client, options, now)
    try:
        await facts.extensions()  # raises: without them there is nothing to audit
        gathered = await gather_extension_recording(facts)
    finally:
        await facts.aclose()
    result = judge_extension_recording(gathered)
    details = ExtensionRecordingDetails.from_json(result.details)
    rows = [
        _extension_row(row, details, gathered.v20)
        for row in sorted(details.extensions, key=lambda r: _number_key(r.number))
    ]
    rows += [_queue_row(queue) for queue in gathered.queues]
    return tuple(rows)


def _extension_row(
    row: ExtensionRow, details: ExtensionRecordingDetails, v20: bool
) -> RecordingAuditRow:
    kind = row.recorder
    if kind is Recorder.UNKNOWN:
        will_record = row.unrecorded == 0
        why = (
            f"v18 cannot say the recording mode; no answered external call in the "
            f"{details.recent} lacks one."
        )
    else:
        will_record = kind is Recorder.RECORDS
        why = EXTENSION_WHY[row.recording]
    # The doctor's own sentence, word for word, where it names this extension.
    if row in details.culprits:
        cause = cause_sentence(details) or ""
        why = cause if kind is Recorder.UNKNOWN else f"{why} {cause}"
    elif row in details.overridden:
        why = f"{why} {override_sentence(details) or ''}".strip()
    return RecordingAuditRow(
        number=row.number,
        name=row.name,
        kind="extension",
        mode=EXTENSION_MODES[row.recording],
        will_record=will_record,
        why=why,
        fix=None if will_record else recording_fix(v20, row.label),
        unrecorded_calls=row.unrecorded,
    )


def _queue_row(queue: Queue) -> RecordingAuditRow:
    records = queue.recording is not QueueRecording.DISABLED
    return RecordingAuditRow(
        number=queue.number,
        name=queue.name,
        kind="queue",
        mode=QUEUE_MODES[queue.recording],
        will_record=records,
        why=QUEUE_WHY[queue.recording],
        fix=None if records else QUEUE_FIX,
    )


def _number_key(number: str) -> tuple[int, int, str]:
    return (0, int(number), "") if number.isdigit() else (1, 0, number)
