"""The v20 client: XAPI (OData) with bearer tokens, Call Control for live events."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncGenerator, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from urllib.parse import urljoin, urlsplit

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
from app.domain.wire_shapes import WireSeen
from app.threecx.errors import (
    AuthRejected,
    BadRequest,
    Forbidden,
    MalformedResponse,
    NotFound,
    RecordingFileMissing,
    ServerError,
    UnreadableAnswer,
    Unsupported,
)
from app.threecx.history_windows import newest_calls
from app.threecx.paging import PageLedger
from app.threecx.polling import CallLogPoller
from app.threecx.tolerant_fields import describe, integer, odata_datetime, rows
from app.threecx.transport import Transport, parse_json
from app.threecx.v20 import mapping
from app.threecx.v20.callcontrol import CallControlWatcher
from app.threecx.v20.office_hours import business_hours_from_rows
from app.threecx.v20.tokens import TokenManager

XAPI = "/xapi/v1"
T = TypeVar("T")

USER_FIELDS = (
    "Id,Number,FirstName,LastName,DisplayName,EmailAddress,Enabled,IsRegistered,"
    "RecordCalls,RecordExternalCallsOnly,AllowOwnRecordings,ForbidRecording"
)
QUEUE_FIELDS = "Id,Number,Name,Recording,PollingStrategy"
PAGE_CAP = 100  # seen in the field on /Users; some entities reject larger $top with 400
MIN_PAGE = 10
PARALLEL_PAGES = 4  # pages fetched side by side once the total is known


def call_log_path(since: datetime, until: datetime) -> str:
    """``GetCallLogData`` needs all eleven arguments; datetimes unquoted, strings quoted."""
    return (
        f"{XAPI}/ReportCallLogData/Pbx.GetCallLogData("
        f"periodFrom={odata_datetime(since)},periodTo={odata_datetime(until)},"
        "sourceType=0,sourceFilter='',destinationType=0,destinationFilter='',"
        "callsType=0,callTimeFilterType=0,callTimeFilterFrom='0:00:0',"
        "callTimeFilterTo='0:00:0',hidePcalls=true)"
    )


class V20Client:
    generation = "v20"

    def __init__(
        self,
        transport: Transport,
        client_id: str,
        secret: str,
        *,
        page_size: int = 500,
        poll_interval_s: float = 5.0,
    ) -> None:
        self._transport = transport
        self._tokens = TokenManager(
            transport,
            client_id,
            secret,
            version_hint=lambda: PbxVersion.parse(transport.last_version_header),
        )
        self._page_size = page_size
        self._poll_interval_s = poll_interval_s
        self._identity = PbxIdentity(base_url=transport.base_url, version=None)
        self.wire_seen = WireSeen()  # the live-PBX shapes this PBX showed (doctor evidence)

    def __repr__(self) -> str:
        return f"V20Client({self._transport.base_url!r})"

    @property
    def identity(self) -> PbxIdentity:
        return self._identity

    @property
    def tokens(self) -> TokenManager:
        return self._tokens

    async def authenticate(self) -> PbxIdentity:
        await self._tokens.token()
        body = await self._get(f"{XAPI}/Defs", params={"$select": "Id"})
        if not isinstance(body, Mapping) or "Id" not in body:
            raise MalformedResponse("The XAPI probe did not answer as 3CX does.", endpoint="/Defs")
        self._learn_version()
        if self._identity.version is None:
            await self.system_status()  # no X-3CX-Version header: SystemStatus.Version says it
        return self._identity

    def _learn_version(self, reported: str | None = None) -> None:
        header = self._transport.last_version_header
        version = PbxVersion.parse(header) or PbxVersion.parse(reported) or self._tokens.version
        if version is not None and version != self._identity.version:
            self._identity = PbxIdentity(self._identity.base_url, version, self._identity.fqdn)
            self._tokens.learn_version(version)

    async def _get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        response = await self._authorised("GET", path, params=params)
        return parse_json(response, _label(path))

    async def _authorised(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None, **kwargs: Any
    ) -> Any:
        """A request with the bearer token; a 401 drops the token and is retried once.

        The retry's token was issued just now (the token endpoint accepted the Client ID and
        key, or a 401 there is raised as ``AuthRejected``), so a second 401 means the PBX
        withdrew it: another program signed in with the same API client (3CX keeps one token
        per client) or the key was rotated. That is ``TokenRevoked``, never a missing role.
        The same holds when it happens again soon after one re-sign-in on another request:
        signing in once more would only take the other program's token away in turn.
        """
        for attempt in (1, 2):
            token = await self._tokens.token()
            try:
                return await self._transport.request(
                    method,
                    path,
                    params=params,
                    headers={"Authorization": f"Bearer {token}"},
                    label=_label(path),
                    **kwargs,
                )
            except AuthRejected as exc:
                self._tokens.invalidate(token)
                if attempt == 2 or not self._tokens.may_sign_in_again(token):
                    raise self._tokens.revoked(_label(path)) from exc
        raise AssertionError("unreachable")

    async def _collection(
        self,
        path: str,
        params: Mapping[str, str],
        convert: Callable[[Mapping[str, Any]], T | None],
        *,
        limit: int | None = None,
        page_size: int | None = None,
    ) -> list[T]:
        """Every row of an OData collection, however the server pages it.

        Follows ``@odata.nextLink`` (server-driven paging); otherwise pages with ``$top`` and
        ``$skip`` and asks ``$count`` so a server that silently caps ``$top`` still gives every
        row; halves the page when ``$top`` is rejected as too large. Paging always ends: a
        repeated next-page link, an ignored ``$skip`` or a read past the caps of
        ``app.domain.paging`` raises ``EndlessPaging`` (no partial list is returned).
        """
        size = min(page_size or self._page_size, limit or 10**9)
        read = _Read(path, params, convert, limit, size, PageLedger(_label(path)))
        while True:
            body = await self._fetch_page(read)
            if body is None:
                continue  # $top was rejected: ask again for a smaller page
            raw = _page_of(body, path)
            read.ledger.page(raw, offset=read.skip, link=read.next_link)
            if read.total is None:
                read.total = integer(body, "@odata.count", low=0)
            read.add(raw)
            if read.full():
                return read.rows()
            link = body.get("@odata.nextLink")
            if isinstance(link, str) and link:
                read.next_link = self._same_origin(link, path)
                read.ledger.follow(read.next_link)
                continue
            read.next_link = None
            if await self._read_all(read, len(raw)):
                return read.rows()

    async def _fetch_page(self, read: _Read[T]) -> Any:
        """The next page's body; None when ``$top`` was too large and the page is halved."""
        if read.next_link is not None:
            return await self._get(read.next_link)
        query = dict(read.params, **{"$top": str(read.size), "$skip": str(read.skip)})
        if read.skip == 0:
            query["$count"] = "true"
        try:
            return await self._get(read.path, params=query)
        except BadRequest:
            if read.size <= MIN_PAGE:
                raise
            read.size = max(MIN_PAGE, read.size // 2)  # the entity caps $top; page more finely
            return None

    async def _read_all(self, read: _Read[T], received: int) -> bool:
        """Whether the rows are all read after a page of ``received`` rows without a link."""
        if received == 0:
            return True
        if read.total is None:
            return received < read.size
        if read.skip >= read.total:
            return True
        if read.skip == received:
            return await self._rest_side_by_side(read, read.total, received)
        return False  # a short page but more rows: the server capped $top silently

    async def _rest_side_by_side(self, read: _Read[T], total: int, received: int) -> bool:
        """The first page told the total: ask for the rest side by side, at the page size the
        server actually served (it may cap $top silently), a few pages at a time so a page
        sent again stops the read before the next few. Whether the rows are all read."""
        end = min(total, read.limit) if read.limit is not None else total
        offsets = iter(range(read.skip, end, received))
        while batch := list(itertools.islice(offsets, PARALLEL_PAGES)):
            pages = await self._pages(read.path, read.params, batch, received)
            for offset, page in zip(batch, pages, strict=True):
                read.ledger.page(page, offset=offset)
                read.add(page)
            if read.full():
                return True
            if not all(pages):
                return True  # an empty page: the count overstated the rows
        return read.skip >= total

    async def _pages(
        self, path: str, params: Mapping[str, str], offsets: list[int], size: int
    ) -> list[list[Any]]:
        """The raw rows of the pages at ``offsets``, at most ``PARALLEL_PAGES`` in flight, in
        order."""
        gate = asyncio.Semaphore(PARALLEL_PAGES)

        async def page(offset: int) -> list[Any]:
            async with gate:
                query = dict(params, **{"$top": str(size), "$skip": str(offset)})
                body = await self._get(path, params=query)
            return _page_of(body, path)

        tasks = [asyncio.ensure_future(page(offset)) for offset in offsets]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            # One page failed: stop the others instead of firing requests after the error.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    def _same_origin(self, link: str, path: str) -> str:
        """A nextLink must stay on this PBX: the bearer token goes with it."""
        base = urlsplit(self._transport.base_url)
        target = urlsplit(urljoin(self._transport.base_url + "/", link))
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            raise MalformedResponse(
                "The PBX pointed the next page at another host; not following it.",
                endpoint=_label(path),
            )
        return target.path + (f"?{target.query}" if target.query else "")

    async def system_status(self) -> SystemStatus:
        body = await self._get(f"{XAPI}/SystemStatus")
        status = mapping.system_status_from_row(_object(body, "/SystemStatus"))
        if status.fqdn and self._identity.fqdn != status.fqdn:
            self._identity = PbxIdentity(
                self._identity.base_url, self._identity.version, status.fqdn
            )
        self._learn_version(status.version)
        return status

    async def licence(self) -> Licence:
        params, status = await asyncio.gather(
            self._get(f"{XAPI}/Defs/Pbx.GetLicenseParameters()"),
            self._get(f"{XAPI}/LicenseStatus"),
        )
        return mapping.licence_from_rows(
            _object(params, "/Defs/Pbx.GetLicenseParameters()"), _object(status, "/LicenseStatus")
        )

    async def numbering_plan(self) -> NumberingPlan:
        body = await self._get(f"{XAPI}/E164Settings")
        return mapping.numbering_plan_from_row(_object(body, "/E164Settings"))

    async def office_hours(self) -> BusinessHours | None:
        """The customer's clock: ``None`` when this PBX serves no office hours (404).

        Raises ``UnknownTimeZone`` when the hours name a zone that cannot be resolved.
        """
        hours_task = asyncio.ensure_future(self._office_hours_body())
        zones_task = asyncio.ensure_future(self._time_zones())
        try:
            body, (zones, zones_problem) = await asyncio.gather(hours_task, zones_task)
        except BaseException:
            for task in (hours_task, zones_task):
                task.cancel()
            await asyncio.gather(hours_task, zones_task, return_exceptions=True)
            raise
        if body is None:
            return None
        return business_hours_from_rows(body, zones, zones_problem=zones_problem)

    async def _office_hours_body(self) -> Mapping[str, Any] | None:
        try:
            body = await self._get(f"{XAPI}/OfficeHours", params={"$expand": "OfficeHolidays"})
        except NotFound:
            return None
        return _object(body, "/OfficeHours")

    async def _time_zones(self) -> tuple[list[Mapping[str, Any]], str]:
        """The PBX's zone list, or none and why: a TimeZoneId may still be an IANA name."""
        try:
            zones = await self._collection(f"{XAPI}/Defs/TimeZones", {}, _row)
        except (NotFound, Forbidden, BadRequest, ServerError, MalformedResponse) as exc:
            return [], exc.message
        return zones, ""

    async def extensions(self) -> list[Extension]:
        return await self._collection(
            f"{XAPI}/Users",
            {"$select": USER_FIELDS, "$orderby": "Number"},
            mapping.extension_from_user,
            page_size=PAGE_CAP,
        )

    async def queues(self) -> list[Queue]:
        return await self._collection(
            f"{XAPI}/Queues", {"$select": QUEUE_FIELDS}, mapping.queue_from_row, page_size=PAGE_CAP
        )

    async def call_history(
        self, since: datetime, until: datetime, *, limit: int = 1000
    ) -> list[CallRecord]:
        async def legs(start: datetime, end: datetime, cap: int) -> list[CallRecord]:
            return await self._collection(
                call_log_path(start, end),
                {"$orderby": "StartTime desc"},  # asked for; not relied on (§9.3)
                lambda row: mapping.call_from_log_row(row, self.wire_seen),
                limit=cap,
            )

        async def count(start: datetime, end: datetime) -> int | None:
            body = await self._get(call_log_path(start, end), {"$top": "1", "$count": "true"})
            return integer(body, "@odata.count", low=0) if isinstance(body, Mapping) else None

        return await newest_calls(
            legs, since, until, limit=limit, row_cap=limit * 4, seen=self.wire_seen, count=count
        )

    async def recordings(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[Recording]:
        params = {"$orderby": "StartTime desc"}
        clauses = []
        if since is not None:
            clauses.append(f"StartTime ge {odata_datetime(since)}")
        if until is not None:
            clauses.append(f"StartTime le {odata_datetime(until)}")
        if clauses:
            params["$filter"] = " and ".join(clauses)
        found = await self._collection(
            f"{XAPI}/Recordings", params, mapping.recording_from_row, limit=limit
        )
        # Newest first by our own sort: the server's $orderby is not relied on (§9.3).
        floor = datetime.min.replace(tzinfo=UTC)
        return sorted(found, key=lambda r: (r.started_at or floor, r.id), reverse=True)

    async def recording(self, rec_id: int) -> Recording | None:
        # There is no /Recordings({Id}); filter the collection instead.
        found = await self._collection(
            f"{XAPI}/Recordings",
            {"$filter": f"Id eq {int(rec_id)}"},
            mapping.recording_from_row,
            limit=1,
        )
        return found[0] if found else None

    async def download_recording(self, rec_id: int) -> bytes:
        path = f"{XAPI}/Recordings/Pbx.DownloadRecording(recId={int(rec_id)})"
        try:
            response = await self._authorised("GET", path)
        except NotFound as exc:
            # Builds differ: a missing file is 400 FILE_NOT_FOUND on some, a bare 404 on others.
            raise RecordingFileMissing(exc.detail, endpoint=_label(path)) from exc
        content = bytes(response.content)
        kind = response.headers.get("content-type", "")
        if not content or ("json" in kind or "html" in kind):
            raise MalformedResponse(
                f"Expected audio, got {kind or 'no content type'}.", endpoint=_label(path)
            )
        return content

    async def retention(self) -> RetentionPolicy:
        body = await self._get(f"{XAPI}/Recordings/Pbx.GetRecordingRepositorySettings()")
        return mapping.retention_from_row(
            _object(body, "/Recordings/Pbx.GetRecordingRepositorySettings()")
        )

    async def contacts(self) -> list[Contact]:
        return await self._collection(f"{XAPI}/Contacts", {}, mapping.contact_from_row)

    async def phonebook_settings(self) -> PhonebookResolution | None:
        body = await self._get(
            f"{XAPI}/PhoneBookSettings", params={"$select": "ResolvingType,ResolvingLength"}
        )
        return mapping.phonebook_resolution_from_row(_object(body, "/PhoneBookSettings"))

    async def call_control_snapshot(self) -> list[Mapping[str, Any]]:
        """``GET /callcontrol``: the monitored DNs with their participants."""
        try:
            body = await self._get("/callcontrol")
        except (NotFound, Forbidden) as exc:
            raise Unsupported(
                "Call Control is not enabled for this API client (tick Call Control API access "
                "and choose the extensions to monitor).",
                endpoint="/callcontrol",
            ) from exc
        return rows(body, key="") if isinstance(body, list) else rows(body)

    async def call_control_entity(self, entity: str) -> Mapping[str, Any] | None:
        try:
            body = await self._get(entity)
        except NotFound:
            return None
        return body if isinstance(body, Mapping) else None

    async def bearer(self) -> str:
        return await self._tokens.token()

    def drop_bearer(self, token: str) -> None:
        self._tokens.invalidate(token)

    async def watch_calls(self) -> AsyncGenerator[CallEvent, None]:
        try:
            await self.call_control_snapshot()
        except Unsupported:
            poller = CallLogPoller(self.call_history, interval_s=self._poll_interval_s)
            async for event in poller.events():
                yield event
            return
        watcher = CallControlWatcher(self, self._transport)
        # aclosing: a consumer that stops early still closes the websocket watcher in this task.
        async with contextlib.aclosing(watcher.events()) as events:
            async for event in events:
                yield event

    async def aclose(self) -> None:
        await self._transport.aclose()


def _row(row: Mapping[str, Any]) -> Mapping[str, Any]:
    return row


def _page_of(body: Any, path: str) -> list[Any]:
    """The ``value`` list of an OData page, every item (rows that map or not)."""
    if not isinstance(body, Mapping):
        raise UnreadableAnswer(
            f"The answer was {describe(body)}, not an OData collection.", endpoint=_label(path)
        )
    value = body.get("value")
    if not isinstance(value, list):
        raise UnreadableAnswer(
            f"value was {describe(value)}, not a list of rows.", endpoint=_label(path)
        )
    return value


def _converted(
    raw: list[Any], convert: Callable[[Mapping[str, Any]], T | None], path: str
) -> list[T]:
    """The page's rows that map; a row that cannot be read at all fails the whole read."""
    try:
        return [
            item
            for row in raw
            # type() first: isinstance against the Mapping ABC is the slow path, per row.
            if (type(row) is dict or isinstance(row, Mapping))
            and (item := convert(row)) is not None
        ]
    except UnreadableAnswer as exc:
        if exc.endpoint:
            raise
        raise UnreadableAnswer(exc.detail, endpoint=_label(path)) from exc


def _object(body: Any, endpoint: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise UnreadableAnswer(
            f"The answer was {describe(body)}, not an object.", endpoint=endpoint
        )
    return body


def _label(path: str) -> str:
    """The endpoint name for messages: no query, no function arguments."""
    path = path.split("?")[0]
    if path.startswith(XAPI):
        path = path[len(XAPI) :]
    if "(" in path and not path.endswith("()"):
        path = path[: path.index("(")] + "(…)"
    return path


class _Read(Generic[T]):
    """Where a collection read has got to: the rows so far and how to ask for the next."""

    def __init__(
        self,
        path: str,
        params: Mapping[str, str],
        convert: Callable[[Mapping[str, Any]], T | None],
        limit: int | None,
        size: int,
        ledger: PageLedger,
    ) -> None:
        self.path, self.params, self.convert = path, params, convert
        self.limit, self.size, self.ledger = limit, size, ledger
        self.out: list[T] = []
        self.skip = 0
        self.total: int | None = None
        self.next_link: str | None = None

    def add(self, raw: list[Any]) -> None:
        self.out.extend(_converted(raw, self.convert, self.path))
        self.skip += len(raw)

    def full(self) -> bool:
        return self.limit is not None and len(self.out) >= self.limit

    def rows(self) -> list[T]:
        return self.out[: self.limit] if self.limit is not None else self.out
