"""``pbx-companion --self-test``: does this installation work? One line per part, then a verdict.

Run on every frozen build (``make package``, the release workflow) and by an engineer whose
installed app misbehaves. The parts are what a broken bundle loses first: Qt's platform plugin
and widgets, the bundled resources, keyring's backends (found through package metadata),
phone-number metadata, the simulator's TLS and websocket stack, and the doctor. Nothing of the
engineer's is touched: settings and logs go to a throwaway PBX_COMPANION_HOME, the window keeps
keys in memory, and the keyring is only asked which backend it would use.

No usable OS keyring is a warning, not a failure, unless PBX_COMPANION_SELF_TEST_REQUIRE_KEYRING=1:
the app still works with keys held for the session only, and a build machine often runs no
keyring. The release builds and ``make package`` (which starts a private Secret Service) set it.
A build that lacks keyring's backend metadata always fails: there keys could never be saved.
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Final

import phonenumbers
import qasync  # type: ignore[import-untyped]
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QApplication

from app import __version__
from app.domain.diagnosis import CheckStatus
from app.domain.live import LiveState
from app.domain.phones import to_e164
from app.services.connections.secrets import SecretStore, SessionSecretStore, keyring_status
from app.services.connections.store import ConnectionStore
from app.services.doctor import Doctor
from app.services.facts.options import DoctorOptions
from app.services.logs.buffer import LogBuffer
from app.services.paths import HOME_ENV
from app.services.reports.export import APP_LOGO, RESOURCES, TEMPLATE
from app.sim import SimConfig, Simulator
from app.threecx.connect import ConnectionParams, open_client
from app.threecx.tls import TlsOptions
from app.ui.context import UiContext
from app.ui.presenter import Presenter
from app.ui.shell.main_window import MainWindow
from app.ui.tasks import TaskKeeper
from app.ui.theme import app_icon, apply_theme

REQUIRE_KEYRING_ENV: Final = "PBX_COMPANION_SELF_TEST_REQUIRE_KEYRING"
OK, WARN, FAIL = "ok", "warn", "FAIL"

_WINDOW_TIMEOUT_S: Final = 30.0
_KEYRING_TIMEOUT_S: Final = 30.0
_SIM_START_TIMEOUT_S: Final = 30.0
_LIVE_EVENT_TIMEOUT_S: Final = 20.0
_DOCTOR_TIMEOUT_S: Final = 90.0
# keyring finds even its own backends through these entry points (package metadata).
_KEYRING_ENTRY_POINT: Final = {"darwin": "macOS", "win32": "Windows"}
# (as an engineer types it, region, as phonenumbers formats it): one per simulator country.
_NUMBERS: Final = (
    ("(02) 9876 5432", "AU", "+61 2 9876 5432"),
    ("(212) 555-0123", "US", "+1 212-555-0123"),
    ("020 7946 0018", "GB", "+44 20 7946 0018"),
)


class PartFailed(Exception):
    """A part of the installation does not work; the message says what and why."""


@dataclass(frozen=True)
class PartResult:
    part: str
    status: str  # OK, WARN or FAIL
    detail: str


def run_self_test(*, sim_faults: Sequence[str] = (), require_keyring: bool | None = None) -> int:
    """Check every part, printing a line each; 0 when none failed, else 1 and the reasons.

    ``sim_faults`` are the simulator's field faults (``pbx-companion sim --help``): a fault the
    doctor must report makes its round trip fail, as a broken doctor would.
    """
    if require_keyring is None:
        require_keyring = os.environ.get(REQUIRE_KEYRING_ENV, "").strip() not in ("", "0")
    # The "starts Qt offscreen": no window flashes up, and it runs with no display.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    frozen = "frozen build" if getattr(sys, "frozen", False) else "from source"
    print(
        f"PBX Companion {__version__} self-test ({frozen}, {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()})",
        flush=True,
    )
    with _throwaway_home():
        results = _run_on_qt_loop(_all_parts(tuple(sim_faults), require_keyring))
    failed = [result for result in results if result.status == FAIL]
    if failed:
        reasons = "; ".join(f"{result.part}: {result.detail}" for result in failed)
        print(f"self-test FAILED: {reasons}", flush=True)
        return 1
    print(f"self-test passed ({len(results)} parts)", flush=True)
    return 0


@contextmanager
def _throwaway_home() -> Iterator[None]:
    previous = os.environ.get(HOME_ENV)
    home = tempfile.mkdtemp(prefix="pbx-companion-self-test-")
    os.environ[HOME_ENV] = home
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(HOME_ENV, None)
        else:
            os.environ[HOME_ENV] = previous
        shutil.rmtree(home, ignore_errors=True)


def _run_on_qt_loop(parts: Awaitable[list[PartResult]]) -> list[PartResult]:
    """Run on the qasync loop the app itself uses, as ``run_gui`` does."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            results: list[PartResult] = loop.run_until_complete(parts)
            return results
    finally:
        asyncio.set_event_loop(None)


