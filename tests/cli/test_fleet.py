"""``pbx-companion fleet sweep | changes | schedule`` as an MSP engineer (or an RMM) runs them.

Connections are saved with their keys in a real Secret Service on a private D-Bus session; the
commands run through ``main()`` in a worker thread while the test's loop serves the simulators.
"""

from __future__ import annotations

import asyncio
import io
import json
import plistlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from keyring.backend import KeyringBackend
from referencing import Registry, Resource

from app.cli.entry import main
from app.domain.connection import ConnectionProfile, new_connection_id
from app.services.connections.secrets import SERVICE
from app.services.connections.store import ConnectionStore
from app.services.fleet.history import FleetHistory
from app.sim import Simulator
from tests.conftest import SimFactory

pytestmark = pytest.mark.keyring

SCHEMAS = Path(__file__).parents[2] / "resources/schemas"
FLEET_SCHEMA = json.loads((SCHEMAS / "pbx-companion-fleet-1.schema.json").read_text())
DOCTOR_SCHEMA = json.loads((SCHEMAS / "pbx-companion-doctor-1.schema.json").read_text())
REGISTRY = Registry().with_resource(DOCTOR_SCHEMA["$id"], Resource.from_contents(DOCTOR_SCHEMA))


def validate(document: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(FLEET_SCHEMA, registry=REGISTRY).validate(document)


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(
    keyring_backend: KeyringBackend,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Any:
    async def run(*args: str) -> Run:
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        code = await asyncio.to_thread(main, list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


async def save(
    name: str, url: str, key: str | None, *, ca_file: str | None, customer: str = ""
) -> str:
    store = await ConnectionStore.open()
    profile = ConnectionProfile(
        id=new_connection_id(),
        name=name,
        url=url,
        client_id="900",
        customer=customer,
        ca_file=ca_file,
    )
    saved = await store.add(profile, key or "placeholder-key-0123456789")
    return saved.id


async def save_sim(name: str, sim: Simulator, customer: str = "") -> str:
    return await save(name, sim.url, sim.client_secret, ca_file=sim.ca_file, customer=customer)


def validate_doc(run: Run) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(run.out)
    validate(document)
    return document


async def test_sweep_json_exit_codes_and_bad_input_rows(
    cli: Any, make_sim: SimFactory, keyring_backend: KeyringBackend, tmp_path: Path
) -> None:
    healthy = await make_sim(tls=True)
    retention = await make_sim(tls=True, faults=["retention-deleted"])
    await save_sim("Harbour Main", healthy, customer="Harbour Dental")
    await save_sim("Bayside", retention, customer="Bayside Vets")
    await save("Old Site", "https://pbx.invalid:5001", "k" * 32, ca_file=None)
    lost = await save("No Key", healthy.url, None, ca_file=healthy.ca_file)
    keyring_backend.delete_password(SERVICE, lost)

    done = await cli("fleet", "sweep", "--json", "--concurrency", "3", "--processes", "2")

    assert done.code == 3, done.err  # one PBX unreachable and one with no key
    document = validate_doc(done)
    rows = {row["name"]: row for row in document["connections"]}
    assert list(rows) == ["Harbour Main", "Bayside", "Old Site", "No Key"]
    assert rows["Harbour Main"]["doctor"]["first_failure"] is None
    assert rows["Bayside"]["first_failure"] == "retention"
    assert rows["Bayside"]["doctor"]["schema"] == "pbx-companion/doctor/1"
    assert rows["Old Site"]["outcome"] == "unreachable"
    assert rows["Old Site"]["first_failure"] == "reachability"
    assert rows["No Key"]["outcome"] == "not checked" and rows["No Key"]["doctor"] is None
    assert "keys rotate 'No Key' --secret-stdin" in rows["No Key"]["finding"]
    assert document["summary"]["connections"] == 4
    lines = [line for line in done.err.splitlines() if line.startswith("[")]
    assert sorted(line[:5] for line in lines) == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    for sim in (healthy, retention):
        assert sim.client_secret not in done.out + done.err

    only_ok = await cli("fleet", "sweep", "--only", "harbour dental")  # a customer, any case
    assert only_ok.code == 0, only_ok.out + only_ok.err
    assert "Harbour Main" in only_ok.out and "Bayside" not in only_ok.out
    assert "1 PBX: 1 pass" in only_ok.out or "1 PBX: 1 warn" in only_ok.out

    out = tmp_path / "rmm" / "sweep.json"
    failed = await cli("fleet", "sweep", "--only", "Bayside", "--out", str(out))
    assert failed.code == 1
    assert "First failure: 6. Retention" in failed.out
    validate(json.loads(out.read_text()))
    assert json.loads(out.read_text())["connections"][0]["name"] == "Bayside"

    # Tags: the engineer's own labels pick connections across customers.
    tagged = await cli("connections", "tag", "bayside", "North", "monthly review")
    assert tagged.code == 0 and tagged.out == "Tags of Bayside: North, monthly review.\n"
    assert (await cli("connections", "tag", "Old Site", "north")).code == 0
    by_tag = await cli("fleet", "sweep", "--json", "--only", "NORTH")
    rows = {row["name"]: row for row in validate_doc(by_tag)["connections"]}
    assert list(rows) == ["Bayside", "Old Site"]
    assert rows["Bayside"]["tags"] == ["North", "monthly review"]
    assert rows["Old Site"]["tags"] == ["north"]
    too_long = await cli("connections", "tag", "Bayside", "x" * 41)
    assert too_long.code == 2 and "--tag: The tag 'xxxxxxxxxxxxxxxxxxxx'… is 41" in too_long.err

    unknown = await cli("fleet", "sweep", "--only", "Nobody")
    assert unknown.code == 2
    assert "--only: no saved connection, tag or customer is called 'Nobody'" in unknown.err
    assert "tags: monthly review, North, north)" not in unknown.err  # one spelling each
    assert "; tags: monthly review, North)" in unknown.err


async def test_changes_show_an_upgrade_and_a_renewed_certificate(
    cli: Any, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True)
    await save_sim("Harbour Main", sim)
    never = await cli("fleet", "changes")
    assert never.code == 0 and "No run stored yet" in never.out
    first = await cli("fleet", "sweep")
    assert first.code == 0, first.out + first.err

    sim.version = "20.0.11.2001"
    sim.faults.enable("tls-renewed")
    second = await cli("fleet", "sweep", "--json")
    assert second.code in (0, 1)
    [row] = validate_doc(second)["connections"]
    assert {"version_changed", "certificate_changed"} <= {c["kind"] for c in row["changes"]}

    shown = await cli("fleet", "changes")
    assert shown.code == 0
    assert "Harbour Main" in shown.out
    assert "Changes since the last good run" in shown.out
    assert "3CX was upgraded from 20.0.10.1116 to 20.0.11.2001." in shown.out
    assert "another certificate than at the last good run" in shown.out
    assert "What to do: " in shown.out
    as_json = await cli("fleet", "changes", "--json")
    document = validate_doc(as_json)
    assert document["kind"] == "changes"
    assert [c["kind"] for c in document["connections"][0]["changes"]] == [
        c["kind"] for c in row["changes"]
    ]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["fleet", "sweep", "--concurrency", "0"], "argument --concurrency: '0' is out of range"),
        (["fleet", "sweep", "--concurrency", "nan"], "'nan' is not a whole number"),
        (["fleet", "sweep", "--deadline", "inf"], "argument --deadline: 'inf' is not a finite"),
        (["fleet", "sweep", "--processes", "17"], "'17' is out of range (1 to 16 processes)"),
        (["fleet", "schedule", "--os", "amiga"], "argument --os: invalid choice"),
    ],
)
def test_bad_numbers_and_choices_exit_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert says in capsys.readouterr().err


