"""JSON from a PBX is read within limits: never a traceback, never an endless string or number."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.limits import MAX_JSON_DEPTH, MAX_STRING_CHARS
from app.threecx.errors import AnswerTooLarge, UnreadableAnswer
from app.threecx.json_reading import read_json_text
from app.threecx.transport import Transport
from tests.threecx.bounded_server import MB, PEAK_LIMIT, nested, peak_of
from tests.threecx.bounded_server import transport as transport  # a fixture


async def _measured(transport: Transport, path: str) -> tuple[Any, int]:
    return await peak_of(transport.get_json(path))


async def test_a_7_mb_string_is_cut_and_memory_stays_bounded(transport: Transport) -> None:
    body, peak = await _measured(transport, "/huge-string")
    assert isinstance(body, dict)
    assert len(body["value"]) == MAX_STRING_CHARS
    assert body["value"].endswith("…")
    assert peak < PEAK_LIMIT, f"peak {peak / MB:.1f} MB"


async def test_a_10_mb_string_is_past_the_answer_limit(transport: Transport) -> None:
    error, peak = await _measured(transport, "/too-large-string")
    assert isinstance(error, AnswerTooLarge)
    assert "An answer of 10 MB by its Content-Length, over the 8 MB" in str(error)
    assert peak < PEAK_LIMIT, f"peak {peak / MB:.1f} MB"


async def test_a_400_digit_number_is_named_not_a_traceback(transport: Transport) -> None:
    error, peak = await _measured(transport, "/long-number")
    assert isinstance(error, UnreadableAnswer)
    assert "a number 400 digits long" in str(error)
    assert error.endpoint == "/long-number"
    assert peak < PEAK_LIMIT, f"peak {peak / MB:.1f} MB"


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/huge-float", "a number too large to hold"),
        ("/nan", "NaN, which is not a JSON number"),
        ("/deep", f"nesting deeper than {MAX_JSON_DEPTH} levels"),
        ("/deep-100", f"nesting deeper than {MAX_JSON_DEPTH} levels"),
        ("/many-objects", "600,001 objects and lists"),
    ],
)
async def test_absurd_json_is_an_unreadable_answer_naming_it(
    transport: Transport, path: str, named: str
) -> None:
    with pytest.raises(UnreadableAnswer) as caught:
        await transport.get_json(path)
    assert named in str(caught.value)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Infinity", "Infinity, which is not a JSON number"),
        ('{"a": -Infinity}', "-Infinity, which is not a JSON number"),
        ("-" + "1" * 31, "a number 31 digits long"),
        ("1." + "5" * 60, "a number 62 characters long"),
        ("1e999", "a number too large to hold"),
        ('{"a": ', "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (nested(5_000).decode(), "nesting deeper"),  # past CPython's recursion limit
        ('{"a": ' * 65 + "1" + "}" * 65, "nesting deeper"),  # under it: the walk counts
    ],
)
def test_the_reader_names_what_is_wrong(text: str | bytes, named: str) -> None:
    with pytest.raises(UnreadableAnswer) as caught:
        read_json_text(text, "/frame")
    assert named in str(caught.value)
    assert caught.value.endpoint == "/frame"


def test_ordinary_json_reads_unchanged() -> None:
    text = '{"Id": 12345678901234567890, "Rate": 1.5, "Name": "Dina", "Rows": [{"a": [null]}]}'
    assert read_json_text(text) == {
        "Id": 12345678901234567890,
        "Rate": 1.5,
        "Name": "Dina",
        "Rows": [{"a": [None]}],
    }
    assert read_json_text(b"\xef\xbb\xbf[1]") == [1]  # a byte-order mark is not a fault
    assert read_json_text('"' + "x" * 10 + '"') == "x" * 10
    # As deep as the limit allows still reads.
    assert read_json_text("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None


def test_long_keys_and_nested_strings_are_cut() -> None:
    long = "k" * (MAX_STRING_CHARS + 10)
    value = read_json_text(f'{{"{long}": [["{long}"]]}}')
    ((key, inner),) = value.items()
    assert len(key) == MAX_STRING_CHARS and key.endswith("…")
    assert len(inner[0][0]) == MAX_STRING_CHARS


def test_brackets_inside_strings_do_not_count_as_objects() -> None:
    text = '["' + "{" * 600_000 + '"]'
    assert len(read_json_text(text)[0]) == MAX_STRING_CHARS


def test_absurd_numbers_can_read_as_absent_where_every_number_is_optional() -> None:
    """The token answer: a good token with expires_in of 1e400, NaN or 400 digits is still a
    good token (its own exp says how long it lives)."""
    text = '{"access_token": "t", "a": 1e400, "b": NaN, "c": -Infinity, "d": ' + "9" * 400 + "}"
    with pytest.raises(UnreadableAnswer):
        read_json_text(text)
    body = read_json_text(text, absurd_numbers_absent=True)
    assert body == {"access_token": "t", "a": None, "b": None, "c": None, "d": None}
    assert read_json_text('{"e": 60, "f": 1.5}', absurd_numbers_absent=True) == {"e": 60, "f": 1.5}
