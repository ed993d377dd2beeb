"""Every place that shows a verdict on one of the seven causes says what the doctor says.

The rules live in ``app.domain.causes`` and every place asks them; this proves it, and keeps it
so. For every simulator preset alone, every pair of the seven causes' own faults, and a few
pairs with other faults, the doctor runs once on one simulator. On that same simulator, at the
same instant, every other place that speaks about a cause is asked, and must give the doctor's
status and, where it shows them, the doctor's finding and fix:

- the doctor's JSON document (schema-valid, read back to the same verdicts) and its text (the
  CLI's and "Copy as text"), and the CLI's ``pbx-companion doctor --json`` for a few
  combinations (a subprocess is slow);
- the report (its model, its JSON and its HTML), including the API user's two capabilities;
- the guided setup's steps: prerequisites (1), verify the key (2, and the 401 of 7),
  recording audit (3), contact preview (5) and reachability (7);
- the recording lookup: no access without the recording role (2), not recorded on an
  extension that does not record (3), deleted by retention (6);
- the live feed's recording column for a call on each extension that does not record (3).

Cause 4 needs a watched call, which costs seconds: in the combinations the doctor runs without
a watch, so check 4 is "not measured" everywhere; it is timed once, alone, in
``test_a_late_recording_reads_the_same_in_the_doctor_and_the_feed``. The Doctor tab's rows are
compared in ``tests/ui/test_verdicts_agree_pane.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import os
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from app.domain.calls import CallDirection
from app.domain.causes.api_answers import HISTORY, KEY_FIX, RECORDINGS, roles_fix
from app.domain.causes.extension_recording import (
    ExtensionRecordingDetails,
    ExtensionRow,
    cause_sentence,
    override_sentence,
)
from app.domain.causes.licence import LicenceDetails
from app.domain.causes.recording import Recorder, does_not_record, recording_setting
from app.domain.causes.retention import RetentionDetails
from app.domain.causes.roles import CALL_HISTORY, RECORDING_DOWNLOAD, RECORDING_LIST, TOKEN
from app.domain.clock import utc_now
from app.domain.connection import ConnectionProfile
from app.domain.contact_match import MatchKind
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus, Diagnosis
from app.domain.live import CallEvent, LiveState
from app.domain.report import Report, ReportMeta, status_word
from app.services.doctor import Doctor
from app.services.doctor.text import MARKS, render_text
from app.services.facts.options import DoctorOptions
from app.services.feed.live_feed import FeedCall, LiveFeed
from app.services.recordings.lookup import (
    RecordingLookup,
    RecordingLookupError,
    RecordingQuery,
    RecordingStatus,
    SearchResult,
)
from app.services.recordings.watcher import JourneyState
from app.services.reports.export import render_html, render_json
from app.services.session import PbxSession
from app.services.setup.capabilities import CapabilityReport, verify_capabilities
from app.services.setup.contact_preview import preview_contacts
from app.services.setup.detect import PbxDetection
from app.services.setup.prerequisites import check_prerequisites
from app.services.setup.reachability import check_reachability
from app.services.setup.recording_audit import RecordingAuditRow, audit_recording
from app.sim import Simulator
from app.sim.faults import FAULTS, PRESETS
from app.threecx.client import PbxClient
from app.threecx.connect import ConnectionParams, open_client
from app.threecx.errors import ThreeCXError
from app.threecx.transport import RetryPolicy
from app.ui.feed.text import journey_summary
from tests.conftest import SimFactory
from tests.support.sim_process import COMMAND
from tests.support.timeouts import timeouts_for
from tests.support.waiting import until
from tests.threecx.conftest import params_for

ROOT = Path(__file__).parents[1]
DOCTOR_SCHEMA = json.loads(
    (ROOT / "resources/schemas/pbx-companion-doctor-1.schema.json").read_text("utf-8")
)
REPORT_SCHEMA = json.loads(
    (ROOT / "resources/schemas/pbx-companion-report-1.schema.json").read_text("utf-8")
)

# Each cause's own fault, in the field docs' order.
CAUSE_FAULTS = (
    "licence-expired",
    "missing-recording-role",
    "extension-not-recording",
    "late-recording",
    "unnormalised-contacts",
    "retention-deleted",
    "bad-key",
)
# A cause's fault with one that is not a cause (or a knob that shapes a cause's facts).
MIXED = (
    ("over-privileged", "extension-not-recording"),
    ("no-call-control", "unnormalised-contacts"),
    ("missing-history-role", "retention-deleted"),
    ("recording-stopped", "missing-recording-role"),
    ("on-demand-recording", "extension-not-recording"),
    ("on-demand-recording", "over-privileged"),
)
COMBOS: tuple[tuple[str, ...], ...] = (
    *((name,) for name in (*PRESETS, *FAULTS)),
    *itertools.combinations(CAUSE_FAULTS, 2),
    *MIXED,
)

# What each fault must put to the test in the places (unless check 7 blocks everything).
EXERCISED: dict[str, set[str]] = {
    "licence-expired": {"prerequisite missing"},
    "old-version": {"prerequisite missing"},
    "recording-stopped": {"prerequisite missing"},
    "missing-recording-role": {"red tick", "lookup: no access"},
    "missing-history-role": {"red tick", "lookup: history refused"},
    "extension-not-recording": {
        "audit: cause sentence",
        "lookup: not recorded by its setting",
        "feed: does not record",
    },
    "on-demand-recording": {"lookup: not recorded by its setting", "feed: does not record"},
    "retention-deleted": {"lookup: deleted by retention"},
}


def exercised(combo: tuple[str, ...]) -> set[str]:
    """What ``combo`` must put to the test, less what its other fault keeps from view: without
    the call history the recordings tab cannot search, and without the recording role nothing
    can tell a deleted recording from one the API user may not fetch."""
    names = {name.partition("=")[0] for name in combo}
    wanted = set().union(*(EXERCISED.get(name, set()) for name in names))
    if "missing-history-role" in names:
        wanted = {w for w in wanted if not w.startswith("lookup: ") or "history" in w}
    if "missing-recording-role" in names:
        wanted.discard("lookup: deleted by retention")
    return wanted


# The setup steps' own limit: short only for a PBX that hangs on purpose (tests/support/
# timeouts.py); one second on a healthy simulator failed on a busy CI machine.
HANG_SETUP_TIMEOUT_S = 1.0
ROOMY_SETUP_TIMEOUT_S = 30.0


def setup_timeout_s(sim: Simulator) -> float:
    return HANG_SETUP_TIMEOUT_S if sim.faults.active("hang") else ROOMY_SETUP_TIMEOUT_S


FEED_WINDOW_S = 0.5  # the feed's bridge window: followed recordings give up quickly
WATCH_S = 4.0  # the doctor's watch for cause 4: long enough for both to listen, then one call
LOOKUP_DAYS = 90  # the recordings tab searches back as far as the doctor's retention check

# One mapping from each place's words onto the doctor's four statuses. The Doctor tab and the
# guided setup's checklists say these words; a checklist row is a tick (green, red, grey) that
# says "Warning" instead when the rule warns.
WORDS: dict[CheckStatus, str] = {
    CheckStatus.PASS: "Pass",
    CheckStatus.WARN: "Warning",
    CheckStatus.FAIL: "Fail",
    CheckStatus.SKIP: "Not checked",
}
TICK_WORDS: dict[bool | None, str] = {True: "Pass", False: "Fail", None: "Not checked"}


def tick_word(ok: bool | None, status: CheckStatus | None = None) -> str:
    return WORDS[CheckStatus.WARN] if status is CheckStatus.WARN else TICK_WORDS[ok]


# The report's capability table: a capability that is "not proven" is a grey tick in the setup.
CAPABILITY_TICK: dict[CheckStatus, bool | None] = {
    CheckStatus.PASS: True,
    CheckStatus.FAIL: False,
    CheckStatus.WARN: None,
    CheckStatus.SKIP: None,
}
_MS = re.compile(r"\b\d+(?:\.\d+)? ms\b")


def same_words(text: str) -> str:
    """A measured latency ("answers in 3 ms") differs between two probes of one PBX."""
    return _MS.sub("N ms", text)


@dataclass
class Agreement:
    """The disagreements found in one combination, each naming the place and the check."""

    combo: str
    problems: list[str] = field(default_factory=list)
    # What the combination put to the test (so a fault that stops showing cannot pass quietly).
    seen: set[str] = field(default_factory=set)

    def same(
        self, place: str, check: CheckId | None, what: str, doctor: object, shown: object
    ) -> None:
        """``check`` None: the diagnosis as a whole (its first failure)."""
        if isinstance(doctor, str) and isinstance(shown, str):
            doctor, shown = same_words(doctor), same_words(shown)
        if doctor != shown:
            about = f"check {check.order} ({check})" if check else "the diagnosis"
            self.problems.append(
                f"{place}, {about}, {what}:\n    doctor: {doctor!r}\n    {place}: {shown!r}"
            )

    def holds(self, place: str, check: CheckId, claim: str, true: bool) -> None:
        if not true:
            self.problems.append(f"{place}, check {check.order} ({check}): {claim}")

    def verdict(self, place: str, doctor: CheckResult, shown: CheckResult) -> None:
        """A place that states the whole verdict: status, finding and fix."""
        self.same(place, doctor.id, "status", doctor.status, shown.status)
        self.same(place, doctor.id, "finding", doctor.finding, shown.finding)
        self.same(place, doctor.id, "fix", doctor.fix, shown.fix)

    def check(self, shown: int = 20) -> None:
        more = len(self.problems) - shown
        listed = self.problems[:shown] + ([f"... and {more} more"] if more > 0 else [])
        assert not self.problems, f"{self.combo}: the places disagree\n" + "\n".join(listed)


def profile_of(sim: Simulator) -> ConnectionProfile:
    return ConnectionProfile(
        id="sim", name="Simulated PBX", url=sim.url, client_id=sim.client_id, ca_file=sim.ca_file
    )


async def diagnose_at(sim: Simulator, now: datetime) -> Diagnosis:
    params = params_for(sim, timeouts=timeouts_for(sim))
    return await Doctor(params, sim.client_secret, DoctorOptions(), clock=lambda: now).run()


def blocked(diagnosis: Diagnosis) -> bool:
    """Check 7 failed: the PBX cannot be asked anything with this key."""
    return diagnosis.result(CheckId.REACHABILITY).status is CheckStatus.FAIL


# ---- the combinations ---------------------------------------------------------------------------
def test_every_preset_and_every_pair_of_causes_is_covered() -> None:
    alone = {combo[0] for combo in COMBOS if len(combo) == 1}
    assert alone == set(PRESETS) | set(FAULTS)
    pairs = {frozenset(c) for c in COMBOS if len(c) == 2 and set(c) <= set(CAUSE_FAULTS)}
    assert len(pairs) == 21  # every two of the seven


# A v18 PBX below build 11 lends the live feed no phonebook to match against: it says so.
NO_PHONEBOOK = pytest.mark.expect_log(
    "app.services.feed.live_feed", r"^Live feed: contacts not loaded: No contacts to match against"
)


def with_expected_logs(combo: tuple[str, ...]) -> Any:
    marks = [NO_PHONEBOOK] if "old-version" in combo else []
    return pytest.param(combo, marks=marks, id="+".join(combo))


@pytest.mark.parametrize("combo", [with_expected_logs(combo) for combo in COMBOS])
async def test_every_place_gives_the_doctors_verdict(
    make_sim: SimFactory, combo: tuple[str, ...]
) -> None:
    sim = await make_sim(tls=True, scenarios=list(combo))
    now = utc_now()
    diagnosis = await diagnose_at(sim, now)
    agree = Agreement("+".join(combo))

    check_doctor_json(agree, diagnosis)
    report = check_report(agree, diagnosis, now)
    await check_setup_reachability(agree, diagnosis, sim)
    capabilities = await check_setup_key(agree, diagnosis, sim)
    check_report_capabilities(agree, report, capabilities)
    if not blocked(diagnosis):
        async with signed_in(sim) as client:
            await check_prerequisites_step(agree, diagnosis, client, now)
            await check_recording_audit(agree, diagnosis, client, now)
            await check_contact_preview(agree, diagnosis, client, now)
        async with session_on(sim) as session:
            await check_recording_lookup(agree, diagnosis, session, now)
            await check_feed(agree, diagnosis, session)
        wanted = exercised(combo)
        assert wanted <= agree.seen, f"{agree.combo}: nothing compared for {wanted - agree.seen}"
    agree.check()


# ---- the doctor's JSON and the report ----------------------------------------------------------
def check_doctor_json(agree: Agreement, diagnosis: Diagnosis) -> None:
    document = json.loads(json.dumps(diagnosis.as_json()))
    jsonschema.validate(document, DOCTOR_SCHEMA)
    first = diagnosis.first_failure
    agree.same("doctor JSON", None, "first failure", first, _first(document))
    read_back = Diagnosis.from_json(document)
    for result, entry in zip(diagnosis.checks, read_back.checks, strict=True):
        agree.verdict("doctor JSON", result, entry)
    text = render_text(read_back)  # the CLI's text and the Doctor tab's "Copy as text"
    for result in diagnosis.checks:
        head = f"{result.id.order}. {MARKS[result.status]} {result.title}\n   {result.finding}\n"
        agree.holds("doctor text", result.id, "shows the status and the finding", head in text)
        if result.fix and result.status is not CheckStatus.PASS:
            fix = f"   Fix: {result.fix}\n"
            agree.holds("doctor text", result.id, "shows the fix", fix in text)


def _first(document: dict[str, Any]) -> CheckId | None:
    value = document["first_failure"]
    return None if value is None else CheckId(value)


def check_report(agree: Agreement, diagnosis: Diagnosis, now: datetime) -> Report:
    report = Report.build(diagnosis, ReportMeta(generated_at=now, customer="Harbour Dental"))
    document = json.loads(render_json(report))
    jsonschema.validate(document, REPORT_SCHEMA)
    page = render_html(report)
    entries = {entry["id"]: entry for entry in document["checks"]}
    for result in diagnosis.checks:
        check = result.id
        section = report.check(check)
        agree.same("report", check, "status", result.status, section.status)
        agree.same("report", check, "finding", result.finding, section.finding)
        agree.same("report", check, "fix", result.fix, section.fix)
        entry = entries[check.value]
        agree.same("report JSON", check, "status", result.status.value, entry["status"])
        agree.same("report JSON", check, "finding", result.finding, entry["finding"])
        agree.same("report JSON", check, "fix", result.fix, entry["fix"])
        heading = html.escape(f"{check.order}. {result.title}")
        badge = f'<span class="{result.status.value}">&nbsp;'
        badge += html.escape(status_word(result.status)).replace(" ", "&nbsp;")
        shown = f"{heading}&nbsp;&nbsp;{badge}&nbsp;</span></h3>\n<p>{html.escape(result.finding)}"
        agree.holds("report HTML", check, "shows the status and the finding", shown in page)
        if result.fix and result.status is not CheckStatus.PASS:
            agree.holds("report HTML", check, "shows the fix", html.escape(result.fix) in page)
    actions = {a.check: a for a in report.actions}
    for result in diagnosis.checks:
        outstanding = result.status in (CheckStatus.FAIL, CheckStatus.WARN)
        agree.same("report actions", result.id, "listed", outstanding, result.id in actions)
        if outstanding:
            action = actions[result.id]
            agree.same("report actions", result.id, "status", result.status, action.status)
            agree.same(
                "report actions", result.id, "text", result.fix or result.finding, action.text
            )
    sections = {
        CheckId.LATE_RECORDING: report.late_recording,
        CheckId.CONTACT_MATCH: report.contact_match,
        CheckId.RETENTION: report.retention,
        CheckId.REACHABILITY: report.reachability,
    }
    for check, part in sections.items():
        if part is not None:
            agree.same(
                "report details", check, "status", diagnosis.result(check).status, part.status
            )
    return report


def check_report_capabilities(
    agree: Agreement, report: Report, capabilities: CapabilityReport
) -> None:
    """The report's two capabilities are the setup's ticks for the same two questions."""
    roles = CheckId.API_ROLES
    history, fetch = report.capabilities
    agree.same(
        "report capabilities vs setup ticks",
        roles,
        "Reports User (call history)",
        CAPABILITY_TICK[history.status],
        capabilities.check(CALL_HISTORY).ok,
    )
    listed, download = capabilities.check(RECORDING_LIST), capabilities.check(RECORDING_DOWNLOAD)
    if listed.ok is False or download.ok is False:
        tick: bool | None = False
    elif listed.ok and download.ok:
        tick = True
    else:
        tick = None
    agree.same(
        "report capabilities vs setup ticks",
        roles,
        "Recording Manager (list and download)",
        CAPABILITY_TICK[fetch.status],
        tick,
    )


# ---- the guided setup ---------------------------------------------------------------------------
def setup_params(sim: Simulator) -> ConnectionParams:
    # One attempt: a PBX that hangs costs one timeout, not four.
    return params_for(sim, timeouts=timeouts_for(sim), retry=RetryPolicy(attempts=1))


async def check_setup_reachability(agree: Agreement, diagnosis: Diagnosis, sim: Simulator) -> None:
    """Step 6: the verdict on the same facts, and the step that breaks says the doctor's fix.

    The websocket step is the setup's own addition (the doctor does not probe Call Control), so
    it is not compared: ``no-call-control`` flags it there and nowhere in check 7.
    """
    place, check = "setup reachability", CheckId.REACHABILITY
    doctor = diagnosis.result(check)
    report = await check_reachability(
        setup_params(sim), sim.client_secret, timeout_s=setup_timeout_s(sim)
    )
    agree.verdict(place, doctor, report.verdict)
    path = [s for s in report.steps if s.name != "websocket"]
    flagged = [s for s in path if s.status in (CheckStatus.FAIL, CheckStatus.WARN)]
    if doctor.status is CheckStatus.PASS:
        agree.same(place, check, "steps needing attention", [], [s.name for s in flagged])
    elif doctor.fix == KEY_FIX:
        websocket = report.steps[-1]
        agree.same(place, check, "websocket step", CheckStatus.FAIL, websocket.status)
        agree.same(place, check, "websocket fix", doctor.fix, websocket.fix)
    else:
        agree.holds(
            place,
            check,
            f"a step is {doctor.status} with the doctor's fix {doctor.fix!r}: "
            f"{[(s.name, s.status, s.fix) for s in report.steps]}",
            any(s.status is doctor.status and s.fix == doctor.fix for s in report.steps),
        )


async def check_setup_key(
    agree: Agreement, diagnosis: Diagnosis, sim: Simulator
) -> CapabilityReport:
    """Step 5: the key's tick is check 7's sign-in; the capability ticks are check 2."""
    place = "setup verify the key"
    report = await verify_capabilities(
        setup_params(sim), sim.client_secret, timeout_s=setup_timeout_s(sim)
    )
    reach, roles = diagnosis.result(CheckId.REACHABILITY), diagnosis.result(CheckId.API_ROLES)
    token = report.check(TOKEN)
    agree.same(
        place,
        CheckId.REACHABILITY,
        "key accepted",
        reach.status is not CheckStatus.FAIL,
        report.key_accepted,
    )
    if reach.status is CheckStatus.FAIL:
        if reach.fix == KEY_FIX:  # the 401: one finding, one fix, everywhere
            agree.same(place, CheckId.REACHABILITY, "token finding", reach.finding, token.detail)
            agree.same(place, CheckId.REACHABILITY, "token fix", reach.fix, token.fix)
        else:  # the path broke: the tick says what the client saw; check 7 adds where to look
            agree.holds(
                place,
                CheckId.REACHABILITY,
                f"the token's fix {token.fix!r} opens check 7's {reach.fix!r}",
                bool(token.fix) and reach.fix.startswith(token.fix or "-"),
            )
        agree.same(place, CheckId.API_ROLES, "status", roles.status, report.verdict.status)
        return report
    agree.verdict(place, roles, report.verdict)
    red = [c for c in report.checks if c.ok is False]
    agree.same(place, CheckId.API_ROLES, "a red tick", roles.status is CheckStatus.FAIL, bool(red))
    v20 = report.generation == "v20"
    if red:
        agree.seen.add("red tick")
    for tick in red:  # each red tick says which capability to assign, in the check's words
        missing = HISTORY if tick.key == CALL_HISTORY else RECORDINGS
        agree.same(place, CheckId.API_ROLES, f"{tick.key} fix", roles_fix(v20, [missing]), tick.fix)
    if len({tick.fix for tick in red}) == 1:  # one capability missing: the check's own fix
        agree.same(place, CheckId.API_ROLES, "the red tick's fix", roles.fix, red[0].fix)
    return report


@contextlib.asynccontextmanager
async def signed_in(sim: Simulator) -> AsyncIterator[PbxClient]:
    client = await open_client(params_for(sim, timeouts=timeouts_for(sim)), sim.client_secret)
    try:
        await client.authenticate()
        yield client
    finally:
        await client.aclose()


async def check_prerequisites_step(
    agree: Agreement, diagnosis: Diagnosis, client: PbxClient, now: datetime
) -> None:
    """Step 2: each of cause 1's four aspects, as check 1 read them."""
    place, check = "setup prerequisites", CheckId.LICENCE
    doctor = diagnosis.result(check)
    version = client.identity.version
    detection = PbxDetection(
        url=diagnosis.pbx.url,
        host="127.0.0.1",
        port=0,
        generation=client.generation,
        version=str(version) if version else None,
        hosting="self-hosted",
        hosting_hint="",
        region=None,
        region_hint="",
        problem=None,
    )
    items = await check_prerequisites(detection, client, now=now)
    if not doctor.details:
        agree.holds(place, check, f"check 1 has its aspects: {doctor.finding}", False)
        return
    aspects = LicenceDetails.from_json(doctor.details).items
    required = [i for i in items if i.required]
    agree.same(
        place, check, "aspects", [a.aspect.value for a in aspects], [i.key for i in required]
    )
    for aspect, item in zip(aspects, required, strict=False):
        shown = tick_word(item.ok, item.status)
        agree.same(place, check, f"{item.key} status", WORDS[aspect.status], shown)
        agree.same(place, check, f"{item.key} finding", aspect.finding, item.detail)
        agree.same(place, check, f"{item.key} fix", aspect.fix or None, item.what_to_do)
    missing = any(i.status is CheckStatus.FAIL for i in required)
    agree.same(place, check, "something missing", doctor.status is CheckStatus.FAIL, missing)
    for item in required:
        if item.status is CheckStatus.FAIL:
            agree.seen.add("prerequisite missing")
            agree.holds(
                place, check, f"{item.key}: the finding names it", item.detail in doctor.finding
            )
            agree.holds(
                place, check, f"{item.key}: the fix says it", (item.what_to_do or "") in doctor.fix
            )


