"""``pbx-companion doctor`` as a technician or a script runs it."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from app.cli.entry import main
from tests.cli.test_pbx import connection
from tests.support.sim_process import COMMAND, sim_process

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "resources/schemas/pbx-companion-doctor-1.schema.json").read_text()
)
ORDER = [
    "licence",
    "api_roles",
    "extension_recording",
    "late_recording",
    "contact_match",
    "retention",
    "reachability",
]


@pytest.fixture(scope="module")
def sim() -> Iterator[dict[str, Any]]:
    with sim_process("--fault", "unnormalised-contacts") as info:
        yield info


@pytest.fixture
def key(sim: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PBX_KEY", sim["client_secret"])
    return str(sim["client_secret"])


def control(sim: dict[str, Any], path: str, body: dict[str, Any] | None = None) -> bytes:
    context = ssl.create_default_context(cafile=sim["ca_file"])
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{sim['url']}/_sim/{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        return bytes(response.read())


def test_json_document_follows_the_schema(
    sim: dict[str, Any], key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    control(sim, "faults", {"enable": ["missing-recording-role"]})
    try:
        code = main(["doctor", "--json", *connection(sim)])
    finally:
        control(sim, "faults", {"disable": ["missing-recording-role"]})
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    jsonschema.validate(document, SCHEMA)
    assert code == 1
    assert [c["id"] for c in document["checks"]] == ORDER
    assert document["first_failure"] == "api_roles"
    assert document["pbx"]["major"] == 20 and document["pbx"]["region"] == "AU"
    assert key not in captured.out + captured.err


def test_text_report_in_order_with_marks(
    sim: dict[str, Any], key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["doctor", *connection(sim)])
    out = capsys.readouterr().out
    assert code == 1  # the tenant's contacts are stored in local formats (cause 5)
    headings = [line for line in out.splitlines() if line[:2] in {f"{n}." for n in range(1, 8)}]
    assert [h.split()[0] for h in headings] == [f"{n}." for n in range(1, 8)]
    assert "5. [FAIL] Caller numbers match CRM contacts (E.164)" in out
    assert "First failure: 5." in out
    assert "Fix: Normalise the contact phone numbers" in out
    assert key not in out


def test_contacts_file_from_a_crm_export(
    sim: dict[str, Any], key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "hubspot-contacts.csv"
    export.write_bytes(control(sim, "crm-export.csv?flavour=hubspot"))
    code = main(["doctor", "--json", "--no-phonebook", "--contacts", str(export), *connection(sim)])
    document = json.loads(capsys.readouterr().out)
    match = document["checks"][4]
    assert code == 1 and match["status"] == "fail"
    assert any("hubspot-contacts.csv (HubSpot)" in line for line in match["evidence"])
    assert match["details"]["bulk_fixes"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"--url": "https://pbx example com"}, "--url"),
        ({"--ca-file": "/nonexistent/ca.pem"}, "--ca-file"),
        ({"--ca-file": __file__}, "--ca-file"),  # readable, but not a certificate
        ({"--secret-env": "PBX_NOT_SET"}, "--secret-env"),
        ({"--region": "XX"}, "--region"),
        ({"--contacts": "/nonexistent/contacts.csv"}, "--contacts"),
        ({"--watch": "-3"}, "--watch"),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(
    sim: dict[str, Any],
    key: str,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, str],
    named: str,
) -> None:
    args = connection(sim)
    extra: list[str] = []
    for flag, value in change.items():
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            extra += [flag, value]
    try:
        code = main(["doctor", *args, *extra])
    except SystemExit as exited:  # the parser's own range check (tests/cli/test_args_ranges.py)
        code = exited.code
    assert code == 2
    err = capsys.readouterr().err
    assert named in err
    assert key not in err


def test_secret_stays_out_of_verbose_logs(sim: dict[str, Any], key: str) -> None:
    proc = subprocess.run(
        [
            *COMMAND,
            "-v",
            "doctor",
            "--secret-stdin",
            *connection(sim)[:4],
            "--ca-file",
            sim["ca_file"],
        ],
        input=f"  {key}  \n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "Doctor:" in proc.stdout
    assert key not in proc.stdout + proc.stderr


def test_progress_lines_only_on_a_terminal(sim: dict[str, Any], key: str) -> None:
    import os
    import pty

    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [*COMMAND, "doctor", *connection(sim)],
            stdout=follower,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.close(follower)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the process is done
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=60)
    finally:
        os.close(leader)
        if proc.stderr:
            proc.stderr.close()
    shown = b"".join(chunks).decode()
    progress = [line for line in shown.splitlines() if line.strip().startswith("[")]
    assert len(progress) == 7, shown
    assert progress[0].strip().startswith("[1/7] reachability:")
    assert key not in shown


def test_a_closed_pipe_still_writes_the_report(
    sim: dict[str, Any], key: str, tmp_path: Path
) -> None:
    """`pbx-companion doctor ... --report F | head -1`: no traceback, and the report is written."""
    report = tmp_path / "visit.json"
    doctor = subprocess.Popen(
        [*COMMAND, "doctor", *connection(sim), "--report", str(report)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert doctor.stdout is not None and doctor.stderr is not None
    doctor.stdout.close()  # the reader is gone before the doctor prints anything
    with doctor.stderr:
        errors = doctor.stderr.read().decode()
    assert doctor.wait(timeout=60) == 1
    assert "Traceback" not in errors and "BrokenPipe" not in errors
    assert json.loads(report.read_text())["schema"] == "pbx-companion/report/1"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections (the kernel's backlog) and never answers on them."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


def test_a_pbx_that_never_answers_ends_at_the_deadline_with_a_document(
    silent_port: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PBX_KEY", "k" * 32)
    url = f"http://127.0.0.1:{silent_port}"
    code = main(
        # --timeout stays 10 s: only the deadline can end this run.
        [
            "doctor",
            "--json",
            "--url",
            url,
            "--client-id",
            "900",
            "--secret-env",
            "PBX_KEY",
            "--deadline",
            "2",
        ]
    )
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    jsonschema.validate(document, SCHEMA)
    assert code == 1  # nothing failed, but nothing was verified either
    assert [c["id"] for c in document["checks"]] == ORDER
    for check in document["checks"]:
        assert check["status"] == "warn"
        assert check["finding"] == (
            "Not verified: the PBX did not finish answering within the doctor's 2 s deadline."
        )
        assert "--deadline" in check["fix"]
        assert check["details"]["pending"] == ORDER
    assert "Traceback" not in captured.err


def test_a_bad_deadline_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["doctor", "--url", "pbx.example.com", "--deadline", "inf"])
    assert exited.value.code == 2
    assert "argument --deadline: 'inf' is not a finite number of seconds" in capsys.readouterr().err