def test_schedule_prints_a_snippet_for_each_os(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fleet", "schedule", "--print", "--os", "windows", "--at", "07:15"]) == 0
    task = ET.fromstring(capsys.readouterr().out.encode("utf-16"))
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    assert task.findtext(".//t:LogonType", namespaces=ns) == "InteractiveToken"
    assert task.findtext(".//t:StartBoundary", namespaces=ns).endswith("T07:15:00")  # type: ignore[union-attr]
    assert "fleet sweep --json --out" in (task.findtext(".//t:Arguments", namespaces=ns) or "")

    assert main(["fleet", "schedule", "--print", "--os", "macos", "--only", "Bay side"]) == 0
    text = capsys.readouterr().out
    agent = plistlib.loads(text.encode())
    assert agent["StartCalendarInterval"] == {"Hour": 6, "Minute": 30}
    assert agent["ProgramArguments"][1:5] == ["fleet", "sweep", "--json", "--out"]
    assert agent["ProgramArguments"][-2:] == ["--only", "Bay side"]

    assert main(["fleet", "schedule", "--print", "--os", "linux", "--at", "23:05"]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.startswith("5 23 * * * ")
    assert " fleet sweep --json --out " in line


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["fleet", "schedule"], "add --print"),
        (["fleet", "schedule", "--print", "--at", "25:00"], "--at: '25:00' is not a time"),
    ],
)
def test_schedule_usage_errors(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert says in capsys.readouterr().err


async def test_a_doctor_run_of_a_saved_connection_joins_the_history_and_changes(
    cli: Any, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True)
    connection_id = await save_sim("Harbour Main", sim, customer="Harbour Dental")
    first = await cli("doctor", "--connection", "Harbour Main")
    assert first.code == 0, first.err
    sim.version = "20.0.11.2001"  # the customer's 3CX was upgraded since
    second = await cli("doctor", "--connection", "Harbour Main")
    assert second.code == 0, second.err
    with FleetHistory.open() as history:
        runs = history.runs(connection_id)
    assert [run.source for run in runs] == ["doctor", "doctor"]
    assert all(run.good for run in runs)
    changes = await cli("fleet", "changes")
    assert "upgraded" in changes.out and "20.0.11.2001" in changes.out