def doctor_extensions(diagnosis: Diagnosis) -> ExtensionRecordingDetails | None:
    result = diagnosis.result(CheckId.EXTENSION_RECORDING)
    if "extensions" not in result.details:
        return None
    return ExtensionRecordingDetails.from_json(result.details)


def records(row: ExtensionRow) -> bool:
    """The doctor's word on one extension: it records a bridge's calls (or, where the API does
    not say, none of its calls lacks a recording)."""
    if row.recorder is Recorder.UNKNOWN:
        return row.unrecorded == 0
    return row.recorder is Recorder.RECORDS


async def check_recording_audit(
    agree: Agreement, diagnosis: Diagnosis, client: PbxClient, now: datetime
) -> None:
    """Step 7: every extension marked as check 3 judges it, in check 3's words."""
    place, check = "setup recording audit", CheckId.EXTENSION_RECORDING
    doctor = diagnosis.result(check)
    details = doctor_extensions(diagnosis)
    try:
        rows = await audit_recording(client, now=now)
    except ThreeCXError as error:
        agree.holds(
            place,
            check,
            f"the audit could not read the extensions ({error}), yet check 3 did",
            details is None,
        )
        return
    if details is None:
        agree.holds(place, check, f"check 3 could not read the extensions: {doctor.finding}", False)
        return
    v20 = diagnosis.pbx.major != 18
    extensions = {r.number: r for r in rows if r.kind == "extension"}
    agree.same(
        place,
        check,
        "extensions",
        [r.number for r in details.extensions],
        sorted(extensions, key=_n),
    )
    cause = cause_sentence(details)
    override = override_sentence(details)
    for row in details.extensions:
        shown = extensions.get(row.number)
        if shown is None:
            continue
        agree.same(place, check, f"{row.number} records", records(row), shown.will_record)
        agree.same(
            place,
            check,
            f"{row.number} calls without a recording",
            row.unrecorded,
            shown.unrecorded_calls,
        )
        if row in details.culprits:
            assert cause is not None
            agree.seen.add("audit: cause sentence")
            agree.holds(
                place, check, f"{row.number} carries check 3's cause sentence", cause in shown.why
            )
        if row in details.overridden:
            assert override is not None
            agree.holds(
                place,
                check,
                f"{row.number} carries check 3's override sentence",
                override in shown.why,
            )
        if not shown.will_record:
            setting = recording_setting(v20)
            agree.holds(
                place,
                check,
                f"{row.number}'s fix is check 3's setting",
                setting in (shown.fix or ""),
            )
            agree.holds(place, check, "check 3's fix names the setting", setting in doctor.fix)
    unknown = not details.modes_known and not details.cross_checked
    agree.same(place, check, "status", doctor.status, audit_status(extensions.values(), unknown))
    if cause is not None:
        agree.holds(
            place,
            check,
            "check 3's finding is its cause sentence",
            doctor.finding.startswith(cause),
        )


