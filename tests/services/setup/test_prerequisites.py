"""Step 2: prerequisites before and after the key, each missing one with its guidance.

The version, licence, edition and recording items are the doctor's cause 1: for each fault the
step must give the doctor's verdict in the doctor's words.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from app.domain.causes.licence import (
    AFTER_KEY,
    BY_HAND,
    QUOTA,
    RENEW,
    RENEW_SOON,
    UPGRADE,
    V20_ADDS,
)
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus
from app.services.doctor import Doctor
from app.services.setup.detect import PbxDetection, detect_pbx
from app.services.setup.prerequisites import Prerequisite, check_prerequisites
from app.sim import Simulator
from app.threecx.client import PbxClient
from app.threecx.tls import TlsOptions
from tests.conftest import SimFactory
from tests.threecx.conftest import ClientFactory, params_for

KEYS = ["version", "licence", "edition", "recording", "transcription"]


def by_key(items: tuple[Prerequisite, ...]) -> dict[str, Prerequisite]:
    assert [p.key for p in items] == KEYS
    return {p.key: p for p in items}


async def detect(sim: Simulator) -> PbxDetection:
    return await detect_pbx(sim.url, tls=TlsOptions(), timeout_s=10)


async def with_client(
    connect: ClientFactory, sim: Simulator, **kw: object
) -> dict[str, Prerequisite]:
    client: PbxClient = await connect(sim)
    await client.authenticate()
    return by_key(await check_prerequisites(await detect(sim), client, **kw))  # type: ignore[arg-type]


async def doctor_licence(sim: Simulator, now: datetime | None = None) -> CheckResult:
    clock = (lambda: now) if now is not None else None
    doctor = Doctor(params_for(sim), sim.client_secret, **({"clock": clock} if clock else {}))
    return (await doctor.run()).result(CheckId.LICENCE)


def assert_as_the_doctor_says(item: Prerequisite, doctor: CheckResult) -> None:
    """One aspect at fault: the step shows the doctor's verdict, finding and fix, word for word."""
    assert item.status is doctor.status
    assert item.detail == doctor.finding
    assert item.what_to_do == doctor.fix


async def test_before_the_key_only_the_version_is_known(make_sim: SimFactory) -> None:
    sim = await make_sim()
    items = by_key(await check_prerequisites(await detect(sim), None))
    assert items["version"].ok is True and "20.0.10.1116" in items["version"].detail
    for key in ("licence", "edition", "recording"):
        assert items[key].ok is None and items[key].detail == AFTER_KEY
    assert items["transcription"].required is False
    assert all(p.required for k, p in items.items() if k != "transcription")


async def test_before_the_key_v18_points_at_the_banner(make_sim: SimFactory) -> None:
    sim = await make_sim(pbx_version="18.0.11.200")
    items = by_key(await check_prerequisites(await detect(sim), None))
    version = items["version"]
    assert version.ok is None
    assert version.what_to_do is not None and "top banner" in version.what_to_do
    assert items["transcription"].ok is False and "v20-only" in items["transcription"].detail


async def test_unreachable_pbx_knows_nothing_yet() -> None:
    detection = await detect_pbx("https://127.0.0.1:9", tls=TlsOptions(), timeout_s=2)
    items = by_key(await check_prerequisites(detection, None))
    assert items["version"].ok is None
    assert items["transcription"].ok is None


async def test_healthy_v20_meets_every_prerequisite(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim()
    items = await with_client(connect, sim)
    assert all(p.ok is True for p in items.values()), items
    assert "Enterprise" in items["edition"].detail
    assert items["transcription"].detail.startswith("v20 on the higher tier")


async def test_expired_licence_says_renew_as_the_doctor_does(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(faults=["licence-expired"])
    items = await with_client(connect, sim)
    licence = items["licence"]
    assert licence.ok is False
    assert "not active (expired" in licence.detail
    assert licence.what_to_do == RENEW
    assert_as_the_doctor_says(licence, await doctor_licence(sim))


async def test_stopped_recording_says_free_space(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(faults=["recording-stopped"])
    items = await with_client(connect, sim)
    recording = items["recording"]
    assert recording.ok is False
    assert "quota is reached" in recording.detail
    assert recording.what_to_do == QUOTA
    assert_as_the_doctor_says(recording, await doctor_licence(sim))


async def test_a_build_below_the_floor_must_be_upgraded(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(faults=["old-version"])
    items = await with_client(connect, sim)
    version = items["version"]
    assert version.ok is False
    assert "18.0.10.5" in version.detail and "v18 build 11" in version.detail
    assert version.what_to_do == UPGRADE and "hour of downtime" in UPGRADE
    # The doctor used to leave out the downtime the step mentioned: one text now.
    assert_as_the_doctor_says(version, await doctor_licence(sim))


async def test_v18_at_the_floor_works_and_is_told_what_v20_adds(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(pbx_version="18.0.11.200")
    items = await with_client(connect, sim)
    version = items["version"]
    assert version.ok is True and "18.0.11.200" in version.detail
    assert version.what_to_do == V20_ADDS and "twelve months" in V20_ADDS
    doctor = await doctor_licence(sim)
    assert doctor.status is CheckStatus.PASS and doctor.finding.endswith(V20_ADDS)
    assert items["edition"].ok is True and "paid annual tier" in items["edition"].detail
    transcription = items["transcription"]
    assert transcription.ok is False and not transcription.required
    assert transcription.what_to_do is not None and "upgrade to v20" in transcription.what_to_do


async def test_licence_about_to_expire_is_the_doctors_warning(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim()
    client: PbxClient = await connect(sim)
    await client.authenticate()
    expires = (await client.licence()).expires_at
    assert expires is not None
    now = expires - timedelta(days=10)
    items = by_key(await check_prerequisites(await detect(sim), client, now=now))
    licence = items["licence"]
    assert licence.ok is True and licence.status is CheckStatus.WARN  # met, with a fix shown
    assert "in 10 days" in licence.detail or "in 9 days" in licence.detail
    assert licence.what_to_do == RENEW_SOON
    # The step used to say "Active, but it expires ..." where the doctor said otherwise.
    assert_as_the_doctor_says(licence, await doctor_licence(sim, now))


async def test_unreadable_licence_means_check_by_hand(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim()
    client: PbxClient = await connect(sim)
    await client.authenticate()
    detection = await detect(sim)
    sim.faults.enable("garbage-body")
    items = by_key(await check_prerequisites(detection, client))
    for key in ("licence", "edition", "recording"):
        assert items[key].ok is None
        assert items[key].what_to_do == BY_HAND
        assert "Something other than the 3CX API answered" in items[key].detail
    assert items["version"].ok is True  # known from sign-in
