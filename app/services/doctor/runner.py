"""Run the seven checks against one PBX and put the answers in the field docs' order."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from app.domain.business_hours import describe_hours
from app.domain.clock import Clock, utc_now
from app.domain.deadlines import out_of_time
from app.domain.diagnosis import (
    CHECK_ORDER,
    CheckId,
    CheckResult,
    CheckStatus,
    Diagnosis,
    PbxFacts,
)
from app.domain.pbx import PbxIdentity, hosting_of_url
from app.domain.phones import default_region
from app.services.doctor.api_roles import check_api_roles
from app.services.doctor.check_context import CheckContext
from app.services.doctor.contact_match import check_contact_match
from app.services.doctor.extension_recording import check_extension_recording
from app.services.doctor.late_recording import check_late_recording
from app.services.doctor.licence import check_licence
from app.services.doctor.reachability import Reach, check_reachability
from app.services.doctor.retention import check_retention
from app.services.facts.gatherer import Facts
from app.services.facts.options import DoctorOptions
from app.services.facts.outcome import Outcome, attempt
from app.services.known_certificates import KnownCertificates
from app.services.recordings.watcher import RecordingJourney
from app.threecx.client import PbxClient
from app.threecx.connect import ConnectionParams

log = logging.getLogger(__name__)

T = TypeVar("T")
Check = Callable[[CheckContext], Awaitable[CheckResult]]

CHECKS: dict[CheckId, Check] = {
    CheckId.LICENCE: check_licence,
    CheckId.API_ROLES: check_api_roles,
    CheckId.EXTENSION_RECORDING: check_extension_recording,
    CheckId.LATE_RECORDING: check_late_recording,
    CheckId.CONTACT_MATCH: check_contact_match,
    CheckId.RETENTION: check_retention,
}


class Doctor:
    """One diagnosis of one PBX. ``on_result`` hears each check as it completes, and the
    "not verified" results a passed deadline gives."""

    def __init__(
        self,
        params: ConnectionParams,
        secret: str,
        options: DoctorOptions | None = None,
        *,
        known_certificates: KnownCertificates | None = None,
        on_result: Callable[[CheckResult], None] | None = None,
        on_journey: Callable[[RecordingJourney], None] | None = None,
        clock: Clock = utc_now,
        keep_client: bool = False,
    ) -> None:
        self._clock = clock
        self._params = params
        self._secret = secret
        self._options = options or DoctorOptions()
        self._known = known_certificates
        self._on_result = on_result
        self._on_journey = on_journey
        # This run's results so far, and the PBX's identity once signed in: what a deadline
        # that passes mid-run still reports.
        self._finished: dict[CheckId, CheckResult] = {}
        self._identity: PbxIdentity | None = None
        # With ``keep_client``, a run that finishes leaves its signed-in client (its connection
        # pool and token) open for the caller's next request, until ``aclose``.
        self._keep_client = keep_client
        self._kept: PbxClient | None = None

    @property
    def kept_client(self) -> PbxClient | None:
        """The last run's signed-in client, when kept (``keep_client``) and the run finished."""
        return self._kept

    async def aclose(self) -> None:
        """Close the kept client, if any."""
        kept, self._kept = self._kept, None
        if kept is not None:
            await kept.aclose()

    async def run(self) -> Diagnosis:
        """The seven results, always before the options' deadline: a check the PBX has not
        answered by then is "not verified" (WARN), naming what was still pending."""
        await self.aclose()
        started = self._clock()
        clock = time.perf_counter()
        self._finished = {}
        self._identity = None
        deadline = self._options.run_deadline_s
        scope = asyncio.timeout(deadline)
        try:
            async with scope:
                return await self._diagnose(started, clock)
        except TimeoutError:
            if not scope.expired():
                raise  # a timeout of the checks' own, not the run's deadline
        return self._out_of_time(started, clock, deadline)

    async def _diagnose(self, started: datetime, clock: float) -> Diagnosis:
        reach = await check_reachability(
            self._params, self._secret, self._known, started, overlap=self._options.concurrent
        )
        reach_result = _timed(reach.result, clock)
        self._identity = reach.identity
        self._emit(reach_result)
        if reach.client is None or reach.identity is None:
            blocked = [
                CheckResult(
                    check,
                    CheckStatus.SKIP,
                    "Not checked: blocked by check 7, the PBX is not reachable with this key.",
                    "Fix reachability first (check 7), then run the doctor again.",
                )
                for check in CHECK_ORDER
                if check is not CheckId.REACHABILITY
            ]
            for result in blocked:
                self._emit(result)
            pbx = PbxFacts(url=self._params.url, hosting=hosting_of_url(self._params.url))
            return Diagnosis.in_order(pbx, [*blocked, reach_result], started, _ms_since(clock))

        facts = Facts(reach.client, self._options, started)
        ctx = CheckContext(
            client=reach.client,
            facts=facts,
            options=self._options,
            identity=reach.identity,
            now=started,
            on_journey=self._on_journey,
        )
        finished = False
        try:
            results = await self._run_checks(ctx)
            pbx = await self._pbx_facts(ctx, reach, results)
            finished = True
        finally:
            # Both, whatever happens to the first: a deadline or a Cancel must free the client.
            try:
                await facts.aclose()
            finally:
                if finished and self._keep_client:
                    self._kept = reach.client  # the caller closes it (``aclose``)
                else:
                    await reach.client.aclose()
        return Diagnosis.in_order(pbx, [*results, reach_result], started, _ms_since(clock))

    def _out_of_time(self, started: datetime, clock: float, deadline: float) -> Diagnosis:
        """The deadline passed: what finished stands, every other check is "not verified"."""
        pending = [check for check in CHECK_ORDER if check not in self._finished]
        log.warning(
            "The doctor's %s s deadline passed; still waiting for: %s",
            f"{deadline:g}",
            ", ".join(pending) or "the summary facts",
        )
        for check in pending:
            self._emit(out_of_time(check, deadline, pending))
        identity = self._identity
        version = identity.version if identity is not None else None
        pbx = PbxFacts(
            url=self._params.url,
            version=str(version) if version else None,
            major=version.major if version else None,
            hosting=hosting_of_url(self._params.url),
        )
        return Diagnosis.in_order(pbx, self._finished.values(), started, _ms_since(clock))

    async def _run_checks(self, ctx: CheckContext) -> list[CheckResult]:
        async def one(check: CheckId) -> CheckResult:
            begun = time.perf_counter()
            try:
                result = await CHECKS[check](ctx)
            except Exception as exc:  # a bug in one check must not lose the other six
                log.exception("The %s check failed unexpectedly", check)
                # WARN, not SKIP: an unverified cause must not read as a clean bill of health.
                result = CheckResult(
                    check,
                    CheckStatus.WARN,
                    f"Not verified: the check itself failed ({type(exc).__name__}).",
                    "Run the doctor again; if it repeats, send the app's log to support and "
                    "check this cause by hand.",
                )
            result = _timed(result, begun)
            self._emit(result)
            return result

        if self._options.concurrent:
            return list(await asyncio.gather(*(one(check) for check in CHECKS)))
        return [await one(check) for check in CHECKS]

    async def _pbx_facts(
        self, ctx: CheckContext, reach: Reach, results: list[CheckResult]
    ) -> PbxFacts:
        licence = await _settled(ctx.facts.licence())
        plan = await _settled(ctx.facts.numbering_plan())
        matched = next(r for r in results if r.id is CheckId.CONTACT_MATCH)
        region = (
            self._options.region
            or default_region(
                licence.value.country_code if licence.value else None,
                plan.value.country_code if plan.value else None,
            )
            or matched.details.get("region")
        )
        version = reach.identity.version if reach.identity else None
        hours = await ctx.facts.customer_hours()
        return PbxFacts(
            url=self._params.url,
            version=str(version) if version else None,
            major=version.major if version else None,
            edition=str(licence.value.edition) if licence.value else None,
            region=region,
            hosting=hosting_of_url(self._params.url),
            time_zone=hours.timezone,
            business_hours=describe_hours(hours, with_zone=False),
            hours_source=str(hours.source),
            wire=ctx.client.wire_seen.described(),
        )

    def _emit(self, result: CheckResult) -> None:
        self._finished[result.id] = result
        if self._on_result is not None:
            self._on_result(result)


async def _settled(aw: Awaitable[T]) -> Outcome[T]:
    """A fact for the summary line; whatever went wrong was reported by the checks already."""
    try:
        return await attempt(aw)
    except Exception:
        return Outcome()


def _timed(result: CheckResult, since: float) -> CheckResult:
    if result.duration_ms is not None:
        return result
    return replace(result, duration_ms=_ms_since(since))


def _ms_since(since: float) -> float:
    return (time.perf_counter() - since) * 1000
