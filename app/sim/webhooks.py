"""The third-party 3CX "Webhook generator" add-on, as the simulator plays it (seed 002).

For each external call the add-on sends, to one URL set in its .ini file:

- ``ringing`` once per extension that rings (``usertype`` ext/queue/other); the legs of a
  queue call share one id;
- call start when someone answers: ``event=hangupincoming|hangupoutgoing`` (the doc really
  names them so), with ``trtype`` NotDef/Blind/Accomp;
- call end: ``event=incoming|outgoing``, ``finishtype`` Ok/Missed, ``transfer`` true when the
  call went on to another extension rather than ending, and a ``title`` phrase with the DID
  rule's name, whether a queue callback was ordered, and the duration;
- a separate POST with the recording's download link(s) and the call id, shortly after the
  recording appears (the add-on converts the WAV to MP3 and serves it itself).

The id is ``[yymmddHHMMSS]_[n]-[link]``: the PBX-local time the call arrived, a number unique
in this PBX session, and the link in the transfer chain (0 ringing, 1 answered, +1 per transfer).

What the doc leaves open and the simulator chooses (a receiver must accept more):

- The doc only says "https-request" for the event webhooks: the simulator sends them as GET
  with the fields in the query string, in the doc's field order. The recording link goes as a
  POST form (``id`` and one ``link`` field per file; the simulator makes one file a call,
  where 3CX may split a recording into several).
- Only external calls are reported (the doc's fields are "external number" / "internal
  number"); internal calls send nothing.
- A queue call first rings at the queue (``usertype=queue``), then at each agent
  (``usertype=ext``); a ring that stops without the call ending sends nothing, as the doc says.
- A call that went to voicemail ends as ``incoming`` / ``Missed`` with "voicemail" in the title.
- Recording links follow the recording itself (``recording_delay_s`` after hang-up) by a short
  conversion delay; the "MP3" served at ``/webhooks/records/<id>.mp3`` is the same WAV tone the
  PBX serves (served honestly as ``audio/wav``; the simulator has no MP3 encoder).

Sending never blocks or breaks the call engine: requests queue (bounded; the oldest pending one
is dropped when full) and one background task delivers them in order with a timeout each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from app.sim.audio import tone_wav
from app.sim.records import CallRecord, Recording
from app.sim.tenant import Tenant
from app.sim.timefmt import hms

if TYPE_CHECKING:
    from app.sim.engine import LiveCall

log = logging.getLogger(__name__)

RECORDS_PATH = "/webhooks/records/"
EXTERNAL_KINDS = frozenset({"inbound", "missed", "voicemail", "queue", "outbound"})
INBOUND_KINDS = frozenset({"inbound", "missed", "voicemail", "queue"})
MAX_TRACKED_CALLS = 2_000
MAX_RECORD_FILES = 2_000

Fields = list[tuple[str, str]]


class WebhookTargetError(ValueError):
    """The webhook URL given to the simulator is not an http(s) URL."""


def validate_target(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookTargetError(
            f"--webhook-url {url!r} is not an http(s) URL (e.g. http://127.0.0.1:8765/hook)"
        )
    return url.strip()


@dataclass
class SenderStats:
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    last_error: str | None = None


@dataclass(frozen=True)
class _Request:
    method: str  # "GET" (fields in the query) or "POST" (fields as a form)
    fields: Fields
    url: str


class WebhookSender:
    """Delivers requests in order from one background task; never raises into the caller."""

    def __init__(self, *, timeout_s: float = 3.0, max_pending: int = 500) -> None:
        self.target: str | None = None
        self.timeout_s = timeout_s
        self.stats = SenderStats()
        self._queue: asyncio.Queue[_Request] = asyncio.Queue(maxsize=max_pending)
        self._worker: asyncio.Task[None] | None = None
        self._later: set[asyncio.TimerHandle] = set()
        self._http: aiohttp.ClientSession | None = None
        self._closed = False
        # Set whenever the queue is empty and nothing is in flight (tests wait on it).
        self.idle = asyncio.Event()
        self.idle.set()

    def set_target(self, url: str | None) -> None:
        self.target = validate_target(url) if url else None

    def send(self, method: str, fields: Fields, *, delay_s: float = 0.0) -> None:
        """Queue one request to the current target (now, or after ``delay_s``)."""
        if self.target is None or self._closed:
            return
        request = _Request(method, fields, self.target)
        if delay_s > 0:
            loop = asyncio.get_running_loop()
            handle: asyncio.TimerHandle | None = None

            def fire() -> None:
                if handle is not None:
                    self._later.discard(handle)
                self._enqueue(request)

            handle = loop.call_later(delay_s, fire)
            self._later.add(handle)
            self.idle.clear()
        else:
            self._enqueue(request)

    def _enqueue(self, request: _Request) -> None:
        if self._closed:
            return
        if self._queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self._queue.get_nowait()
                self._queue.task_done()
            self.stats.dropped += 1
            log.warning("webhook queue full: dropped the oldest pending webhook")
        self._queue.put_nowait(request)
        self.idle.clear()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(
                self._deliver_all(), name="sim-webhooks"
            )

    async def _deliver_all(self) -> None:
        while True:
            request = await self._queue.get()
            try:
                await self._deliver(request)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the receiver's problem, never the engine's
                self.stats.failed += 1
                self.stats.last_error = f"{type(error).__name__}: {error}"[:200]
                log.warning("webhook to %s failed: %s", request.url, self.stats.last_error)
            finally:
                self._queue.task_done()
                if self._queue.empty() and not self._later:
                    self.idle.set()

    async def _deliver(self, request: _Request) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        if request.method == "GET":
            call = self._http.get(request.url, params=request.fields, timeout=timeout)
        else:
            call = self._http.post(request.url, data=request.fields, timeout=timeout)
        async with call as response:
            await response.read()
            if response.status >= 400:
                self.stats.failed += 1
                self.stats.last_error = f"HTTP {response.status}"
                log.warning("webhook to %s answered HTTP %s", request.url, response.status)
            else:
                self.stats.sent += 1

    async def aclose(self) -> None:
        self._closed = True
        for handle in self._later:
            handle.cancel()
        self._later.clear()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self._http is not None:
            await self._http.close()
        self.idle.set()


@dataclass
class _HookCall:
    """What the add-on knows about one call while it runs."""

    base: str  # "[yymmddHHMMSS]_[n]"
    kind: str
    callerid: str
    did: str
    rule: str
    link: int = 0
    user: str = ""

    @property
    def id(self) -> str:
        return f"{self.base}-{self.link}"


class AddOnWebhooks:
    """Turns the engine's call lifecycle into the add-on's webhooks (see the module doc)."""

    def __init__(
        self,
        tenant: Tenant,
        sender: WebhookSender,
        *,
        records_base: Callable[[], str],
        seed: int = 1,
    ) -> None:
        self.tenant = tenant
        self.sender = sender
        self._records_base = records_base
        self._rng = random.Random(seed * 977 + 3)
        self._calls: OrderedDict[int, _HookCall] = OrderedDict()
        self._files: OrderedDict[str, int] = OrderedDict()  # "<id>.mp3" -> recording id

    # ---- the engine's hooks (CallObserver) -------------------------------------------------
    def ringing(self, live: LiveCall) -> None:
        rec = live.record
        if rec.kind not in EXTERNAL_KINDS or self.sender.target is None:
            return  # calls that start while the add-on has no URL are never reported
        call = self._track(rec)
        if rec.kind not in INBOUND_KINDS:
            return  # an outbound call rings no extension
        if rec.kind == "queue":
            self._ring(call, self._queue_dn(rec), "queue")
            for dn in rec.agent_dns:
                self._ring(call, dn, "ext")
        else:
            self._ring(call, rec.dst.dn, "ext")

    def answered(self, live: LiveCall) -> None:
        call = self._calls.get(live.record.call_id)
        if call is None:
            return
        rec = live.record
        call.link = max(call.link, 1)
        call.user = rec.src.dn if rec.kind == "outbound" else rec.dst.dn
        self._call_start(call, "NotDef")

    def transferred(self, live: LiveCall, from_dn: str, to_dn: str) -> None:
        call = self._calls.get(live.record.call_id)
        if call is None:
            return
        if live.established is None:
            # Diverted while ringing: the new extension rings; the old ring just stops.
            self._ring(call, to_dn, "ext")
            return
        call.user = from_dn
        self._call_end(call, "Ok", transfer=True, title=self._title(call, live, "transferred"))
        call.link += 1
        call.user = to_dn
        self._call_start(call, "Blind")

    def ended(self, live: LiveCall) -> None:
        rec = live.record
        call = self._calls.get(rec.call_id)
        if call is None:
            return
        if rec.answered:
            call.user = rec.src.dn if rec.kind == "outbound" else rec.dst.dn
            self._call_end(call, "Ok", transfer=False, title=self._title(call, live, "answered"))
            if not rec.recorded:
                self._calls.pop(rec.call_id, None)  # no recording link will follow
            return
        if rec.kind == "queue":
            call.user = self._queue_dn(rec)  # a miss at queue level names the queue
            outcome = "queue"
        elif rec.kind == "voicemail":
            call.user = rec.dst.dn
            outcome = "voicemail"
        else:
            call.user = rec.src.dn if rec.kind == "outbound" else rec.dst.dn
            outcome = "missed"
        self._call_end(call, "Missed", transfer=False, title=self._title(call, live, outcome))
        self._calls.pop(rec.call_id, None)

    def recorded(self, record: CallRecord, recording: Recording) -> None:
        call = self._calls.pop(record.call_id, None)
        if call is None:
            return
        name = f"{call.id}.mp3"
        self._files[name] = recording.id
        while len(self._files) > MAX_RECORD_FILES:
            self._files.popitem(last=False)
        link = f"{self._records_base()}/{name}"
        # The add-on converts the new WAV to MP3 first: a short, varying delay.
        delay = round(self._rng.uniform(0.05, 0.5), 3)
        self.sender.send("POST", [("id", call.id), ("link", link)], delay_s=delay)

    # ---- serving the MP3 folder ------------------------------------------------------------
    def record_response(self, path: str) -> web.Response:
        name = path[len(RECORDS_PATH) :]
        rec_id = self._files.get(name)
        if rec_id is None:
            return web.Response(status=404, text="no such recording (expired or never made)")
        # The simulator has no MP3 encoder: the file is the WAV tone the PBX serves.
        return web.Response(body=tone_wav(rec_id), content_type="audio/wav")

    # ---- the add-on's requests -------------------------------------------------------------
    def _track(self, rec: CallRecord) -> _HookCall:
        arrived = rec.start.astimezone(self.tenant.office_hours.zone)
        did = rec.src.did if rec.kind in INBOUND_KINDS else ""
        outside = rec.dst if rec.kind == "outbound" else rec.src
        call = _HookCall(
            base=f"{arrived:%y%m%d%H%M%S}_{rec.call_id}",
            kind=rec.kind,
            callerid=outside.caller_id,
            did=did,
            rule=next((r.name for r in self.tenant.inbound_rules if r.did == did), ""),
        )
        self._calls[rec.call_id] = call
        while len(self._calls) > MAX_TRACKED_CALLS:
            self._calls.popitem(last=False)
        return call

    def _queue_dn(self, rec: CallRecord) -> str:
        for seg in rec.segments:
            if self.tenant.queue(seg.dst.dn) is not None:
                return seg.dst.dn
        return rec.dst.dn

    def _ring(self, call: _HookCall, user: str, usertype: str) -> None:
        self.sender.send(
            "GET",
            [
                ("event", "ringing"),
                ("callerid", call.callerid),
                ("did", call.did),
                ("user", user),
                ("usertype", usertype),
                ("id", call.id),
            ],
        )

    def _call_start(self, call: _HookCall, trtype: str) -> None:
        incoming = call.kind in INBOUND_KINDS
        fields: Fields = [
            ("event", "hangupincoming" if incoming else "hangupoutgoing"),
            ("callerid", call.callerid),
            ("user", call.user),
        ]
        if incoming:
            fields.append(("did", call.did))
        fields += [("trtype", trtype), ("id", call.id)]
        self.sender.send("GET", fields)

    def _call_end(self, call: _HookCall, finish: str, *, transfer: bool, title: str) -> None:
        self.sender.send(
            "GET",
            [
                ("event", "incoming" if call.kind in INBOUND_KINDS else "outgoing"),
                ("callerid", call.callerid),
                ("user", call.user),
                ("finishtype", finish),
                ("transfer", "true" if transfer else "false"),
                ("title", title),
                ("id", call.id),
            ],
        )

    def _title(self, call: _HookCall, live: LiveCall, outcome: str) -> str:
        rec = live.record
        duration = hms((self.tenant.clock() - rec.start).total_seconds())
        if call.kind not in INBOUND_KINDS:
            said = "answered" if outcome == "answered" else "not answered"
            return f"Outgoing call from {call.user}, {said}, duration {duration}"
        head = f"Incoming call via DID rule '{call.rule or 'unknown'}'"
        if outcome == "answered":
            return f"{head}, answered by {call.user}, duration {duration}"
        if outcome == "transferred":
            return f"{head}, transferred by {call.user}, duration {duration}"
        if outcome == "queue":
            queue = self.tenant.queue(call.user)
            name = f" {queue.name}" if queue else ""
            return (
                f"{head}, ended in queue {call.user}{name}, callback not ordered, "
                f"duration {duration}"
            )
        if outcome == "voicemail":
            return f"{head}, not answered, went to voicemail of {call.user}, duration {duration}"
        return f"{head}, not answered, duration {duration}"