def audit_status(rows: Iterable[RecordingAuditRow], unknown: bool) -> CheckStatus:
    """The audit's extension rows as one verdict: a row that will not record and lost calls is
    the cause (fail); one that will not record, or lost calls though set to record, is a
    warning; so is a PBX that neither says its modes nor could be cross-checked."""
    rows = list(rows)
    if any(not r.will_record and r.unrecorded_calls for r in rows):
        return CheckStatus.FAIL
    if unknown or any(not r.will_record or r.unrecorded_calls for r in rows):
        return CheckStatus.WARN
    return CheckStatus.PASS


def _n(number: str) -> tuple[int, str]:
    return (int(number), "") if number.isdigit() else (1 << 30, number)


async def check_contact_preview(
    agree: Agreement, diagnosis: Diagnosis, client: PbxClient, now: datetime
) -> None:
    """Step 8: check 5's verdict, and each previewed call matched as check 5 matched it."""
    place, check = "setup contact preview", CheckId.CONTACT_MATCH
    doctor = diagnosis.result(check)
    try:
        preview = await preview_contacts(client, DoctorOptions(), last_n=20, now=now)
    except ThreeCXError as error:
        agree.holds(place, check, f"the preview failed ({error}); check 5: {doctor.finding}", False)
        return
    agree.verdict(place, doctor, preview.verdict)
    outcomes = {
        MatchKind.EXACT: "attaches",
        MatchKind.NORMALISED: "attaches-after-normalising",
        MatchKind.ORPHAN: "orphan",
        MatchKind.AMBIGUOUS: "ambiguous",
    }
    matched = {c["call_id"]: c for c in doctor.details.get("calls", [])}
    for row in preview.rows:
        seen = matched.get(row.call_id)
        if seen is None or MatchKind(seen["match"]) not in outcomes:
            continue
        agree.same(
            place, check, f"call {row.call_id}", outcomes[MatchKind(seen["match"])], row.outcome
        )


