"""The bridge log reader: three line formats mixed in one file, zones, unreadable lines,
secrets, and a large log read in bounded memory."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.domain.reconcile.records import BridgeEvent, BridgeSource
from app.services.reconcile.bridge_log import (
    EXAMPLES_KEPT,
    MAX_LINE_CHARS,
    PASTED,
    TEXT_CHARS,
    BridgeLogError,
    iter_bridge_events,
    read_bridge_log,
)
from app.services.reconcile.bridge_log_lines import LogFormat

ADELAIDE = ZoneInfo("Australia/Adelaide")  # +10:30 in November: a zone no machine runs in
GUID = "00000000-01dc-0000-0000-0000000008c6"
PATH = "/xapi/v1/Recordings(123)/Pbx.DownloadRecording()"
AT_UTC = datetime(2026, 11, 18, 0, 31, 2, 120_000, tzinfo=UTC)

JSON_LINE = json.dumps(
    {
        "ts": "2026-11-18T00:31:02.120Z",
        "level": "info",
        "msg": "fetch recording",
        "call_id": GUID,
        "recording_id": 123,
        "method": "GET",
        "path": PATH,
        "status": 404,
        "attempt": 1,
    }
)
LOGFMT_LINE = (
    f"ts=2026-11-18T00:31:02.120Z level=warn call_id={GUID} method=GET path={PATH} "
    'status=404 attempt=2 msg="not there yet"'
)
TEXT_LINE = (
    "2026-11-18 11:01:02,120 INFO GET https://pbx.example.com/xapi/v1/Recordings(123)/"
    f"Pbx.DownloadRecording() -> 404 (call {GUID}, attempt 2)"
)


def one(line: str, zone: ZoneInfo = ADELAIDE) -> BridgeEvent:
    read = read_bridge_log([line], zone=zone)
    assert read.counts.unreadable == 0, read.counts.examples
    assert len(read.events) == 1
    return read.events[0]


def test_a_json_line_gives_every_fact() -> None:
    event = one(JSON_LINE)
    assert event == BridgeEvent(
        line=1,
        at=AT_UTC,
        call_id=GUID,
        recording_id=123,
        method="GET",
        path=PATH,
        status=404,
        attempt=1,
        text="",  # a request is shown by its method and path: its line is not held
        source=BridgeSource.BRIDGE_LOG,
    )
    assert event.asks_for_recording


def test_a_logfmt_line_gives_every_fact() -> None:
    event = one(LOGFMT_LINE)
    assert (event.at, event.call_id, event.recording_id) == (AT_UTC, GUID, 123)
    assert (event.method, event.path, event.status, event.attempt) == ("GET", PATH, 404, 2)


def test_a_plain_text_line_gives_every_fact_in_the_hosts_zone() -> None:
    event = one(TEXT_LINE)
    assert event.at == datetime(2026, 11, 18, 11, 1, 2, 120_000, tzinfo=ADELAIDE)
    assert (event.call_id, event.recording_id) == (GUID, 123)
    # The host adds nothing to the join: the path is kept without it.
    assert (event.method, event.path, event.status, event.attempt) == ("GET", PATH, 404, 2)


@pytest.mark.parametrize("key", ["ts", "time", "timestamp", "@timestamp"])
def test_json_time_keys(key: str) -> None:
    assert one(json.dumps({key: "2026-11-18T00:31:02.120Z", "call_id": GUID})).at == AT_UTC


@pytest.mark.parametrize("key", ["call_id", "callId", "call", "CallHistoryId", "MainCallHistoryId"])
def test_json_call_id_keys(key: str) -> None:
    assert one(json.dumps({"ts": "2026-11-18T00:31:02Z", key: GUID})).call_id == GUID


@pytest.mark.parametrize("key", ["recording_id", "recordingId"])
def test_json_recording_id_keys(key: str) -> None:
    assert one(json.dumps({"ts": "2026-11-18T00:31:02Z", key: 77})).recording_id == 77


@pytest.mark.parametrize("key", ["status", "status_code", "http_status"])
def test_json_status_keys(key: str) -> None:
    assert one(json.dumps({"call_id": GUID, key: 401})).status == 401


@pytest.mark.parametrize("key", ["attempt", "try", "retry"])
def test_json_attempt_keys(key: str) -> None:
    assert one(json.dumps({"call_id": GUID, key: 3})).attempt == 3


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("time=2026-11-18T00:31:02.120Z callId=8812 status_code=401 try=2", ("8812", 401, 2)),
        (
            f"timestamp=2026-11-18T00:31:02.120Z CallHistoryId={GUID} http_status=200 retry=1",
            (GUID, 200, 1),
        ),
        (
            '@timestamp="2026-11-18T00:31:02.120Z" MainCallHistoryId=261118110003_2246 status=403',
            ("261118110003_2246", 403, None),
        ),
    ],
)
def test_logfmt_key_aliases(line: str, expected: tuple[str, int, int | None]) -> None:
    event = one(line)
    assert event.at == AT_UTC
    assert (event.call_id, event.status, event.attempt) == expected


def test_logfmt_quoted_values_and_a_recording_id_key() -> None:
    event = one('ts=2026-11-18T00:31:02Z msg="GET failed \\"late\\"" recordingId=9 call=8812')
    assert (event.recording_id, event.call_id) == (9, "8812")


@pytest.mark.parametrize(
    ("line", "status"),
    [
        ("2026-11-18 11:01:02 GET /xapi/v1/Recordings(5)/Pbx.DownloadRecording() status 404", 404),
        ("2026-11-18 11:01:02 GET /xapi/v1/Recordings(5) status=401", 401),
        ("2026-11-18 11:01:02 GET /xapi/v1/Recordings(5) HTTP 403", 403),
        ('2026-11-18 11:01:02 "GET /xapi/v1/Recordings(5) HTTP/1.1" 404 512', 404),
        ("2026-11-18 11:01:02 GET /xapi/v1/Recordings(5) - 200", 200),
        ("2026-11-18 11:01:02 GET /xapi/v1/Recordings(5) -> 500", 500),
        (
            "2026-11-18 11:01:02 ERROR 404 Client Error: Not Found for url: /xapi/v1/Recordings(5)",
            404,
        ),
    ],
)
def test_plain_text_statuses(line: str, status: int) -> None:
    event = one(line)
    assert (event.status, event.recording_id) == (status, 5)


@pytest.mark.parametrize(
    ("words", "attempt"), [("attempt 3", 3), ("try 2", 2), ("retry 4", 4), ("attempt #5/6", 5)]
)
def test_plain_text_attempts(words: str, attempt: int) -> None:
    assert one(f"2026-11-18 11:01:02 call 8812 {words}").attempt == attempt


def test_retry_in_seconds_is_not_an_attempt() -> None:
    assert one("2026-11-18 11:01:02 call 8812 404, retry in 30s").attempt is None


@pytest.mark.parametrize(
    ("text", "call_id"),
    [
        (f"fetched {GUID}", GUID),
        ("webhook for 261118110003_2246 arrived", "261118110003_2246"),
        ("transfer 210701165649_698-2", "210701165649_698-2"),
        ("call 8812 answered", "8812"),
        ("CallId=8812 answered", "8812"),
        ("CdrId: 00000000-01dc-0000-0000-0000000008c7", "00000000-01dc-0000-0000-0000000008c7"),
    ],
)
def test_plain_text_call_ids(text: str, call_id: str) -> None:
    assert one(f"2026-11-18 11:01:02 INFO {text}").call_id == call_id


def test_a_number_is_not_a_call_id_without_a_label() -> None:
    read = read_bridge_log(["2026-11-18 11:01:02 INFO queue length 8812"], zone=ADELAIDE)
    assert read.events == ()
    assert read.counts.other == 1


def test_a_call_followed_by_a_date_is_not_a_numeric_id() -> None:
    assert one("2026-11-18 11:01:02 call 2026-11-18 GET /x -> 200").call_id is None


def test_nested_json_and_a_message_fill_in_what_keys_leave_out() -> None:
    nested = one(
        json.dumps(
            {
                "time": 1_763_425_862_120,  # epoch milliseconds, as JavaScript loggers write
                "req": {"method": "get", "url": f"https://pbx.example.com{PATH}"},
                "res": {"statusCode": 404},
                "msg": f"recording not ready for call {GUID} (attempt 3)",
            }
        )
    )
    assert nested.at == datetime(2025, 11, 18, 0, 31, 2, 120_000, tzinfo=UTC)
    assert (nested.method, nested.path, nested.status) == ("GET", PATH, 404)
    assert (nested.call_id, nested.recording_id, nested.attempt) == (GUID, 123, 3)


def test_a_json_line_cut_short_is_read_as_text() -> None:
    event = one(f'{{"ts": "2026-11-18T00:31:02Z", "call_id": "{GUID}", "status": 40')
    assert event.call_id == GUID


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-11-18T11:01:02", datetime(2026, 11, 18, 11, 1, 2, tzinfo=ADELAIDE)),
        ("2026-11-18 11:01:02.5", datetime(2026, 11, 18, 11, 1, 2, 500_000, tzinfo=ADELAIDE)),
        ("2026-11-18T00:31:02Z", datetime(2026, 11, 18, 0, 31, 2, tzinfo=UTC)),
        (
            "2026-11-18T11:01:02+10:00",
            datetime(2026, 11, 18, 11, 1, 2, tzinfo=timezone(timedelta(hours=10))),
        ),
        (
            "2026-11-18 11:01:02,120 -0500",
            datetime(2026, 11, 18, 11, 1, 2, 120_000, tzinfo=timezone(timedelta(hours=-5))),
        ),
        ("[2026-11-18T00:31:02.123456789Z]", datetime(2026, 11, 18, 0, 31, 2, 123_456, UTC)),
    ],
)
def test_plain_text_timestamps(stamp: str, expected: datetime) -> None:
    event = one(f"{stamp} INFO call 8812")
    assert event.at == expected
    assert event.at is not None and event.at.utcoffset() == expected.utcoffset()


def test_a_naive_time_is_read_in_the_zone_given_not_the_machines() -> None:
    line = "2026-11-18 11:01:02 INFO call 8812"
    in_adelaide = one(line, ADELAIDE).at
    in_new_york = one(line, ZoneInfo("America/New_York")).at
    assert in_adelaide is not None and in_new_york is not None
    assert in_new_york - in_adelaide == timedelta(hours=15, minutes=30)
    # A written zone wins over the one given.
    assert one("2026-11-18T00:31:02Z call 8812", ZoneInfo("America/New_York")).at == datetime(
        2026, 11, 18, 0, 31, 2, tzinfo=UTC
    )


def test_mixed_formats_in_one_file(tmp_path: Path) -> None:
    log = tmp_path / "bridge.log"
    log.write_text(
        "\n".join([JSON_LINE, LOGFMT_LINE, TEXT_LINE, "", "2026-11-18 11:01:09 INFO idle"]) + "\n"
    )
    read = read_bridge_log(log, zone=ADELAIDE)
    assert [e.line for e in read.events] == [1, 2, 3]
    assert {e.call_id for e in read.events} == {GUID}
    counts = read.counts
    assert (counts.source, counts.lines, counts.events, counts.other) == (str(log), 5, 3, 1)
    assert counts.formats == {LogFormat.JSON: 1, LogFormat.LOGFMT: 1, LogFormat.TEXT: 2}
    assert counts.unreadable == 0 and counts.unreadable_summary() is None
    assert counts.bytes_read == counts.size == log.stat().st_size


def test_unreadable_lines_are_counted_with_a_few_shortened_examples() -> None:
    noise = ["Traceback (most recent call last):", "  File 'x.py', line 3"] + [
        f"    frame {n} " + "x" * 400 for n in range(6)
    ]
    lines = [TEXT_LINE, *noise, LOGFMT_LINE]
    read = read_bridge_log(lines, zone=ADELAIDE)
    counts = read.counts
    assert len(read.events) == 2 and counts.source == PASTED
    assert counts.unreadable == len(noise) == 8
    assert [e.line for e in counts.examples] == [2, 3, 4, 5, 6][:EXAMPLES_KEPT]
    assert counts.examples[0].text == "Traceback (most recent call last):"
    assert all(len(e.text) <= 160 for e in counts.examples)
    assert counts.examples[2].text.endswith("…")
    assert counts.unreadable_summary() == (
        "8 lines of pasted log could not be read (no time, call id or HTTP status found): "
        "line 2, 3, 4, 5, 6 and more."
    )


def test_pasted_text_in_one_piece_is_split_into_lines() -> None:
    read = read_bridge_log([f"{JSON_LINE}\r\n{TEXT_LINE}\nnot a log line"], zone=ADELAIDE)
    assert [e.line for e in read.events] == [1, 2]
    assert [x.line for x in read.counts.examples] == [3]


def test_bad_utf8_is_replaced_not_fatal(tmp_path: Path) -> None:
    log = tmp_path / "bridge.log"
    log.write_bytes(
        b"2026-11-18 11:01:02 INFO caf\xe9 \xff\xfe call 8812 -> 404\n"
        + TEXT_LINE.encode()
        + b"\n\x80\x81\x82\n"
    )
    read = read_bridge_log(log, zone=ADELAIDE)
    assert [(e.call_id, e.status) for e in read.events] == [("8812", 404), (GUID, 404)]
    assert "\ufffd" in read.events[0].text
    assert read.counts.unreadable == 1


def test_crlf_utf8_bom_utf16_and_gzip_files(tmp_path: Path) -> None:
    text = f"{JSON_LINE}\r\n{TEXT_LINE}\r\n"
    files = {
        "bom.log": b"\xef\xbb\xbf" + text.encode(),
        "powershell.log": text.encode("utf-16"),  # PowerShell's ">" writes UTF-16 with a BOM
        "bridge.log.1.gz": gzip.compress(text.encode()),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        read = read_bridge_log(tmp_path / name, zone=ADELAIDE)
        assert [(e.line, e.call_id, e.at, e.path) for e in read.events] == [
            (1, GUID, AT_UTC, PATH),
            (2, GUID, datetime(2026, 11, 18, 11, 1, 2, 120_000, tzinfo=ADELAIDE), PATH),
        ], name


def test_secrets_never_reach_the_kept_text() -> None:
    lines = [
        "2026-11-18 11:01:02 DEBUG token asked Authorization: Bearer abc.def.ghi "
        "client_secret=xyz -> 200",
        '{"ts": "2026-11-18T00:31:02Z", "call_id": "8812", "headers": {"Authorization": '
        '"Basic dXNlcjpwYXNz"}, "password": "hunter two", "status": 401}',
        "ts=2026-11-18T00:31:02Z call_id=8812 url=/x?key=k3y&api_key=s3cr3t status=200",
        "2026-11-18 11:01:03 DEBUG token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl",
        "Authorization: Bearer abc.def.ghi client_secret=xyz",  # unreadable: an example
    ]
    read = read_bridge_log(lines, zone=ADELAIDE)
    kept = [e.text for e in read.events] + [x.text for x in read.counts.examples]
    kept += [e.path or "" for e in read.events]
    for secret in ("abc.def.ghi", "xyz", "dXNlcjpwYXNz", "hunter", "k3y", "s3cr3t", "eyJ"):
        assert not [text for text in kept if secret in text], secret
    assert read.events[0].text == (
        "2026-11-18 11:01:02 DEBUG token asked Authorization: *** client_secret=*** -> 200"
    )
    assert '"password": "***"' in read.events[1].text
    assert read.events[2].path == "/x?key=***&api_key=***"
    assert read.counts.examples[0].text == "Authorization: *** client_secret=***"


def test_an_event_text_is_shortened() -> None:
    event = one(f"2026-11-18 11:01:02 INFO call {GUID} ended {'detail ' * 200}")
    assert len(event.text) == TEXT_CHARS and event.text.endswith("…")


def test_only_a_line_that_narrates_keeps_its_text() -> None:
    """The timeline shows a request by its method, path and status; a narrating line by its
    words. A large log keeps a million requests: their lines are not held."""
    narrative = f"2026-11-18 11:01:02 WARN recording for call {GUID} not ready -> 404"
    read = read_bridge_log([JSON_LINE, LOGFMT_LINE, TEXT_LINE, narrative], zone=ADELAIDE)
    assert [(e.path, e.text) for e in read.events] == [
        (PATH, ""),
        (PATH, ""),
        (PATH, ""),
        (None, narrative),
    ]
    assert read.events[3].status == 404


def test_an_over_long_line_is_read_in_part_and_the_next_line_still_read(tmp_path: Path) -> None:
    log = tmp_path / "bridge.log"
    log.write_text(f"{TEXT_LINE} {'x' * (3 * MAX_LINE_CHARS)}\n{LOGFMT_LINE}\n")
    read = read_bridge_log(log, zone=ADELAIDE)
    assert [(e.line, e.status, e.attempt) for e in read.events] == [(1, 404, 2), (2, 404, 2)]
    assert read.counts.lines == 2


def test_keep_holds_only_the_events_asked_for() -> None:
    lines = [
        json.dumps({"ts": "2026-11-18T00:31:02Z", "call_id": f"{n}", "status": 200})
        for n in range(10)
    ]
    read = read_bridge_log(lines, zone=ADELAIDE, keep=lambda e: e.call_id in {"3", "7"})
    assert [e.call_id for e in read.events] == ["3", "7"]
    assert read.counts.events == 10


def test_a_file_that_cannot_be_opened_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "bridge.log"
    with pytest.raises(BridgeLogError, match=r"Cannot read the bridge log .*nowhere.*bridge\.log"):
        iter_bridge_events(missing, zone=ADELAIDE)
    with pytest.raises(BridgeLogError, match="Cannot read the bridge log"):
        read_bridge_log(tmp_path, zone=ADELAIDE)  # a folder


def test_the_iterator_counts_as_it_goes_and_closes_its_file(tmp_path: Path) -> None:
    log = tmp_path / "bridge.log"
    log.write_text(f"{JSON_LINE}\n{TEXT_LINE}\n")
    with iter_bridge_events(log, zone=ADELAIDE) as events:
        first = next(events)
        assert (first.line, events.counts.events) == (1, 1)
    abandoned = iter_bridge_events(log, zone=ADELAIDE)
    abandoned.close()  # never started: the file is closed all the same (no ResourceWarning)


LARGE_LINES = 200_000


def write_large_log(path: Path) -> None:
    """A day of a busy bridge: the three formats in turn, one line in 50 unreadable."""
    start = datetime(2026, 11, 18, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as log:
        for n in range(LARGE_LINES):
            at = start + timedelta(seconds=n)
            call = f"00000000-01dc-0000-0000-{n:012x}"
            if n % 50 == 49:
                log.write(f"    at handler (bridge.js:{n})\n")
            elif n % 3 == 0:
                log.write(
                    json.dumps({"ts": at.isoformat(), "call_id": call, "path": PATH, "status": 404})
                    + "\n"
                )
            elif n % 3 == 1:
                log.write(f"ts={at.isoformat()} call_id={call} status=200 attempt=1\n")
            else:
                log.write(f"{at:%Y-%m-%d %H:%M:%S},000 INFO GET {PATH} -> 401 (call {call})\n")


def test_a_large_log_is_streamed_in_bounded_memory(tmp_path: Path) -> None:
    log = tmp_path / "large.log"
    write_large_log(log)
    size_mb = log.stat().st_size / 2**20
    tracemalloc.start()
    try:
        with iter_bridge_events(log, zone=ADELAIDE) as events:
            statuses = sum(1 for event in events if event.status == 401)
            counts = events.counts
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size_mb > 20  # the whole file read at once would dwarf the bound
    assert peak < 2 * 2**20  # measured: well under 0.5 MB
    unreadable = LARGE_LINES // 50
    assert (counts.lines, counts.unreadable) == (LARGE_LINES, unreadable)
    assert counts.events == LARGE_LINES - unreadable
    assert statuses == sum(1 for n in range(LARGE_LINES) if n % 50 != 49 and n % 3 == 2)
    assert len(counts.examples) == EXAMPLES_KEPT


def test_v20_download_paths_and_odata_quotes_are_kept_whole() -> None:
    event = one(
        "2026-11-18 11:01:02,120 WARNING GET https://pbx.example.com/xapi/v1/Recordings/"
        "Pbx.DownloadRecording(recId=4) -> 404 (call 00000000-01dc-0000-0000-0000000004f7, "
        "recording 4, attempt 1)"
    )
    assert (event.path, event.recording_id, event.status, event.attempt) == (
        "/xapi/v1/Recordings/Pbx.DownloadRecording(recId=4)",
        4,
        404,
        1,
    )
    report = one(
        "2026-11-18 11:01:02 INFO GET /xapi/v1/ReportCallLogData/Pbx.GetCallLogData("
        "sourceFilter='',callsType=0) -> 200 (call 8812)"
    )
    assert (
        report.path == "/xapi/v1/ReportCallLogData/Pbx.GetCallLogData(sourceFilter='',callsType=0)"
    )
    assert report.recording_id is None and not report.asks_for_recording


def test_upper_case_guids_are_given_in_lower_case() -> None:
    assert one(f"2026-11-18 11:01:02 call {GUID.upper()}").call_id == GUID
    assert one(json.dumps({"ts": "2026-11-18T00:31:02Z", "callId": GUID.upper()})).call_id == GUID


def test_absurd_json_is_not_fatal() -> None:
    deep = '{"a":' * 20_000 + "1" + "}" * 20_000
    odd = json.dumps({"ts": [1], "call_id": {"id": 1}, "status": 1e300, "attempt": True})
    read = read_bridge_log([deep, odd, "[1, 2]", "{}"], zone=ADELAIDE)
    assert read.events == ()
    assert read.counts.unreadable == 4
