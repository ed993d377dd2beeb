"""The simulator plays a customer's bridge and CRM over its own call history (issue 21).

The files are read here with json.loads, a logfmt split and regular expressions, as the
formats brief describes them: the app's own parsers are tested against these files elsewhere.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import re
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.domain.bridge import Bridge, BridgeIndex
from app.domain.contact_match import MatchKind
from app.sim import BridgeFaultError, BridgePlayback, SimConfig, Simulator, cli
from app.sim.bridge_calls import PlayedCall, fold_history
from app.sim.bridge_faults import BRIDGE_FAULTS
from app.sim.bridge_formats import CRM_HEADERS
from app.sim.crm import crm_contacts
from tests.sim.conftest import recent_call_log_path
from tests.support.clock import PINNED_START

GUID = re.compile(r"00000000-01dc-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LOGFMT_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s"]*)(?:\s+|$)')
TEXT_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}),(\d{3}) (INFO|WARNING|ERROR) (.+)$")
TEXT_HTTP = re.compile(
    r"\b(GET|POST) (https://\S+) -> (\d{3}) "
    r"\(call (\S+?)(?:, recording (\d+))?(?:, attempt (\d+))?\)$"
)
NOTE_ID = re.compile(r"3CX call id: (\S+)$")
FINE = {"logged", "missed_triggered"}


def frozen_sim(*faults: str, seed: int = 1) -> Simulator:
    """A PBX whose clock stands still at the suite's pinned instant: its history, and so
    everything the bridge plays over it, cannot drift while a test runs."""
    config = SimConfig(calls_per_minute=0, faults=list(faults), seed=seed)
    return Simulator(config, clock=lambda: PINNED_START)


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return frozen_sim()


@pytest.fixture(scope="module")
def base(sim: Simulator) -> BridgePlayback:
    return sim.bridge_playback()


# ---- reading the files as the formats brief says ----------------------------------------------
def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def logfmt(line: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    pos = 0
    for m in LOGFMT_PAIR.finditer(line):
        assert m.start() == pos, line  # nothing between pairs
        raw = m.group(2)
        fields[m.group(1)] = json.loads(raw) if raw.startswith('"') else raw
        pos = m.end()
    assert pos == len(line), line
    return fields


def text(line: str, zone: Any) -> dict[str, Any]:
    m = TEXT_LINE.match(line)
    assert m, line
    stamp = datetime.fromisoformat(m.group(1)).replace(tzinfo=zone)
    found: dict[str, Any] = {"ts": stamp + timedelta(milliseconds=int(m.group(2)))}
    found["level"] = m.group(3)
    found["call_id"] = GUID.search(m.group(4)).group(0)  # type: ignore[union-attr]
    http = TEXT_HTTP.search(m.group(4))
    if http:
        found.update(method=http.group(1), url=http.group(2), status=int(http.group(3)))
        if http.group(6):
            found["attempt"] = int(http.group(6))
    return found


def json_lines(playback: BridgePlayback) -> list[dict[str, Any]]:
    return [json.loads(line) for line in playback.log_lines("json")]


def crm_rows(playback: BridgePlayback) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(playback.crm_csv()))
    assert reader.fieldnames == CRM_HEADERS
    return list(reader)


def row_call_id(row: dict[str, str]) -> str:
    m = NOTE_ID.search(row["Call notes"])
    assert m, row
    return m.group(1)


def per_call(playback: BridgePlayback) -> dict[str, tuple[list[str], list[str]]]:
    """Each call's own log lines and CRM rows, as written."""
    calls: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for line in playback.log_lines("json"):
        calls[json.loads(line)["call_id"]][0].append(line)
    for row in crm_rows(playback):
        calls[row_call_id(row)][1].append(json.dumps(row))
    return calls


def verdicts(playback: BridgePlayback) -> dict[str, tuple[str, str | None]]:
    return {cid: (e.state, e.cause) for cid, e in playback.truth().items()}


def lines_of(playback: BridgePlayback, call_id: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(playback) if line["call_id"] == call_id]


def rows_of(playback: BridgePlayback, call_id: str) -> list[dict[str, str]]:
    return [row for row in crm_rows(playback) if row_call_id(row) == call_id]


