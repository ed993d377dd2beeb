"""What the nine setup steps share: the connection being built, its staged key, and one client.

Nothing here holds a secret: the key sits in the keyring (``ConnectionStore.stage_key``) under
the new connection's id and is read back only to hand it to a service. Changing the address,
the trust settings or the key emits a signal so later steps drop what they found for the old
ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from app.domain.addresses import parse_pbx_address
from app.domain.bridge import Bridge
from app.domain.business_hours import BusinessHours, region_hours
from app.domain.connection import ContactColumns, new_connection_id
from app.domain.contacts import Contact
from app.services.connections.store import ConnectionStore, ConnectionStoreError
from app.services.facts.options import DoctorOptions
from app.services.pbx_access import ConnectionParams, PbxClient, Timeouts, TlsOptions
from app.services.session import signed_in_client
from app.services.setup.capabilities import CapabilityReport
from app.services.setup.detect import PbxDetection
from app.ui.context import UiContext

T = TypeVar("T")


@dataclass(frozen=True)
class SetupTimeouts:
    """How long each kind of check may take (every service call gets one of these)."""

    detect_s: float = 6.0
    sign_in_s: float = 10.0
    verify_s: float = 12.0
    reach_s: float = 6.0
    audit_s: float = 20.0
    preview_s: float = 25.0
    doctor_s: float = 90.0


class SetupContext(QObject):
    addressChanged = Signal()  # a new detection: everything found for the old address is stale
    detectionRefined = Signal()  # the same PBX answered better (its certificate now trusted)
    trustChanged = Signal()  # the CA file changed
    pinChanged = Signal()  # the pinned certificate changed
    keyChanged = Signal()  # a key was staged (or the Client ID changed)
    verified = Signal()  # a capability report arrived
    hoursChanged = Signal()  # the customer's zone and hours were read, confirmed or changed

    def __init__(
        self, ui: UiContext, store: ConnectionStore, timeouts: SetupTimeouts | None = None
    ) -> None:
        super().__init__()
        self.ui = ui
        self.store = store
        self.timeouts = timeouts or SetupTimeouts()
        self.connection_id = new_connection_id()
        self.detection: PbxDetection | None = None
        self.ca_file: str | None = None
        self.pin_sha256: str | None = None
        self.client_id = ""
        self.key_origin: str | None = None  # "pasted" or "created"; None: no key staged
        self.created_client_id: str | None = None  # an API client this wizard made on the PBX
        self.capabilities: CapabilityReport | None = None
        self.capabilities_waived = False  # the engineer chose to go on without both
        self.region_override: str | None = None
        # The customer's clock, read at step 5 and confirmed or changed there; saved with the
        # connection. None until read.
        self.customer_hours: BusinessHours | None = None
        self.hours_problem: str | None = None  # why the PBX's own hours are not shown
        self.contacts_csv: str | None = None
        self.contacts_columns: ContactColumns | None = None  # set when the engineer re-mapped
        self.crm_contacts: tuple[Contact, ...] = ()  # read at step 8, for the setup report
        self.crm_contacts_label: str | None = None
        self.crm_record_ids = False  # the export has the CRM's record id column
        self.bridge = Bridge()  # asked at step 8; saved with the connection
        self.saved = False
        self._client: PbxClient | None = None
        self._client_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing: set[asyncio.Task[Any]] = set()  # awaited, never cancelled

    # ---- tasks ---------------------------------------------------------------------------------
    def start(self, coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
        """Run on the window's TaskKeeper, and remember it so the wizard can cancel its own."""
        task = self.ui.tasks.start(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def close_later(self, coro: Coroutine[Any, Any, None], *, name: str) -> None:
        """Close a client or session in the background; ``aclose`` waits for it to finish
        (cancelling it would leave its sockets open)."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        # Not the task calling this (the Cancel button's own task ends the setup).
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if not t.done() and t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.close_client()
        await asyncio.gather(*self._closing, return_exceptions=True)

    # ---- the connection being built ------------------------------------------------------------
    @property
    def key_staged(self) -> bool:
        return self.key_origin is not None

    @property
    def generation(self) -> str | None:
        return self.detection.generation if self.detection else None

    @property
    def url(self) -> str | None:
        return self.detection.url if self.detection else None

    @property
    def host(self) -> str:
        if self.detection is not None:
            return self.detection.host
        return ""

    def tls(self) -> TlsOptions:
        return TlsOptions(ca_file=self.ca_file, pin_sha256=self.pin_sha256)

    def params(self) -> ConnectionParams:
        if self.detection is None:
            raise ConnectionStoreError("Enter the PBX address first (step 1).", field="url")
        return ConnectionParams(
            url=self.detection.url,
            client_id=self.client_id,
            tls=self.tls(),
            timeouts=Timeouts(),
            generation=self.detection.generation,
        )

    def set_detection(self, detection: PbxDetection | None) -> None:
        changed = detection != self.detection
        self.detection = detection
        if changed:
            self._forget_results()
            self.set_customer_hours(None)
            self.addressChanged.emit()

    def redetected(self, detection: PbxDetection) -> None:
        """The address was asked again: the same PBX answering better (once its certificate is
        trusted) keeps what later steps hold; anything else is a new detection."""
        current = self.detection
        same_pbx = (
            current is not None
            and current.url == detection.url
            and current.generation in (None, detection.generation)
        )
        if not same_pbx:
            self.set_detection(detection)
        elif detection != current:
            self.detection = detection
            self.detectionRefined.emit()

    def refine_detection(self, detection: PbxDetection) -> None:
        """The same PBX, better known (its own region once the key works): nothing is stale."""
        self.detection = detection

    def set_trust(self, *, ca_file: str | None = None, pin_sha256: str | None = None) -> None:
        if (ca_file, pin_sha256) != (self.ca_file, self.pin_sha256):
            ca_changed = ca_file != self.ca_file
            pin_changed = pin_sha256 != self.pin_sha256
            self.ca_file, self.pin_sha256 = ca_file, pin_sha256
            self._drop_client()
            if ca_changed:
                self.trustChanged.emit()
            if pin_changed:
                self.pinChanged.emit()

    async def stage_key(self, client_id: str, key: str, *, origin: str) -> None:
        """Put ``key`` into the keyring for this setup; raises ConnectionStoreError."""
        await self.store.stage_key(self.connection_id, key)
        self.client_id = client_id.strip()
        self.key_origin = origin
        self._forget_results()
        self.keyChanged.emit()

    def set_client_id(self, client_id: str) -> None:
        client_id = client_id.strip()
        if client_id != self.client_id:
            self.client_id = client_id
            if self.key_staged:
                self._forget_results()
                self.keyChanged.emit()

    def set_capabilities(self, report: CapabilityReport | None) -> None:
        self.capabilities = report
        self.capabilities_waived = False
        self.verified.emit()

    def set_customer_hours(self, hours: BusinessHours | None, problem: str | None = None) -> None:
        if (hours, problem) != (self.customer_hours, self.hours_problem):
            self.customer_hours, self.hours_problem = hours, problem
            self.hoursChanged.emit()

    def shown_hours(self) -> BusinessHours:
        """The clock to show customer times on before step 5 read it: the region's guess."""
        if self.customer_hours is not None:
            return self.customer_hours
        region = self.region_override or (self.detection.region if self.detection else None)
        return region_hours(region)

    @property
    def capabilities_green(self) -> bool:
        report = self.capabilities
        return report is not None and report.key_accepted and report.both_capabilities

    async def discard(self) -> None:
        """Cancelled: nothing of this setup is left in the keyring."""
        await self.close_client()
        if not self.saved:
            await self.store.discard_staged_key(self.connection_id)
            self.key_origin = None

    # ---- one client for the informational steps ------------------------------------------------
    async def secret(self) -> str:
        """The staged key, to hand to a service (never shown)."""
        key = await self.store.staged_key(self.connection_id)
        if key is None:
            raise ConnectionStoreError("No API key is stored yet: paste it in step 4.")
        return key

    async def client(self) -> PbxClient:
        """A signed-in client on the staged key, shared by steps 7 and 8."""
        async with self._client_lock:
            if self._client is None:
                self._client = await signed_in_client(self.params(), await self.secret())
            return self._client

    async def close_client(self) -> None:
        async with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            self.close_later(client.aclose(), name="setup: close client")

    def _forget_results(self) -> None:
        self.capabilities = None
        self.capabilities_waived = False
        self._drop_client()

    def doctor_options(self) -> DoctorOptions:
        """What step 8's preview and the setup report's doctor run both check with."""
        return DoctorOptions(
            region=self.region_override,
            crm_contacts=self.crm_contacts,
            crm_contacts_label=self.crm_contacts_label,
            crm_record_ids=self.crm_record_ids,
            bridge=self.bridge,
            business_hours=self.customer_hours or BusinessHours(),  # as Finish saves them
        )

    def suggested_name(self) -> str:
        """The connection's name as the PBX's FQDN (what the engineer will recognise)."""
        if self.detection is None:
            return ""
        try:
            return parse_pbx_address(self.detection.url).host
        except ValueError:
            return self.detection.host
