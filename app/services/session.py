"""One open connection to a customer's PBX: the long-lived client, its key and its contacts.

The desktop app holds one ``PbxSession`` per connection the engineer has opened. Every pane
asks it for the client rather than opening its own, so a PBX sees one token and one Call
Control websocket per app, and closing the session closes them all.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from app.domain.business_hours import BusinessHours, resolve_customer_hours
from app.domain.connection import ConnectionProfile, ContactColumns
from app.domain.contact_match import ContactIndex
from app.domain.contacts import Contact
from app.domain.phones import default_region
from app.services.contacts_import import ContactsFileError, read_contacts_for
from app.services.customer_clock import read_customer_hours
from app.services.log_setup import REDACTOR
from app.threecx.client import PbxClient
from app.threecx.connect import ConnectionParams, open_client
from app.threecx.errors import ThreeCXError
from app.threecx.tls import TlsOptions
from app.threecx.transport import Timeouts

log = logging.getLogger(__name__)

FALLBACK_REGION = "AU"


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
        self._contacts: ContactIndex | None = None
        self._contacts_lock = asyncio.Lock()
        self.contact_problems: list[str] = []  # why some contacts could not be used
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
                client = await open_client(self.params, self._secret)
                try:
                    await client.authenticate()
                except BaseException:
                    await client.aclose()
                    raise
                self._client = client
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

    async def contact_index(self) -> ContactIndex:
        """The contacts a call would attach to: the CRM export when the connection has one
        (that is what the bridge matches against), else the 3CX phonebook.

        Both together would make every contact "ambiguous": a CRM synced from the phonebook
        holds the same people twice.
        """
        async with self._contacts_lock:
            if self._contacts is None:
                problems: list[str] = []
                contacts: list[Contact] = []
                if self.profile.contacts_csv:
                    contacts = await self._crm_contacts(
                        Path(self.profile.contacts_csv), self.profile.contacts_columns, problems
                    )
                if not contacts:
                    try:
                        contacts = await (await self.client()).contacts()
                    except ThreeCXError as error:
                        problems.append(f"3CX phonebook not read: {error.message}")
                region = await self.region()
                self._contacts = await asyncio.to_thread(ContactIndex.build, contacts, region)
                self.contact_problems = problems
            return self._contacts

    def forget_contacts(self) -> None:
        """Re-read contacts on next use (after the CSV or the region changed)."""
        self._contacts = None

    @staticmethod
    async def _crm_contacts(
        path: Path, columns: ContactColumns | None, problems: list[str]
    ) -> list[Contact]:
        try:
            imported = await asyncio.to_thread(read_contacts_for, path, columns)
        except ContactsFileError as error:
            problems.append(f"CRM export {path.name} not read: {error}")
            return []
        problems.extend(f"{path.name} line {p.line}: {p.message}" for p in imported.problems)
        return list(imported.contacts)

    async def aclose(self) -> None:
        async with self._client_lock:
            if self._client is not None:
                client, self._client = self._client, None
                await client.aclose()
