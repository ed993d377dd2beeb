"""The simulator's HTTP + websocket server: one aiohttp app routing each path to its routes."""

from __future__ import annotations

import asyncio

from aiohttp import web

from app.sim.server.callcontrol import CallControlRoutes
from app.sim.server.control import ControlRoutes
from app.sim.server.middleware import pbx_middleware
from app.sim.server.pbx import Pbx
from app.sim.server.tokens import TokenRoutes
from app.sim.server.v18 import V18Routes
from app.sim.server.xapi import XapiRoutes
from app.sim.webhooks import RECORDS_PATH


class SimServer:
    """Built and owned by the simulator, which hands itself over as the ``Pbx``."""

    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.closing = asyncio.Event()
        self.tokens = TokenRoutes(pbx)
        self.xapi = XapiRoutes(pbx)
        self.callcontrol = CallControlRoutes(pbx)
        self.v18 = V18Routes(pbx)
        self.control = ControlRoutes(pbx)
        self.app = web.Application(middlewares=[pbx_middleware(pbx, self.closing)])
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)

    @property
    def websockets(self) -> set[web.WebSocketResponse]:
        """The open Call Control websockets."""
        return self.callcontrol.websockets

    @property
    def subscribed(self) -> asyncio.Event:
        """Set while at least one Call Control websocket is open."""
        return self.callcontrol.subscribed

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        pbx = self.pbx
        if path.startswith("/_sim/"):
            return await self.control.handle(request)
        if path.startswith(RECORDS_PATH) and request.method == "GET":
            return pbx.webhooks.record_response(path)
        if pbx.is_v20:
            if path == "/connect/token" and request.method == "POST":
                return await self.tokens.token(request)
            if path == "/webclient/api/Login/GetAccessToken" and request.method == "POST":
                return await self.tokens.user_login(request)
            if path.startswith("/xapi/v1/"):
                return await self.xapi.handle(request, path[len("/xapi/v1/") :])
            if path == "/callcontrol/ws":
                return await self.callcontrol.websocket(request)
            if path == "/callcontrol" or path.startswith("/callcontrol/"):
                return await self.callcontrol.rest(request, path)
        elif path.startswith("/api/"):
            return await self.v18.handle(request, path[len("/api/") :])
        return web.Response(status=404)
