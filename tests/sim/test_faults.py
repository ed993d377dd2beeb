from __future__ import annotations

import argparse
import asyncio

import aiohttp
import pytest

from app.domain.clock import utc_now
from app.sim import FAULTS, Simulator
from app.sim import cli as sim_cli
from app.sim.wire_quirks import ALL_QUIRKS, WireQuirk
from tests.sim.conftest import get_token, recent_call_log_path, token_form


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_every_fault_is_a_preset(name: str) -> None:
    parser = argparse.ArgumentParser()
    sim_cli.add_arguments(parser)
    sim = Simulator(sim_cli.config_from_args(parser.parse_args(["--scenario", name])))
    default = FAULTS[name]
    assert sim.faults.as_list() == [name if default is None else f"{name}={default}"]


def test_an_unknown_scenario_is_refused_by_name(monkeypatch, capsys) -> None:
    async def serve(config) -> None:
        raise AssertionError(f"the simulator started with scenarios {config.scenarios}")

    monkeypatch.setattr(sim_cli, "_serve", serve)  # a regression fails here, never hangs
    assert sim_cli.main(["--scenario", "no-such-fault"]) == 2
    err = capsys.readouterr().err
    assert "unknown fault or knob 'no-such-fault'" in err


def wire_of(*argv: str) -> frozenset[str]:
    parser = argparse.ArgumentParser()
    sim_cli.add_arguments(parser)
    return Simulator(sim_cli.config_from_args(parser.parse_args(list(argv)))).wire


def test_the_wire_is_a_live_pbxs_unless_asked_and_each_quirk_switches_alone() -> None:
    assert wire_of() == ALL_QUIRKS  # messy by default, as a live PBX is
    assert wire_of("--clean-wire") == frozenset()
    assert wire_of("--clean-wire", "--wire-quirk", "queue-rows") == {WireQuirk.QUEUE_ROWS}
    assert wire_of("--no-wire-quirk", "orderby-ignored") == ALL_QUIRKS - {WireQuirk.ORDERBY_IGNORED}


def test_an_unknown_wire_quirk_is_refused_by_name(monkeypatch, capsys) -> None:
    async def serve(config) -> None:
        raise AssertionError("the simulator started")

    monkeypatch.setattr(sim_cli, "_serve", serve)
    assert sim_cli.main(["--wire-quirk", "tidy-wire"]) == 2
    err = capsys.readouterr().err
    assert "Unknown wire quirk 'tidy-wire'" in err and "orderby-ignored" in err


async def test_licence_expired_and_recording_stopped(make_sim, api_for) -> None:
    sim = await make_sim(scenarios=["licence-expired", "recording-stopped"])
    api = await api_for(sim)
    _, st, _ = await api.get("SystemStatus")
    assert st["LicenseActive"] is False and st["RecordingStopped"] and st["RecordingQuotaReached"]
    _, lic, _ = await api.get("LicenseStatus")
    assert lic["LicenseActive"] is False
    assert lic["ExpirationDate"] < utc_now().strftime("%Y-%m-%dT%H:%M:%SZ")
    call = await sim.place_call("inbound", ring_s=0.01, talk_s=0.01)
    await asyncio.sleep(0.3)
    assert call.recording_id is None


async def test_role_faults(make_sim, api_for) -> None:
    sim = await make_sim(faults=["missing-recording-role"])
    api = await api_for(sim)
    assert (await api.get("Recordings"))[0] == 403
    assert (await api.get("Recordings/Pbx.DownloadRecording(recId=1)"))[0] == 403
    assert (await api.get(recent_call_log_path(sim)))[0] == 200
    sim.faults.disable("missing-recording-role")
    sim.faults.enable("missing-history-role")
    assert (await api.get("Recordings?$top=1"))[0] == 200
    assert (await api.get(recent_call_log_path(sim)))[0] == 403
    assert (await api.get("CallHistoryView"))[0] == 403


async def test_extension_not_recording(make_sim, api_for) -> None:
    sim = await make_sim(faults=["extension-not-recording"])
    api = await api_for(sim)
    off = sim.tenant.not_recording[0]
    _, users, _ = await api.get(f"Users?$filter=Number eq '{off}'")
    assert users["value"][0]["RecordCalls"] is False
    call = await sim.place_call("inbound", extension=off, ring_s=0.01, talk_s=0.01)
    assert call.answered and not call.recorded


@pytest.mark.parametrize("value", ["never", "0.6"])
async def test_late_recording(make_sim, value) -> None:
    sim = await make_sim(faults=[f"late-recording={value}"], recording_delay_s=0.05)
    call = await sim.place_call(
        "inbound", extension=sim.tenant.external_staff()[0].number, ring_s=0.01, talk_s=0.01
    )
    await asyncio.sleep(0.3)
    assert call.recording_id is None
    if value != "never":
        await asyncio.sleep(0.5)
        assert call.recording_id is not None


async def test_shared_numbers_give_two_people_one_line(make_sim) -> None:
    sim = await make_sim(faults=["shared-numbers"])
    numbers = [ct.e164 for ct in sim.tenant.contacts]
    assert len(numbers) > len(set(numbers))
    assert all(ct.phone.startswith("+") for ct in sim.tenant.contacts if ct.phone)