async def _all_parts(sim_faults: tuple[str, ...], require_keyring: bool) -> list[PartResult]:
    results: list[PartResult] = []

    async def run(part: str, check: Callable[[], Awaitable[PartResult | str]]) -> bool:
        try:
            outcome = await check()
        except Exception as error:  # every failure becomes a line with its reason
            detail = str(error) if isinstance(error, PartFailed) else _describe(error)
            outcome = PartResult(part, FAIL, detail)
        result = outcome if isinstance(outcome, PartResult) else PartResult(part, OK, outcome)
        results.append(result)
        print(f"{result.status:<5} {result.part}: {result.detail}", flush=True)
        return result.status != FAIL

    await run("qt", _check_main_window)
    await run("resources", _check_resources)
    await run("keyring", lambda: _check_keyring(require_keyring))
    await run("phone numbers", _check_phone_numbers)

    sim = Simulator(SimConfig(tls=True, faults=list(sim_faults), calls_per_minute=0.0))
    try:
        started = await run("simulator", lambda: _start_and_watch(sim))
        await run("doctor", (lambda: _doctor_round_trip(sim)) if started else _simulator_broken)
    finally:
        await sim.stop()
    return results


async def _simulator_broken() -> str:
    raise PartFailed("not run: the simulator did not work")


