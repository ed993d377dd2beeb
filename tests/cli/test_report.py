"""``pbx-companion report`` and ``doctor --report`` as a technician or a script runs them."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.cli.test_pbx import connection
from tests.support.pdf import pdf_text
from tests.support.sim_process import COMMAND, sim_process

ROOT = Path(__file__).parents[2]
SCHEMA = json.loads((ROOT / "resources/schemas/pbx-companion-report-1.schema.json").read_text())
TIMEOUT_S = 90


def run(*args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if key is not None:
        env["PBX_KEY"] = key
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, env=env, timeout=TIMEOUT_S
    )


@pytest.fixture(scope="module")
def sim() -> Iterator[dict[str, Any]]:
    with sim_process("--fault", "retention-deleted=30") as info:
        yield info


@pytest.fixture(scope="module")
def doctor_json(sim: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    done = run("doctor", "--json", *connection(sim), key=sim["client_secret"])
    assert done.returncode == 1, done.stderr  # retention fails
    saved = tmp_path_factory.mktemp("doctor") / "doctor.json"
    saved.write_text(done.stdout, encoding="utf-8")
    return saved


def test_a_saved_doctor_result_becomes_all_three_formats(
    sim: dict[str, Any], doctor_json: Path, tmp_path: Path
) -> None:
    doctor = json.loads(doctor_json.read_text())
    outputs = {}
    for suffix in (".pdf", ".html", ".json"):
        out = tmp_path / f"report{suffix}"
        done = run(
            "report",
            "--from",
            str(doctor_json),
            "--out",
            str(out),
            "--customer",
            "Harbour <Dental>",
            "--engineer",
            "Sam Engineer",
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"Report written to {out}"
        outputs[suffix] = out.read_bytes()
        assert sim["client_secret"].encode() not in outputs[suffix]

    assert outputs[".pdf"].startswith(b"%PDF")
    text = pdf_text(tmp_path / "report.pdf")
    assert "6. Retention keeps recordings long enough" in text
    assert "Harbour <Dental>" in text and "Sam Engineer" in text

    page = outputs[".html"].decode()
    assert "Harbour &lt;Dental&gt;" in page and "Harbour <Dental>" not in page

    report = json.loads(outputs[".json"])
    jsonschema.validate(report, SCHEMA)
    assert [c["status"] for c in report["checks"]] == [c["status"] for c in doctor["checks"]]
    assert report["checked_at"] == doctor["checked_at"]
    assert report["first_failure"] == "retention"
    assert report["outstanding_actions"][0]["check"] == "retention"
    assert report["generated_by"]["engineer"] == "Sam Engineer"


def test_doctor_writes_the_report_and_keeps_stdout_json(
    sim: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "onboarding.pdf"
    done = run(
        "doctor",
        "--json",
        "--report",
        str(out),
        "--customer",
        "Harbour Dental",
        *connection(sim),
        key=sim["client_secret"],
    )
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["first_failure"] == "retention"
    assert f"Report written to {out}" in done.stderr
    text = pdf_text(out)
    assert "Harbour Dental" in text and "Outstanding actions" in text
    assert sim["client_secret"] not in text


def test_doctor_refuses_a_bad_report_name_before_checking(
    sim: dict[str, Any], tmp_path: Path
) -> None:
    done = run(
        "doctor", "--report", str(tmp_path / "r.docx"), *connection(sim), key=sim["client_secret"]
    )
    assert done.returncode == 2
    assert "--report" in done.stderr and ".docx" in done.stderr
    assert done.stdout == ""  # nothing was checked


def test_masked_report_hides_the_callers(doctor_json: Path, tmp_path: Path) -> None:
    plain = json.loads(_report(doctor_json, tmp_path / "plain.json"))
    masked = json.loads(_report(doctor_json, tmp_path / "masked.json", "--mask"))
    numbers = [s["number"] for s in plain["contact_match"]["sample_calls"]]
    assert numbers and masked["masked"] is True
    text = json.dumps(masked, ensure_ascii=False)
    assert not any(number in text for number in numbers)
    assert [s["number"][-3:] for s in masked["contact_match"]["sample_calls"]] == [
        n[-3:] for n in numbers
    ]


def _report(source: Path, out: Path, *extra: str) -> str:
    done = run("report", "--from", str(source), "--out", str(out), *extra)
    assert done.returncode == 0, done.stderr
    return out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("content", "out_name", "extra", "named"),
    [
        (None, "r.pdf", (), "no such file"),
        ("{ not json", "r.pdf", (), "not JSON (line 1"),
        ('{"schema": "pbx-companion/report/1"}', "r.pdf", (), "schema: expected"),
        ('{"schema": "pbx-companion/doctor/1", "checks": []}', "r.html", (), "checks:"),
        ("DOCTOR", "r.txt", (), "--out"),
        ("DOCTOR", "missing-folder/r.pdf", (), "does not exist"),
        ("DOCTOR", "r.pdf", ("--logo", "/nonexistent/logo.png"), "--logo"),
        ("DOCTOR", "r.pdf", ("--logo", __file__), "not a PNG or JPEG"),
        ("DOCTOR", "doctor.json", (), "is the --from file"),
    ],
)
def test_bad_input_exits_2_with_a_message_naming_it(
    doctor_json: Path,
    tmp_path: Path,
    content: str | None,
    out_name: str,
    extra: tuple[str, ...],
    named: str,
) -> None:
    source = tmp_path / "doctor.json"
    if content == "DOCTOR":
        source.write_text(doctor_json.read_text())
    elif content is not None:
        source.write_text(content)
    out = tmp_path / out_name
    done = run("report", "--from", str(source), "--out", str(out), *extra)
    assert done.returncode == 2, done.stderr
    assert named in done.stderr
    assert done.stderr.startswith("pbx-companion: ")
    if content != "DOCTOR":
        assert str(source) in done.stderr  # the message names the file
    if out != source:
        assert not out.exists()
    elif content == "DOCTOR":
        assert source.read_text() == doctor_json.read_text()  # the doctor's result is kept


@pytest.mark.parametrize("trailing", ["/", ""])
def test_a_folder_gets_a_pdf_with_the_default_name(
    doctor_json: Path, tmp_path: Path, trailing: str
) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    done = run("report", "--from", str(doctor_json), "--out", f"{folder}{trailing}")
    assert done.returncode == 0, done.stderr
    written = list(folder.iterdir())
    assert len(written) == 1
    name = written[0].name
    assert name.startswith("pbx-report-") and name.endswith(".pdf")
    assert done.stdout == f"Report written to {written[0]}\n"
    assert written[0].read_bytes()[:5] == b"%PDF-"


def test_default_report_name_is_the_utc_time() -> None:
    from datetime import datetime, timedelta, timezone

    from app.cli.report import default_report_name

    adelaide = timezone(timedelta(hours=10, minutes=30))
    assert (
        default_report_name(datetime(2026, 11, 18, 11, 0, 5, tzinfo=adelaide))
        == "pbx-report-20261118-003005.pdf"
    )


@pytest.mark.parametrize(
    ("out_name", "named"),
    [
        ("no-such-folder/", "the folder"),
        ("report", "no extension, and no folder of that name"),
        ("report.docx", "'.docx' is not a report format"),  # the existing message
    ],
)
def test_a_folder_or_name_that_cannot_be_used_exits_2(
    doctor_json: Path, tmp_path: Path, out_name: str, named: str
) -> None:
    out = f"{tmp_path}/{out_name}"
    done = run("report", "--from", str(doctor_json), "--out", out)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("pbx-companion: --out: ")
    assert named in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_doctor_report_into_a_folder(sim: dict[str, Any], tmp_path: Path) -> None:
    done = run(
        "doctor", "--json", "--report", f"{tmp_path}/", *connection(sim), key=sim["client_secret"]
    )
    assert done.returncode == 1, done.stderr  # retention fails
    json.loads(done.stdout)  # stdout stays one JSON document
    (written,) = tmp_path.glob("pbx-report-*.pdf")
    assert f"Report written to {written}" in done.stderr
