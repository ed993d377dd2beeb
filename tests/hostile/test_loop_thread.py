"""The hostile servers' loop forgives only Python 3.11's double connection-lost on a hang-up."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.hostile_pbx import _hang_up_race


class _Handle:
    def __str__(self) -> str:
        return "<Handle _SelectorSocketTransport._call_connection_lost(BrokenPipeError(32))>"


def test_the_double_connection_lost_of_a_hang_up_is_not_news() -> None:
    loop = asyncio.new_event_loop()
    try:
        context = {
            "message": "Exception in callback",
            "exception": AttributeError("'NoneType' object has no attribute 'close'"),
            "handle": _Handle(),
        }
        _hang_up_race(loop, context)  # nothing logged: the harness would fail on it
    finally:
        loop.close()


@pytest.mark.expect_log("asyncio", r"^Exception in callback", level="ERROR")
def test_any_other_error_on_the_loop_is_still_reported() -> None:
    loop = asyncio.new_event_loop()
    try:
        context = {
            "message": "Exception in callback",
            "exception": ValueError("a real bug"),
            "handle": _Handle(),
        }
        _hang_up_race(loop, context)
    finally:
        loop.close()
