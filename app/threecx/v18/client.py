"""The v18 client: the older web API with a cookie session.

The API user's name plays the client id and its password the key. v18 cannot say an
extension's recording mode, the retention policy or the numbering plan: those calls raise
``Unsupported`` so the doctor can say so instead of failing. Its recording download path is
unconfirmed (API-NOTES §7): the known forms are tried in turn, and when none answers the
client says so (``DownloadUnconfirmed``) instead of blaming the PBX.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from app.domain.bridge import PhonebookResolution
from app.domain.business_hours import BusinessHours
from app.domain.calls import CallRecord
from app.domain.contacts import Contact
from app.domain.extensions import Extension, Queue
from app.domain.licence import Licence, NumberingPlan, SystemStatus
from app.domain.live import CallEvent
from app.domain.pbx import PbxIdentity
from app.domain.recordings import Recording, RetentionPolicy
from app.domain.version import PbxVersion
from app.domain.wire_shapes import WireSeen, WireShape
from app.threecx.errors import (
    AuthRejected,
    DownloadUnconfirmed,
    MalformedResponse,
    NotFound,
    NotThreeCX,
    RecordingFileMissing,
    TokenRevoked,
    UnreadableAnswer,
    Unsupported,
)
from app.threecx.history_windows import newest_calls
from app.threecx.paging import PageLedger
from app.threecx.polling import CallLogPoller
from app.threecx.tolerant_fields import integer, odata_datetime, rows
from app.threecx.transport import Transport, parse_json
from app.threecx.v18 import mapping

LOGIN_PATH = "/api/login"
# The recording download forms known for v18, tried in this order; none is confirmed (API-NOTES
# §7). `Download?file=<Id>` is a field bulk-download script's (a 302 there: file not on disk);
# `DownloadRecord?file=` is the path 3CX security advisories name.
RECORDING_DOWNLOAD_PATHS = ("/api/RecordingList/Download", "/api/RecordingList/DownloadRecord")
REDIRECTS = frozenset({301, 302, 303, 307})
PAGE = 100
T = TypeVar("T")


class V18Client:
    generation = "v18"

    def __init__(
        self, transport: Transport, username: str, password: str, *, poll_interval_s: float = 5.0
    ) -> None:
        self._transport = transport
        self._username = username
        self._password = password
        self._poll_interval_s = poll_interval_s
        self._logged_in = False
        self._identity = PbxIdentity(base_url=transport.base_url, version=None)
        self.wire_seen = WireSeen()
        self._download_path: str | None = None

    def __repr__(self) -> str:
        return f"V18Client({self._transport.base_url!r})"

    @property
    def identity(self) -> PbxIdentity:
        return self._identity

    @property
    def download_path(self) -> str | None:
        """The recording download form that served audio on this connection; None until one
        has."""
        return self._download_path

    async def authenticate(self) -> PbxIdentity:
        await self._login()
        await self.system_status()
        return self._identity

    async def _login(self) -> None:
        response = await self._transport.request(
            "POST",
            LOGIN_PATH,
            json_body={"Username": self._username, "Password": self._password},
            label=LOGIN_PATH,
        )
        if response.text.strip().strip('"') != "AuthSuccess":
            raise AuthRejected("The PBX did not confirm the login.", endpoint=LOGIN_PATH)
        self._logged_in = True

    async def _get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        response = await self._get_raw(path, params)
        return parse_json(response, path)

    async def _get_raw(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        if not self._logged_in:
            await self._login()
        try:
            return await self._transport.request("GET", path, params=params, label=path)
        except AuthRejected:
            # The session cookie expired: sign in once more.
            self._logged_in = False
            await self._login()
        try:
            return await self._transport.request("GET", path, params=params, label=path)
        except AuthRejected as exc:
            # Refused again right after a confirmed login: the session was withdrawn (another
            # login with the same API user, or its password changed), not a missing right.
            self._logged_in = False
            raise TokenRevoked(
                "v18: the session from a confirmed login was refused at once.", endpoint=path
            ) from exc

    async def system_status(self) -> SystemStatus:
        body = await self._get("/api/SystemStatus")
        if not isinstance(body, Mapping):
            raise MalformedResponse("Expected a JSON object.", endpoint="/api/SystemStatus")
        mapping.note_status_shapes(body, self.wire_seen)
        status = mapping.system_status_from_row(body)
        version = PbxVersion.parse(status.version)
        self._identity = PbxIdentity(self._identity.base_url, version, status.fqdn)
        return status

    async def licence(self) -> Licence:
        body = await self._get("/api/SystemStatus")
        if not isinstance(body, Mapping):
            raise MalformedResponse("Expected a JSON object.", endpoint="/api/SystemStatus")
        return mapping.licence_from_status(body)

    async def numbering_plan(self) -> NumberingPlan:
        raise Unsupported("v18 does not expose the E.164 settings through its API.")

    async def office_hours(self) -> BusinessHours | None:
        """v18's web API exposes no office hours to rely on: the engineer is asked instead."""
        return None

    async def extensions(self) -> list[Extension]:
        body = await self._get("/api/ExtensionList")
        return _mapped(rows(body, "list"), mapping.extension_from_row, "/api/ExtensionList")

    async def queues(self) -> list[Queue]:
        raise Unsupported("v18's web API does not list queue recording settings.")

    async def active_calls(self) -> list[CallEvent]:
        """The calls in progress now, each as an event of its present state."""
        body = await self._get("/api/activeCalls")
        return mapping.active_calls_from_body(body, self.wire_seen)

    async def call_history(
        self, since: datetime, until: datetime, *, limit: int = 1000
    ) -> list[CallRecord]:
        async def legs(begin: datetime, end: datetime, cap: int) -> list[CallRecord]:
            out: list[CallRecord] = []
            ledger = PageLedger("/api/CallLog", offset_name="startRow")
            start = 0
            while len(out) < cap:
                body = await self._get(
                    "/api/CallLog",
                    params={
                        "TimeZoneName": "UTC",
                        "callState": "All",
                        "dateRangeType": "Custom",
                        "fromFilter": "",
                        "fromFilterType": "Any",
                        "numberOfRows": str(PAGE),
                        "searchFilter": "",
                        "startRow": str(start),
                        "toFilter": "",
                        "toFilterType": "Any",
                        "periodFrom": odata_datetime(begin),
                        "periodTo": odata_datetime(end),
                    },
                )
                page = _listed(body, "CallLogRows")
                ledger.page(page, offset=start)
                out.extend(_mapped(page, mapping.call_from_row, "/api/CallLog"))
                start += len(page)
                if not page or not (isinstance(body, Mapping) and body.get("HasMoreRows")):
                    break
            return out

        # The date parameters are unconfirmed on live v18 (API-NOTES §9.9): rows outside the
        # period are dropped and the order is ours, whatever the PBX did with them.
        return await newest_calls(
            legs, since, until, limit=limit, row_cap=limit * 4, seen=self.wire_seen
        )

    async def recordings(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[Recording]:
        out: list[Recording] = []
        ledger = PageLedger("/api/RecordingList", offset_name="start")
        start = 0
        while len(out) < limit:
            body = await self._get(
                "/api/RecordingList",
                params={"count": str(PAGE), "start": str(start), "sortBy": "Date desc"},
            )
            page = _listed(body, "list")
            ledger.page(page, offset=start)
            for rec in _mapped(page, mapping.recording_from_row, "/api/RecordingList"):
                if rec.started_at is None:
                    continue
                if (since and rec.started_at < since) or (until and rec.started_at > until):
                    continue
                out.append(rec)
            start += len(page)
            total = integer(body, "TotalRowsCount", low=0) if isinstance(body, Mapping) else None
            if not page or (total is not None and start >= total):
                break
        out.sort(key=lambda r: r.started_at or datetime.min, reverse=True)
        return out[:limit]

    async def recording(self, rec_id: int) -> Recording | None:
        for rec in await self.recordings(limit=10_000):
            if rec.id == rec_id:
                return rec
        return None

    async def download_recording(self, rec_id: int) -> bytes:
        """The audio, from the form that served audio before on this connection, else from
        each known form in turn. ``RecordingFileMissing`` when a form says the file is gone;
        ``DownloadUnconfirmed`` when no form answered at all."""
        known = self._download_path
        if known is not None:
            try:
                return await self._download(known, rec_id)
            except NotFound as exc:
                # This path served audio before: its 404 is about the file, not the path.
                if isinstance(exc, RecordingFileMissing):
                    raise
                raise RecordingFileMissing(exc.detail, endpoint=known) from exc
        for path in RECORDING_DOWNLOAD_PATHS:
            try:
                audio = await self._download(path, rec_id)
            except RecordingFileMissing:
                raise
            except (NotFound, _NotAudio):
                continue  # not a download path on this build, as far as it shows
            self._download_path = path
            # Confirmed after all (the first tries may have asked for files not written yet).
            self.wire_seen.shapes.pop(WireShape.V18_DOWNLOAD_UNCONFIRMED, None)
            return audio
        self.wire_seen.note(WireShape.V18_DOWNLOAD_UNCONFIRMED)
        raise DownloadUnconfirmed(
            f"Tried {', '.join(RECORDING_DOWNLOAD_PATHS)}: none answered with audio or with "
            "'file not on the PBX'."
        )

    async def _download(self, path: str, rec_id: int) -> bytes:
        try:
            response = await self._get_raw(path, {"file": str(int(rec_id))})
        except MalformedResponse as exc:
            # v18 redirects to its error page when the file is gone.
            if exc.status in REDIRECTS:
                raise RecordingFileMissing(endpoint=path) from exc
            if isinstance(exc, NotThreeCX) and path != self._download_path:
                # A web page where audio was hoped for: not a download path on this build.
                raise _NotAudio(exc.detail, endpoint=path) from exc
            raise
        kind = response.headers.get("content-type", "")
        if not response.content or "json" in kind or "html" in kind:
            if path == self._download_path:
                raise MalformedResponse(f"Expected audio, got {kind}.", endpoint=path)
            raise _NotAudio(f"Expected audio, got {kind}.", endpoint=path)
        return bytes(response.content)

    async def retention(self) -> RetentionPolicy:
        raise Unsupported(
            "v18 does not expose the retention policy through its API: read it in the admin "
            "console under System, Settings, Storage."
        )

    async def contacts(self) -> list[Contact]:
        raise Unsupported("v18's web API phonebook is not supported; use a CRM export instead.")

    async def phonebook_settings(self) -> PhonebookResolution | None:
        """v18's web API does not expose how 3CX resolves callers in its phonebook."""
        return None

    async def watch_calls(self) -> AsyncGenerator[CallEvent, None]:
        poller = CallLogPoller(self.call_history, interval_s=self._poll_interval_s)
        async for event in poller.events():
            yield event

    async def aclose(self) -> None:
        await self._transport.aclose()


def _listed(body: Any, key: str) -> list[Any]:
    """Every item of the page's list (rows that map or not), for the paging ledger."""
    items = body.get(key) if isinstance(body, Mapping) else None
    return items if isinstance(items, list) else []


def _mapped(
    items: list[Any], convert: Callable[[Mapping[str, Any]], T | None], path: str
) -> list[T]:
    """The items that map; one that cannot be read at all fails the read, naming ``path``."""
    try:
        return [
            item for row in items if isinstance(row, Mapping) and (item := convert(row)) is not None
        ]
    except UnreadableAnswer as exc:
        if exc.endpoint:
            raise
        raise UnreadableAnswer(exc.detail, endpoint=path) from exc


class _NotAudio(MalformedResponse):
    """A 200 without audio from a form not yet confirmed: a page, not a download path."""