# ---- the recordings tab and the live feed ------------------------------------------------------
@contextlib.asynccontextmanager
async def session_on(sim: Simulator) -> AsyncIterator[PbxSession]:
    session = PbxSession(profile_of(sim), sim.client_secret, poll_interval_s=0.3)
    try:
        yield session
    finally:
        await session.aclose()


async def check_recording_lookup(
    agree: Agreement, diagnosis: Diagnosis, session: PbxSession, now: datetime
) -> None:
    """The recordings tab, searched back as far as check 6 looks, row by row."""
    place = "recording lookup"
    roles = diagnosis.result(CheckId.API_ROLES)
    lookup = RecordingLookup(session, call_limit=20_000, now=lambda: now)
    try:
        result = await lookup.search(RecordingQuery(since=now - timedelta(days=LOOKUP_DAYS)))
    except RecordingLookupError as error:
        refused = roles.details.get("call_history") in ("403 forbidden", "401 rejected")
        agree.holds(place, CheckId.API_ROLES, f"the search failed: {error}", refused)
        if refused:
            agree.seen.add("lookup: history refused")
            agree.same(place, CheckId.API_ROLES, "status", CheckStatus.FAIL, roles.status)
            agree.same(
                place,
                CheckId.API_ROLES,
                "fix",
                roles_fix(diagnosis.pbx.major != 18, [HISTORY]),
                error.fix,
            )
            agree.same(place, CheckId.API_ROLES, "the check's fix", roles.fix, error.fix)
        return
    finally:
        await lookup.aclose()
    agree.holds(place, CheckId.API_ROLES, "read every call", not result.calls_limit_hit)
    check_lookup_roles(agree, diagnosis, result)
    check_lookup_recording(agree, diagnosis, result)
    check_lookup_retention(agree, diagnosis, result)


