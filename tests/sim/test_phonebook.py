"""``GET /PhoneBookSettings``: how 3CX resolves callers, chosen with the phonebook-resolving knob."""

from __future__ import annotations

import pytest

from tests.sim.test_contract import validate


@pytest.mark.parametrize(
    ("knob", "kind", "length"),
    [
        (None, "MatchExact", 0),
        ("MatchLength:9", "MatchLength", 9),
        ("matchlength:7", "MatchLength", 7),
        ("MatchLength", "MatchLength", 9),
        ("NotResolve", "NotResolve", 0),
        ("nonsense", "MatchExact", 0),  # an unusable value serves the default
    ],
)
async def test_the_knob_chooses_the_resolution(
    make_sim, api_for, knob: str | None, kind: str, length: int
) -> None:
    sim = await make_sim(faults=[f"phonebook-resolving={knob}"] if knob else [])
    api = await api_for(sim)
    status, body, _ = await api.get("PhoneBookSettings")
    assert status == 200
    validate("GET /PhoneBookSettings", body)
    assert (body["ResolvingType"], body["ResolvingLength"]) == (kind, length)


async def test_the_setting_changes_while_running(make_sim, api_for) -> None:
    sim = await make_sim()
    api = await api_for(sim)
    sim.faults.set("phonebook-resolving", "MatchLength:10")
    _, body, _ = await api.get("PhoneBookSettings?$select=ResolvingType,ResolvingLength")
    assert body["ResolvingType"] == "MatchLength" and body["ResolvingLength"] == 10
    assert set(body) == {"@odata.context", "ResolvingType", "ResolvingLength"}