# ---- the calls ---------------------------------------------------------------------------------
async def test_truth_covers_every_external_call_the_call_log_returns(make_sim, api_for) -> None:
    sim = await make_sim()
    api = await api_for(sim)
    status, body, _ = await api.get(recent_call_log_path(sim, days=200))
    assert status == 200
    external = {
        row["MainCallHistoryId"]
        for row in body["value"]
        if 1 in (row["SourceType"], row["DestinationType"])
    }
    playback = sim.bridge_playback()
    assert set(playback.truth()) == external
    assert sum(playback.counts().values()) == len(external)


def test_a_healthy_bridge_logs_every_call_with_its_recording(sim, base) -> None:
    assert set(base.counts()) == FINE
    answered = {cid for cid, (state, _) in verdicts(base).items() if state == "logged"}
    rows = crm_rows(base)
    calls = [row for row in rows if row["Activity type"] == "Call"]
    assert sorted(row_call_id(r) for r in calls) == sorted(answered)
    recorded = {c.call_id for c in _played(sim) if c.recording_id is not None}
    assert {row_call_id(r) for r in calls if r["Call recording URL"]} == recorded
    lines = json_lines(base)
    posted = Counter(line["call_id"] for line in lines if line["msg"] == "posted activity to CRM")
    assert set(posted) == answered and set(posted.values()) == {1}
    # 3CX writes the file a few seconds after hang-up: some calls see 404s before the 200.
    fetches = [line for line in lines if "Recordings" in line.get("path", "")]
    assert {line["status"] for line in fetches} == {200, 404}
    assert all(
        line["path"] == f"/xapi/v1/Recordings/Pbx.DownloadRecording(recId={line['recording_id']})"
        for line in fetches
    )


def test_missed_calls_fire_the_workflow_and_nothing_else(base) -> None:
    missed = {cid for cid, (state, _) in verdicts(base).items() if state == "missed_triggered"}
    assert missed
    rows = [r for r in crm_rows(base) if row_call_id(r) in missed]
    assert {r["Activity type"] for r in rows} <= {"Task", "SMS", "Email"}
    assert {row_call_id(r) for r in rows} == missed
    fired = {line["call_id"] for line in json_lines(base) if line["msg"].startswith("missed-call")}
    assert fired == missed


def _played(sim: Simulator) -> list[PlayedCall]:
    """The calls as the bridge sees them, oldest first (the order faults hand calls out in)."""
    index = BridgeIndex.build(crm_contacts(sim.tenant), "AU", Bridge(), record_ids=True)
    return fold_history(
        sim.tenant.segments, visible_recordings=sim.visible_recording_ids(), contacts=index
    )


def _starts(sim: Simulator) -> dict[str, datetime]:
    return {call.call_id: call.started_at for call in _played(sim)}


# ---- the faults --------------------------------------------------------------------------------
FAULT_CASES = [
    ("late-no-retry", 1, ("no_recording", "late_recording")),
    ("recording-403", 1, ("no_recording", "api_roles")),
    ("duplicate", 1, ("duplicated", None)),
    ("new-contact", 1, ("wrong_contact", "contact_match")),
    ("never-logged", 1, ("missing", None)),
    ("missed-no-trigger=2", 2, ("missed_not_triggered", None)),
    ("duplicate=3", 3, ("duplicated", None)),
]


@pytest.mark.parametrize(("spec", "count", "verdict"), FAULT_CASES)
def test_each_fault_changes_exactly_the_calls_it_names(sim, base, spec, count, verdict) -> None:
    playback = sim.bridge_playback([spec])
    hit = set(playback.hits)
    assert len(hit) == count and set(playback.hits.values()) == {spec.split("=")[0]}
    before, after = verdicts(base), verdicts(playback)
    assert {cid for cid in after if after[cid] != before[cid]} == hit
    assert {after[cid] for cid in hit} == {verdict}
    assert all(playback.truth()[cid].fault == spec.split("=")[0] for cid in hit)
    old, new = per_call(base), per_call(playback)
    assert {cid for cid in old.keys() | new.keys() if old.get(cid) != new.get(cid)} == hit
    # The first calls in time order that the fault can change.
    takes = TAKES[spec.split("=")[0]]
    first = [c.call_id for c in _played(sim) if takes(c, before[c.call_id][0])][:count]
    assert set(first) == hit