def check_lookup_roles(agree: Agreement, diagnosis: Diagnosis, result: SearchResult) -> None:
    place, check = "recording lookup", CheckId.API_ROLES
    roles = diagnosis.result(check)
    refused = roles.details.get("recording_list") in ("403 forbidden", "401 rejected")
    no_access = [r for r in result.rows if r.status is RecordingStatus.NO_ACCESS]
    referenced = [r for r in result.rows if r.call.recording_ids]
    if not referenced:
        return
    agree.same(place, check, "recordings refused", refused, bool(no_access))
    if no_access:
        agree.seen.add("lookup: no access")
    if refused:
        agree.same(place, check, "status", CheckStatus.FAIL, roles.status)
    expected = roles_fix(diagnosis.pbx.major != 18, [RECORDINGS])
    for row in no_access[:3]:
        agree.same(place, check, f"call {row.key} fix", expected, row.fix)
        if roles.details.get("call_history") == "ok":
            agree.same(place, check, f"call {row.key}: the check's fix", roles.fix, row.fix)


def check_lookup_recording(agree: Agreement, diagnosis: Diagnosis, result: SearchResult) -> None:
    """A call with no recording is put down to its extension's setting as check 3 judges it."""
    place, check = "recording lookup", CheckId.EXTENSION_RECORDING
    details = doctor_extensions(diagnosis)
    if details is None:
        return
    doctor = diagnosis.result(check)
    by_number = {row.number: row for row in details.extensions}
    v20 = diagnosis.pbx.major != 18
    lost: set[str] = set()
    for row in result.rows:
        if (
            row.status is not RecordingStatus.NOT_RECORDED
            or not row.call.is_external
            or not row.extension
        ):
            continue
        ext = by_number.get(row.extension)
        if ext is None:
            continue
        lost.add(ext.number)
        said = does_not_record(ext.number, ext.recording)
        names_setting = row.explanation.startswith(said[0].upper() + said[1:])
        silent = ext.recorder in (Recorder.OFF, Recorder.ON_DEMAND)
        if silent and names_setting:
            agree.seen.add("lookup: not recorded by its setting")
        agree.same(
            place,
            check,
            f"call {row.key} on {ext.number}: put down to its setting",
            silent,
            names_setting,
        )
        agree.holds(
            place,
            check,
            f"call {row.key}'s fix is check 3's setting: {row.fix!r}",
            recording_setting(v20) in row.fix and f"extension {ext.number}" in row.fix,
        )
    for culprit in details.culprits + details.overridden:
        agree.holds(
            place,
            check,
            f"check 3 says {culprit.number} lost calls ({doctor.finding}); the tab shows none",
            culprit.number in lost,
        )


