"""The ledger report (issue 21, "Report") from a real reconciliation against the simulator playing
a customer's bridge and CRM with the issue's faults: the setup report's three formats, the counts
that add up to the PBX's own, the doctor's words for the causes, masking, and no secret."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from app.domain.business_hours import BusinessHours, customer_time
from app.domain.contact_match import display_name
from app.domain.diagnosis import TITLES, CheckId
from app.domain.reconcile.ledger import ledger_json, reconcile
from app.domain.reconcile.records import CallState, PbxRecording
from app.services.reconcile.ledger_report import write_ledger_report
from app.services.reconcile.ledger_store import FILE_NAME, LedgerStore
from app.services.reconcile.ledger_store_compare import Change
from app.services.reconcile.run import ReconcileInputs, ReconcileResult
from app.services.reports.export import ReportExportError
from app.services.session import PbxSession
from app.ui.reports.pdf import render_pdf
from tests.conftest import SimFactory
from tests.services.reconcile.test_ledger_store import PERIOD, call, result_of
from tests.services.reconcile.test_run import DEMO, reconciled
from tests.support.pdf import pdf_text
from tests.ui.conftest import profile_for

ROOT = Path(__file__).parents[3]
SCHEMA = json.loads((ROOT / "resources/schemas/pbx-companion-reconcile-1.schema.json").read_text())
CUSTOMER = "Harbour Dental"
ADELAIDE = BusinessHours(timezone="Australia/Adelaide")


class _Rows(HTMLParser):
    """Every table row of a page as the text of its cells, as a reader sees the tables."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data.replace("\u00a0", " "))


def table_rows(page: str) -> list[list[str]]:
    parser = _Rows()
    parser.feed(page)
    return parser.rows


def row_of(rows: list[list[str]], first: str) -> list[str]:
    found = [row for row in rows if row and row[0] == first]
    assert len(found) == 1, (first, found)
    return found[0]


async def demo(make_sim: SimFactory, tmp_path: Path) -> tuple[ReconcileResult, BusinessHours, str]:
    """The issue's faults reconciled, the customer's hours as the PBX says them, and the key."""
    sim = await make_sim(tls=True)
    result, _played = await reconciled(sim, tmp_path, DEMO)
    session = PbxSession(profile_for(sim), sim.client_secret)
    try:
        hours = await session.customer_hours()
    finally:
        await session.aclose()
    return result, hours, sim.client_secret


def names_and_numbers(result: ReconcileResult) -> set[str]:
    """Every full number and name the ledger holds about the customer's callers."""
    found: set[str] = set()
    for entry in result.ledger.entries:
        if entry.call.external_number:
            found.add(entry.call.external_number)
        found |= {m.activity.contact for m in entry.crm if m.activity.contact}
        if entry.call.bridge_match is not None:
            found |= {display_name(c) for c in entry.call.bridge_match.contacts}
    return found


def written(
    result: ReconcileResult, folder: Path, suffix: str, hours: BusinessHours, **kw: object
) -> str:
    """The report in ``suffix``'s format as a reader gets it: the page, the document, or the
    PDF's text read back with pdftotext."""
    path = write_ledger_report(
        result,
        folder / f"ledger{suffix}",
        hours=hours,
        customer=CUSTOMER,
        pdf_renderer=render_pdf,
        **kw,  # type: ignore[arg-type]
    )
    if suffix == ".pdf":
        assert path.read_bytes().startswith(b"%PDF-")
        return pdf_text(path)
    return html.unescape(path.read_text(encoding="utf-8"))


