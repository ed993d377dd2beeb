"""The bridge log's fast path: lines split from binary blocks, the period's filter told from a
line's bytes, and lines it skips only classified. Everything it gives must be what the full
reading of every line gives: the same events, the same counts."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.reconcile.records import BridgeEvent
from app.services.reconcile import bridge_log_blocks
from app.services.reconcile.bridge_log import (
    MAX_LINE_CHARS,
    BridgeLogRead,
    iter_bridge_events,
    read_bridge_log,
)
from app.services.reconcile.bridge_log_blocks import block_lines, line_text
from app.services.reconcile.bridge_log_filter import CallFilter
from app.services.reconcile.bridge_log_lines import line_kind, read_line

ADELAIDE = ZoneInfo("Australia/Adelaide")
OURS = "00000000-01dc-0000-0000-0000000008c6"
OTHER = "00000000-01db-0000-0000-0000000008c6"  # same tail, another call: a near miss
LIVE = "261118110003_2246"
OUR_RECORDING = 123
CALLS = CallFilter([OURS.upper(), LIVE, "8812"], [OUR_RECORDING, 7])

# Every format and every way of naming a call or a recording, ours and others'.
LINES = [
    json.dumps({"ts": "2026-11-18T00:31:02.120Z", "call_id": OURS, "status": 404}),
    json.dumps({"ts": "2026-11-18T00:31:02.120Z", "call_id": OTHER, "status": 404}),
    json.dumps({"ts": "2026-11-18T00:31:02Z", "recording_id": 123, "status": 200}),
    json.dumps({"ts": "2026-11-18T00:31:02Z", "recordingId": " 00123 ", "status": 200}),
    json.dumps({"ts": "2026-11-18T00:31:02Z", "re-cording": 7}),
    json.dumps({"ts": "2026-11-18T00:31:02Z", "recording_id": -7}),
    json.dumps({"ts": "2026-11-18T00:31:02Z", "recording_id": 1230, "status": 200}),
    json.dumps({"ts": "2026-11-18T00:31:02Z", "msg": "GET /xapi/v1/Recordings(123) -> 401"}),
    json.dumps({"ts": "2026-11-18T00:31:02Z", "msg": f"done with call {OURS.upper()}"}),
    json.dumps({"ts": "2026-11-18T00:31:02Z", "call_id": 8812}),
    json.dumps({"ts": "2026-11-18T00:31:02Z", "call_id": "08812"}),
    json.dumps({"ts": "2026-11-18T00:31:02Z", "res": {"statusCode": 404}, "callId": LIVE}),
    '{"ts": "2026-11-18T00:31:02Z", "call_id": "\\u0030' + OURS[1:] + '"}',  # an escape
    '{"ts": "2026-11-18T00:31:02Z", "recording_id": "\u0661\u0662\u0663"}',  # Arabic digits
    '{"ts": "2026-11-18T00:31:02Z", "recording_id": "\u00b2"}',  # a digit int() refuses
    '{"ts": "2026-11-18T00:31:02Z", "call_id": "' + OURS,  # cut short: read as text
    json.dumps({"ts": "2026-11-18T00:31:02Z", "msg": "health check ok"}),
    json.dumps(["not", "an", "object"]),
    f"ts=2026-11-18T00:31:02.120Z level=warn call_id={OURS} status=404 attempt=2",
    f"ts=2026-11-18T00:31:02.120Z level=warn call_id={OTHER} status=404 attempt=2",
    'ts=2026-11-18T00:31:02Z msg="token refreshed" expires_in=3600',
    'ts=2026-11-18T00:31:02Z msg="GET failed \\"late\\"" recordingId=123 call=5',
    "ts=2026-11-18T00:31:02Z MainCallHistoryId=261118110003_2246-2 status=403",
    f"2026-11-18 11:01:02,120 INFO GET /xapi/v1/Recordings(123) -> 404 (call {OURS})",
    f"2026-11-18 11:01:02,120 INFO GET /xapi/v1/Recordings(124) -> 404 (call {OTHER})",
    "2026-11-18 11:01:02 recid=00123x fetched",
    "2026-11-18 11:01:02 recording: 7 stored",
    "2026-11-18 11:01:02Z261118110003_2246 glued to the time",
    "2026-11-18 11:01:02 callid=8812 ended",
    "2026-11-18 11:01:02 INFO bridge started",
    f"[2026-11-18 11:01:02] call {OURS} -> 200",
    f"\u2026 caf\u00e9 call {OURS}",
    "    at handler (bridge.js:42)",
    "",
    "   ",
    "\x1c",
    "Authorization: Bearer abc.def.ghi client_secret=xyz",
]


def filtered_and_full(source: Path) -> tuple[BridgeLogRead, BridgeLogRead]:
    """The log read with the filter (fast path) and with a plain function (every line read)."""
    fast = read_bridge_log(source, zone=ADELAIDE, keep=CALLS)
    full = read_bridge_log(source, zone=ADELAIDE, keep=lambda event: CALLS(event))
    return fast, full


def assert_same(fast: BridgeLogRead, full: BridgeLogRead) -> None:
    assert fast.events == full.events
    assert fast.counts == full.counts


def test_line_kind_agrees_with_read_line() -> None:
    for line in LINES:
        kind, facts = read_line(line, ADELAIDE)
        assert line_kind(line, ADELAIDE) == (kind, facts.readable, facts.about_a_call), line


def test_a_line_the_filter_skips_never_names_one_of_its_calls() -> None:
    for line in LINES:
        facts = read_line(line, ADELAIDE)[1]
        if CALLS.wants(facts.call_id, facts.recording_id):
            assert CALLS.could_keep(line), line


def test_the_filter_keeps_what_the_run_kept_before() -> None:
    def event(call_id: str | None = None, recording_id: int | None = None) -> BridgeEvent:
        return BridgeEvent(line=1, at=None, call_id=call_id, recording_id=recording_id)

    assert CALLS(event(OURS)) and CALLS(event(OURS.upper())) and CALLS(event("8812"))
    assert CALLS(event(recording_id=123)) and CALLS(event(OTHER, recording_id=7))
    assert not CALLS(event(OTHER)) and not CALLS(event(recording_id=124)) and not CALLS(event())
    assert CALLS.shared(OURS) == OURS and CALLS.shared(OTHER) == OTHER
    assert CALLS.shared_recording(123) == 123 and CALLS.shared_recording(None) is None


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_counts_and_events_are_the_same_with_and_without_the_prefilter(
    tmp_path: Path, newline: str
) -> None:
    log = tmp_path / "bridge.log"
    body = newline.join(LINES).encode() + b"\n\x80\x81 call 8812 -> 404\ncaf\xe9 \xff\n"
    body += f"{LINES[0]} {'x' * (2 * MAX_LINE_CHARS)}\n{LINES[2]}".encode()
    log.write_bytes(body)
    fast, full = filtered_and_full(log)
    assert_same(fast, full)
    assert fast.counts.unreadable and fast.counts.other and fast.counts.examples
    assert {e.call_id for e in fast.events} >= {OURS, LIVE, "8812"}
    assert {e.recording_id for e in fast.events} >= {123, 7}
    assert OTHER not in {e.call_id for e in fast.events}


@pytest.mark.parametrize("block", [7, 4093])
def test_the_prefilter_gives_the_same_whatever_the_block_size(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, block: int
) -> None:
    log = tmp_path / "bridge.log"
    body = "\r\n".join(LINES).encode() + b"\r\ncaf\xe9 call 8812 -> 404\r"
    long_line = LINES[0] + " " + "\u00e9" * MAX_LINE_CHARS  # two bytes each: cut mid-character
    log.write_bytes(body + f"{long_line}\r\n{LINES[2]}".encode())
    whole = filtered_and_full(log)
    monkeypatch.setattr(bridge_log_blocks, "BLOCK_BYTES", block)
    fast, full = filtered_and_full(log)
    assert_same(fast, full)
    assert_same(fast, whole[0])


def test_the_prefilter_gives_the_same_for_gzip_bom_and_utf16_files(tmp_path: Path) -> None:
    text = "\r\n".join(LINES) + "\r\n"
    files = {
        "bom.log": b"\xef\xbb\xbf" + text.encode(),
        "powershell.log": text.encode("utf-16"),
        "bridge.log.1.gz": gzip.compress(text.encode()),
    }
    reads = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        fast, full = filtered_and_full(tmp_path / name)
        assert_same(fast, full)
        reads.append(fast)
    assert reads[0].events == reads[1].events == reads[2].events
    assert reads[0].events  # the filter kept lines in each


_PIECES = st.sampled_from(
    [
        OURS, OURS.upper(), OTHER, OURS[8:], LIVE, f"{LIVE}-2", "8812", "08812", "123", "0123",
        "1230", "-7", "7", "\u0661\u0662\u0663", "call", "call_id", "callId", "cdr_id",
        "recording", "rec", "recId", "Recordings(", "recording_id", "re-cording", ")", "=",
        ": ", '"', "'", " ", "-", "_", "#", ",", "{", "}", "[", "\\u0031", "GET /x/", "-> ",
        "404", "status", "2026-11-18T00:31:02Z", "2026-11-18 11:01:02", "\u00e9", "x",
    ]
)  # fmt: skip


@given(st.lists(_PIECES, max_size=14).map("".join))
def test_no_line_the_prefilter_skips_is_one_the_full_reading_keeps(line: str) -> None:
    for text in (line, json.dumps({"ts": "2026-11-18T00:31:02Z", "msg": line})):
        kind, facts = read_line(text, UTC)
        if CALLS.wants(facts.call_id, facts.recording_id):
            assert CALLS.could_keep(text), text
        assert line_kind(text, UTC) == (kind, facts.readable, facts.about_a_call), text


# ---- lines from binary blocks ----------------------------------------------------------------
def text_wrapper_lines(data: bytes) -> list[str]:
    """Lines as a text wrapper with universal newlines reads them (the reader's old way)."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", errors="replace")
    lines = []
    while line := text.readline(MAX_LINE_CHARS):
        if len(line) == MAX_LINE_CHARS and not line.endswith("\n"):
            while (more := text.readline(MAX_LINE_CHARS)) and not more.endswith("\n"):
                pass
        lines.append(line.rstrip("\r\n"))
    return lines


def block_split(data: bytes) -> list[str]:
    return [line_text(raw) for lines in block_lines(io.BytesIO(data)) for raw in lines]


@pytest.mark.parametrize("block", [1, 2, 3, 5, 7, 64])
def test_blocks_split_lines_as_a_text_wrapper_does(
    monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """Tiny blocks: a boundary lands inside "\\r\\n", inside a line and inside a character."""
    monkeypatch.setattr(bridge_log_blocks, "BLOCK_BYTES", block)
    samples = [
        b"\xef\xbb\xbfone\r\ntwo\rthree\n\nfour",
        "caf\u00e9 \u20ac \U0001f600 end\r\n\u00e9\u00e9\r\r\n".encode(),
        b"bad \xe2\x82 utf8\n\xff\xfe\n\x80",
        b"\r\n\r\n\n\r",
        b"no newline at the end",
        b"",
    ]
    for data in samples:
        assert block_split(data) == text_wrapper_lines(data), data


def test_an_over_long_line_split_across_blocks_keeps_its_first_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bridge_log_blocks, "BLOCK_BYTES", 4093)  # lands mid-character
    long_line = ("\u00e9\u20ac\U0001f600x" * MAX_LINE_CHARS).encode()
    data = b"first\n" + long_line + b"\r\nafter\n" + b"y" * (3 * MAX_LINE_CHARS)
    lines = block_split(data)
    assert lines == text_wrapper_lines(data)
    assert [len(line) for line in lines] == [5, MAX_LINE_CHARS, 5, MAX_LINE_CHARS]


def test_progress_is_reported_as_blocks_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(bridge_log_blocks, "BLOCK_BYTES", 1024)
    log = tmp_path / "bridge.log"
    log.write_text("\n".join(LINES[:3] * 200) + "\n")
    seen = []
    with iter_bridge_events(log, zone=ADELAIDE) as events:
        for _ in events:
            seen.append(events.counts.bytes_read)
        size = events.counts.size
    assert size is not None
    assert seen[0] < seen[-1] <= size  # up to date while reading, not only at the end
    assert events.counts.bytes_read == size
    fast = read_bridge_log(log, zone=ADELAIDE, keep=CALLS)
    assert fast.counts.bytes_read == size and fast.counts.lines == 600
