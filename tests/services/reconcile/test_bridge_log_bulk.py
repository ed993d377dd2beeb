"""The bridge log read a block at a time: lines settled by their shape must be settled as the
full reading settles them, and the filter's block-wide search must find exactly the lines its
line-by-line test finds. Everything here is ASCII (the only blocks read this way)."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.reconcile import bridge_log_blocks
from app.services.reconcile.bridge_log import MAX_LINE_CHARS, read_bridge_log
from app.services.reconcile.bridge_log_bulk import REST, SETTLED, outcomes
from app.services.reconcile.bridge_log_filter import CallFilter
from app.services.reconcile.bridge_log_lines import line_kind

OURS = "00000000-01dc-0000-0000-0000000008c6"
OTHER = "00000000-01db-0000-0000-0000000008c6"
CALLS = CallFilter([OURS, "261118110003_2246", "8812"], [123, 7])
STAMP = "2026-10-19T00:00:17.530Z"

# The shapes a busy bridge writes (as the bench's log), and near misses of each shape.
SHAPES = [
    f"2026-10-19 00:00:17,014 INFO webhook received: call {OTHER} ended (answered)",
    f'ts={STAMP} level=info call_id={OTHER} msg="contact lookup" method=GET '
    "path=/crm/v3/objects/contacts/search status=200 duration_ms=84",
    json.dumps(
        {
            "ts": STAMP,
            "msg": "fetch recording",
            "call_id": OTHER,
            "recording_id": 10_000_123,
            "path": "/xapi/v1/Recordings/Pbx.DownloadRecording(recId=10000123)",
            "status": 200,
            "attempt": 1,
        }
    ),
    json.dumps({"ts": STAMP, "level": "debug", "msg": "health check ok", "uptime_s": 7}),
    f'ts={STAMP} level=info msg="token refreshed" expires_in=3600',
    "    at process.processTicksAndRejections (node:internal)",
]
NEAR_MISSES = [
    # JSON: a repeated key keeps its last value; nested, escaped, cut short, not an object.
    json.dumps({"ts": STAMP, "call_id": OTHER}).replace("}", ', "call_id": null}'),
    json.dumps({"ts": STAMP, "status": 200}).replace("}", ', "status": "ok"}'),
    json.dumps({"ts": STAMP, "msg": "ok"}).replace("}", ', "ts": "soon"}'),
    json.dumps({"ts": STAMP, "res": {"statusCode": 404}}),
    '{"ts": "' + STAMP + '", "msg": "a \\"quoted\\" word"}',
    '{"ts": "' + STAMP + '", "call_id": "' + OTHER,
    '["ts", "' + STAMP + '"]',
    "{}",
    json.dumps({"ts": "2026-02-29T00:00:17Z", "msg": "ok"}),  # no such day
    json.dumps({"ts": "2026-04-31T00:00:17Z", "msg": "ok"}),
    json.dumps({"ts": "2026-10-19T24:00:00Z", "msg": "ok"}),
    json.dumps({"ts": "2026-12-31T23:59:59.123456789+23:59", "msg": "ok"}),
    json.dumps({"ts": STAMP, "msg": "GET /x -> 404"}),  # the message names a request
    json.dumps({"ts": STAMP, "msg": "call 8812 done"}),
    json.dumps({"ts": STAMP, "msg": "cafebabe-dead-beef-face-deadbeefcafe"}),
    json.dumps({"ts": STAMP, "Status-Code": 404.0}),
    json.dumps({"ts": STAMP, "Status-Code": 404}),
    json.dumps({"ts": STAMP, "HTTP_STATUS": "404 Not Found"}),
    json.dumps({"ts": STAMP, "URL": "/x"}),
    json.dumps({"ts": STAMP, "url": ""}),
    json.dumps({"ts": STAMP, "CallID": OTHER.upper()}),
    json.dumps({"ts": STAMP, "call.id": " " + OTHER}),
    json.dumps({"ts": STAMP, "recording": 5}),
    json.dumps({"ts": 1_760_000_000, "msg": "epoch"}),
    json.dumps({"Time": STAMP, "queue": 0, "ok": True, "x": None, "n": -1.5e3}),
    '  {"ts": "' + STAMP + '" ,"msg":"ok"}  ',
    '{"ts": "' + STAMP + '", "msg": "ok"} trailing',
    '{"ts": "' + STAMP + '", "n": 01}',
    # logfmt: a key inside a quoted value, unquoted quotes, a time with a space, messages.
    f'ts={STAMP} msg="call_id={OTHER}" level=info',
    f'ts={STAMP} level=info msg=a"b status=200',
    "ts=2026-10-19 00:00:17 msg=started",
    'ts="2026-10-19 00:00:17" msg=started',
    f'ts={STAMP} msg="retry 2 later"',
    f"ts={STAMP} msg=ready  level=info",
    f"ts={STAMP} x-status=404",
    f"ts={STAMP} status=4040",
    f"ts={STAMP} Call-ID={OTHER}",
    f"ts={STAMP} path=/x?key=abc",
    f"ts={STAMP} recordingId=12",
    f"t={STAMP} msg=up",
    "level=info msg=up",
    f" ts={STAMP} msg=up",
    f"[ts={STAMP}] call {OTHER} done",
    # text: a GUID glued to a word, to the time, in a first word with "=", in brackets.
    f"2026-10-19 00:00:17 call-{OTHER} done",
    f"2026-10-19 00:00:17 {OTHER}x done",
    f"2026-10-19 00:00:17.12345678-{OTHER[9:]} done",
    f"2026-10-19T00:00:17Z {OTHER}",
    f"[2026-10-19 00:00:17] INFO {OTHER.upper()} ended",
    f"a=b {OTHER} ended",
    f"INFO {OTHER} ended",
    "",
    "   ",
    f"\t{OTHER} ended",
]


def test_every_settled_shape_is_what_the_full_reading_says() -> None:
    lines = SHAPES + NEAR_MISSES
    shapes = outcomes("\n".join(lines))
    assert len(shapes) == len(lines)
    for line, shape in zip(lines, shapes, strict=True):
        if shape != REST:
            assert SETTLED[shape] == line_kind(line, UTC), (shape, line)
    # The busy bridge's shapes are all settled but for the line nobody can read.
    assert shapes[: len(SHAPES)] == [
        "text_about",
        "logfmt_about",
        "json_about",
        "json_other",
        "logfmt_other",
        REST,
    ]


def test_the_filter_finds_in_a_block_the_lines_it_finds_one_by_one() -> None:
    lines = [
        *SHAPES,
        *NEAR_MISSES,
        f"call {OURS}",
        f"x{OURS}",  # the head reaches the line before in a block: no id, as at a line's start
        OURS[1:],
        "GET /xapi/v1/Recordings(123) -> 404",
        "recid=00123x",
        "recording 1230",
        "rec\\u0031",
        "261118110003_2246-2 ok",
        "call 8812",
        "rec 7" + "0" * 5000,
    ]
    text = "\n".join(lines)
    expected = {n for n, line in enumerate(lines) if CALLS.could_keep(line)}
    assert CALLS.lines_it_could_keep(text) == expected
    # The reader passes the lines it has split: their numbers come by bisection, the same.
    assert CALLS.lines_it_could_keep(text, lines) == expected
    assert len(expected) >= 8


_ASCII_PIECES = st.sampled_from(
    [
        OURS, OTHER, OTHER.upper(), "8812", "123", "7", "-", "_", "=", ":", " ", "  ", ", ",
        '"', "'", "{", "}", "[", "]", "\\", "\t", "x", "ok", "0", "404", "200", "/x", "GET ",
        "-> ", "call ", "ts", "time", "status", "statusCode", "call_id", "callId", "path",
        "url", "msg", "message", "recording_id", "recId=", "attempt", "level", "null", "true",
        "1.5", STAMP, "2026-02-29T00:00:17Z", "2026-10-19 00:00:17", "2026-10-19",
    ]
)  # fmt: skip


def _json_line(items: list[tuple[str, object]]) -> str:
    return "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in items) + "}"


_JSON_VALUES = st.one_of(
    st.sampled_from([STAMP, OTHER, OURS, "ok", "GET /x -> 404", "/x", "", " 404", "2026-04-31"]),
    st.integers(-10, 1000),
    st.sampled_from([None, True, 1.5]),
)
_KEYS = st.sampled_from(
    ["ts", "time", "t", "msg", "call_id", "CallID", "status", "http-status", "path", "url",
     "recording", "level", "x", "queue", "Time", "err"]
)  # fmt: skip
_LINES = st.one_of(
    st.lists(_ASCII_PIECES, max_size=14).map("".join),
    st.lists(st.tuples(_KEYS, _JSON_VALUES), max_size=6).map(_json_line),
    st.lists(st.tuples(_KEYS, _ASCII_PIECES), max_size=6).map(
        lambda pairs: " ".join(f"{k}={v}" for k, v in pairs)
    ),
)


@settings(max_examples=300)
@given(st.lists(_LINES, min_size=1, max_size=8))
def test_no_generated_line_is_settled_otherwise_than_the_full_reading(lines: list[str]) -> None:
    lines = [line.replace("\n", " ").replace("\r", " ") for line in lines]
    shapes = outcomes("\n".join(lines))
    assert len(shapes) == len(lines)
    for line, shape in zip(lines, shapes, strict=True):
        if shape != REST:
            assert SETTLED[shape] == line_kind(line, UTC), (shape, line)
    expected = {n for n, line in enumerate(lines) if CALLS.could_keep(line)}
    assert CALLS.lines_it_could_keep("\n".join(lines)) == expected
    assert CALLS.lines_it_could_keep("\n".join(lines), lines) == expected


@pytest.mark.parametrize("block", [97, 4096, 256 * 1024])
def test_a_file_read_by_blocks_gives_the_events_and_counts_of_the_full_reading(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, block: int
) -> None:
    monkeypatch.setattr(bridge_log_blocks, "BLOCK_BYTES", block)
    ours = [
        f"2026-10-19 00:00:17,014 INFO webhook received: call {OURS} ended",
        json.dumps({"ts": STAMP, "call_id": OURS, "path": "/x?key=s3cr3t", "status": 404}),
        f"ts={STAMP} recordingId=123 msg=fetched",
    ]
    lines = (SHAPES + NEAR_MISSES + ours) * 20
    log = tmp_path / "bridge.log"
    log.write_text("\n".join(lines) + "\n", encoding="ascii")
    fast = read_bridge_log(log, zone=UTC, keep=CALLS)
    full = read_bridge_log(log, zone=UTC, keep=lambda event: CALLS(event))
    assert fast.events == full.events
    assert fast.counts == full.counts
    assert len(fast.events) >= 3 * 20
    assert all("s3cr3t" not in (e.path or "") + e.text for e in fast.events)


def test_an_over_long_ascii_line_is_cut_as_the_full_reading_cuts_it(tmp_path: Path) -> None:
    ours = json.dumps({"ts": STAMP, "call_id": OURS, "status": 404})
    log = tmp_path / "bridge.log"
    log.write_text(f"{SHAPES[0]}\n{ours} {'x' * (2 * MAX_LINE_CHARS)}\n{ours}\n{SHAPES[4]}\n")
    fast = read_bridge_log(log, zone=UTC, keep=CALLS)
    full = read_bridge_log(log, zone=UTC, keep=lambda event: CALLS(event))
    assert fast.events == full.events and fast.counts == full.counts
    assert fast.counts.lines == 4 and fast.counts.events == 3 and len(fast.events) == 2
