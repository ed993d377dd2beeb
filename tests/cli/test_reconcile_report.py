"""``pbx-companion reconcile … --report FILE`` against a simulator process playing the customer's
bridge and CRM with the issue's faults: the ledger report in each format, masked with --mask,
before and after on a re-run, never a key in it, and a bad name refused before any work."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.cli.entry import main
from app.domain.reconcile.records import CallState
from tests.cli.test_pbx import connection
from tests.support.pdf import pdf_text
from tests.support.sim_process import sim_process

CUSTOMER = "Harbour Dental"
# Whole days on the customer's clock, ended before the tests' pinned "now": every run of a test
# covers the very same period.
PERIOD = ["--from", "2026-11-11", "--to", "2026-11-17"]


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Path]]:
    """The simulator as its own process, playing the bridge and the CRM with the demo faults
    (as tests/cli/test_reconcile.py does)."""
    folder = tmp_path_factory.mktemp("bridge")
    options = ("--bridge-out", str(folder), "--bridge-fault", "demo", "--bridge-days", "7")
    with sim_process(*options) as info:
        yield info, folder


@pytest.fixture
def args(played: tuple[dict[str, Any], Path], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    info, folder = played
    monkeypatch.setenv("PBX_KEY", info["client_secret"])
    return [
        "reconcile",
        *connection(info),
        *PERIOD,
        "--crm-activities",
        str(folder / "crm-activities.csv"),
        "--bridge-log",
        str(folder / "bridge.log"),
    ]


def plain_document(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main([*args, "--json"]) == 1
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def private_words(document: dict[str, Any]) -> set[str]:
    """The callers' full numbers and the contacts' names the plain ledger holds, also the
    name of the contact a wrong-contact call should have gone to (in its evidence)."""
    calls = document["calls"]
    found = {c["external_number"] for c in calls if c["external_number"]}
    found |= {m["contact"] for c in calls for m in c["crm"] if m["contact"]}
    evidence = " ".join(e for c in calls for e in c["evidence"])
    owners = set(re.findall(r"although (.+?) has this number", evidence))
    assert owners  # the demo's call on a new contact names who should have had it
    return found | owners


def test_the_report_in_each_format_holds_the_summary_and_never_the_key(
    args: list[str],
    played: tuple[dict[str, Any], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = plain_document(args, capsys)
    summary = document["summary"]
    key = played[0]["client_secret"]
    for suffix in (".html", ".pdf", ".json"):
        out = tmp_path / f"ledger{suffix}"
        assert main([*args, "--customer", CUSTOMER, "--report", str(out)]) == 1  # calls to fix
        assert f"Ledger report written to {out}" in capsys.readouterr().out
        assert key.encode() not in out.read_bytes()

    assert json.loads((tmp_path / "ledger.json").read_text()) == document  # the --json one
    page = html.unescape((tmp_path / "ledger.html").read_text(encoding="utf-8"))
    flat = " ".join(pdf_text(tmp_path / "ledger.pdf").split())
    for text in (page, flat):
        assert CUSTOMER in text and "Calls by state" in text and "Missed-call gap" in text
        assert "4. Recordings appear within the bridge's retry window" in text
    for state in CallState:
        assert f"{state.label} {state.meaning} {summary['by_state'][state.value]}" in flat
    assert f"Total the PBX's own call count {summary['calls']}" in flat
    assert summary["calls"] == sum(summary["by_state"].values())


def test_json_with_a_json_report_prints_and_writes_the_same_document(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ledger.json"
    assert main([*args, "--json", "--mask", "--report", str(out)]) == 1
    printed = capsys.readouterr()
    assert json.loads(printed.out) == json.loads(out.read_text(encoding="utf-8"))
    assert f"Ledger report written to {out}" in printed.err  # stdout stays one document


def test_mask_masks_the_report_like_the_terminal(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private = private_words(plain_document(args, capsys))
    plain, masked = tmp_path / "plain.html", tmp_path / "masked.html"
    main([*args, "--report", str(plain)])
    main([*args, "--mask", "--report", str(masked)])
    capsys.readouterr()
    main([*args, "--mask"])
    terminal = capsys.readouterr().out
    main([*args, "--mask", "--json"])
    masked_numbers = {c["external_number"] for c in json.loads(capsys.readouterr().out)["calls"]}
    plain_text = html.unescape(plain.read_text(encoding="utf-8"))
    masked_text = html.unescape(masked.read_text(encoding="utf-8"))
    shown = {word for word in private if word in plain_text}
    assert any(w.startswith("+") for w in shown) and any(not w.startswith("+") for w in shown)
    assert not {word for word in shown if word in masked_text}
    assert not {word for word in shown if word in terminal}
    assert shown & set(re.findall(r"although (.+?) has this number", plain_text))
    # Numbers keep their last 3 digits, exactly as --mask shows them in the JSON.
    kept = set(re.findall(r"\+•+\d{3}", masked_text))
    assert kept and kept <= masked_numbers


def test_a_rerun_of_the_period_reports_before_and_after(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(args)
    out = tmp_path / "again.html"
    main([*args, "--report", str(out)])
    capsys.readouterr()
    page = html.unescape(out.read_text(encoding="utf-8"))
    assert "Before and after" in page and "of the same period" in page
    assert "0 fixed, " in page and "0 newly broken" in page  # nothing changed in between


def test_a_folder_gets_a_pdf_named_by_the_time(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*args, "--report", f"{tmp_path}/"]) == 1
    capsys.readouterr()
    (written,) = tmp_path.iterdir()
    assert re.fullmatch(r"pbx-reconcile-\d{8}-\d{6}\.pdf", written.name)
    assert written.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("ledger.txt", "'.txt' is not a report format; end the file name in .pdf, .html or .json"),
        ("ledger", "no extension"),
        ("missing-folder/ledger.pdf", "the folder"),
        ("missing-folder/", "does not exist"),
    ],
)
def test_a_bad_report_name_exits_2_before_any_work_and_writes_nothing(
    args: list[str], tmp_path: Path, name: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*args, "--report", f"{tmp_path}/{name}"]) == 2
    printed = capsys.readouterr()
    assert "--report:" in printed.err and said in printed.err
    assert "Kept as run" not in printed.out  # refused before the run
    assert list(tmp_path.iterdir()) == []


def test_the_report_never_overwrites_an_input(
    args: list[str], played: tuple[dict[str, Any], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    crm = played[1] / "crm-activities.json"
    crm.write_bytes((played[1] / "crm-activities.csv").read_bytes())
    at = args.index("--crm-activities") + 1
    changed = [*args[:at], str(crm), *args[at + 1 :]]
    before = crm.read_bytes()
    assert main([*changed, "--report", str(crm)]) == 2
    assert "is one of the inputs" in capsys.readouterr().err
    assert crm.read_bytes() == before
