"""`pbx-companion pbx watch` against a Call Control websocket that misbehaves (issue 18).

The watches run as child processes side by side, each behind its own hostile front to one
shared simulator. While they run, a driver places a real call on the simulator once the hostile
frames are out, and restarts one front with a new certificate. The tests then read what each
watch printed; the fronts' counters say how often each watch connected.
"""

from __future__ import annotations

import json
import re
import ssl
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.conftest import COMMAND, RSS_BUDGET_MB, RSS_KILL_MB, connection_args
from tests.support.child_memory import ChildRun, run_measured
from tests.support.hostile_pbx import HostilePbx, LoopThread

WATCH_S = 20  # each watch's --seconds; the harness kills one that outlives it by far
KILL_AFTER_S = WATCH_S + 40.0
READY_WAIT_S = 15.0  # how long the driver waits for a watch to be subscribed before acting
CONNECT_BUDGET = 15  # websocket connects in WATCH_S against a socket that closes at once

# name -> (hostile mode, print JSON lines)
WATCHES: dict[str, tuple[str, bool]] = {
    "close-at-once": ("ws-close-at-once", False),
    "close-at-once-json": ("ws-close-at-once", True),
    "deep-frame": ("ws-deep-frame", False),
    "garbage": ("ws-garbage", False),
    "garbage-json": ("ws-garbage", True),
    "new-certificate": ("healthy", False),
}
EVENT_LINE = re.compile(r"\bcall \S+\s+(ringing|connected|ended|missed|voicemail)\b")
SKIP_COUNT = re.compile(r"skipp\w*\D{0,60}\d+|\d+\D{0,60}skipp", re.I)


@dataclass(frozen=True)
class Watched:
    run: ChildRun
    counts: dict[str, int]
    calls_placed: int

    @property
    def said(self) -> str:
        return self.run.stdout + "\n" + self.run.stderr


def _place_call(sim: dict[str, Any]) -> None:
    """One answered inbound call on the simulator; returns once it has hung up."""
    context = ssl.create_default_context(cafile=sim["ca_file"])
    body = json.dumps({"kind": "inbound", "answered": True, "ring_s": 0.5, "talk_s": 1.0})
    request = urllib.request.Request(
        f"{sim['url']}/_sim/calls", data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        response.read()


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    """The driver's patience with a child that has not subscribed yet; not a product assert."""
    limit = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > limit:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture(scope="module")
def watched(
    sim: dict[str, Any], child_env: dict[str, str], state_dir: Path
) -> Iterator[dict[str, Watched]]:
    loop = LoopThread()
    servers: dict[str, HostilePbx] = {}
    try:
        for name, (mode, _) in WATCHES.items():
            server = HostilePbx(sim, mode, state_dir / name)
            (state_dir / name).mkdir(exist_ok=True)
            loop.run(server.start())
            servers[name] = server

        def watch(name: str) -> ChildRun:
            server = servers[name]
            argv = [
                *COMMAND,
                "pbx",
                "watch",
                "--seconds",
                str(WATCH_S),
                *connection_args(server.url, sim, server.ca_file),
                "--timeout",
                "5",
            ]
            if WATCHES[name][1]:
                argv.append("--json")
            return run_measured(
                argv, env=child_env, kill_after_s=KILL_AFTER_S, rss_limit_mb=RSS_KILL_MB
            )

        calls = 0
        with ThreadPoolExecutor(max_workers=len(WATCHES), thread_name_prefix="watch") as pool:
            futures = {name: pool.submit(watch, name) for name in WATCHES}
            framed = [servers[n] for n in ("deep-frame", "garbage", "garbage-json")]
            _wait_for(lambda: all(s.counts["ws_relayed"] for s in framed), READY_WAIT_S)
            _place_call(sim)  # after the hostile frames: its events must still print
            calls += 1
            restarted = servers["new-certificate"]
            if _wait_for(lambda: restarted.counts["ws_relayed"] > 0, READY_WAIT_S):
                loop.run(restarted.restart(gap_s=0.5))
            runs = {name: future.result() for name, future in futures.items()}
        yield {name: Watched(runs[name], dict(servers[name].counts), calls) for name in WATCHES}
    finally:
        for server in servers.values():
            loop.run(server.stop())
        loop.close()


def _clean(watched: Watched) -> None:
    run = watched.run
    assert run.killed is None, f"killed by the harness ({run.killed}): {watched.said[-2000:]}"
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.peak_rss_mb < RSS_BUDGET_MB, f"peak RSS {run.peak_rss_mb:.0f} MB"


@pytest.mark.parametrize("name", ["close-at-once", "close-at-once-json"])
def test_a_socket_that_closes_at_once_is_retried_with_backoff_and_said(
    watched: dict[str, Watched], name: str
) -> None:
    w = watched[name]
    _clean(w)
    connects = w.counts.get("ws_connects", 0)
    assert 1 <= connects < CONNECT_BUDGET, f"{connects} websocket connects in {WATCH_S} s"
    assert "reconnecting (attempt" in w.said, w.said[-2000:]


def test_json_lines_stay_json_while_reconnecting(watched: dict[str, Watched]) -> None:
    w = watched["close-at-once-json"]
    _clean(w)
    for line in w.run.stdout.splitlines():
        json.loads(line)  # a status line in --json mode is a JSON line too


@pytest.mark.parametrize("name", ["deep-frame", "garbage"])
def test_any_frame_is_skipped_with_a_count_and_later_events_print(
    watched: dict[str, Watched], name: str
) -> None:
    w = watched[name]
    _clean(w)
    assert w.counts.get("hostile_frames", 0) > 0, w.counts
    assert EVENT_LINE.search(w.run.stdout), f"no call event after the frames: {w.said[-2000:]}"
    assert SKIP_COUNT.search(w.said), f"no skipped-frame count said: {w.said[-2000:]}"
    # The frames are skipped, not a reason to reconnect again and again.
    assert w.counts.get("ws_connects", 0) < CONNECT_BUDGET, w.counts


def test_garbage_frames_in_json_mode_still_give_json_events(watched: dict[str, Watched]) -> None:
    w = watched["garbage-json"]
    _clean(w)
    events = [json.loads(line) for line in w.run.stdout.splitlines() if line.strip()]
    assert any("call_id" in event for event in events), w.said[-2000:]


def test_a_new_certificate_after_a_restart_is_said_not_silence(
    watched: dict[str, Watched],
) -> None:
    w = watched["new-certificate"]
    _clean(w)
    assert w.counts.get("ws_relayed", 0) > 0, "the watch never subscribed before the restart"
    said = w.said.lower()
    assert "certificate" in said, w.said[-2000:]
    assert any(p in said for p in ("changed", "not trusted", "untrusted")), w.said[-2000:]
