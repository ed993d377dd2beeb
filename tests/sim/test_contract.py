"""Every XAPI response the simulator serves validates against 3CX's own schemas."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.sim.conftest import call_log_path, recent_call_log_path

CONTRACT = json.loads(
    (Path(__file__).parent.parent / "contract" / "xapi-v20-contract.json").read_text("utf-8")
)


def validate(key: str, body: Any) -> None:
    schema = CONTRACT["error"] if key == "error" else CONTRACT["endpoints"][key]
    validator = Draft202012Validator(
        {**schema, "$defs": CONTRACT["$defs"]}, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{key}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


COMBOS = [
    {},
    {"scenarios": ["licence-expired", "recording-stopped"]},
    {
        "faults": [
            "unnormalised-contacts",
            "extension-not-recording",
            "retention-deleted=20",
            "departments=Main office:5,Support:3",
        ],
        "scenarios": ["us"],
    },
    {"tls": True, "scenarios": ["gb"], "faults": ["over-privileged"]},
    {"pbx_version": "20.0.8.100"},
]


@pytest.mark.parametrize(
    "combo",
    COMBOS,
    ids=lambda c: (
        ",".join(
            [
                *c.get("scenarios", []),
                *c.get("faults", []),
                "tls" if c.get("tls") else "",
                c.get("pbx_version", ""),
            ]
        ).strip(",")
        or "healthy"
    ),
)
async def test_every_endpoint_matches_the_spec(make_sim, api_for, combo) -> None:
    sim = await make_sim(**combo)
    kw: dict[str, Any] = {}
    if combo.get("tls"):
        ctx = ssl.create_default_context(cafile=sim.ca_file)
        kw["ssl"] = ctx
    api = await api_for(sim, **kw)
    await sim.place_call("inbound", talk_s=0.05, ring_s=0.05)
    gets = {
        "GET /Defs": ["Defs?$select=Id", "Defs"],
        "GET /SystemStatus": ["SystemStatus", "SystemStatus?$select=Version,LicenseActive"],
        "GET /Defs/Pbx.GetLicenseParameters()": ["Defs/Pbx.GetLicenseParameters()"],
        "GET /LicenseStatus": ["LicenseStatus"],
        "GET /E164Settings": ["E164Settings"],
        "GET /OfficeHours": [
            "OfficeHours",
            "OfficeHours?$expand=OfficeHolidays",
            "OfficeHours?$select=TimeZoneId,Hours",
        ],
        "GET /PhoneBookSettings": [
            "PhoneBookSettings",
            "PhoneBookSettings?$select=ResolvingType,ResolvingLength",
        ],
        "GET /Defs/TimeZones": [
            "Defs/TimeZones",
            "Defs/TimeZones?$select=Id,IanaName&$filter=IanaName eq 'UTC'&$count=true",
        ],
        "GET /Users": [
            "Users",
            "Users?$count=true&$top=5&$skip=2",
            "Users?$expand=Groups",
            "Users?$select=Id,Number,RecordCalls&$filter=RecordCalls eq true",
            "Users?$filter=startswith(LastName,'a')&$orderby=Number desc",
        ],
        "GET /Users({Id})": ["Users(1)", "Users(2)?$select=Number"],
        "GET /Queues": ["Queues", "Queues?$expand=Agents&$count=true"],
        "GET /Contacts": ["Contacts", "Contacts?$top=3&$select=Id,PhoneNumber&$count=true"],
        "GET /ActiveCalls": ["ActiveCalls"],
        "GET /InboundRules": ["InboundRules"],
        "GET /Groups": [
            "Groups",
            "Groups?$expand=Members&$count=true",
            "Groups?$select=Id,Name&$expand=Members($select=Number,Type)",
        ],
        "GET /ServicePrincipals": ["ServicePrincipals", "ServicePrincipals?$expand=Groups,Peers"],
        "GET /ServicePrincipals({Id})": [
            "ServicePrincipals(9001)",
            "ServicePrincipals(9001)?$select=Id,Number&$expand=Groups,Peers",
        ],
        "GET /ReportCallLogData/Pbx.GetCallLogData(...)": [
            recent_call_log_path(sim) + "?$top=50&$count=true",
            recent_call_log_path(sim) + "?$top=5&$skip=5&$orderby=StartTime asc",
            call_log_path(),
        ],
        "GET /CallHistoryView": [
            "CallHistoryView?$top=50",
            "CallHistoryView?$top=2&$select=SegmentId,CallAnswered",
        ],
        "GET /Recordings": ["Recordings?$top=50&$count=true", "Recordings?$filter=Id eq 1"],
        "GET /Recordings/Pbx.GetRecordingRepositorySettings()": [
            "Recordings/Pbx.GetRecordingRepositorySettings()"
        ],
    }
    for key, paths in gets.items():
        for path in paths:
            status, body, headers = await api.get(path)
            assert status == 200, (path, body)
            assert headers["X-3CX-Version"] == sim.version
            validate(key, body)
    errors = [
        "Users?$top=500",
        "Users?$filter=Number eq 101 or Number eq 102",
        "Users?$select=NoSuchField",
        "Recordings(1)",
        "ServicePrincipals(1)",
        "Groups?$select=NoSuchField",
        "NoSuchEntity",
        "Recordings/Pbx.DownloadRecording(recId=999999)",
        "ReportCallLogData/Pbx.GetCallLogData(periodFrom=2026-01-01T00:00:00Z)",
        call_log_path("yesterday", "today"),
    ]
    for path in errors:
        status, body, _ = await api.get(path)
        assert status in (400, 404, 500), (path, status)
        validate("error", body)


async def test_service_principal_actions_match_the_spec(make_sim, http) -> None:
    sim = await make_sim()
    async with http.post(
        f"{sim.url}/webclient/api/Login/GetAccessToken",
        json={"Username": sim.admin_username, "Password": sim.admin_password, "SecurityCode": ""},
    ) as r:
        login = await r.json()
    assert login["Status"] == "AuthSuccess"
    headers = {"Authorization": f"Bearer {login['Token']['access_token']}"}
    department = sim.departments()[0].id
    async with http.post(
        f"{sim.url}/xapi/v1/ServicePrincipals",
        headers=headers,
        json={
            "Number": "901",
            "XAPIEnabled": True,
            "Groups": [{"GroupId": department, "Rights": {"RoleName": "system_owners"}}],
            "Peers": [{"Number": "101", "Type": "Extension"}],
        },
    ) as r:
        assert r.status == 201
        created = await r.json()
    validate("POST /ServicePrincipals", created)
    async with http.patch(
        f"{sim.url}/xapi/v1/ServicePrincipals({created['Id']})",
        headers=headers,
        json={"Peers": [{"Number": "101"}, {"Number": "102"}]},
    ) as r:
        assert r.status == 204  # the spec's answer to an update: no body
    async with http.get(
        f"{sim.url}/xapi/v1/ServicePrincipals({created['Id']})?$expand=Groups,Peers",
        headers=headers,
    ) as r:
        stored = await r.json()
    validate("GET /ServicePrincipals({Id})", stored)
    assert [p["Number"] for p in stored["Peers"]] == ["101", "102"]
    async with http.post(
        f"{sim.url}/xapi/v1/ServicePrincipals({created['Id']})/Pbx.GenerateAppToken",
        headers=headers,
    ) as r:
        assert r.status == 200
        key = await r.json()
    validate("POST /ServicePrincipals({Id})/Pbx.GenerateAppToken", key)
    async with http.post(
        f"{sim.url}/connect/token",
        data={
            "client_id": "901",
            "client_secret": key["value"],
            "grant_type": "client_credentials",
        },
    ) as r:
        assert r.status == 200