def check_lookup_retention(agree: Agreement, diagnosis: Diagnosis, result: SearchResult) -> None:
    place, check = "recording lookup", CheckId.RETENTION
    doctor = diagnosis.result(check)
    if "required_days" not in doctor.details:
        return
    details = RetentionDetails.from_json(doctor.details)
    if details.auto_delete_days:
        agree.same(
            place,
            check,
            "retention",
            f"Auto-delete after {details.auto_delete_days} days",
            result.retention_text,
        )
    by_recording = {r.recording_id: r for r in result.rows if r.recording_id is not None}
    if details.deleted_by_retention:
        agree.seen.add("lookup: deleted by retention")
    for rec_id in details.deleted_by_retention:
        row = by_recording.get(rec_id)
        shown = row.status if row is not None else "not found"
        agree.same(place, check, f"recording {rec_id}", RecordingStatus.DELETED_BY_RETENTION, shown)
    deleted = [r for r in result.rows if r.status is RecordingStatus.DELETED_BY_RETENTION]
    if deleted:
        agree.holds(
            place,
            check,
            f"{len(deleted)} recordings deleted by retention, yet check 6: {doctor.finding}",
            doctor.status in (CheckStatus.FAIL, CheckStatus.WARN),
        )
    gone = set(details.deleted_by_retention) | set(details.missing)
    ready = [r.recording_id for r in result.rows if r.status is RecordingStatus.READY]
    agree.same(place, check, "ready yet gone", [], [i for i in ready if i in gone])


