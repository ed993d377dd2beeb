"""An independent oracle: the public ``3cx-xapi-python-sdk`` (3.0.0, written by others against
live PBXs) reads every XAPI endpoint the product uses from the simulator, over real TLS.

The simulator is checked against a client we did not write: what that client sends, the
simulator must answer, and what it parses must be the simulated tenant. Values are compared
with ``sim.tenant`` (the business the simulator serves), not with the simulator's wire rows.
Rows the SDK returns as plain dicts are also validated through the SDK's own models, which are
generated from 3CX's swagger.

The SDK is synchronous (httpx.Client), so every call runs in a worker thread
(``asyncio.to_thread``) and the simulator, on this test's event loop, can answer it.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

import certifi
import httpx
import pytest

# The SDK ships no py.typed marker: everything it returns is Any to mypy.
from threecx import (  # type: ignore[import-untyped]
    AuthenticationError,
    ODataQuery,
    ThreeCXClient,
    ThreeCXError,
)
from threecx.models._generated import (  # type: ignore[import-untyped]
    CallLogData,
    E164Settings,
    License,
    OfficeHours,
    PhoneBookSettings,
    RecordingRepositorySettings,
)

from app.domain.business_hours import END_OF_DAY, Period
from app.sim import Simulator
from tests.conftest import SimFactory
from tests.support.waiting import until

T = TypeVar("T")

# .NET's DayOfWeek names (3CX's Period.DayOfWeek), in datetime.weekday() order.
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass
class Sdk:
    """One SDK client against one simulator, and every XAPI request it sent (the OAuth token
    request is a bare ``httpx.post`` inside the SDK and is not among them)."""

    client: Any  # threecx.ThreeCXClient
    sent: list[httpx.URL] = field(default_factory=list)

    async def __call__(self, method: Callable[..., T], *args: Any) -> T:
        """Runs one blocking SDK call off the event loop."""
        return await asyncio.to_thread(method, *args)

    def paths(self) -> list[str]:
        return [url.path for url in self.sent]


SdkFactory = Callable[..., Sdk]


@pytest.fixture
def sdk_for(make_sim: SimFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[SdkFactory]:
    """Builds SDK clients (closed after the test, before the simulators stop).

    The SDK cannot take a CA file: ``verify_ssl`` is a bool, and its token request is a bare
    ``httpx.post()``. httpx reads ``SSL_CERT_FILE`` for both, so the simulator's private CA goes
    there, for this test only. ``trust`` replaces it (to see that verification is on)."""
    del make_sim  # requested only so its teardown (stopping the simulators) runs after ours
    opened: list[Any] = []

    def factory(sim: Simulator, *, secret: str | None = None, trust: str | None = None) -> Sdk:
        assert sim.ca_file is not None, "the oracle talks to the simulator over TLS"
        monkeypatch.setenv("SSL_CERT_FILE", trust or sim.ca_file)
        sent: list[httpx.URL] = []

        def record(request: httpx.Request) -> None:
            sent.append(request.url)

        client = ThreeCXClient(
            sim.url,
            sim.client_id,
            sim.client_secret if secret is None else secret,
            event_hooks={"request": [record]},
        )
        opened.append(client)
        return Sdk(client, sent)

    yield factory
    for client in opened:
        client.close()


def _utc_now(sim: Simulator) -> datetime:
    # The SDK sends whole seconds; whole-second bounds make "within the period" exact.
    return sim.tenant.clock().replace(microsecond=0)


# ---- connection: TLS and the token ---------------------------------------------------------
async def test_the_sdk_verifies_tls_and_fails_without_the_private_ca(
    make_sim: SimFactory, sdk_for: SdkFactory
) -> None:
    sim = await make_sim(tls=True)
    sdk = sdk_for(sim, trust=certifi.where())
    with pytest.raises(AuthenticationError, match="CERTIFICATE_VERIFY_FAILED"):
        await sdk(sdk.client.system.get_status)
    assert sdk.sent == [], "no XAPI request goes out without a token"


async def test_a_wrong_secret_is_refused_by_the_token_endpoint(
    make_sim: SimFactory, sdk_for: SdkFactory
) -> None:
    sim = await make_sim(tls=True)
    sdk = sdk_for(sim, secret=sim.client_secret + "x")
    with pytest.raises(AuthenticationError) as caught:
        await sdk(sdk.client.system.get_status)
    assert caught.value.status_code == 401


# ---- system status, licence, numbering plan, probe -----------------------------------------
@pytest.mark.parametrize("expired", [False, True], ids=["licensed", "licence-expired"])
async def test_system_status(make_sim: SimFactory, sdk_for: SdkFactory, expired: bool) -> None:
    sim = await make_sim(tls=True, faults=["licence-expired"] if expired else [])
    sdk = sdk_for(sim)
    status = await sdk(sdk.client.system.get_status)
    tenant = sim.tenant
    assert status.fqdn == tenant.fqdn
    assert status.version == sim.version
    assert status.extensions_total == len(tenant.extensions)
    assert status.extensions_registered == sum(e.registered for e in tenant.extensions)
    assert status.license_active is not expired
    assert (status.expiration_date < _utc_now(sim)) is expired
    assert sdk.paths() == ["/xapi/v1/SystemStatus"]


@pytest.mark.parametrize("expired", [False, True], ids=["licensed", "licence-expired"])
async def test_licence_status_and_parameters(
    make_sim: SimFactory, sdk_for: SdkFactory, expired: bool
) -> None:
    sim = await make_sim(tls=True, faults=["licence-expired"] if expired else [])
    sdk = sdk_for(sim)
    status = await sdk(sdk.client.system.get_license)
    params = License.model_validate(await sdk(sdk.client.defs.get_license_parameters))
    tenant = sim.tenant
    assert status.license_active is not expired
    assert status.company_name == tenant.company
    assert status.country_code == params.country_code == tenant.country.code
    assert params.product_code == status.product_code
    assert params.is_maintaince_expired is expired  # sic: 3CX's spelling
    assert sdk.paths() == ["/xapi/v1/LicenseStatus", "/xapi/v1/Defs/Pbx.GetLicenseParameters()"]


async def test_numbering_plan(make_sim: SimFactory, sdk_for: SdkFactory) -> None:
    sim = await make_sim(tls=True)
    sdk = sdk_for(sim)
    plan = E164Settings.model_validate(await sdk(sdk.client.settings.get_e164_settings))
    country = sim.tenant.country
    assert plan.country_code == country.dial
    assert plan.international_code == country.international
    assert plan.national_code == country.national
    assert sdk.paths() == ["/xapi/v1/E164Settings"]


async def test_the_product_probe_selects_the_defs_id(
    make_sim: SimFactory, sdk_for: SdkFactory
) -> None:
    sim = await make_sim(tls=True)
    sdk = sdk_for(sim)
    defs = await sdk(sdk.client.defs.get_defs, ODataQuery().select("Id"))
    assert isinstance(defs["Id"], int)
    assert [(u.path, dict(u.params)) for u in sdk.sent] == [("/xapi/v1/Defs", {"$select": "Id"})]


# ---- users ---------------------------------------------------------------------------------
async def test_users_are_the_tenant_extensions(make_sim: SimFactory, sdk_for: SdkFactory) -> None:
    sim = await make_sim(tls=True)
    sdk = sdk_for(sim)
    users = await sdk(sdk.client.users.list)
    assert len(users) == len(sim.tenant.extensions) >= 10
    assert {u.number: (u.id, u.first_name, u.last_name, u.forbid_recording) for u in users} == {
        e.number: (e.id, e.first_name, e.last_name, e.forbid_recording)
        for e in sim.tenant.extensions
    }
    assert sdk.paths() == ["/xapi/v1/Users"]


async def test_users_as_the_product_asks_select_and_order(
    make_sim: SimFactory, sdk_for: SdkFactory
) -> None:
    sim = await make_sim(tls=True)
    sdk = sdk_for(sim)
    query = ODataQuery().select("Id", "Number", "RecordCalls").order_by("Number")
    users = await sdk(sdk.client.users.list, query)
    numbers = [e.number for e in sim.tenant.extensions]
    assert [u.number for u in users] == sorted(numbers)
    assert all(isinstance(u.record_calls, bool) for u in users)
    assert all(u.email_address is None and u.first_name is None for u in users), "not selected"


async def test_a_user_found_by_filter(make_sim: SimFactory, sdk_for: SdkFactory) -> None:
    sim = await make_sim(tls=True)
    sdk = sdk_for(sim)
    wanted = sim.tenant.extensions[3]
    users = await sdk(sdk.client.users.list, ODataQuery().filter(f"Number eq '{wanted.number}'"))
    assert [(u.id, u.number) for u in users] == [(wanted.id, wanted.number)]


async def test_server_driven_pages_are_followed(make_sim: SimFactory, sdk_for: SdkFactory) -> None:
    sim = await make_sim(tls=True, faults=["server-paging=5"])
    sdk = sdk_for(sim)
    numbers = [e.number for e in sim.tenant.extensions]
    first_page = await sdk(sdk.client.users.list)
    assert [u.number for u in first_page] == numbers[:5], "the simulator pages by 5"
    sdk.sent.clear()
    users = await sdk(lambda: list(sdk.client.users.iterate()))
    assert [u.number for u in users] == numbers
    assert len(sdk.sent) == math.ceil(len(numbers) / 5)
    assert sdk.sent[1].params["$skip"] == "5"


# ---- queues --------------------------------------------------------------------------------
async def test_queues_are_the_tenant_queues(make_sim: SimFactory, sdk_for: SdkFactory) -> None:
    sim = await make_sim(tls=True)
    sdk = sdk_for(sim)
    queues = await sdk(sdk.client.queues.list)
    assert queues
    # Recording and PollingStrategy parse into the SDK's enums from 3CX's swagger.
    assert {
        q.number: (q.id, q.name, q.recording.value, q.polling_strategy.value) for q in queues
    } == {q.number: (q.id, q.name, q.recording, q.strategy) for q in sim.tenant.queues}
    assert all(q.agents is None for q in queues), "Agents is a navigation property"
    assert sdk.paths() == ["/xapi/v1/Queues"]


async def test_queue_agents_when_expanded(make_sim: SimFactory, sdk_for: SdkFactory) -> None:
    sim = await make_sim(tls=True)
    sdk = sdk_for(sim)
    queues = await sdk(sdk.client.queues.list, ODataQuery().expand("Agents"))
    assert {q.number: [a.number for a in q.agents] for q in queues} == {
        q.number: q.agents for q in sim.tenant.queues
    }
    assert any(q.agents for q in queues)


# ---- recordings ----------------------------------------------------------------------------
@pytest.mark.parametrize("retention_days", [None, 30], ids=["kept", "auto-delete-30-days"])
async def test_recordings_list(
    make_sim: SimFactory, sdk_for: SdkFactory, retention_days: int | None
) -> None:
    faults = [f"retention-deleted={retention_days}"] if retention_days else []
    sim = await make_sim(tls=True, faults=faults)
    sdk = sdk_for(sim)
    recordings = await sdk(sdk.client.recordings.list)
    assert recordings
    assert {r.id for r in recordings} == sim.visible_recording_ids()
    for r in recordings:
        rec = sim.tenant.recordings[r.id]
        assert r.start_time == rec.start.replace(microsecond=0)
        assert (r.from_dn, r.to_dn) == (rec.src.dn, rec.dst.dn)
        assert r.call_type.value == rec.call_type
    if retention_days is not None:
        assert len(recordings) < len(sim.tenant.recordings), "retention removed old ones"
        oldest_kept = _utc_now(sim) - timedelta(days=retention_days + 1)
        assert all(r.start_time >= oldest_kept for r in recordings)
    assert sdk.paths() == ["/xapi/v1/Recordings"]


async def test_a_recording_found_by_id_and_downloaded(
    make_sim: SimFactory, sdk_for: SdkFactory
) -> None:
    sim = await make_sim(tls=True)
    sdk = sdk_for(sim)
    rec_id = max(sim.visible_recording_ids())
    # There is no /Recordings({Id}): the product filters the collection, as here.
    found = await sdk(sdk.client.recordings.list, ODataQuery().filter(f"Id eq {rec_id}"))
    assert [r.id for r in found] == [rec_id]
    audio = await sdk(sdk.client.recordings.download, rec_id)
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
    assert len(audio) > 1000
    assert sdk.sent[-1].path == f"/xapi/v1/Recordings/Pbx.DownloadRecording(recId={rec_id})"


async def test_downloading_a_missing_recording_is_an_error(
    make_sim: SimFactory, sdk_for: SdkFactory
) -> None:
    sim = await make_sim(tls=True)
    sdk = sdk_for(sim)
    with pytest.raises(ThreeCXError) as caught:
        await sdk(sdk.client.recordings.download, max(sim.tenant.recordings) + 1000)
    # Builds differ: 400 FILE_NOT_FOUND on some, a bare 404 on others.
    assert caught.value.status_code in (400, 404)


@pytest.mark.parametrize("retention_days", [None, 30], ids=["kept", "auto-delete-30-days"])
async def test_recording_retention(
    make_sim: SimFactory, sdk_for: SdkFactory, retention_days: int | None
) -> None:
    faults = [f"retention-deleted={retention_days}"] if retention_days else []
    sim = await make_sim(tls=True, faults=faults)
    sdk = sdk_for(sim)
    body = await sdk(sdk.client.recordings.get_repository_settings)
    settings = RecordingRepositorySettings.model_validate(body)
    assert settings.auto_delete_recording_enabled is (retention_days is not None)
    if retention_days is not None:
        assert settings.auto_delete_recording_days == retention_days
    assert sdk.paths() == ["/xapi/v1/Recordings/Pbx.GetRecordingRepositorySettings()"]


# ---- active calls --------------------------------------------------------------------------
async def test_active_calls_show_a_call_while_it_lasts(
    make_sim: SimFactory, sdk_for: SdkFactory
) -> None:
    sim = await make_sim(tls=True)
    sdk = sdk_for(sim)
    assert await sdk(sdk.client.active_calls.list) == [], "no background traffic"
    call = asyncio.create_task(sim.place_call("inbound", ring_s=0.3, talk_s=3.0))
    try:
        await until(lambda: sim.engine.live, "the placed call to ring")
        live = {c.record.call_id: c.record for c in sim.engine.active_calls()}
        calls = await sdk(sdk.client.active_calls.list)
        assert {c.id for c in calls} == set(live)
        for c in calls:
            assert live[c.id].src.caller_id in c.caller
            assert c.status in ("Routing", "Talking")
            assert c.established_at is not None and c.established_at.tzinfo is not None
    finally:
        await call
    assert await sdk(sdk.client.active_calls.list) == [], "hung up"
    assert set(sdk.paths()) == {"/xapi/v1/ActiveCalls"}


# ---- phonebook -----------------------------------------------------------------------------
async def test_contacts_are_the_tenant_phonebook(make_sim: SimFactory, sdk_for: SdkFactory) -> None:
    sim = await make_sim(tls=True)
    sdk = sdk_for(sim)
    contacts = await sdk(sdk.client.contacts.list)
    assert contacts
    assert {
        c.id: (c.first_name, c.last_name, c.phone_number, c.mobile2, c.email) for c in contacts
    } == {
        c.id: (c.first_name, c.last_name, c.phone, c.mobile, c.email) for c in sim.tenant.contacts
    }
    assert sdk.paths() == ["/xapi/v1/Contacts"]


@pytest.mark.parametrize(
    ("knob", "kind", "length"),
    [
        (None, "MatchExact", 0),
        ("MatchLength:7", "MatchLength", 7),
        ("NotResolve", "NotResolve", 0),
    ],
)
async def test_phonebook_settings(
    make_sim: SimFactory, sdk_for: SdkFactory, knob: str | None, kind: str, length: int
) -> None:
    sim = await make_sim(tls=True, faults=[f"phonebook-resolving={knob}"] if knob else [])
    sdk = sdk_for(sim)
    query = ODataQuery().select("ResolvingType", "ResolvingLength")  # as the product asks
    body = await sdk(sdk.client.settings.get_phone_book_settings, query)
    settings = PhoneBookSettings.model_validate(body)
    assert settings.resolving_type.value == kind
    assert settings.resolving_length == length
    assert sdk.paths() == ["/xapi/v1/PhoneBookSettings"]


# ---- office hours --------------------------------------------------------------------------
def _spans(periods: tuple[Period, ...]) -> set[tuple[str, time, time]]:
    # 3CX writes a span that runs to midnight as ending at 00:00.
    return {
        (WEEKDAYS[p.day], p.start, time(0) if p.stop == END_OF_DAY else p.stop) for p in periods
    }


def _read_spans(schedule: Any) -> set[tuple[str, time, time]]:
    return {(p.day_of_week.value, p.start, p.stop) for p in schedule.periods}


async def test_office_hours_with_holidays_and_zone(
    make_sim: SimFactory, sdk_for: SdkFactory
) -> None:
    sim = await make_sim(tls=True)
    sdk = sdk_for(sim)
    query = ODataQuery().expand("OfficeHolidays")  # as the product asks
    hours = OfficeHours.model_validate(await sdk(sdk.client.holidays.get_office_hours, query))
    expected = sim.tenant.office_hours
    assert _read_spans(hours.hours) == _spans(expected.openings())
    assert _read_spans(hours.break_time) == _spans(expected.breaks)
    assert {(h.name, h.day, h.month, h.is_recurrent) for h in hours.office_holidays} == {
        (h.name, h.first.day, h.first.month, h.recurrent) for h in expected.holidays
    }
    # TimeZoneId is a key of the PBX's own zone list, resolved through /Defs/TimeZones.
    zones = await sdk(sdk.client.defs.list_timezones)
    assert [z["IanaName"] for z in zones if z["Id"] == hours.time_zone_id] == [expected.timezone]
    assert sdk.paths() == ["/xapi/v1/OfficeHours", "/xapi/v1/Defs/TimeZones"]


async def test_office_holidays_come_only_when_expanded(
    make_sim: SimFactory, sdk_for: SdkFactory
) -> None:
    sim = await make_sim(tls=True)
    sdk = sdk_for(sim)
    body = await sdk(sdk.client.holidays.get_office_hours)
    assert body["Hours"]["Periods"]
    assert "OfficeHolidays" not in body


# ---- call log ------------------------------------------------------------------------------
# The simulator speaks the shapes live PBXs send (app/sim/wire_quirks.py: per-response CallId
# and SegmentId, $orderby ignored, 7-digit times in the PBX's own offset, ...) unless asked for
# the clean wire of the documents; the SDK must read both.
WIRES: dict[str, frozenset[str] | None] = {"clean-wire": frozenset(), "live-pbx-shapes": None}

Leg = tuple[datetime, str, str]


def _leg(start: datetime, source_dn: str | None, destination_dn: str | None) -> Leg:
    """A call-log row by what both shapes keep: its start (whole seconds, UTC) and its DNs."""
    return (start.astimezone(UTC).replace(microsecond=0), str(source_dn), str(destination_dn))


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize(
    ("ends_days_ago", "days"), [(0, 7), (40, 3)], ids=["last-week", "three-days-a-month-ago"]
)
async def test_call_log_rows_are_the_period_asked(
    make_sim: SimFactory, sdk_for: SdkFactory, ends_days_ago: int, days: int, wire: str
) -> None:
    sim = await make_sim(tls=True, wire_quirks=WIRES[wire])
    sdk = sdk_for(sim)
    end = _utc_now(sim) - timedelta(days=ends_days_ago)
    start = end - timedelta(days=days)
    rows = await sdk(sdk.client.reports.get_call_log, start, end)
    expected = [s for s in sim.tenant.segments if start <= s.start <= end]
    assert rows, "the tenant has calls in that period"
    assert len(expected) < len(sim.tenant.segments), "the period is a real filter"
    parsed = [CallLogData.model_validate(row) for row in rows]  # the SDK's swagger model
    assert all(start <= r.start_time <= end for r in parsed)
    assert Counter(_leg(r.start_time, r.source_dn, r.destination_dn) for r in parsed) == Counter(
        _leg(s.start, s.src.dn, s.dst.dn) for s in expected
    )
    talk: dict[Leg, list[float]] = {}
    for s in expected:
        talk.setdefault(_leg(s.start, s.src.dn, s.dst.dn), []).append(s.talk_s)
    for r in parsed:
        said = r.talking_duration.total_seconds()
        assert any(
            abs(said - t) <= 0.01 for t in talk[_leg(r.start_time, r.source_dn, r.destination_dn)]
        )
    # The SDK's own literals, as they go on the wire (not percent-encoded): null time filters
    # and +00:00 offsets (not Z).
    [url] = sdk.sent
    sent = url.raw_path.decode("ascii")
    assert sent.startswith("/xapi/v1/ReportCallLogData/Pbx.GetCallLogData(")
    assert f"periodFrom={start:%Y-%m-%dT%H:%M:%S}+00:00," in sent
    assert f"periodTo={end:%Y-%m-%dT%H:%M:%S}+00:00," in sent
    assert "callTimeFilterFrom=null,callTimeFilterTo=null" in sent


async def test_call_log_newest_first_as_the_product_asks(
    make_sim: SimFactory, sdk_for: SdkFactory
) -> None:
    # The clean wire: live PBXs ignore $orderby on call history (always the oldest first).
    sim = await make_sim(tls=True, wire_quirks=WIRES["clean-wire"])
    sdk = sdk_for(sim)
    end = _utc_now(sim)
    start = end - timedelta(days=30)
    query = ODataQuery().order_by("StartTime desc").top(20)
    rows = await sdk(lambda: sdk.client.reports.get_call_log(start, end, query=query))
    times = [CallLogData.model_validate(row).start_time for row in rows]
    newest = sorted(
        (s.start.replace(microsecond=0) for s in sim.tenant.segments if start <= s.start <= end),
        reverse=True,
    )
    assert len(newest) > 20
    assert times == newest[:20]
    assert dict(sdk.sent[0].params) == {"$orderby": "StartTime desc", "$top": "20"}
