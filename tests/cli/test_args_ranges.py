"""Every number on the command line is range-checked: exit 2 naming the option, the value and
the range; never a traceback, a hang or a silently accepted ``nan``.

Run through the real parser and ``main``; nothing here reaches a PBX.
"""

from __future__ import annotations

import argparse

import pytest

from app.cli.entry import build_parser, main
from app.domain.cli_ranges import (
    DEADLINE_S,
    RETENTION_DAYS,
    TIMEOUT_S,
    WATCH_S,
    NumberRange,
    ranged,
)

CONNECTION = ["--url", "pbx.example.com", "--client-id", "900", "--secret-env", "PBX_KEY"]
DOCTOR = ["doctor", *CONNECTION]
INFO = ["pbx", "info", *CONNECTION]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        # Values that used to hang, slip through or give a traceback.
        (
            [*DOCTOR, "--watch", "inf"],
            "argument --watch: 'inf' is not a finite number of seconds (0 to 3600 seconds; 0: off)",
        ),
        ([*DOCTOR, "--watch", "nan"], "argument --watch: 'nan' is not a finite number"),
        ([*DOCTOR, "--watch", "-3"], "argument --watch: '-3' is out of range (0 to 3600"),
        ([*DOCTOR, "--watch", "3601"], "argument --watch: '3601' is out of range"),
        ([*INFO, "--timeout", "inf"], "argument --timeout: 'inf' is not a finite number"),
        ([*INFO, "--timeout", "0"], "argument --timeout: '0' is out of range (0.5 to 300"),
        ([*DOCTOR, "--timeout", "1e400"], "argument --timeout: '1e400' is not a finite number"),
        (
            [*DOCTOR, "--required-retention-days", "99999999999999999999"],
            "argument --required-retention-days: '99999999999999999999' is out of range "
            "(1 to 3650 days)",
        ),
        (
            [*DOCTOR, "--required-retention-days", "9" * 400],
            "argument --required-retention-days: '999999999999999999999999…' is too long",
        ),
        (
            [*DOCTOR, "--required-retention-days", "1.5"],
            "argument --required-retention-days: '1.5' is not a whole number of days",
        ),
        ([*DOCTOR, "--required-retention-days", "0"], "'0' is out of range (1 to 3650 days)"),
        ([*DOCTOR, "--bridge-window", "0"], "argument --bridge-window: '0' is out of range"),
        ([*DOCTOR, "--bridge-window", "nan"], "argument --bridge-window: 'nan' is not a finite"),
        ([*DOCTOR, "--deadline", "inf"], "argument --deadline: 'inf' is not a finite number"),
        ([*DOCTOR, "--deadline", "0"], "argument --deadline: '0' is out of range (1 to 3600"),
        ([*INFO, "--deadline", "-1"], "argument --deadline: '-1' is out of range"),
        (
            ["pbx", "calls", *CONNECTION, "--days", "0"],
            "argument --days: '0' is out of range (more than 0, up to 3650 days)",
        ),
        (["pbx", "calls", *CONNECTION, "--days", "inf"], "argument --days: 'inf' is not a finite"),
        (["pbx", "recordings", *CONNECTION, "--limit", "0"], "argument --limit: '0' is out of"),
        (
            ["pbx", "recordings", *CONNECTION, "--limit", "99999999999"],
            "argument --limit: '99999999999' is out of range (1 to 20000 rows)",
        ),
        (
            ["pbx", "download", *CONNECTION, "--out", "x.wav", "-5"],
            "argument recording_id: '-5' is out of range (1 to 2147483647)",
        ),
        (
            ["pbx", "download", *CONNECTION, "--out", "x.wav", "1e3"],
            "argument recording_id: '1e3' is not a whole number (1 to 2147483647)",
        ),
        (["pbx", "watch", *CONNECTION, "--seconds", "inf"], "argument --seconds: 'inf' is not"),
        (["pbx", "watch", *CONNECTION, "--seconds", "0"], "argument --seconds: '0' is out of"),
        (["--demo", "--demo-seconds", "nan"], "argument --demo-seconds: 'nan' is not a finite"),
        (
            ["connections", "add", "Site", *CONNECTION, "--timeout", "nan"],
            "argument --timeout: 'nan' is not a finite number",
        ),
        (["keys", "rotate", "Site", "--secret-stdin", "--timeout", "-1"], "argument --timeout"),
        (["fleet", "sweep", "--concurrency", "0"], "'0' is out of range (1 to 100 PBXs at a time)"),
        (
            ["fleet", "sweep", "--concurrency", "1e9"],
            "argument --concurrency: '1e9' is not a whole",
        ),
        (["fleet", "sweep", "--processes", "17"], "argument --processes: '17' is out of range"),
        (["reconcile", "--crm-activities", "x.csv", "--days", "93"], "'93' is out of range"),
        # The simulator's own knobs.
        (["sim", "--port", "70000"], "argument --port: '70000' is out of range (0 to 65535)"),
        (["sim", "--latency-ms", "inf"], "argument --latency-ms: 'inf' is not a whole number"),
        (["sim", "--calls-per-minute", "nan"], "argument --calls-per-minute: 'nan' is not"),
        (["sim", "--recording-delay", "-1"], "argument --recording-delay: '-1' is out of range"),
        (["sim", "--seed", "-1"], "argument --seed: '-1' is out of range"),
    ],
)
def test_a_bad_number_exits_2_naming_option_value_and_range(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert says in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "attribute", "value"),
    [
        ([*DOCTOR, "--watch", "0"], "watch", 0.0),  # 0: no watch
        ([*DOCTOR, "--watch", "90"], "watch", 90.0),
        ([*DOCTOR, "--required-retention-days", "3650"], "required_retention_days", 3650),
        ([*DOCTOR, "--deadline", "2"], "deadline", 2.0),
        ([*DOCTOR], "deadline", 90.0),
        ([*INFO], "deadline", 90.0),
        (["pbx", "download", *CONNECTION, "--out", "x.wav", "7"], "deadline", 600.0),
        (["pbx", "download", *CONNECTION, "--out", "x.wav", "7"], "recording_id", 7),
        (["pbx", "calls", *CONNECTION, "--days", "0.5"], "days", 0.5),
        ([*INFO, "--timeout", " 2.5 "], "timeout", 2.5),
        (["fleet", "sweep", "--concurrency", "100"], "concurrency", 100),
    ],
)
def test_values_in_range_are_taken(argv: list[str], attribute: str, value: float) -> None:
    parsed = build_parser().parse_args(argv)
    assert getattr(parsed, attribute) == value
    assert type(getattr(parsed, attribute)) is type(value)


