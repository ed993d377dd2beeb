"""Cause 5 through the doctor, against the simulator: the customer's bridge decides the answer."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from app.domain.bridge import Bridge, NumberMatch
from app.domain.causes.contact_match import (
    BULK_FIXES_KEPT,
    NO_RESOLVING_FIX,
    ContactMatchDetails,
)
from app.domain.contact_match import MatchKind
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus
from app.services.contacts.crm_import import MAX_PROBLEMS_KEPT, parse_contacts_csv
from app.services.doctor.text import render_text
from app.services.facts.connection_options import options_for_connection
from app.services.facts.options import DoctorOptions
from app.sim import Simulator
from tests.conftest import SimFactory
from tests.services.doctor.test_runner import diagnose

DOCTOR_SCHEMA = json.loads(
    (Path(__file__).parents[3] / "resources/schemas/pbx-companion-doctor-1.schema.json").read_text(
        "utf-8"
    )
)


def crm_options(sim: Simulator, **more: Any) -> DoctorOptions:
    """The CRM's export as the engineer loads it: HubSpot, with its Record ID column."""
    imported = parse_contacts_csv(sim.crm_export_csv("hubspot"))
    return DoctorOptions(
        crm_contacts=imported.contacts,
        crm_contacts_label="hubspot.csv (HubSpot)",
        crm_record_ids=imported.mapping.id_column is not None,
        **more,
    )


async def cause_5(sim: Simulator, options: DoctorOptions | None = None) -> CheckResult:
    return (await diagnose(sim, options)).result(CheckId.CONTACT_MATCH)


