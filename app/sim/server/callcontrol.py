"""Call Control: the REST routes under /callcontrol and the event websocket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from aiohttp import WSMsgType, web

from app.sim.engine import Participant
from app.sim.server.pbx import Pbx
from app.sim.server.responses import json_body, json_response
from app.sim.server.tokens import bearer, unauthorized
from app.sim.wire_quirks import WireQuirk, last_first, national, without_plus

PARTICIPANT_ACTIONS = ("drop", "answer", "divert", "routeto", "transferto")


def _success(result: Any) -> web.Response:
    return json_response(
        {"finalstatus": "Success", "reason": "", "reasontext": "", "result": result}
    )


class CallControlRoutes:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.websockets: set[web.WebSocketResponse] = set()
        # Set while at least one websocket is open (tests and demos wait on it).
        self.subscribed = asyncio.Event()

    def _gate(self, request: web.Request) -> web.Response | None:
        token = bearer(self.pbx, request)
        if token is None:
            return unauthorized()
        if self.pbx.faults.active("no-call-control") or not self.pbx.principal_allows(
            token, "CallControlEnabled"
        ):
            return web.Response(status=403)
        return None

    def _dn_info(self, dn: str) -> dict[str, Any]:
        eng = self.pbx.engine
        return {
            "dn": dn,
            "type": eng.dn_type(dn),
            "devices": [
                {
                    "dn": dn,
                    "device_id": f"sip:{dn}@{eng.host}:5060",
                    "user_agent": "3CX Phone System Simulator",
                }
            ],
            "participants": [self._participant(p) for p in eng.participants.get(dn, {}).values()],
        }

    def _participant(self, p: Participant) -> dict[str, Any]:
        """A participant as a live PBX writes it (§9.4), unless the clean wire is asked for."""
        row = p.to_json()
        quirks = self.pbx.wire
        if WireQuirk.NATIONAL_CALLER_IDS in quirks and p.party.external:
            country = self.pbx.tenant.country
            # Caller id national, the name holding the E.164 number; the DID without "+".
            row["party_caller_name"] = p.party.caller_id
            row["party_caller_id"] = national(p.party.caller_id, country.dial, country.national)
            row["party_did"] = without_plus(str(row.get("party_did") or ""))
        if WireQuirk.DEVICE_DETAILS in quirks:
            row["device_id"] = f"{row['device_id']};rinstance={p.id:08x}{p.callid:08x}"
            row["referred_by_dn"] = ""
            row["referred_by_type"] = ""
            row["on_behalf_of_dn"] = ""
            row["on_behalf_of_type"] = ""
        if WireQuirk.LAST_FIRST_NAMES in quirks and not p.party.external:
            row["party_caller_name"] = last_first(str(row.get("party_caller_name") or ""))
        return row

    # ---- REST ------------------------------------------------------------------------------
    async def rest(self, request: web.Request, path: str) -> web.StreamResponse:
        gate = self._gate(request)
        if gate is not None:
            return gate
        eng = self.pbx.engine
        parts = [p for p in path.split("/") if p][1:]
        if not parts:
            return json_response(
                [self._dn_info(dn) for dn in eng.participants if eng.monitored(dn)]
            )
        dn = parts[0]
        if dn not in eng.participants or not eng.monitored(dn):
            return web.Response(status=404)
        if len(parts) == 1 and request.method == "GET":
            return json_response(self._dn_info(dn))
        if len(parts) == 2 and parts[1] == "participants" and request.method == "GET":
            return json_response([self._participant(p) for p in eng.participants[dn].values()])
        if len(parts) == 2 and parts[1] == "makecall" and request.method == "POST":
            return await self._makecall(request, dn)
        if len(parts) >= 3 and parts[1] == "participants":
            return await self._on_participant(request, dn, parts)
        return web.Response(status=404)

    async def _makecall(self, request: web.Request, dn: str) -> web.Response:
        eng = self.pbx.engine
        body = await json_body(request)
        dest = str(body.get("destination", "")).strip()
        if not dest:
            return json_response(
                {
                    "finalstatus": "Failure",
                    "reason": "InvalidDestination",
                    "result": None,
                    "reasontext": "destination is required",
                },
                400,
            )
        record = await eng.makecall(dn, dest)
        p = next((x for x in eng.participants[dn].values() if x.callid == record.call_id), None)
        return _success(self._participant(p) if p else None)

    async def _on_participant(
        self, request: web.Request, dn: str, parts: list[str]
    ) -> web.StreamResponse:
        eng = self.pbx.engine
        try:
            pid = int(parts[2])
        except ValueError:
            return web.Response(status=404)
        p = eng.find(dn, pid)
        if p is None:
            return web.Response(status=404)
        if len(parts) == 3 and request.method == "GET":
            return json_response(self._participant(p))
        if len(parts) == 4 and request.method == "POST":
            action = parts[3]
            if action not in PARTICIPANT_ACTIONS:
                return web.Response(status=404)
            body = await json_body(request)
            result = eng.act(p, action, body.get("destination"))
            return _success(result.to_json())
        return web.Response(status=404)

    # ---- websocket -------------------------------------------------------------------------
    async def websocket(self, request: web.Request) -> web.StreamResponse:
        gate = self._gate(request)
        if gate is not None:
            return gate
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.websockets.add(ws)
        self.subscribed.set()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        sub = queue.put_nowait
        self.pbx.engine.subscribers.add(sub)
        reader = asyncio.ensure_future(_drain(ws))
        try:
            await self._send_events(ws, queue, reader)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.pbx.engine.subscribers.discard(sub)
            self.websockets.discard(ws)
            if not self.websockets:
                self.subscribed.clear()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            if not ws.closed:
                await ws.close()
        return ws

    async def _send_events(
        self,
        ws: web.WebSocketResponse,
        queue: asyncio.Queue[dict[str, Any]],
        reader: asyncio.Future[None],
    ) -> None:
        """Each engine event as a numbered frame, with the ws-drop and ws-skip-sequence faults."""
        faults = self.pbx.faults
        sequence = 0
        opened = time.monotonic()
        while not ws.closed and not reader.done():
            drop_after = faults.float_value("ws-drop", 5.0) if faults.active("ws-drop") else None
            try:
                event: dict[str, Any] | None = await asyncio.wait_for(queue.get(), 0.25)
            except TimeoutError:
                event = None
            if drop_after is not None and time.monotonic() - opened >= drop_after:
                await ws.close(code=1011, message=b"dropped")
                break
            if event is not None:
                sequence += 1
                if faults.active("ws-skip-sequence"):
                    faults.disable("ws-skip-sequence")  # one frame lost, once
                    continue
                await ws.send_str(json.dumps({"sequence": sequence, "event": event}))


async def _drain(ws: web.WebSocketResponse) -> None:
    async for msg in ws:
        if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
            break