def test_a_watch_has_no_deadline_but_its_own_seconds() -> None:
    parsed = build_parser().parse_args(["pbx", "watch", *CONNECTION, "--seconds", "30"])
    assert parsed.seconds == 30.0 and not hasattr(parsed, "deadline")


def test_every_numeric_option_is_range_checked() -> None:
    """No option of any command takes a bare int or float: each goes through one range."""
    unchecked: list[str] = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")
            elif action.type in (int, float):
                unchecked.append(f"{path} {action.dest}")

    walk(build_parser(), "pbx-companion")
    assert unchecked == []


def test_the_ranges_say_why_in_words() -> None:
    assert WATCH_S.describe() == "0 to 3600 seconds; 0: off"
    assert TIMEOUT_S.describe() == "0.5 to 300 seconds"
    assert RETENTION_DAYS.describe() == "1 to 3650 days"
    assert DEADLINE_S.describe() == "1 to 3600 seconds"
    spin = NumberRange("turns", 0, 10, above_low=True)
    assert spin.describe() == "more than 0, up to 10 turns"
    with pytest.raises(argparse.ArgumentTypeError, match=r"'0' is out of range \(more than 0"):
        ranged(spin)("0")


def test_the_feed_benchmarks_simulator_rate_is_in_range() -> None:
    """`make bench` drives the simulator at 1,000 Call Control events a second (about 13,600
    calls a minute): the sim's own range must allow it, or the bench cannot start."""
    args = build_parser().parse_args(["sim", "--calls-per-minute", "13636"])
    assert args.calls_per_minute == 13636
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sim", "--calls-per-minute", "1e9"])
