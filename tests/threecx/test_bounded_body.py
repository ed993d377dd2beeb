"""Bodies are read within a size limit counted while they decompress: a bomb is refused early.

Real sockets: a misbehaving aiohttp server on loopback, the real Transport. Memory is measured
with tracemalloc (the server runs in this process too, and streams its bomb a piece at a time).
"""

from __future__ import annotations

import zlib

import pytest

from app.domain.limits import BINARY_ANSWER_LIMIT, JSON_ANSWER_LIMIT
from app.threecx.bounded_body import PIECE, BoundedDecoder, limit_for
from app.threecx.errors import AnswerTooLarge, UnreadableAnswer
from app.threecx.transport import Transport
from tests.threecx.bounded_server import MB, PEAK_LIMIT, bomb, peak_of
from tests.threecx.bounded_server import transport as transport  # a fixture


async def _peak_while(transport: Transport, path: str) -> tuple[AnswerTooLarge, int]:
    caught, peak = await peak_of(transport.request("GET", path))
    assert isinstance(caught, AnswerTooLarge), f"{path} was read whole"
    return caught, peak


async def test_a_gzip_bomb_is_refused_while_it_decompresses(transport: Transport) -> None:
    error, peak = await _peak_while(transport, "/bomb")  # 128 MB of zeros, about 128 KB sent
    assert "A gzip answer that grew past 8 MB while decompressing" in str(error)
    assert error.endpoint == "/bomb"
    assert peak < PEAK_LIMIT, f"peak {peak / MB:.1f} MB"


async def test_a_gzip_of_gzip_bomb_is_refused_without_inflating_a_layer_whole(
    transport: Transport,
) -> None:
    # httpx's own decoder would inflate the outer layer's 64 KB chunk to ~64 MB of inner gzip,
    # and that to gigabytes; piece-wise inflation never holds more than the limit.
    error, peak = await _peak_while(transport, "/double-bomb")
    assert "A gzip, gzip answer that grew past 8 MB while decompressing" in str(error)
    assert peak < PEAK_LIMIT, f"peak {peak / MB:.1f} MB"


async def test_a_caller_can_ask_for_a_smaller_limit(transport: Transport) -> None:
    with pytest.raises(AnswerTooLarge, match="grew past 2 MB"):
        await transport.request("GET", "/audio-bomb", limit=2 * MB)


async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    transport: Transport,
) -> None:
    with pytest.raises(AnswerTooLarge, match="4096 MB by its Content-Length"):
        await transport.request("GET", "/declared-huge")


async def test_a_small_gzip_answer_reads_as_usual(transport: Transport) -> None:
    response = await transport.request("GET", "/small-gzip")
    assert response.json() == {"value": [1, 2, 3]}
    assert "content-encoding" not in response.headers  # already decoded: not decoded twice
    assert await transport.get_json("/small-gzip") == {"value": [1, 2, 3]}


async def test_an_encoding_not_asked_for_is_named(transport: Transport) -> None:
    with pytest.raises(UnreadableAnswer, match="compressed as 'br'"):
        await transport.request("GET", "/brotli")


def test_the_limit_follows_the_declared_type() -> None:
    assert limit_for("application/json; charset=utf-8") == JSON_ANSWER_LIMIT
    assert limit_for("text/html") == JSON_ANSWER_LIMIT
    assert limit_for(None) == JSON_ANSWER_LIMIT
    assert limit_for("audio/x-wav") == BINARY_ANSWER_LIMIT


def test_the_decoder_never_makes_a_large_piece() -> None:
    # The bound is on every step, not only on the total.
    sizes: list[int] = []
    decoder = BoundedDecoder(["gzip"], 8 * MB)
    keep = decoder._keep

    def spy(piece: bytes) -> None:
        sizes.append(len(piece))
        keep(piece)

    decoder._keep = spy  # type: ignore[method-assign]
    for chunk in bomb(4 * MB, chunk=MB):
        decoder.feed(chunk)
    body = decoder.finish()
    assert body == bytes(4 * MB)
    assert max(sizes) <= PIECE


def test_multi_member_gzip_and_raw_deflate_decode() -> None:
    members = zlib.compress(b"ab", wbits=31) + zlib.compress(b"cd", wbits=31)
    decoder = BoundedDecoder(["gzip"], MB)
    decoder.feed(members)
    assert decoder.finish() == b"abcd"
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    decoder = BoundedDecoder(["deflate"], MB)
    decoder.feed(raw.compress(b"{}") + raw.flush())
    assert decoder.finish() == b"{}"


def test_broken_compression_is_unreadable_not_a_traceback() -> None:
    decoder = BoundedDecoder(["gzip"], MB)
    with pytest.raises(UnreadableAnswer, match="does not decompress"):
        decoder.feed(b"\x1f\x8b\x08\x00garbage-after-the-magic")
