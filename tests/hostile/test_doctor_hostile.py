"""`pbx-companion doctor --json` against a PBX that misbehaves (issue 18).

Each mode's doctor runs once, as a child process, all side by side against one shared simulator
behind one hostile front per mode. The harness bounds each child (a kill limit, a memory cap)
and measures its peak RSS with ``os.wait4``; the tests then read what it printed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.hostile.conftest import (
    COMMAND,
    KILL_AFTER_S,
    REQUEST_BUDGET,
    RSS_BUDGET_MB,
    RSS_KILL_MB,
    connection_args,
)
from tests.support.child_memory import ChildRun, run_measured
from tests.support.hostile_modes import HTTP_MODES, TOKEN_LIFETIMES
from tests.support.hostile_pbx import HostilePbx, hostile_servers

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "resources/schemas/pbx-companion-doctor-1.schema.json").read_text()
)
# The modes that exist to run into the deadline get a short one; every other doctor keeps the
# default (90 s), so a loaded machine slowing it down is never mistaken for a misbehaviour.
SLOW_MODES = ("slow-drip", "hang")
SLOW_DEADLINE_S = 20
DOCTORS_AT_ONCE = 8  # side by side, bounded: a 2-core CI machine runs them all in time


def doctor_options(mode: str) -> list[str]:
    deadline = ["--deadline", str(SLOW_DEADLINE_S)] if mode in SLOW_MODES else []
    return ["--timeout", "5", *deadline]


ONE_TOKEN_DOCTORS = 2  # a PBX allowing one token per client, and two doctors at once


@dataclass(frozen=True)
class Named:
    """How a finding must name the misbehaviour: any of ``phrases`` (case-insensitive), in
    ``check``'s text or anywhere in the checks; none of ``never``."""

    phrases: tuple[str, ...]
    check: str | None = None
    never: tuple[str, ...] = ()


NAMED: dict[str, Named] = {
    "nextlink-loop": Named(("kept sending pages", "same page", "page already read")),
    "skip-ignored": Named(("ignored $skip",)),
    "gzip-bomb": Named(("larger than", "too large")),
    "huge-strings": Named(("larger than", "too large", "too long")),
    "huge-numbers": Named(("could not be read", "unreadable", "out of range")),
    "licence-null": Named(("could not be read", "unreadable", "empty"), check="licence"),
    "html-login": Named(("html", "login page", "sign-in page"), never=("regenerate",)),
    "html-401": Named(("html", "proxy"), never=("regenerate",)),
    "slow-drip": Named(("deadline", "in time", "too slow")),
    "hang": Named(("deadline", "in time", "did not answer")),
}
REVOKED = ("withdrew the access token", "another program signed in", "revoked")


@dataclass(frozen=True)
class Outcome:
    runs: list[ChildRun]
    counts: dict[str, int]


@pytest.fixture(scope="module")
def outcomes(
    sim: dict[str, Any], child_env: dict[str, str], state_dir: Path
) -> Iterator[dict[str, Outcome]]:
    """Every mode's doctor, run side by side (the slow modes set the pace, not the sum)."""
    modes = ("healthy", *HTTP_MODES)
    with hostile_servers(sim, modes, state_dir) as (_, servers):

        def doctor(mode: str, server: HostilePbx) -> ChildRun:
            argv = [
                *COMMAND,
                "doctor",
                "--json",
                *connection_args(server.url, sim, server.ca_file),
                *doctor_options(mode),
            ]
            return run_measured(
                argv, env=child_env, kill_after_s=KILL_AFTER_S, rss_limit_mb=RSS_KILL_MB
            )

        jobs = [(m, servers[m]) for m in modes]
        jobs += [("one-token", servers["one-token"])] * (ONE_TOKEN_DOCTORS - 1)
        # The slow ones first, so they wait out their deadline while the rest run.
        jobs.sort(key=lambda job: job[0] not in SLOW_MODES)
        with ThreadPoolExecutor(max_workers=DOCTORS_AT_ONCE, thread_name_prefix="doctor") as pool:
            finished = list(pool.map(lambda job: (job[0], doctor(*job)), jobs))
        result: dict[str, Outcome] = {}
        for mode in modes:
            runs = [run for name, run in finished if name == mode]
            result[mode] = Outcome(runs, dict(servers[mode].counts))
        yield result


def _document(run: ChildRun) -> dict[str, Any]:
    """The one JSON document on stdout, or a failure saying what came instead."""
    assert run.killed is None, f"the harness killed the doctor ({run.killed}): {_tail(run)}"
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    try:
        document = json.loads(run.stdout)
    except ValueError as exc:
        raise AssertionError(f"stdout is not one JSON document ({exc}): {_tail(run)}") from None
    jsonschema.validate(document, SCHEMA)
    assert isinstance(document, dict)
    return document


def _tail(run: ChildRun) -> str:
    return f"exit {run.returncode}; stdout {run.stdout[:400]!r}; stderr {run.stderr[-800:]!r}"


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _said(document: dict[str, Any], check: str | None = None) -> str:
    """Every word the checks (or one check) said: finding, fix, evidence, details."""
    checks = [c for c in document["checks"] if check is None or c["id"] == check]
    return "\n".join(_texts(checks)).lower()


def _status(document: dict[str, Any], check: str) -> str:
    return str(next(c["status"] for c in document["checks"] if c["id"] == check))


ALL_MODES = ("healthy", *HTTP_MODES)