TAKES = {
    "late-no-retry": lambda c, state: c.recording_id is not None and state == "logged",
    "recording-403": lambda c, state: c.recording_id is not None and state == "logged",
    "duplicate": lambda c, state: not c.missed,
    "never-logged": lambda c, state: not c.missed,
    "new-contact": lambda c, state: c.answered and c.match.kind is MatchKind.EXACT,
    "missed-no-trigger": lambda c, state: state == "missed_triggered",
}


def test_late_no_retry_asks_once_before_the_file_is_there(sim) -> None:
    playback = sim.bridge_playback(["late-no-retry"])
    (call_id,) = playback.hits
    fetches = [ln for ln in lines_of(playback, call_id) if "Recordings" in ln.get("path", "")]
    assert [(f["status"], f["attempt"]) for f in fetches] == [(404, 1)]
    assert any("giving up" in ln["msg"] for ln in lines_of(playback, call_id))
    (row,) = rows_of(playback, call_id)
    assert row["Call recording URL"] == ""


def test_recording_403_refuses_every_fetch_and_the_call_is_logged_without_it(sim) -> None:
    playback = sim.bridge_playback(["recording-403"])
    (call_id,) = playback.hits
    fetches = [ln for ln in lines_of(playback, call_id) if "Recordings" in ln.get("path", "")]
    assert fetches and {f["status"] for f in fetches} == {403}
    (row,) = rows_of(playback, call_id)
    assert row["Call recording URL"] == "" and row["Activity type"] == "Call"


def test_duplicate_and_new_contact_and_never_logged_show_in_the_crm(sim, base) -> None:
    playback = sim.bridge_playback(["duplicate", "new-contact", "never-logged"])
    by_fault = {fault: cid for cid, fault in playback.hits.items()}
    assert len(rows_of(playback, by_fault["duplicate"])) == 2
    (moved,) = rows_of(playback, by_fault["new-contact"])
    (was,) = rows_of(base, by_fault["new-contact"])
    assert moved["Contact created by"] == "3CX bridge" and was["Contact created by"] == ""
    assert moved["Associated Contact"] != was["Associated Contact"]
    assert rows_of(playback, by_fault["never-logged"]) == []
    msgs = [ln["msg"] for ln in lines_of(playback, by_fault["never-logged"])]
    assert "call ended" in msgs and "posted activity to CRM" not in msgs


def test_missed_no_trigger_leaves_no_task_sms_or_email(sim) -> None:
    playback = sim.bridge_playback(["missed-no-trigger=2"])
    for call_id in playback.hits:
        assert rows_of(playback, call_id) == []
        assert not [ln for ln in lines_of(playback, call_id) if "workflow" in ln["msg"]]


def test_a_fault_can_name_its_calls(sim, base) -> None:
    logged = [cid for cid, (state, _) in verdicts(base).items() if state == "logged"]
    wanted = sorted(logged)[40:42]
    playback = sim.bridge_playback([f"duplicate={','.join(wanted).upper()}"])
    assert sorted(playback.hits) == wanted
    assert {verdicts(playback)[cid] for cid in wanted} == {("duplicated", None)}


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("no-such-fault", "unknown bridge fault"),
        ("key-revoked-at", "needs a time"),
        ("key-revoked-at=2026-11-10T09:00:00", "no UTC offset"),
        ("duplicate=00000000-01dc-0000-0000-000000000001", "no external call"),
        ("missed-no-trigger=100000", "can take it"),
    ],
)
def test_a_fault_that_cannot_apply_says_why(sim, spec, words) -> None:
    with pytest.raises(BridgeFaultError, match=words):
        sim.bridge_playback([spec])


def test_a_fault_refuses_a_call_it_cannot_change(sim, base) -> None:
    missed = next(cid for cid, (s, _) in verdicts(base).items() if s == "missed_triggered")
    with pytest.raises(BridgeFaultError, match="missed call"):
        sim.bridge_playback([f"duplicate={missed}"])


