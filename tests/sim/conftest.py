from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from app.domain.clock import utc_now
from app.sim import Simulator

CALL_LOG_ARGS = (
    "periodFrom={f},periodTo={t},sourceType=0,sourceFilter='',destinationType=0,"
    "destinationFilter='',callsType=0,callTimeFilterType=0,callTimeFilterFrom='0:00:0',"
    "callTimeFilterTo='0:00:0',hidePcalls=true"
)


def call_log_path(f: str = "2000-01-01T00:00:00Z", t: str = "2000-12-31T00:00:00Z") -> str:
    return f"ReportCallLogData/Pbx.GetCallLogData({CALL_LOG_ARGS.format(f=f, t=t)})"


def recent_call_log_path(sim: Simulator, days: int = 200) -> str:
    end = utc_now() + timedelta(days=1)
    start = end - timedelta(days=days)
    return call_log_path(start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ"))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def token_form(sim: Simulator) -> dict[str, str]:
    """The client-credentials form a bridge posts to ``/connect/token``."""
    return {
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "grant_type": "client_credentials",
    }


async def get_token(http: aiohttp.ClientSession, sim: Simulator, **kw: Any) -> str:
    async with http.post(f"{sim.url}/connect/token", data=token_form(sim), **kw) as r:
        assert r.status == 200, await r.text()
        return str((await r.json())["access_token"])


class Api:
    def __init__(self, http: aiohttp.ClientSession, sim: Simulator, token: str, **kw: Any):
        self.http, self.sim, self.token, self.kw = http, sim, token, kw

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
        async with self.http.get(
            f"{self.sim.url}/xapi/v1/{path}", headers=self.headers, **self.kw
        ) as r:
            ctype = r.headers.get("Content-Type", "")
            body: Any = await r.json() if "json" in ctype else await r.read()
            return r.status, body, r.headers

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        async with self.http.post(
            f"{self.sim.url}/xapi/v1/{path}", json=body, headers=self.headers, **self.kw
        ) as r:
            ctype = r.headers.get("Content-Type", "")
            return r.status, (await r.json() if "json" in ctype else await r.read())


@pytest.fixture
def api_for(http: aiohttp.ClientSession) -> Callable[..., Awaitable[Api]]:
    async def make(sim: Simulator, **kw: Any) -> Api:
        return Api(http, sim, await get_token(http, sim, **kw), **kw)

    return make