def _describe(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def _check_main_window() -> str:
    app = QApplication.instance()
    assert isinstance(app, QApplication)

    async def memory_only() -> SecretStore:
        return SessionSecretStore()

    store = await ConnectionStore.open(open_keyring=memory_only)
    apply_theme(app)
    app.setWindowIcon(app_icon())
    window = MainWindow(UiContext(Presenter(), TaskKeeper()), store, LogBuffer())
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    window.show()
    await asyncio.sleep(0.1)  # a turn of the loop: laid out and painted once
    if not window.isVisible():
        raise PartFailed("the main window did not show")
    picture = window.grab()
    window.close()
    try:
        await asyncio.wait_for(closed.wait(), _WINDOW_TIMEOUT_S)
    except TimeoutError:
        raise PartFailed(
            f"the main window did not close within {_WINDOW_TIMEOUT_S:.0f} s"
        ) from None
    finally:
        window.deleteLater()
    if picture.isNull():
        raise PartFailed("the main window could not be painted")
    return (
        f"main window opened ({picture.width()}x{picture.height()}) and closed "
        f"on the {app.platformName()} platform, Qt {qVersion()}"
    )


async def _check_resources() -> str:
    missing = [path.name for path in (TEMPLATE, APP_LOGO) if not path.is_file()]
    if missing:
        raise PartFailed(f"{', '.join(missing)} missing from {RESOURCES}")
    icon = app_icon()
    sizes = sorted(size.width() for size in icon.availableSizes())
    if not sizes:
        raise PartFailed(f"no app icon in {RESOURCES / 'icons'}")
    return f"report template, logo and the app icon ({len(sizes)} sizes) in {RESOURCES}"


async def _check_keyring(required: bool) -> PartResult:
    wanted = _KEYRING_ENTRY_POINT.get(sys.platform, "SecretService")
    found = {entry.name for entry in entry_points(group="keyring.backends")}
    if wanted not in found:
        raise PartFailed(
            f"keyring's backend list has no {wanted!r} entry (found: {sorted(found) or 'none'}): "
            "this build lacks keyring's package metadata, so keys could never be saved"
        )
    try:
        status = await asyncio.wait_for(asyncio.to_thread(keyring_status), _KEYRING_TIMEOUT_S)
    except TimeoutError:
        raise PartFailed(f"the keyring did not answer within {_KEYRING_TIMEOUT_S:.0f} s") from None
    if status.available:
        return PartResult("keyring", OK, status.backend_name)
    if required:
        raise PartFailed(status.reason)
    return PartResult(
        "keyring", WARN, f"{status.reason} (set {REQUIRE_KEYRING_ENV}=1 to make this a failure)"
    )


async def _check_phone_numbers() -> str:
    for typed, region, expected in _NUMBERS:
        e164 = to_e164(typed, region)
        shown = (
            phonenumbers.format_number(
                phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
            if e164
            else None
        )
        if shown != expected:
            raise PartFailed(f"{typed!r} in {region} read as {shown!r}, expected {expected!r}")
    typed, region, expected = _NUMBERS[0]
    others = ", ".join(region for _, region, _ in _NUMBERS[1:])
    return f"{typed} in {region} is {expected} (and {others} numbers)"


async def _start_and_watch(sim: Simulator) -> str:
    """The simulator over TLS, and one call seen live over its Call Control websocket."""

    await asyncio.wait_for(sim.start(), _SIM_START_TIMEOUT_S)
    client = await open_client(_params(sim), sim.client_secret)
    try:
        identity = await client.authenticate()

        ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def watch() -> None:
            # Stopped by cancelling, as the live feed stops: the watcher's generators then
            # unwind inside the loop.
            async for event in client.watch_calls():
                if event.state is LiveState.ENDED and not ended.done():
                    ended.set_result(event.call_id)

        watcher = asyncio.create_task(watch())
        try:
            await asyncio.wait_for(sim.wait_for_call_control_client(), _LIVE_EVENT_TIMEOUT_S)
            call = await sim.place_call("inbound", ring_s=0.2, talk_s=0.2)
            either: set[asyncio.Future[Any]] = {ended, watcher}
            await asyncio.wait(
                either, timeout=_LIVE_EVENT_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
            )
        except TimeoutError:
            raise PartFailed(
                f"the simulator's Call Control websocket did not open within "
                f"{_LIVE_EVENT_TIMEOUT_S:.0f} s"
            ) from None
        finally:
            watcher.cancel()
            broke = (await asyncio.gather(watcher, return_exceptions=True))[0]
        if not ended.done():
            if isinstance(broke, Exception):
                raise PartFailed(f"the live call feed broke: {_describe(broke)}")
            raise PartFailed(f"no live call event within {_LIVE_EVENT_TIMEOUT_S:.0f} s")
        seen = ended.result()
    finally:
        await client.aclose()
    if seen != str(call.call_id):
        raise PartFailed(f"the live feed reported call {seen}, but call {call.call_id} was placed")
    return f"3CX {identity.version} simulated at {sim.url} (TLS); a call arrived live over its websocket"


async def _doctor_round_trip(sim: Simulator) -> str:
    doctor = Doctor(_params(sim), sim.client_secret, DoctorOptions())
    diagnosis = await asyncio.wait_for(doctor.run(), _DOCTOR_TIMEOUT_S)
    failed = [result for result in diagnosis.checks if result.status is CheckStatus.FAIL]
    if failed:
        raise PartFailed(
            "; ".join(
                f"check {result.id.order} ({result.id}) failed against the simulator: "
                f"{result.finding}"
                for result in failed
            )
        )
    counts = Counter(str(result.status) for result in diagnosis.checks)
    tally = ", ".join(f"{counts[status]} {status}" for status in sorted(counts))
    return f"{len(diagnosis.checks)} checks ran against the simulator, none failed ({tally})"


def _params(sim: Simulator) -> ConnectionParams:
    return ConnectionParams(
        url=sim.url, client_id=sim.client_id, tls=TlsOptions(ca_file=sim.ca_file)
    )
