"""One open connection to a customer's PBX: the long-lived client, its key and its contacts.

The desktop app holds one ``PbxSession`` per connection the engineer has opened. Every pane
asks it for the client rather than opening its own, so a PBX sees one token and one Call
Control websocket per app, and closing the session closes them all. The same goes for the
contacts: one ``ContactMatcher`` per session says which contact a caller's call lands on, as
the customer's bridge (and the doctor's cause 5) would.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from app.domain.bridge import (
    Bridge,
    BridgeIndex,
    BridgeMatch,
    ContactStore,
    NumberMatch,
    PhonebookResolution,
    store_to_search,
)
from app.domain.business_hours import BusinessHours, resolve_customer_hours
from app.domain.causes.contact_match import (
    ContactMatchFacts,
    SearchedContacts,
    judge_contact_match,
)
from app.domain.causes.wording import plural
from app.domain.connection import ConnectionProfile
from app.domain.contacts import Contact
from app.domain.phones import default_region
from app.services.contacts.crm_import import ContactsFileError
from app.services.customer_clock import read_customer_hours
from app.services.facts.connection_options import ContactsRead, read_crm_export
from app.services.logs.setup import REDACTOR
from app.threecx.client import PbxClient
from app.threecx.connect import ConnectionParams, open_client
from app.threecx.errors import ThreeCXError
from app.threecx.tls import TlsOptions
from app.threecx.transport import Timeouts

log = logging.getLogger(__name__)

FALLBACK_REGION = "AU"


class ContactsUnavailable(Exception):
    """No call can be matched as the customer's bridge would; the message is the doctor's why."""


@dataclass(frozen=True)
class ContactMatcher:
    """The contacts the customer's bridge searches, compared as it compares numbers.

    Built as the doctor builds cause 5 (the store ``store_to_search`` picks, the same
    ``BridgeIndex``), so the live feed, the recordings and the trigger preview name the contact
    a call lands on exactly as the doctor judges it.
    """

    index: BridgeIndex
    searched: str  # "the CRM export crm.csv (HubSpot)", "the 3CX phonebook"
    problems: tuple[str, ...] = ()  # why some contacts could not be used

    @property
    def bridge(self) -> Bridge:
        return self.index.bridge

    def __len__(self) -> int:
        return len(self.index)

    def match(self, raw: str) -> BridgeMatch:
        """Where a call from (or to) ``raw`` lands, and the bridge's words for why."""
        return self.index.match(raw)

    def describe(self) -> str:
        """ "230 contacts in the 3CX phonebook", with the first problem, for a status line."""
        text = f"{plural(len(self), 'contact')} in {self.searched}"
        return text + (f" ({self.problems[0]})" if self.problems else "")


def connection_params(
    profile: ConnectionProfile, *, poll_interval_s: float = 5.0
) -> ConnectionParams:
    return ConnectionParams(
        url=profile.url,
        client_id=profile.client_id,
        tls=TlsOptions(ca_file=profile.ca_file, pin_sha256=profile.pin_sha256),
        timeouts=Timeouts(),
        poll_interval_s=poll_interval_s,
    )


async def signed_in_client(params: ConnectionParams, secret: str) -> PbxClient:
    """A client that has signed in (closed again if signing in fails): raises its error."""
    client = await open_client(params, secret)
    try:
        await client.authenticate()
    except BaseException:
        await client.aclose()
        raise
    return client


