"""Step 7: every extension's (and queue's) recording setting, the ones that will not record marked.

The verdicts come from the doctor's own check (cause 3), run over the same facts, so the audit
and the doctor never disagree: an extension the doctor calls silent is marked here, with the
doctor's fix, and answered external calls without a recording are counted the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain.clock import utc_now
from app.domain.extensions import Extension, Queue, QueueRecording, RecordingMode
from app.services.doctor.common import CheckContext, attempt, plural
from app.services.doctor.context import Facts
from app.services.doctor.extension_recording import (
    WILL_RECORD,
    check_extension_recording,
    recording_fix,
)
from app.services.doctor.options import RECENT_DAYS, DoctorOptions
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
        extensions = await facts.extensions()
        queues = await attempt(facts.queues())  # v18 cannot list them
        result = await check_extension_recording(
            CheckContext(client, facts, options, client.identity, now)
        )
    finally:
        await facts.aclose()
    unrecorded = _unrecorded(result.details)
    v20 = client.generation == "v20"
    rows = [
        _extension_row(ext, unrecorded.get(ext.number, 0), v20, recent_days)
        for ext in sorted(extensions, key=lambda e: _number_key(e.number))
        if ext.enabled
    ]
    rows += [_queue_row(queue) for queue in queues.value or []]
    return tuple(rows)


def _extension_row(ext: Extension, lost: int, v20: bool, days: int) -> RecordingAuditRow:
    mode = ext.recording
    lost_text = (
        f"{plural(lost, 'answered external call')} in the last {days} days "
        f"{'has' if lost == 1 else 'have'} no recording"
    )
    if mode is RecordingMode.UNKNOWN:
        will_record = lost == 0
        why = "v18 cannot say the recording mode; " + (
            f"{lost_text}."
            if lost
            else f"no answered external call in the last {days} days lacks one."
        )
    else:
        will_record = mode in WILL_RECORD
        why = EXTENSION_WHY[mode]
        if lost and mode is RecordingMode.ON_DEMAND:
            why += f" {lost_text[0].upper()}{lost_text[1:]}: the user did not record them."
        elif lost and will_record:
            why += f" Yet {lost_text}: an inbound rule may override the extension."
        elif lost:
            why += f" {lost_text[0].upper()}{lost_text[1:]}."
    label = f"{ext.number} ({ext.name})" if ext.name and ext.name != ext.number else ext.number
    return RecordingAuditRow(
        number=ext.number,
        name=ext.name,
        kind="extension",
        mode=EXTENSION_MODES[mode],
        will_record=will_record,
        why=why,
        fix=None if will_record else recording_fix(v20, label),
        unrecorded_calls=lost,
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


def _unrecorded(details: Mapping[str, Any]) -> dict[str, int]:
    """The doctor's count of answered external calls without a recording, per extension."""
    counts: dict[str, int] = {}
    for row in details.get("extensions", []):
        if isinstance(row, Mapping):
            counts[str(row.get("number"))] = int(
                row.get("answered_external_without_recording") or 0
            )
    return counts


def _number_key(number: str) -> tuple[int, int, str]:
    return (0, int(number), "") if number.isdigit() else (1, 0, number)