async def check_feed(agree: Agreement, diagnosis: Diagnosis, session: PbxSession) -> None:
    """The Live calls tab's recording column for an answered call on each extension that does
    not record (and one that does): "does not record" exactly where check 3 says so."""
    place, check = "live feed", CheckId.EXTENSION_RECORDING
    details = doctor_extensions(diagnosis)
    if details is None or not details.extensions:
        return
    silent = [r for r in details.extensions if r.recorder in (Recorder.OFF, Recorder.ON_DEMAND)]
    recording = next((r for r in details.extensions if records(r)), None)
    feed = LiveFeed(session, bridge_window_s=FEED_WINDOW_S)
    feed.start()
    try:
        await until(lambda: feed.recording_modes_known, "the extensions' recording modes", 10)
        for n, row in enumerate([*silent, *([recording] if recording else [])]):
            call = ended_call(feed, f"verdicts-{n}", row.number)
            text = journey_summary(call, FEED_WINDOW_S)
            if row in silent:
                agree.seen.add("feed: does not record")
                agree.same(
                    place,
                    check,
                    f"extension {row.number}",
                    f"extension {row.number} does not record",
                    text,
                )
            else:
                agree.holds(
                    place,
                    check,
                    f"extension {row.number} records, yet: {text!r}",
                    call.journey is not None and call.journey_note is None,
                )
    finally:
        await feed.stop()


