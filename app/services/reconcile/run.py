"""One reconciliation of a period: the PBX's calls, the CRM's activities and the bridge's logs,
read (files off the event loop, streamed) and decided by the domain's one set of rules.

The customer's clock (issue 8) reads times written without a zone, unless the engineer says the
CRM or the bridge host keeps another.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path

from app.domain.reconcile.ledger import Ledger
from app.domain.reconcile.records import BridgeEvent, PbxCall
from app.services.reconcile.activity_columns import ActivityColumns
from app.services.reconcile.bridge_log import (
    PASTED,
    BridgeLogCounts,
    CallFilter,
    read_bridge_log,
)
from app.services.reconcile.crm_activities import ActivityCounts, read_crm_activities
from app.services.reconcile.decide import decide_ledger
from app.services.reconcile.pbx_calls import read_pbx_calls
from app.services.reconcile.stopping import in_thread
from app.services.reconcile.webhook_events import (
    WebhookEvents,
    read_webhook_events,
    tie_to_calls,
)
from app.services.session import ContactMatcher, PbxSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReconcileInputs:
    crm_activities: Path
    bridge_logs: tuple[Path, ...] = ()
    crm_columns: ActivityColumns | None = None  # None: detected from the headers
    crm_zone: tzinfo | None = None  # None: the customer's
    bridge_zone: tzinfo | None = None  # None: the customer's
    bridge_pasted: tuple[str, ...] = ()  # logs pasted as text: in memory, never on disk
    # The app's own webhook receiver's journal (the add-on's events), when it ran.
    use_webhook_journal: bool = True
    webhook_journal: Path | None = None  # None: this machine's journal


@dataclass(frozen=True)
class ReconcileResult:
    ledger: Ledger
    crm: ActivityCounts
    bridge: tuple[BridgeLogCounts, ...]
    notes: tuple[str, ...] = field(default=())  # limits hit, rows and lines not read
    webhook: WebhookEvents | None = None  # None: the journal was not asked for

    @property
    def exit_fine(self) -> bool:
        return self.ledger.summary.all_fine


async def run_reconcile(
    session: PbxSession,
    since: datetime,
    until: datetime,
    inputs: ReconcileInputs,
    *,
    progress: Callable[[str], None] | None = None,
) -> ReconcileResult:
    """The ledger of [since, until]; file errors (``ActivitiesFileError``, ``BridgeLogError``,
    ``ActivityColumnsError``) and the PBX's (``ThreeCXError``) propagate with their messages."""
    say = progress or (lambda _text: None)
    zone = (await session.customer_hours()).zone
    matcher = await _matcher(session)
    say("Reading the PBX's calls…")
    pbx = await read_pbx_calls(session, since, until, matcher=matcher)
    say(f"{len(pbx.calls):,} external calls; reading the CRM export…")
    region = await session.region()
    crm = await in_thread(
        read_crm_activities,
        inputs.crm_activities,
        zone=inputs.crm_zone or zone,
        region=region,
        columns=inputs.crm_columns,
    )
    keep = _about_these_calls(pbx.calls)
    events: list[BridgeEvent] = []
    counts: list[BridgeLogCounts] = []
    sources: list[Path | list[str]] = [*inputs.bridge_logs]
    sources += [text.splitlines() for text in inputs.bridge_pasted]
    for source in sources:
        say(f"Reading the bridge log {source.name if isinstance(source, Path) else PASTED}…")
        read = await in_thread(read_bridge_log, source, zone=inputs.bridge_zone or zone, keep=keep)
        events.extend(read.events)
        counts.append(read.counts)
    webhook: WebhookEvents | None = None
    if inputs.use_webhook_journal:
        say("Reading the webhook add-on's journal…")
        webhook = await in_thread(read_webhook_events, since, until, path=inputs.webhook_journal)
        events.extend(e for e in tie_to_calls(webhook, pbx.calls, region=region) if keep(e))
    say("Reconciling…")
    unreadable = sum(c.unreadable for c in counts)
    ledger = await in_thread(
        decide_ledger,
        pbx.calls,
        crm.activities,
        events,
        period=(since, until),
        unreadable_bridge_lines=unreadable,
    )
    notes = [*pbx.notes]
    notes += [s for s in (crm.counts.problem_summary(),) if s]
    notes += [s for c in counts if (s := c.unreadable_summary())]
    if webhook is not None and (webhook.exists or webhook.problem):
        notes.append(webhook.summary())
    log.info(
        "Reconciled %d calls against %d CRM activities and %d bridge lines",
        ledger.summary.calls,
        len(crm.activities),
        len(events),
    )
    return ReconcileResult(ledger, crm.counts, tuple(counts), tuple(notes), webhook)


async def _matcher(session: PbxSession) -> ContactMatcher | None:
    """Which contact each number belongs to; without it, wrong contacts cannot be told."""
    try:
        return await session.contact_matcher()
    except Exception:  # the contacts are optional evidence: the ledger stands without them
        log.warning("Reconcile: the contacts could not be read; wrong contacts are not judged")
        return None


def _about_these_calls(calls: list[PbxCall]) -> CallFilter:
    """Keep only the log lines about this period's calls: a 1 GB log holds months (and the
    reader skips the full reading of lines that cannot name one of them)."""
    return CallFilter(
        (i for call in calls for i in call.ids),
        (r for call in calls for r in call.recording_ids),
    )