async def test_a_healthy_pbx_whose_phonebook_mirrors_the_crm_passes(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(tls=True)
    for options in (crm_options(sim), DoctorOptions()):  # the CRM, or the phonebook for it
        result = await cause_5(sim, options)
        assert result.status is CheckStatus.PASS, result.finding
        assert result.finding.startswith(
            "Every recent caller who is a contact attaches to exactly one contact."
        )
        assert not any("share this number" in line for line in result.evidence)
        counts = result.details["counts"]
        assert counts[str(MatchKind.AMBIGUOUS)] == 0 and counts[str(MatchKind.EXACT)] > 10
        # Each person once: the store searched is the bridge's, never both.
        assert result.details["contacts"] == len(sim.tenant.contacts)
    text = render_text(await diagnose(sim, crm_options(sim)))
    assert "5. [PASS] Caller numbers match CRM contacts (E.164)" in text


async def test_a_crm_in_local_format_fails_on_an_e164_bridge(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["unnormalised-contacts"])
    diagnosis = await diagnose(sim, crm_options(sim))
    result = diagnosis.result(CheckId.CONTACT_MATCH)
    assert result.status is CheckStatus.FAIL
    assert diagnosis.first_failure is CheckId.CONTACT_MATCH
    missed = result.details["counts"][str(MatchKind.NORMALISED)]
    assert result.finding.startswith(
        f"{missed} recent calls would have gone to a new or default contact although the caller "
        "is a contact ("
    )
    assert "stored in a local format, not E.164" in result.finding
    fixes = result.details["bulk_fixes"]
    assert result.evidence[0] == f"{len(fixes)} stored numbers not in E.164 (bulk-fix list)"
    assert result.evidence[1].endswith(f"'{fixes[0]['stored']}' → {fixes[0]['e164']}")
    assert result.fix.startswith("Normalise the contact phone numbers in the CRM to E.164")
    assert "+61, no leading zero" in result.fix and "bulk-fix list" in result.fix
    assert "Bridge: compares exact E.164 strings, searching the CRM export hubspot.csv" in " ".join(
        result.evidence
    )
    text = render_text(diagnosis)
    assert "5. [FAIL] Caller numbers match CRM contacts (E.164)" in text
    assert f"   {result.finding}" in text and f"   Fix: {result.fix}" in text
    assert ContactMatchDetails.from_json(result.details).bridge == Bridge()


async def test_the_same_pbx_passes_on_3cx_matching_the_last_9_digits(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(
        tls=True, faults=["unnormalised-contacts", "phonebook-resolving=MatchLength:9"]
    )
    threecx = Bridge.for_match(NumberMatch.PHONEBOOK)
    result = await cause_5(sim, crm_options(sim, bridge=threecx))
    assert result.status is CheckStatus.PASS, result.finding
    assert "not in E.164" not in result.finding
    assert result.details["counts"][str(MatchKind.NORMALISED)] == 0
    assert result.details["bulk_fixes"] == []
    assert result.details["resolution"] == "match the last 9 digits"
    assert result.evidence[0] == (
        "Bridge: 3CX's own phonebook resolution (match the last 9 digits), searching the 3CX "
        "phonebook"
    )
    assert any("of the CRM export not searched" in line for line in result.evidence)


@pytest.mark.parametrize(
    ("knob", "words", "fix"),
    [
        ("MatchExact", "3CX's phonebook (match the exact number) does not match", "Normalise"),
        ("NotResolve", "3CX's phonebook is set to no resolving", NO_RESOLVING_FIX),
    ],
)
async def test_3cx_settings_that_miss_contacts_fail(
    make_sim: SimFactory, knob: str, words: str, fix: str
) -> None:
    sim = await make_sim(tls=True, faults=["unnormalised-contacts", f"phonebook-resolving={knob}"])
    result = await cause_5(sim, DoctorOptions(bridge=Bridge.for_match(NumberMatch.PHONEBOOK)))
    assert result.status is CheckStatus.FAIL
    assert words in result.finding
    assert result.fix.startswith(fix)


async def test_3cx_settings_are_read_only_for_3cx_own_bridge(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["phonebook-resolving=NotResolve"])
    result = await cause_5(sim)  # the field docs' bridge: 3CX's own resolution is not its concern
    assert result.status is CheckStatus.PASS
    assert result.details["resolution"] is None
    assert not any("3CX's own" in line for line in result.evidence)


async def test_v18_does_not_say_how_3cx_resolves(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, pbx_version="18.0.11.200")
    result = await cause_5(sim, DoctorOptions(bridge=Bridge.for_match(NumberMatch.PHONEBOOK)))
    assert result.status is CheckStatus.SKIP
    assert "could not be read (this PBX version does not say)" in result.finding
    assert result.fix


async def test_without_an_export_or_the_phonebook_nothing_is_searched(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(tls=True)
    result = await cause_5(sim, DoctorOptions(use_phonebook=False))  # --no-phonebook
    assert result.status is CheckStatus.SKIP
    assert result.finding == (
        "No contacts to match against: no CRM export was given, and the 3CX phonebook was not "
        "to stand in for it."
    )
    assert "--contacts FILE" in result.fix


async def test_a_company_line_two_people_share_is_a_warning_not_a_failure(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(tls=True, faults=["shared-numbers"])
    result = await cause_5(sim, crm_options(sim))
    assert result.status is CheckStatus.WARN, result.finding
    shared = result.details["counts"][str(MatchKind.AMBIGUOUS)]
    assert shared > 0
    assert result.finding.startswith(f"{shared} recent call")
    assert "from numbers several contacts share" in result.finding


async def test_a_huge_bulk_fix_list_is_counted_with_only_its_first_rows_kept(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True)
    rows = BULK_FIXES_KEPT + 150
    export = tmp_path / "crm.csv"
    with export.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Record ID", "First Name", "Last Name", "Phone Number"])
        for n in range(rows):
            writer.writerow([str(n), "Pat", f"Local{n}", f"08 8{n:03d} {5000 + n:04d}"])
    built = await options_for_connection(None, contacts_csv=export)
    diagnosis = await diagnose(sim, built.options)
    result = diagnosis.result(CheckId.CONTACT_MATCH)
    details = result.details
    assert details["bulk_fix_count"] == rows
    assert len(details["bulk_fixes"]) == BULK_FIXES_KEPT
    assert details["bulk_fixes"][0]["contact_id"] == "0"
    assert f"{rows} stored numbers not in E.164 (bulk-fix list)" in result.evidence
    assert f"... and {rows - 5} more in the bulk-fix list" in result.evidence
    assert f"the first {BULK_FIXES_KEPT} are listed" in result.fix
    # Read back (the report, a saved check) with the count, not the rows it kept.
    again = ContactMatchDetails.from_json(json.loads(json.dumps(details)))
    assert again.fixes_in_all == rows and len(again.bulk_fixes) == BULK_FIXES_KEPT
    jsonschema.validate(json.loads(json.dumps(diagnosis.as_json())), DOCTOR_SCHEMA)


async def test_every_skipped_row_is_counted_though_only_the_first_are_described(
    tmp_path: Path,
) -> None:
    broken = MAX_PROBLEMS_KEPT + 40
    export = tmp_path / "crm.csv"
    with export.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Record ID", "First Name", "Last Name", "Phone Number"])
        writer.writerow(["1", "Ann", "Lee", "+61881234567"])
        for n in range(broken):
            writer.writerow([str(n + 2), "only two"])
    built = await options_for_connection(None, contacts_csv=export)
    read = built.contacts
    assert read is not None and len(read.contacts) == 1
    assert read.rows_skipped == broken and len(read.skipped) == MAX_PROBLEMS_KEPT
    assert read.summary is not None and read.summary.startswith(f"{broken} rows skipped")
    notice = next(n for n in built.notices if n.startswith("CRM export crm.csv"))
    assert notice.endswith(f"(and {broken - 1} more rows skipped)")
