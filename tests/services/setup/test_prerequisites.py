"""Step 2: prerequisites before and after the key, each missing one with its guidance."""

from __future__ import annotations

from datetime import timedelta

from app.domain.diagnosis import CheckId, CheckStatus
from app.services.doctor import Doctor
from app.services.doctor.licence import QUOTA, RENEW, UPGRADE, V20_ADDS
from app.services.setup.detect import PbxDetection, detect_pbx
from app.services.setup.prerequisites import AFTER_KEY, BY_HAND, Prerequisite, check_prerequisites
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
    return await detect_pbx(sim.url, tls=TlsOptions(), timeout_s=3)


async def with_client(
    connect: ClientFactory, sim: Simulator, **kw: object
) -> dict[str, Prerequisite]:
    client: PbxClient = await connect(sim)
    await client.authenticate()
    return by_key(await check_prerequisites(await detect(sim), client, **kw))  # type: ignore[arg-type]


async def doctor_licence(sim: Simulator):
    diagnosis = await Doctor(params_for(sim), sim.client_secret).run()
    return next(r for r in diagnosis.checks if r.id is CheckId.LICENCE)


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
    doctor = await doctor_licence(sim)
    assert doctor.status is CheckStatus.FAIL and RENEW in doctor.fix


async def test_stopped_recording_says_free_space(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(faults=["recording-stopped"])
    items = await with_client(connect, sim)
    recording = items["recording"]
    assert recording.ok is False
    assert "quota is reached" in recording.detail
    assert recording.what_to_do == QUOTA
    doctor = await doctor_licence(sim)
    assert doctor.status is CheckStatus.FAIL and QUOTA in doctor.fix


async def test_a_build_below_the_floor_must_be_upgraded(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(faults=["old-version"])
    items = await with_client(connect, sim)
    version = items["version"]
    assert version.ok is False
    assert "18.0.10.5" in version.detail and "v18 build 11" in version.detail
    assert version.what_to_do is not None
    assert version.what_to_do.startswith(UPGRADE) and "hour of downtime" in version.what_to_do
    doctor = await doctor_licence(sim)
    assert doctor.status is CheckStatus.FAIL and UPGRADE in doctor.fix


async def test_v18_at_the_floor_works_and_is_told_what_v20_adds(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(pbx_version="18.0.11.200")
    items = await with_client(connect, sim)
    version = items["version"]
    assert version.ok is True and "18.0.11.200" in version.detail
    assert version.what_to_do is not None and V20_ADDS in version.what_to_do
    assert "twelve months" in version.what_to_do
    assert items["edition"].ok is True and "paid annual tier" in items["edition"].detail
    transcription = items["transcription"]
    assert transcription.ok is False and not transcription.required
    assert transcription.what_to_do is not None and "upgrade to v20" in transcription.what_to_do


async def test_licence_about_to_expire_is_a_warning(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim()
    client: PbxClient = await connect(sim)
    await client.authenticate()
    expires = (await client.licence()).expires_at
    assert expires is not None
    items = by_key(
        await check_prerequisites(await detect(sim), client, now=expires - timedelta(days=10))
    )
    licence = items["licence"]
    assert licence.ok is True
    assert "in 10 days" in licence.detail or "in 9 days" in licence.detail
    assert (
        licence.what_to_do is not None
        and "Renew the licence before it expires" in licence.what_to_do
    )


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
        assert "not a 3CX response" in items[key].detail
    assert items["version"].ok is True  # known from sign-in
