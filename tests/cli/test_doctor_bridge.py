"""``doctor --bridge-match``: cause 5 judged for the customer's bridge, from a terminal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from keyring.backend import KeyringBackend

from app.cli.entry import main
from app.domain.bridge import Bridge, NumberMatch
from app.services.settings.file import load_settings, save_settings, settings_path
from tests.cli.test_connections import Cli, add_args, cli  # noqa: F401  (the fixture)
from tests.cli.test_doctor import control
from tests.cli.test_pbx import connection
from tests.conftest import SimFactory
from tests.support.sim_process import sim_process


@pytest.fixture(scope="module")
def sim() -> Iterator[dict[str, Any]]:
    with sim_process(
        "--fault", "unnormalised-contacts", "--fault", "phonebook-resolving=MatchLength:9"
    ) as info:
        yield info


@pytest.fixture
def key(sim: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PBX_KEY", sim["client_secret"])
    return str(sim["client_secret"])


def cause_5(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["doctor", "--json", *args])
    return code, json.loads(capsys.readouterr().out)["checks"][4]


def test_local_numbers_fail_on_e164_and_not_on_3cx_matching_the_last_9(
    sim: dict[str, Any], key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, e164 = cause_5(capsys, *connection(sim))
    assert code == 1 and e164["status"] == "fail"
    assert e164["details"]["bridge"] == {"match": "e164", "store": "crm"}
    assert "would have gone to a new or default contact" in e164["finding"]
    assert e164["evidence"][0].endswith("stored numbers not in E.164 (bulk-fix list)")

    code, threecx = cause_5(capsys, *connection(sim), "--bridge-match", "3cx-phonebook")
    assert threecx["status"] in ("pass", "warn"), threecx["finding"]
    assert threecx["details"]["bridge"] == {"match": "3cx-phonebook", "store": "3cx-phonebook"}
    assert threecx["details"]["resolution"] == "match the last 9 digits"
    assert code == 0  # nothing else fails on this PBX

    _, normalised = cause_5(capsys, *connection(sim), "--bridge-match", "normalised")
    assert normalised["status"] in ("pass", "warn") and not normalised["details"]["bulk_fixes"]


def test_a_crm_export_is_searched_alone(
    sim: dict[str, Any], key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CRM and the phonebook hold the same people: the CRM bridge searches the CRM only."""
    export = tmp_path / "hubspot-contacts.csv"
    export.write_bytes(control(sim, "crm-export.csv?flavour=hubspot"))
    _, result = cause_5(capsys, *connection(sim), "--contacts", str(export))
    assert result["status"] == "fail"
    assert not any(
        len(call["contacts"]) > 1 and len(set(call["contacts"])) == 1
        for call in result["details"]["calls"]
    ), "one person counted twice"
    assert not any("3CX phonebook" in line for line in result["evidence"])


def test_bad_bridge_arguments_exit_2(
    sim: dict[str, Any], key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["doctor", *connection(sim), "--bridge-match", "fuzzy"])
    assert refused.value.code == 2
    assert "--bridge-match: invalid choice: 'fuzzy'" in capsys.readouterr().err

    args = ["--bridge-match", "3cx-phonebook", "--no-phonebook"]
    assert main(["doctor", *connection(sim), *args]) == 2
    assert "--no-phonebook: this bridge is 3CX's own integration" in capsys.readouterr().err


@pytest.mark.keyring
async def test_a_saved_connection_brings_its_bridge(
    cli: Cli,  # noqa: F811  (the fixture imported above)
    keyring_backend: KeyringBackend,
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(
        tls=True, faults=["unnormalised-contacts", "phonebook-resolving=MatchLength:9"]
    )
    assert (await cli(*add_args(sim), stdin=sim.client_secret)).code == 0
    loaded = load_settings(settings_path()).settings
    (profile,) = loaded.connections
    threecx = Bridge.for_match(NumberMatch.PHONEBOOK)
    save_settings(loaded.with_connection(replace(profile, bridge=threecx)))

    saved = await cli("doctor", "--connection", "Harbour Dental", "--json")
    match = json.loads(saved.out)["checks"][4]
    assert match["details"]["bridge"]["match"] == "3cx-phonebook"
    assert match["status"] != "fail"

    told = await cli("doctor", "--connection", "Harbour Dental", "--json", "--bridge-match", "e164")
    match = json.loads(told.out)["checks"][4]
    assert match["details"]["bridge"]["match"] == "e164" and match["status"] == "fail"