def test_recording_faults_need_a_pbx_whose_recordings_the_bridge_gets() -> None:
    sim = frozen_sim("missing-recording-role")
    for spec in ("late-no-retry", "recording-403"):
        with pytest.raises(BridgeFaultError, match="can take it"):
            sim.bridge_playback([spec])


def test_a_revoked_key_answers_401_and_nothing_reaches_the_crm_after(sim, base) -> None:
    starts = _starts(sim)
    revoked = sorted(starts.values())[len(starts) * 3 // 4]
    playback = sim.bridge_playback([f"key-revoked-at={revoked.isoformat()}", "duplicate"])
    lines = json_lines(playback)
    after = [ln for ln in lines if utc(ln["ts"]) >= revoked and "status" in ln]
    assert after and {ln["status"] for ln in after} == {401}
    assert all(utc(ln["ts"]) < revoked for ln in lines if "status" in ln and ln["status"] != 401)
    writes = [ln for ln in lines if ln["msg"].startswith(("posted", "missed-call workflow"))]
    assert all(utc(ln["ts"]) < revoked for ln in writes)
    before, now = verdicts(base), verdicts(playback)
    changed = {cid for cid in now if now[cid] != before[cid]}
    (duplicated,) = playback.hits
    assert starts[duplicated] < revoked
    assert {now[cid] for cid in changed - {duplicated}} == {
        ("missing", "reachability"),
        ("missed_not_triggered", "reachability"),
    }
    # Only calls the bridge was still working on at the revocation, or later ones.
    assert all(starts[cid] >= revoked - timedelta(minutes=15) for cid in changed - {duplicated})
    assert sum(playback.counts().values()) == len(before)


# ---- the PBX's own faults reach the bridge -----------------------------------------------------
@pytest.mark.parametrize(
    ("pbx_fault", "verdict", "status"),
    [
        ("late-recording=never", ("no_recording", "late_recording"), 404),
        ("missing-recording-role", ("no_recording", "api_roles"), 403),
        ("bad-key", ("missing", "reachability"), 401),
    ],
)
def test_pbx_faults_reach_the_bridge(pbx_fault, verdict, status) -> None:
    sim = frozen_sim(pbx_fault)
    playback = sim.bridge_playback()
    answered = [c for c in _played(sim) if not c.missed]
    assert {verdicts(playback)[c.call_id] for c in answered if c.recording_id} == {verdict}
    fetches = [ln for ln in json_lines(playback) if "Recordings" in ln.get("path", "")]
    assert {ln["status"] for ln in fetches} <= {status}


def test_numbers_the_crm_stores_unnormalised_land_on_new_contacts() -> None:
    sim = frozen_sim("unnormalised-contacts")
    playback = sim.bridge_playback()
    wrong = {
        cid for cid, v in verdicts(playback).items() if v == ("wrong_contact", "contact_match")
    }
    assert wrong
    calls = [r for r in crm_rows(playback) if r["Activity type"] == "Call"]
    assert all(r["Contact created by"] == "3CX bridge" for r in calls if row_call_id(r) in wrong)


def test_days_plays_only_the_recent_history_and_faults_pick_there(sim) -> None:
    playback = sim.bridge_playback(["demo"], days=7)
    since = PINNED_START - timedelta(days=7)
    starts = _starts(sim)
    assert playback.truth() and all(starts[cid] >= since for cid in playback.truth())
    assert len(playback.hits) == 7
    assert sum(playback.counts().values()) == len(playback.truth())


# ---- the formats -------------------------------------------------------------------------------
def test_json_lines_carry_the_formats_keys(base) -> None:
    for line in json_lines(base):
        assert {"ts", "level", "msg", "call_id"} <= set(line)
        assert GUID.fullmatch(line["call_id"]) and line["ts"].endswith("Z")
        if "status" in line:
            assert line["method"] == "GET" and line["path"].startswith("/xapi/v1/")


def test_the_three_formats_say_the_same(sim, base) -> None:
    zone = sim.tenant.office_hours.zone
    as_json = json_lines(base)
    as_logfmt = [logfmt(line) for line in base.log_lines("logfmt")]
    as_text = [text(line, zone) for line in base.log_lines("text")]
    assert len(as_json) == len(as_logfmt) == len(as_text)
    for j, lf, tx in zip(as_json, as_logfmt, as_text, strict=True):
        assert lf["ts"] == j["ts"] and lf["call_id"] == j["call_id"] == tx["call_id"]
        assert lf["msg"] == j["msg"] and lf["level"] == j["level"]
        # The text format writes the bridge host's local time, with no zone.
        assert tx["ts"] == utc(j["ts"])
        if "status" in j:
            assert int(lf["status"]) == j["status"] == tx["status"]
            assert lf["path"] == j["path"] and tx["url"].endswith(j["path"])
            assert tx.get("attempt") == j.get("attempt")


def test_mixed_writes_all_three_formats(sim) -> None:
    playback = sim.bridge_playback(fmt="mixed")
    kinds: Counter[str] = Counter()
    for line in playback.log_lines():
        if line.startswith("{"):
            json.loads(line)
            kinds["json"] += 1
        elif line.startswith("ts="):
            logfmt(line)
            kinds["logfmt"] += 1
        else:
            text(line, sim.tenant.office_hours.zone)
            kinds["text"] += 1
    assert set(kinds) == {"json", "logfmt", "text"}


def test_crm_times_are_utc_or_zone_less_in_the_crm_zone(sim, base) -> None:
    rows = crm_rows(base)
    assert all(r["Activity date"].endswith("Z") for r in rows)
    local = crm_rows(sim.bridge_playback(crm_zone="America/New_York"))
    zone = ZoneInfo("America/New_York")
    for one, other in zip(rows, local, strict=True):
        stamp = datetime.fromisoformat(other["Activity date"])
        assert stamp.tzinfo is None
        assert stamp.replace(tzinfo=zone) == utc(one["Activity date"])


def test_the_playback_is_the_seeds(base) -> None:
    again = frozen_sim().bridge_playback()
    assert again.log_lines() == base.log_lines() and again.crm_csv() == base.crm_csv()
    other = frozen_sim(seed=2).bridge_playback()
    assert other.log_lines() != base.log_lines()


def test_write_puts_the_files_and_the_truth_in_a_folder(base, tmp_path) -> None:
    written = base.write(tmp_path / "out")
    assert [p.name for p in written] == ["bridge.log", "crm-activities.csv", "truth.json"]
    truth = json.loads((tmp_path / "out" / "truth.json").read_text(encoding="utf-8"))
    assert truth["by_state"] == base.counts()
    assert len(truth["calls"]) == sum(truth["by_state"].values())


# ---- the command line --------------------------------------------------------------------------
async def test_the_cli_writes_the_bridge_files(tmp_path: Path) -> None:
    out = tmp_path / "bridge"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.sim",
        "--calls-per-minute",
        "0",
        "--bridge-out",
        str(out),
        "--bridge-fault",
        "duplicate=2",
        "--bridge-fault",
        "missed-no-trigger",
        "--bridge-log-format",
        "logfmt",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
        lines = (out / "bridge.log").read_text(encoding="utf-8").splitlines()
        assert lines and all(logfmt(line)["call_id"] for line in lines)
        rows = list(csv.DictReader(io.StringIO((out / "crm-activities.csv").read_text("utf-8"))))
        assert rows and set(rows[0]) == set(CRM_HEADERS)
        truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
        assert Counter(truth["faults"].values()) == {"duplicate": 2, "missed-no-trigger": 1}
        assert truth["by_state"]["duplicated"] == 2
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize(
    "argv",
    [
        ["--bridge-fault", "duplicate"],
        ["--bridge-out", "{dir}", "--bridge-fault", "nope"],
        ["--bridge-out", "{dir}", "--crm-zone", "Mars/Base"],
    ],
)
def test_the_cli_refuses_bridge_options_it_cannot_use(argv, tmp_path, capsys) -> None:
    assert cli.main([arg.format(dir=tmp_path) for arg in argv]) == 2
    assert "pbx-companion sim:" in capsys.readouterr().err


def test_the_help_lists_every_bridge_fault() -> None:
    parser = argparse.ArgumentParser(prog="pbx-companion sim")
    cli.add_arguments(parser)
    help_text = parser.format_help()
    assert "--bridge-out DIR" in help_text
    for name in BRIDGE_FAULTS:
        assert f"  {name} " in help_text