# ---- the harness's bounds: every mode ---------------------------------------------------------
@pytest.mark.parametrize("mode", ALL_MODES)
def test_ends_by_itself_before_the_harness_limit(outcomes: dict[str, Outcome], mode: str) -> None:
    for run in outcomes[mode].runs:
        assert run.killed is None, f"killed by the harness ({run.killed}): {_tail(run)}"
        assert run.returncode in (0, 1), _tail(run)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_prints_one_json_document_and_no_traceback(outcomes: dict[str, Outcome], mode: str) -> None:
    for run in outcomes[mode].runs:
        document = _document(run)
        assert [c["order"] for c in document["checks"]] == list(range(1, 8))


@pytest.mark.parametrize("mode", ALL_MODES)
def test_peak_memory_stays_under_the_budget(outcomes: dict[str, Outcome], mode: str) -> None:
    for run in outcomes[mode].runs:
        assert run.peak_rss_mb < RSS_BUDGET_MB, (
            f"peak RSS {run.peak_rss_mb:.0f} MB (harness cap {RSS_KILL_MB:.0f} MB, "
            f"killed: {run.killed})"
        )


@pytest.mark.parametrize("mode", ALL_MODES)
def test_requests_stay_bounded(outcomes: dict[str, Outcome], mode: str) -> None:
    outcome = outcomes[mode]
    budget = REQUEST_BUDGET * len(outcome.runs)
    assert outcome.counts.get("requests", 0) < budget, outcome.counts


# ---- what the findings say -----------------------------------------------------------------
def test_a_healthy_front_changes_nothing(outcomes: dict[str, Outcome]) -> None:
    """The control: through the front in no mode, the simulator's PBX is healthy."""
    (run,) = outcomes["healthy"].runs
    document = _document(run)
    statuses = {c["id"]: c["status"] for c in document["checks"]}
    assert document["first_failure"] is None, statuses
    assert set(statuses.values()) <= {"pass", "skip"}, statuses
    assert statuses["licence"] == statuses["api_roles"] == statuses["reachability"] == "pass"
    assert outcomes["healthy"].counts.get("garbled", 0) == 0


@pytest.mark.parametrize("mode", sorted(NAMED))
def test_a_finding_names_the_misbehaviour(outcomes: dict[str, Outcome], mode: str) -> None:
    named = NAMED[mode]
    (run,) = outcomes[mode].runs
    said = _said(_document(run), named.check)
    assert any(p.lower() in said for p in named.phrases), (
        f"no finding names {mode} (wanted one of {named.phrases}): {said[:3000]}"
    )
    for word in named.never:
        assert word not in said, f"{mode}: {word!r} misleads here: {said[:3000]}"
    counts = outcomes[mode].counts
    assert sum(counts.get(k, 0) for k in ("garbled", "html", "hung")) > 0, counts


@pytest.mark.parametrize("mode", ["licence-null", "html-login", "html-401"])
def test_unreadable_evidence_is_never_a_pass(outcomes: dict[str, Outcome], mode: str) -> None:
    (run,) = outcomes[mode].runs
    document = _document(run)
    assert _status(document, "licence") != "pass", _said(document, "licence")
    if mode.startswith("html"):
        passed = [c["id"] for c in document["checks"] if c["status"] == "pass"]
        assert passed == [], f"checks passed on an HTML page: {passed}"


_ABSURD_LIFETIME = re.compile(r"lifetime[^\n]{0,40}?(-\s*\d|nan|inf|\d{7,})")


@pytest.mark.parametrize("mode", sorted(TOKEN_LIFETIMES))
def test_an_absurd_token_lifetime_is_not_believed(outcomes: dict[str, Outcome], mode: str) -> None:
    """expires_in is 1e400, 0, -5, NaN or "soon" while the JWT's exp is sound: sign-in works,
    the lifetime comes from the token itself, and nothing prints a negative or endless one."""
    (run,) = outcomes[mode].runs
    document = _document(run)
    (healthy,) = outcomes["healthy"].runs
    reference = _document(healthy)
    said = _said(document)
    assert _status(document, "reachability") == "pass", _said(document, "reachability")
    for check in ("licence", "api_roles"):  # signed in: these read what the healthy run read
        assert _status(document, check) == _status(reference, check), (
            f"{check}: {_status(document, check)} here, {_status(reference, check)} healthy"
        )
    assert not _ABSURD_LIFETIME.search(said), _ABSURD_LIFETIME.search(said)
    assert outcomes[mode].counts.get("token", 0) <= 3  # no sign-in storm from a 0 s lifetime


def test_two_doctors_with_one_token_per_client_say_the_token_was_withdrawn(
    outcomes: dict[str, Outcome],
) -> None:
    """A new token revokes the old one: the 401 after a good sign-in is never "role missing"."""
    outcome = outcomes["one-token"]
    documents = [_document(run) for run in outcome.runs]
    assert outcome.counts.get("revoked_401", 0) > 0, f"the doctors never collided: {outcome}"
    said = [_said(document) for document in documents]
    # A doctor says so once its token is taken a second time; a single collision heals with
    # one re-sign-in (which of the two runs first is the scheduler's), and then both pass
    # check 2. Either way, never "role missing".
    withdrawn = any(any(p in text for p in REVOKED) for text in said)
    healed = all(_status(document, "api_roles") == "pass" for document in documents)
    assert withdrawn or healed, "\n---\n".join(said)[:4000]
    for document, text in zip(documents, said, strict=True):
        assert "neither role" not in text, text[:3000]
        assert _status(document, "api_roles") != "fail", _said(document, "api_roles")
    # One re-sign-in each at most, then say so: no endless tug of war over the token.
    assert outcome.counts.get("token", 0) <= 2 * ONE_TOKEN_DOCTORS, outcome.counts