def ended_call(feed: LiveFeed, call_id: str, extension: str) -> FeedCall:
    """An answered outside call on ``extension``, as Call Control reports it, just hung up."""
    at = utc_now()
    call: FeedCall | None = None
    for state in (LiveState.CONNECTED, LiveState.ENDED):
        event = CallEvent(
            call_id, state, at, CallDirection.INBOUND, "+61412345678", extension, "call-control"
        )
        call = feed.ingest(event)
    assert call is not None
    return call


# ---- the CLI ------------------------------------------------------------------------------------
CLI_COMBOS = (
    ("healthy",),
    ("missing-recording-role",),
    ("extension-not-recording", "unnormalised-contacts"),
    ("bad-key",),
)


async def cli_doctor_json(sim: Simulator) -> dict[str, Any]:
    env = {**os.environ, "PBX_KEY": sim.client_secret}
    proc = await asyncio.create_subprocess_exec(
        *COMMAND,
        "doctor",
        "--json",
        "--url",
        sim.url,
        "--client-id",
        sim.client_id,
        "--secret-env",
        "PBX_KEY",
        "--ca-file",
        str(sim.ca_file),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode in (0, 1), err.decode()
    assert sim.client_secret not in (out + err).decode()
    document: dict[str, Any] = json.loads(out)
    return document


async def test_the_cli_json_says_what_the_doctor_says(make_sim: SimFactory) -> None:
    """``pbx-companion doctor --json``, in its own process, for a few combinations at once; the
    doctor is then asked in-process at the instant the CLI checked, so the windows match."""
    sims = [await make_sim(tls=True, scenarios=list(combo)) for combo in CLI_COMBOS]
    documents = await asyncio.gather(*(cli_doctor_json(sim) for sim in sims))
    for combo, sim, document in zip(CLI_COMBOS, sims, documents, strict=True):
        jsonschema.validate(document, DOCTOR_SCHEMA)
        checked_at = datetime.fromisoformat(document["checked_at"])
        diagnosis = await diagnose_at(sim, checked_at)
        agree = Agreement("+".join(combo))
        cli = Diagnosis.from_json(document)
        for result, shown in zip(diagnosis.checks, cli.checks, strict=True):
            agree.verdict("CLI doctor --json", result, shown)
        first = diagnosis.first_failure
        agree.same("CLI doctor --json", None, "first failure", first, cli.first_failure)
        agree.check()


# ---- cause 4, watched once -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("faults", "status", "column"),
    [
        (["late-recording=2.5"], CheckStatus.FAIL, "missing after 1 s"),
        ([], CheckStatus.PASS, "ready at +"),
    ],
    ids=["late", "in-time"],
)
async def test_a_late_recording_reads_the_same_in_the_doctor_and_the_feed(
    make_sim: SimFactory, faults: list[str], status: CheckStatus, column: str
) -> None:
    """One call, watched by the doctor (a bridge's 1 s window) and followed by the live feed
    with the same window: late for one is missing for the other, in time for both otherwise."""
    sim = await make_sim(tls=True, faults=faults)
    extension = next(
        e.number
        for e in sim.tenant.external_staff()
        if e.record_calls and not e.record_external_only
    )
    reached = asyncio.Event()

    def progress(result: CheckResult) -> None:
        if result.id is CheckId.REACHABILITY:
            reached.set()

    options = DoctorOptions(watch_s=WATCH_S, bridge_window_s=1.0)
    params = params_for(sim, timeouts=timeouts_for(sim))
    async with session_on(sim) as session:
        feed = LiveFeed(session, bridge_window_s=1.0)
        run = asyncio.create_task(
            Doctor(params, sim.client_secret, options, on_result=progress).run()
        )
        try:
            await asyncio.wait_for(reached.wait(), 10)
            feed.start()
            await until(lambda: feed.recording_modes_known, "the feed's lookups", 10)
            # Both listen before the call: the doctor's watch and the feed, each on its own.
            await until(lambda: listeners(sim) == 2, "two Call Control listeners", 10)
            placed = await sim.place_call("inbound", extension=extension, ring_s=0.2, talk_s=0.3)
            diagnosis = await asyncio.wait_for(run, 30)
            await until(lambda: _journey_done(feed, str(placed.call_id)), "the feed's journey", 10)
        finally:
            run.cancel()
            await feed.stop()
    late = diagnosis.result(CheckId.LATE_RECORDING)
    assert late.status is status, late.finding
    row = feed.get(str(placed.call_id))
    assert row is not None
    assert journey_summary(row, 1.0).startswith(column), (journey_summary(row, 1.0), late.finding)
    report = Report.build(diagnosis, ReportMeta(generated_at=utc_now()))
    assert report.late_recording is not None and report.late_recording.status is status
    assert report.check(CheckId.LATE_RECORDING).finding == late.finding


def listeners(sim: Simulator) -> int:
    """Call Control websockets open on the simulator (it has no public count of them)."""
    return len(sim._server.websockets)


def _journey_done(feed: LiveFeed, call_id: str) -> bool:
    row = feed.get(call_id)
    return (
        row is not None
        and row.journey is not None
        and row.journey.state in (JourneyState.READY, JourneyState.MISSING)
    )
