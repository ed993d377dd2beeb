"""``pbx-companion reconcile`` against a simulator process playing the customer's bridge and CRM
with the issue's faults: each call's state and cause, the exit code, the JSON and its schema."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from app.cli.entry import main
from tests.cli.test_pbx import connection
from tests.support.sim_process import sim_process

SCHEMA = json.loads(
    (
        Path(__file__).parents[2] / "resources/schemas/pbx-companion-reconcile-1.schema.json"
    ).read_text()
)


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Path]]:
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
        "--days",
        "7",
        "--crm-activities",
        str(folder / "crm-activities.csv"),
        "--bridge-log",
        str(folder / "bridge.log"),
    ]


def test_the_json_names_every_calls_state_and_cause_as_the_faults_imply(
    args: list[str], played: tuple[dict[str, Any], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*args, "--json"])
    document = json.loads(capsys.readouterr().out)
    jsonschema.validate(document, SCHEMA)
    assert code == 1  # some calls need a fix
    truth = json.loads((played[1] / "truth.json").read_text())["calls"]
    got = {c["call_id"]: (c["state"], c["cause"]) for c in document["calls"]}
    assert got == {cid: (t["state"], t["cause"]) for cid, t in truth.items()}
    summary = document["summary"]
    assert summary["calls"] == len(truth) == sum(summary["by_state"].values())
    assert summary["by_state"]["duplicated"] == summary["by_state"]["missing"] == 1
    assert summary["missed_in_pbx"] - summary["missed_triggers_fired"] == summary["missed_gap"]


def test_the_text_adds_up_and_names_each_call_to_fix(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "= the PBX's count" in out
    assert "no_recording [late_recording]: The bridge asked 1 time (404 at" in out
    assert "no_recording [api_roles]: The bridge was refused the recording (403" in out
    assert "duplicated: 2 CRM activities for this one call" in out
    assert "missed_not_triggered: Nothing fired" in out


def test_masked_output_keeps_only_the_last_digits(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    main([*args, "--json", "--mask"])
    document = json.loads(capsys.readouterr().out)
    numbers = [c["external_number"] for c in document["calls"] if c["external_number"]]
    assert numbers and all("•" in n and n[-3:].isdigit() for n in numbers)


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--days", "0"], "'0' is out of range (1 to 92 days)"),
        (["--from", "2026-11-18", "--to", "2026-11-01"], "is before --from"),
        (["--from", "18/11/2026"], "is not a date like 2026-11-18"),
        (["--crm-zone", "Mars/Olympus"], "is not a time zone"),
    ],
)
def test_bad_arguments_exit_2_and_say_why(
    args: list[str], extra: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = [a for a in args if a not in ("--days", "7")]
    try:
        code = main([*base, *extra])
    except SystemExit as exc:  # argparse's own range check exits before the command runs
        code = int(exc.code or 0)
    assert code == 2
    assert said in capsys.readouterr().err


def test_a_missing_export_is_a_bad_argument(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    at = args.index("--crm-activities") + 1
    changed = [*args[:at], str(tmp_path / "nope.csv"), *args[at + 1 :]]
    assert main(changed) == 2
    assert "--crm-activities:" in capsys.readouterr().err


def test_the_support_pack_holds_the_report_doctor_ledger_log_and_versions_and_no_secret(
    args: list[str],
    played: tuple[dict[str, Any], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pack = tmp_path / "ticket.zip"
    main([*args, "--support-pack", str(pack)])
    assert f"Support pack written to {pack}" in capsys.readouterr().out
    with zipfile.ZipFile(pack) as opened:
        names = set(opened.namelist())
        texts = {name: opened.read(name).decode("utf-8") for name in names}
    assert {"versions.json", "ledger.json", "doctor.json", "setup-report.html"} <= names
    secret = played[0]["client_secret"]
    assert all(secret not in text for text in texts.values())
    ledger = json.loads(texts["ledger.json"])
    numbers = [c["external_number"] for c in ledger["calls"] if c["external_number"]]
    assert numbers and all("•" in n for n in numbers)  # masked: last 3 digits only
    assert json.loads(texts["doctor.json"])["schema"] == "pbx-companion/report/1"


def test_a_support_pack_must_be_a_zip(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*args, "--support-pack", "ticket.tar"]) == 2
    assert "end the file name in .zip" in capsys.readouterr().err


def test_each_run_is_kept_and_a_rerun_of_the_period_shows_before_and_after(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    base = [a for a in args if a not in ("--days", "7")]
    period = ["--from", "2026-11-12", "--to", "2026-11-17"]
    main([*base, *period])
    first = capsys.readouterr().out
    assert "Kept as run " in first
    main([*base, *period])
    again = capsys.readouterr().out
    assert "of the same period" in again
    assert "0 fixed, " in again and "0 newly broken" in again  # nothing changed in between


def test_a_webhook_journal_that_is_not_a_file_is_a_bad_argument(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*args, "--webhook-journal", str(tmp_path / "nope.sqlite3")]) == 2
    assert "--webhook-journal:" in capsys.readouterr().err


def test_an_unreadable_webhook_journal_is_said_and_the_ledger_stands(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "webhook-journal.sqlite3"
    journal.write_bytes(b"not a database at all " * 100)
    assert main([*args, "--webhook-journal", str(journal)]) == 1
    out = capsys.readouterr().out
    assert "Note: The webhook journal could not be read:" in out
    assert "= the PBX's count" in out  # the ledger is whole without the add-on's events