class PbxSession:
    """The client for one connection, opened on first use and shared by every pane."""

    def __init__(
        self, profile: ConnectionProfile, secret: str, *, poll_interval_s: float = 5.0
    ) -> None:
        self.profile = profile
        self._secret = secret
        REDACTOR.register(secret)
        self._poll_interval_s = poll_interval_s
        self._client: PbxClient | None = None
        self._client_lock = asyncio.Lock()
        self._matcher: ContactMatcher | None = None
        self._contacts_lock = asyncio.Lock()
        self._hours: BusinessHours | None = None
        self._hours_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PbxSession({self.profile.name!r}, {self.profile.url!r})"

    @property
    def secret(self) -> str:
        """The API key, for the doctor (which opens its own probing client). Never display it."""
        return self._secret

    @property
    def params(self) -> ConnectionParams:
        return connection_params(self.profile, poll_interval_s=self._poll_interval_s)

    async def client(self) -> PbxClient:
        """The signed-in client; raises ``ThreeCXError`` (or ``AddressError``) when it cannot."""
        async with self._client_lock:
            if self._client is None:
                self._client = await signed_in_client(self.params, self._secret)
            return self._client

    async def region(self) -> str:
        """The region for number normalisation: the connection's, else the PBX's country."""
        if self.profile.region:
            return self.profile.region
        try:
            client = await self.client()
            licence = await client.licence()
            plan = await client.numbering_plan()
        except ThreeCXError as error:
            log.info("Region unknown (%s); using %s", error.message, FALLBACK_REGION)
            return FALLBACK_REGION
        return default_region(licence.country_code, plan.country_code) or FALLBACK_REGION

    @property
    def known_hours(self) -> BusinessHours | None:
        """The customer's hours once ``customer_hours`` has resolved them (None before)."""
        return self._hours

    @property
    def saved_hours(self) -> BusinessHours:
        """What to show until the PBX has been asked: the saved hours, named as such."""
        return self._hours or self.profile.business_hours

    async def customer_hours(self) -> BusinessHours:
        """The customer's clock for every pane: asked once per session.

        The PBX's own OfficeHours (v20), the hours saved with the connection, or the
        country's usual zone, as ``resolve_customer_hours`` decides. A PBX that cannot be
        asked is not an error here: the saved hours or the region's guess stand, named.
        """
        async with self._hours_lock:
            if self._hours is None:
                saved = self.profile.business_hours
                region = self.profile.region
                try:
                    client = await self.client()
                except (ThreeCXError, ValueError) as error:  # ValueError: address or CA file
                    log.info("The customer's clock is not read from the PBX: %s", error)
                    self._hours = resolve_customer_hours(None, saved, region)
                else:
                    self._hours = await read_customer_hours(client, saved, region)
            return self._hours

    async def contact_matcher(self) -> ContactMatcher:
        """Which contact a call lands on, as the connection's bridge finds it: read once.

        The bridge's store: the CRM export (read with the connection's column mapping) when it
        searches the CRM and there is one, else the 3CX phonebook standing in; the phonebook
        when it is 3CX's own integration, with 3CX's resolution settings read from the PBX.
        Both stores together would count every person twice. Raises ``ContactsUnavailable``
        when no call can be matched (the doctor's words for why), ``ThreeCXError`` or
        ``AddressError`` when the PBX cannot be asked.
        """
        async with self._contacts_lock:
            if self._matcher is None:
                self._matcher = await self._read_matcher()
            return self._matcher

    def forget_contacts(self) -> None:
        """Re-read contacts on next use (after the CSV, the bridge or the region changed)."""
        self._matcher = None

    async def _read_matcher(self) -> ContactMatcher:
        bridge = self.profile.bridge
        problems: list[str] = []
        export = await self._crm_export(problems)
        store = store_to_search(bridge, crm_export=export is not None)
        if store is ContactStore.CRM and export is not None:
            searched = SearchedContacts(
                ContactStore.CRM,
                export.contacts,
                f"the CRM export {export.label}",
                record_ids=export.record_ids,
            )
        else:
            searched = await self._phonebook(bridge, problems)
        resolution, resolution_problem = await self._resolution(bridge)
        facts = ContactMatchFacts(
            bridge=bridge,
            region=await self.region(),
            region_source="the connection, else the PBX's country",
            searched=searched,
            calls=(),
            recent_label="",
            resolution=resolution,
            resolution_problem=resolution_problem,
        )
        index = await asyncio.to_thread(lambda: facts.index)  # a big export takes a while
        if index is None:
            raise ContactsUnavailable(judge_contact_match(facts).finding)
        return ContactMatcher(index, searched.label, tuple(problems))

    async def _crm_export(self, problems: list[str]) -> ContactsRead | None:
        """The connection's CRM export with at least one contact; None: none to search."""
        if not self.profile.contacts_csv:
            return None
        path = Path(self.profile.contacts_csv)
        try:
            export = await read_crm_export(path, self.profile.contacts_columns)
        except (ContactsFileError, OSError) as error:
            problems.append(f"CRM export {path.name} not read: {error}")
            return None
        problems.extend(f"{path.name} {skipped}" for skipped in export.skipped)
        return export if export.contacts else None

    async def _phonebook(self, bridge: Bridge, problems: list[str]) -> SearchedContacts:
        standing_in = bridge.store is ContactStore.CRM
        contacts: list[Contact] = []
        problem = None
        try:
            contacts = await (await self.client()).contacts()
        except ThreeCXError as error:
            problem = error.message
            problems.append(f"3CX phonebook not read: {error.message}")
        return SearchedContacts(
            ContactStore.PHONEBOOK,
            tuple(contacts),
            ContactStore.PHONEBOOK.words,
            standing_in=standing_in,
            problem=problem,
        )

    async def _resolution(self, bridge: Bridge) -> tuple[PhonebookResolution | None, str | None]:
        """3CX's phonebook resolution, read only for a bridge that is 3CX's own; with why not."""
        if bridge.match is not NumberMatch.PHONEBOOK:
            return None, None
        try:
            resolution = await (await self.client()).phonebook_settings()
        except ThreeCXError as error:
            return None, error.message
        return resolution, None if resolution is not None else "this PBX version does not say"

    async def aclose(self) -> None:
        async with self._client_lock:
            if self._client is not None:
                client, self._client = self._client, None
                await client.aclose()
