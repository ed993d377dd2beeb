"""A local receiver for the third-party 3CX "Webhook generator" add-on (seed 002).

The add-on sends a request to one URL (set in its .ini file) at each call event, and a separate
POST with the recording's download link(s) once the MP3 is ready. This receiver turns them into
``CallEvent``s (source "webhook") for the live feed, so an engineer can verify the add-on too:

==========================================  ======================================
add-on webhook                              CallEvent
==========================================  ======================================
``event=ringing`` (first for the call)      RINGING
``event=hangupincoming|hangupoutgoing``     CONNECTED (again after each transfer)
(the doc names call *start* so)
``event=incoming|outgoing``,                nothing: the call went on elsewhere
``transfer=true``
``event=incoming``, ``finishtype=Ok``       ENDED
``event=incoming``, ``finishtype=Missed``   MISSED (VOICEMAIL if the title says so)
``event=outgoing``, ``finishtype=Missed``   ENDED: an outgoing call nobody picked up is not a
                                            missed call (as in ``app.domain.live``)
recording link POST                         ``on_recording(call id, [urls])``
==========================================  ======================================

The doc leaves the wire open; this receiver is liberal and assumes:

- Method and encoding: the doc says only "https-request" for events and "POST" for links. GET
  with a query string, POST ``application/x-www-form-urlencoded`` or ``multipart/form-data``,
  and POST JSON (one object) are all accepted, on any path; query and body fields are merged
  (the body wins). Field names are matched case-insensitively ("Id" and "id").
- The recording POST's field names are not given: the call id is ``id`` (or ``callid`` /
  ``call_id``); links come in any field named like link/links/url/record/recording/file/mp3
  (``link1``, ``links[]`` and ``record_url`` too), repeated, as a JSON array, or several in
  one value separated by spaces, newlines, ``;`` or ``,``. Every link must be an http(s) URL.
  A POST that carries links is a recording post even when the ini adds the call-end fields.
- Ids look like ``[yymmddHHMMSS]_[n]-[link]``. The link number grows along a transfer chain,
  so events and recordings are reported under the id *without* ``-[link]``: one call, one id.
  Ids of another shape are used as they are.
- The add-on sends no timestamps: events carry the time they were received.
- Only one RINGING is reported per call: a queue's legs (and a transfer's new ring) share it.
  One terminal event per call: a repeated call end is accepted and ignored.

Authentication: the add-on's .ini holds only a URL, so a token in that URL's query string
(``?token=...``) is the only credential it can carry. When a token is configured, requests
without it are refused with 403. The receiver binds loopback unless told otherwise: binding
another interface exposes it to the network and must be asked for with ``allow_remote=True``.

Given a ``WebhookJournal``, the receiver also keeps each event it delivers (and each start and
stop) on disk for the reconciliation; the journal never holds the token or a link, and a journal
that fails only stops journaling.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
import ssl
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web

from app.domain.calls import CallDirection
from app.domain.clock import utc_now
from app.domain.live import CallEvent, LiveState
from app.services.feed.webhook_journal import JournalKind, JournalRow, WebhookJournal
from app.services.logs.setup import REDACTOR

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
DEFAULT_PATH = "/3cx-webhook"
MAX_TRACKED_CALLS = 10_000
_SHUTDOWN_TIMEOUT_S = 1.0

RINGING = "ringing"
CALL_START = {"hangupincoming": CallDirection.INBOUND, "hangupoutgoing": CallDirection.OUTBOUND}
CALL_END = {"incoming": CallDirection.INBOUND, "outgoing": CallDirection.OUTBOUND}
KNOWN_EVENTS = (RINGING, *CALL_START, *CALL_END)

_ID = re.compile(r"^(\d{12}_\d+)-(\d+)$")
_ID_KEYS = ("id", "callid", "call_id", "call-id")
_LINK_KEYS = frozenset(
    {
        "link",
        "links",
        "url",
        "urls",
        "record",
        "records",
        "recording",
        "recordings",
        "recordurl",
        "recordlink",
        "recordingurl",
        "recordinglink",
        "file",
        "files",
        "mp3",
        "download",
        "downloadlink",
    }
)
_LINK_SPLIT = re.compile(r"[\s;]+|,(?=\s*https?://)")
_VOICEMAIL_WORDS = ("voicemail", "voice mail", "vmail")
_EXTENSION_DIGITS = 6  # a caller id this short with no DID is an extension, not a phone


class WebhookRejected(Exception):
    """A request the receiver answers with an error; the message is shown to the sender."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ReceiverStats:
    """What the UI shows about the receiver. ``last_error`` never holds the token."""

    received: int = 0
    accepted: int = 0
    rejected: int = 0
    events: int = 0  # CallEvents delivered
    recordings: int = 0  # recording posts delivered
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_received_at: datetime | None = None