async def test_unnormalised_contacts(make_sim, api_for) -> None:
    sim = await make_sim(faults=["unnormalised-contacts"])
    api = await api_for(sim)
    _, body, _ = await api.get("Contacts")
    phones = [c["PhoneNumber"] for c in body["value"]]
    assert any(p.startswith("0") and " " in p for p in phones)
    # Local formats only: every number still belongs to one person (shared lines are their own
    # knob, so each fault is one cause).
    numbers = [ct.e164 for ct in sim.tenant.contacts]
    assert len(numbers) == len(set(numbers))
    assert "08 " in sim.crm_export_csv("hubspot")
    us = await make_sim(faults=["unnormalised-contacts", "country=US"])
    assert any(c.phone.startswith("(555)") for c in us.tenant.contacts)


async def test_retention_deleted(make_sim, api_for) -> None:
    sim = await make_sim(faults=["retention-deleted=30"])
    api = await api_for(sim)
    _, settings, _ = await api.get("Recordings/Pbx.GetRecordingRepositorySettings()")
    assert settings["AutoDeleteRecordingEnabled"] and settings["AutoDeleteRecordingDays"] == 30
    old = min(sim.tenant.recordings)
    status, err, _ = await api.get(f"Recordings/Pbx.DownloadRecording(recId={old})")
    assert status == 400
    assert err["error"]["details"][0]["message"] == "WARNINGS.XAPI.FILE_NOT_FOUND"
    _, listed, _ = await api.get(f"Recordings?$filter=Id eq {old}")
    assert listed["value"] == []
    _, rows, _ = await api.get(recent_call_log_path(sim, 200) + "?$orderby=StartTime asc")
    assert any(r["DstRecId"] == old or r["SrcRecId"] == old for r in rows["value"])


async def test_bad_key_and_over_privileged(make_sim, http) -> None:
    sim = await make_sim(faults=["bad-key"])
    async with http.post(f"{sim.url}/connect/token", data=token_form(sim)) as r:
        assert r.status == 401
    sim.faults.disable("bad-key")
    token = await get_token(http, sim)
    async with http.post(
        f"{sim.url}/xapi/v1/ServicePrincipals",
        json={"Number": "950"},
        headers={"Authorization": f"Bearer {token}"},
    ) as r:
        assert r.status == 403
    sim.faults.enable("over-privileged")
    from tests.sim.test_auth_odata import claims

    assert "GlobalAdmin" in claims(await get_token(http, sim))["role"]


async def test_flaky_then_recovers_and_garbage_body(make_sim, http) -> None:
    sim = await make_sim(faults=["flaky-5xx=2"])
    statuses = []
    for _ in range(3):
        async with http.get(f"{sim.url}/xapi/v1/Defs?$select=Id") as r:
            statuses.append(r.status)
    assert statuses == [503, 503, 401]
    token = await get_token(http, sim)
    sim.faults.enable("garbage-body")
    async with http.get(
        f"{sim.url}/xapi/v1/SystemStatus", headers={"Authorization": f"Bearer {token}"}
    ) as r:
        assert r.status == 200
        with pytest.raises(ValueError):
            import json

            json.loads(await r.text())


async def test_drop_connection_and_hang(make_sim, http) -> None:
    sim = await make_sim(faults=["drop-connection"])
    with pytest.raises(aiohttp.ClientError):
        async with http.get(f"{sim.url}/xapi/v1/SystemStatus") as r:
            await r.read()
    sim.faults.disable("drop-connection")
    sim.faults.enable("hang")
    with pytest.raises(asyncio.TimeoutError):
        async with http.get(
            f"{sim.url}/xapi/v1/SystemStatus", timeout=aiohttp.ClientTimeout(total=0.3)
        ) as r:
            await r.read()
    async with http.post(f"{sim.url}/_sim/faults", json={"disable": ["hang"]}) as r:
        assert r.status == 200
        assert "hang" not in (await r.json())["faults"]


async def test_latency(make_sim, http) -> None:
    sim = await make_sim(latency_ms=50)
    async with http.get(f"{sim.url}/xapi/v1/Defs") as r:
        assert r.status == 401


async def test_control_api(make_sim, http) -> None:
    sim = await make_sim()
    async with http.post(
        f"{sim.url}/_sim/faults", json={"enable": ["late-recording=5", "missing-recording-role"]}
    ) as r:
        assert {"late-recording=5", "missing-recording-role"} <= set((await r.json())["faults"])
    async with http.post(f"{sim.url}/_sim/faults", json={"enable": ["nonsense"]}) as r:
        assert r.status == 400
    async with http.post(
        f"{sim.url}/_sim/calls", json={"kind": "queue", "answered": False, "ring_s": 0.02}
    ) as r:
        body = await r.json()
        assert body["missed"] is True and body["call_id"]
    async with http.get(f"{sim.url}/_sim/crm-export.csv?flavour=zoho") as r:
        assert (await r.text()).startswith("Record Id,")
    async with http.get(f"{sim.url}/_sim/state") as r:
        assert (await r.json())["calls_placed"] == 1