async def test_the_html_counts_each_state_and_cause_and_they_add_up_to_the_pbxs_count(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    result, hours, _key = await demo(make_sim, tmp_path)
    summary = result.ledger.summary
    out = write_ledger_report(result, tmp_path / "ledger.html", hours=hours, customer=CUSTOMER)
    page = out.read_text(encoding="utf-8")
    rows = table_rows(page)

    shown = {state: row_of(rows, state.label) for state in CallState}
    for state, row in shown.items():
        assert row[1] == state.meaning
        assert row[2] == f"{summary.by_state[state]:,}"
    total = row_of(rows, "Total")
    assert total[2] == str(summary.calls)
    assert sum(int(row[2]) for row in shown.values()) == summary.calls > 0

    for cause, n in summary.by_cause.items():
        words = f"{CheckId(cause).order}. {TITLES[CheckId(cause)]}" if cause != "none" else ""
        assert row_of(rows, words or "No single cause")[1] == str(n)
    assert {"late_recording", "api_roles", "contact_match"} <= set(summary.by_cause)

    gap = next(r for r in rows if r[:1] == [str(summary.missed_in_pbx)])
    assert gap == [str(summary.missed_in_pbx), str(summary.missed_triggers_fired), "2"]
    assert summary.missed_gap == 2

    text = html.unescape(page)
    # The period on the customer's clock (the zone said once when both ends share it).
    start = result.ledger.period_from.astimezone(hours.zone)
    end = customer_time(result.ledger.period_to, hours, "%d %b %Y %H:%M")
    assert f"Calls {start:%d %b %Y %H:%M} to {end}</p>" in text
    assert hours.timezone in text and CUSTOMER in text
    # The calls to fix, the worst first, each with its timeline: PBX, bridge, CRM.
    headings = re.findall(
        r"<h4>\d+\. [^<]*&nbsp;&nbsp;<span class=\"\w+\">&nbsp;([^<]*)&nbsp;", page
    )
    order = [next(s for s in CallState if s.label == h.replace("&nbsp;", " ")) for h in headings]
    assert len(order) == sum(1 for e in result.ledger.entries if not e.state.fine)
    assert order == sorted(order, key=lambda s: s.urgency) and order[0] is CallState.MISSING
    assert [r[0] for r in rows].count("PBX") == len(order)
    assert "The bridge was refused the recording (403" in text
    assert "No CRM activity for this call." in text


async def test_the_json_is_the_reconcile_document_and_every_format_is_secret_free(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    result, hours, key = await demo(make_sim, tmp_path)
    # A secret that slipped into what the run noted is still never written.
    leaky = replace(result, notes=(*result.notes, f"bridge said client_secret={key}", key))
    outputs = {
        suffix: written(leaky, tmp_path, suffix, hours, secrets=(key,))
        for suffix in (".json", ".html", ".pdf")
    }
    for suffix, text in outputs.items():
        assert key not in text, suffix
        assert "[redacted]" in text, suffix

    document = json.loads(outputs[".json"])
    jsonschema.validate(document, SCHEMA)
    expected = json.loads(json.dumps(ledger_json(result.ledger)))
    assert {k: v for k, v in document.items() if k != "notes"} == expected
    assert document["notes"][: len(result.notes)] == list(result.notes)


async def test_the_pdf_reads_back_with_the_summary(make_sim: SimFactory, tmp_path: Path) -> None:
    result, hours, _key = await demo(make_sim, tmp_path)
    summary = result.ledger.summary
    text = written(result, tmp_path, ".pdf", hours)
    flat = " ".join(text.split())
    assert "CALL LEDGER REPORT" in flat and CUSTOMER in flat
    assert f"Total the PBX's own call count {summary.calls}" in flat
    for state in CallState:
        assert f"{state.label} {state.meaning} {summary.by_state[state]}" in flat
    assert f"{TITLES[CheckId.LATE_RECORDING]} {summary.by_cause['late_recording']}" in flat
    assert "Missed-call gap" in flat and "Calls to fix" in flat
    assert f"{summary.match_rate:.0%}" in flat


async def test_masked_output_holds_no_full_number_or_name_the_plain_one_does(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    result, hours, _key = await demo(make_sim, tmp_path)
    private = names_and_numbers(result)
    (tmp_path / "plain").mkdir()
    (tmp_path / "masked").mkdir()
    plain = masked = ""
    for suffix in (".html", ".json", ".pdf"):
        plain = written(result, tmp_path / "plain", suffix, hours)
        masked = written(result, tmp_path / "masked", suffix, hours, masked=True)
        flat_plain, flat_masked = " ".join(plain.split()), " ".join(masked.split())
        shown = {p for p in private if p in flat_plain}
        # The plain report shows them (the wrong contact's owner in its evidence among them).
        assert any(p.startswith("+") for p in shown) and any(not p.startswith("+") for p in shown)
        assert not {p for p in shown if p in flat_masked}, suffix
        assert "••" in masked, suffix
    wrong = next(e for e in result.ledger.entries if e.state is CallState.WRONG_CONTACT)
    assert wrong.call.bridge_match is not None
    owner = display_name(wrong.call.bridge_match.contacts[0])
    assert owner in plain and owner not in masked  # a name inside the evidence is masked too


async def test_before_and_after_shows_what_a_fix_changed(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True)
    (tmp_path / "broken").mkdir()
    (tmp_path / "fixed").mkdir()
    broken, _ = await reconciled(sim, tmp_path / "broken", DEMO)
    rerun, _ = await reconciled(sim, tmp_path / "fixed", ())
    # The re-run after the fix covers the same period (the test's clock runs on in between).
    same = replace(rerun.ledger, period_from=broken.ledger.period_from)
    fixed = replace(rerun, ledger=replace(same, period_to=broken.ledger.period_to))
    with LedgerStore.open(tmp_path / FILE_NAME) as store:
        runs = [
            store.save(
                run,
                connection_id="harbour",
                inputs=ReconcileInputs(
                    tmp_path / folder / "crm-activities.csv",
                    (tmp_path / folder / "bridge.log",),
                ),
            )
            for run, folder in ((broken, "broken"), (fixed, "fixed"))
        ]
        compared = store.compare(*runs)
    changes = compared.by_change()
    assert changes[Change.FIXED] > 0
    page = write_ledger_report(
        fixed, tmp_path / "after.html", hours=ADELAIDE, comparison=compared
    ).read_text(encoding="utf-8")
    text = html.unescape(page)
    assert f"Against run {runs[0]} of the same period" in text
    assert f"{changes[Change.FIXED]:,} fixed" in text
    rows = table_rows(page)
    for state in CallState:
        before, after = compared.counts_before[state], compared.counts_after[state]
        # The state's row in the before-and-after table (its label is in the states table too).
        assert [state.label, str(before), str(after)] in [r[:3] for r in rows]
        assert after == fixed.ledger.summary.by_state[state]


def test_a_long_list_of_calls_to_fix_stops_and_points_at_the_json(tmp_path: Path) -> None:
    calls = [call(n, recording=PbxRecording.NONE) for n in range(55)]
    ledger = reconcile(calls, [], [], period=PERIOD)
    assert ledger.summary.by_state[CallState.MISSING] == 55
    page = write_ledger_report(result_of(ledger), tmp_path / "many.html", hours=ADELAIDE)
    text = html.unescape(page.read_text(encoding="utf-8"))
    assert "Calls to fix (55)" in text
    assert len(re.findall(r"<h4>\d+\. ", text)) == 40
    assert "... and 15 more, see the JSON" in text


async def test_a_folder_gets_a_pdf_named_by_the_time_and_a_bad_suffix_writes_nothing(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    result, hours, _key = await demo(make_sim, tmp_path)
    folder = tmp_path / "reports"
    folder.mkdir()
    path = write_ledger_report(result, folder, hours=hours, pdf_renderer=render_pdf)
    assert path.parent == folder
    assert re.fullmatch(r"pbx-reconcile-\d{8}-\d{6}\.pdf", path.name)
    assert path.read_bytes().startswith(b"%PDF-")

    for bad in ("ledger.txt", "ledger"):
        with pytest.raises(
            ReportExportError, match=r"end the file name in \.pdf, \.html or \.json"
        ):
            write_ledger_report(result, folder / bad, hours=hours)
    with pytest.raises(ReportExportError, match="needs the Qt renderer"):
        write_ledger_report(result, folder / "ledger.pdf", hours=hours)
    with pytest.raises(ReportExportError, match="does not exist"):
        write_ledger_report(result, tmp_path / "nowhere" / "ledger.html", hours=hours)
    assert sorted(p.name for p in folder.iterdir()) == [path.name]