@dataclass
class _CallState:
    direction: CallDirection = CallDirection.UNKNOWN
    did: str = ""
    rang: bool = False
    connected: bool = False
    ended: bool = False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def call_key(raw_id: str) -> str:
    """The add-on's id without its transfer-link number: "210701165649_698-2" -> "..._698"."""
    match = _ID.match(raw_id)
    return match.group(1) if match else raw_id


def _link_key(name: str) -> bool:
    key = re.sub(r"\[\d*\]", "", name).replace("_", "").replace("-", "").rstrip("0123456789")
    return key in _LINK_KEYS


def _flatten(value: Any) -> list[str]:
    if value is None or isinstance(value, dict):
        return []
    if isinstance(value, list):
        return [text for item in value for text in _flatten(item)]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [str(value)]


def _valid_link(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class WebhookReceiver:
    """An aiohttp server on a local port that receives the add-on's webhooks.

    ``on_event`` and ``on_recording`` run on the event loop; they must return quickly.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_event: Callable[[CallEvent], None],
        on_recording: Callable[[str, list[str]], None],
        token: str | None = None,
        allow_remote: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        path: str = DEFAULT_PATH,
        on_stats: Callable[[ReceiverStats], None] | None = None,
        journal: WebhookJournal | None = None,
    ) -> None:
        if not _is_loopback(host) and not allow_remote:
            raise ValueError(
                f"host {host!r} is not a loopback address: binding it exposes the receiver to "
                "the network; pass allow_remote=True to do that on purpose"
            )
        if token is not None and not token.strip():
            raise ValueError("token must not be empty (use None for no token)")
        self.host = host
        self.port = port
        self._on_event = on_event
        self._on_recording = on_recording
        self._on_stats = on_stats
        self._journal = journal
        self._token = token.strip() if token else None
        if self._token:
            REDACTOR.register(self._token)
        self._ssl = ssl_context
        self._path = path if path.startswith("/") else f"/{path}"
        self._stats = ReceiverStats()
        self._calls: OrderedDict[str, _CallState] = OrderedDict()
        self._runner: web.AppRunner | None = None
        self._base = ""

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self) -> str:
        """Bind and serve; returns the URL to put in the add-on's .ini (token included)."""
        if self._runner is not None:
            return self.url
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        if self._journal is not None:
            await self._journal.open(self._path)  # never raises: a journal that fails says so
        site = web.TCPSite(runner, self.host, self.port, ssl_context=self._ssl)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            if self._journal is not None:
                await self._journal.close()
            raise
        self._runner = runner
        port = runner.addresses[0][1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._base = f"{'https' if self._ssl else 'http'}://{host}:{port}{self._path}"
        log.info("Webhook receiver listening on %s", self.display_url)
        return self.url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            if self._journal is not None:
                await self._journal.close()
            log.info("Webhook receiver stopped")

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def url(self) -> str:
        """The URL for the add-on's .ini. It holds the token: never show it in presenter mode."""
        if not self._base:
            return ""
        return f"{self._base}?token={self._token}" if self._token else self._base

    @property
    def display_url(self) -> str:
        """The URL with the token masked, safe for the screen and the log."""
        if not self._base:
            return ""
        return f"{self._base}?token=••••••••" if self._token else self._base

    def did_for(self, call_id: str) -> str | None:
        """The DID the add-on named for a call (CallEvent has no field for it), if any."""
        state = self._calls.get(call_key(call_id))
        return (state.did or None) if state is not None else None

    @property
    def stats(self) -> ReceiverStats:
        return self._stats

    def status_text(self) -> str:
        """One line for the UI, e.g. "Webhook receiver on http://…: 12 received, 1 rejected"."""
        if not self.running:
            return "Webhook receiver stopped."
        s = self._stats
        text = (
            f"Webhook receiver on {self.display_url}: {s.received} received, "
            f"{s.accepted} accepted, {s.rejected} rejected"
        )
        if s.last_error:
            text += f" (last problem: {s.last_error})"
        return text + "."

    # ---- requests ------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        now = utc_now()
        self._count(received=1, last_received_at=now)
        try:
            self._check_token(request)
            fields = await self._fields(request)
            message = self._dispatch(fields, now)
        except WebhookRejected as rejected:
            log.warning("Webhook refused (%s): %s", rejected.status, rejected.message)
            self._count(rejected=1, last_error=rejected.message, last_error_at=now)
            return web.Response(status=rejected.status, text=rejected.message + "\n")
        except Exception:
            # A bug of ours (or of a callback): the sender should retry, the app keeps running.
            log.exception("Webhook handling failed")
            problem = "the app failed to handle this webhook (see the app's log)"
            self._count(rejected=1, last_error=problem, last_error_at=now)
            return web.Response(status=500, text=problem + "\n")
        self._count(accepted=1)
        return web.Response(text=f"OK: {message}\n")

    def _count(self, **changes: Any) -> None:
        s = self._stats
        for name in ("received", "accepted", "rejected", "events", "recordings"):
            if name in changes:
                changes[name] = getattr(s, name) + changes[name]
        self._stats = replace(s, **changes)
        if self._on_stats is not None:
            try:
                self._on_stats(self._stats)
            except Exception:
                log.exception("Webhook receiver status callback failed")

    def _check_token(self, request: web.Request) -> None:
        if self._token is None:
            return
        given = request.query.get("token", "")
        if not hmac.compare_digest(given.encode(), self._token.encode()):
            raise WebhookRejected(
                "missing or wrong token: use the full URL shown by the app, including ?token=...",
                status=403,
            )

    async def _fields(self, request: web.Request) -> dict[str, list[str]]:
        fields: dict[str, list[str]] = {}

        def add(key: str, values: list[str]) -> None:
            name = key.strip().lower()
            if name and name != "token":
                fields.setdefault(name, []).extend(values)

        for key, value in request.query.items():
            add(key, [value])
        if request.method not in ("GET", "POST", "HEAD"):
            raise WebhookRejected(f"method {request.method} is not used: send GET or POST")
        if request.method != "POST" and not request.body_exists:
            return fields
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise WebhookRejected(self._too_large(request.content_length))
        body_fields: dict[str, list[str]] = {}
        try:
            if request.content_type.startswith("multipart/"):
                form = await request.post()
                for name, item in form.items():
                    if isinstance(item, str):
                        body_fields.setdefault(name, []).append(item)
            else:
                body = await request.read()
                body_fields = self._parse_body(body, request.content_type)
        except web.HTTPRequestEntityTooLarge as too_large:
            raise WebhookRejected(self._too_large(None)) from too_large
        for key, values in body_fields.items():
            fields.pop(key.strip().lower(), None)  # the body wins over the query
            add(key, values)
        return fields

    @staticmethod
    def _too_large(size: int | None) -> str:
        said = f" ({size:,} bytes)" if size is not None else ""
        return f"request body is larger than {MAX_BODY_BYTES // 1024} KB{said}"

    @staticmethod
    def _parse_body(body: bytes, content_type: str) -> dict[str, list[str]]:
        text = body.decode("utf-8", errors="replace").strip()
        if not text:
            return {}
        if content_type == "application/json" or text.startswith(("{", "[")):
            try:
                data = json.loads(text)
            except ValueError as error:
                raise WebhookRejected(f"body is not valid JSON: {error}") from error
            if not isinstance(data, dict):
                raise WebhookRejected("JSON body must be one object with the webhook's fields")
            return {str(k): _flatten(v) for k, v in data.items()}
        out: dict[str, list[str]] = {}
        for key, value in parse_qsl(text, keep_blank_values=True):
            out.setdefault(key, []).append(value)
        return out

    # ---- the add-on's events -------------------------------------------------------------
    def _dispatch(self, fields: dict[str, list[str]], at: datetime) -> str:
        raw_id = next((_one(fields, k) for k in _ID_KEYS if _one(fields, k)), "")
        event = _one(fields, "event").lower()
        links = self._links(fields)
        if not raw_id:
            raise WebhookRejected(
                "missing 'id' (the add-on's unique call id, like 210701165649_698-2)"
            )
        if links:
            key = call_key(raw_id)
            self._on_recording(key, links)
            self._count(recordings=1)
            self._keep(raw_id, JournalKind.RECORDING_LINK, at, _one(fields, "callerid"), len(links))
            return f"{len(links)} recording link(s) for call {key}"
        if not event:
            raise WebhookRejected(
                "missing 'event' (expected one of: " + ", ".join(KNOWN_EVENTS) + ") "
                "and no recording link"
            )
        if event not in KNOWN_EVENTS:
            raise WebhookRejected(
                f"unknown event {event[:40]!r} (expected one of: {', '.join(KNOWN_EVENTS)})"
            )
        return self._call_event(raw_id, event, fields, at)

    def _call_event(
        self, raw_id: str, event: str, fields: dict[str, list[str]], at: datetime
    ) -> str:
        """A known event of the call ``raw_id``: what it says, and the state it leaves."""
        key = call_key(raw_id)
        state = self._state(key)
        callerid, did, user = _one(fields, "callerid"), _one(fields, "did"), _one(fields, "user")
        state.did = did or state.did
        if state.direction is CallDirection.UNKNOWN:
            state.direction = _direction(event, callerid, did)
        # The call's state changes only once the event was delivered: a sender that retries
        # after our 500 gets it delivered then.
        if event == RINGING:
            if state.rang or state.connected or state.ended:
                return f"ringing at another extension for call {key}"
            said = self._emit(raw_id, LiveState.RINGING, state, callerid, user, at)
            state.rang = True
            return said
        if event in CALL_START:
            said = self._emit(raw_id, LiveState.CONNECTED, state, callerid, user, at)
            state.connected = True
            return said
        if _one(fields, "transfer").lower() in ("true", "1", "yes"):
            return f"call {key} went on by transfer"
        if state.ended:
            return f"call {key} had already ended"
        final = _final_state(event, state, fields)
        said = self._emit(raw_id, final, state, callerid, user, at)
        state.ended = True
        return said

    def _emit(
        self,
        raw_id: str,
        state: LiveState,
        call: _CallState,
        callerid: str,
        user: str,
        at: datetime,
    ) -> str:
        key = call_key(raw_id)
        self._on_event(
            CallEvent(
                call_id=key,
                state=state,
                at=at,
                direction=call.direction,
                external_number=callerid or None,
                extension=user or None,
                source="webhook",
            )
        )
        self._count(events=1)
        self._keep(raw_id, JournalKind.of_state(state), at, callerid)
        return f"{state.value} for call {key}"

    def _keep(
        self, raw_id: str, kind: JournalKind, at: datetime, number: str, links: int = 0
    ) -> None:
        """Journal a delivered event (queued: nothing here waits for the disk)."""
        if self._journal is not None:
            row = JournalRow(at, raw_id, call_key(raw_id), kind, number or None, links)
            self._journal.record(row)

    def _state(self, key: str) -> _CallState:
        state = self._calls.get(key)
        if state is None:
            state = _CallState()
            self._calls[key] = state
            while len(self._calls) > MAX_TRACKED_CALLS:
                self._calls.popitem(last=False)
        else:
            self._calls.move_to_end(key)
        return state

    @staticmethod
    def _links(fields: dict[str, list[str]]) -> list[str]:
        found: list[str] = []
        for name, values in fields.items():
            if not _link_key(name):
                continue
            for value in values:
                found.extend(piece for piece in _LINK_SPLIT.split(value.strip()) if piece)
        bad = [link for link in found if not _valid_link(link)]
        if bad:
            raise WebhookRejected(
                f"recording link {bad[0][:80]!r} is not an http(s) URL "
                f"({len(bad)} of {len(found)} link(s) refused)"
            )
        return list(dict.fromkeys(found))


def _one(fields: dict[str, list[str]], name: str) -> str:
    """A field's last value, trimmed; "" when it is missing."""
    values = fields.get(name) or [""]
    return values[-1].strip()


def _final_state(event: str, state: _CallState, fields: dict[str, list[str]]) -> LiveState:
    """How a call that ends with ``event`` ended: answered, missed or to voicemail."""
    finish = _one(fields, "finishtype").lower()
    answered = state.connected if finish not in ("ok", "missed") else finish == "ok"
    if answered:
        return LiveState.ENDED
    if CALL_END[event] is CallDirection.OUTBOUND:
        return LiveState.ENDED  # nobody picked up an outgoing call: not a missed call
    if any(word in _one(fields, "title").lower() for word in _VOICEMAIL_WORDS):
        return LiveState.VOICEMAIL
    return LiveState.MISSED


def _direction(event: str, callerid: str, did: str) -> CallDirection:
    if event in CALL_START:
        return CALL_START[event]
    if event in CALL_END:
        return CALL_END[event]
    if did:
        return CallDirection.INBOUND
    digits = callerid.lstrip("+")
    if digits.isdigit() and len(digits) <= _EXTENSION_DIGITS:
        return CallDirection.INTERNAL
    return CallDirection.UNKNOWN


__all__ = [
    "DEFAULT_PATH",
    "KNOWN_EVENTS",
    "MAX_BODY_BYTES",
    "ReceiverStats",
    "WebhookReceiver",
    "WebhookRejected",
    "call_key",
]
