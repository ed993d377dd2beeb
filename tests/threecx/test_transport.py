"""The transport's own contract: a cancelled request is cancelled, whenever the cancel lands."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.threecx.transport import Transport


async def test_a_cancel_is_never_lost_when_the_answer_arrives_in_the_same_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A caller's deadline (the doctor's watch) cancels its task once; if the request swallowed
    # that cancel because its answer had just arrived, the caller would poll forever.
    transport = Transport("http://pbx.invalid")

    async def answer_at_once(request: httpx.Request, **_: Any) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"Content-Type": "application/json"},
            stream=httpx.ByteStream(b"{}"),
            request=request,
        )

    monkeypatch.setattr(transport._client, "send", answer_at_once)
    try:
        for ticks in range(8):  # land the cancel at every step of the request in turn
            task = asyncio.create_task(transport.request("GET", "/xapi/v1/Defs"))
            for _ in range(ticks):
                await asyncio.sleep(0)
            if task.cancel():
                with pytest.raises(asyncio.CancelledError):
                    await task
            else:
                assert (await task).status_code == 200
    finally:
        await transport.aclose()
