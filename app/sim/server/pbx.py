"""What the HTTP server needs of the simulated PBX, as an interface it is given.

The simulator builds and owns the server and hands itself over as a ``Pbx``; the server never
imports the simulator, so the two read (and change) one at a time.
"""

from __future__ import annotations

from typing import Any, Protocol

from app.sim.auth import TokenStore
from app.sim.config import SimConfig
from app.sim.departments import Department
from app.sim.engine import Engine
from app.sim.faults import FaultSet
from app.sim.records import CallRecord
from app.sim.tenant import Tenant
from app.sim.webhooks import AddOnWebhooks
from app.sim.wire_quirks import WireQuirk
from app.sim.wire_v20 import CallLogShape


class Pbx(Protocol):
    # ---- its parts -------------------------------------------------------------------------
    config: SimConfig
    faults: FaultSet
    tenant: Tenant
    engine: Engine
    tokens: TokenStore
    webhooks: AddOnWebhooks
    wire: frozenset[WireQuirk]

    # ---- who it is and where ---------------------------------------------------------------
    version: str
    is_v20: bool
    expires_in_seconds: bool
    url: str
    archive_base: str
    client_id: str
    client_secret: str  # the built-in API client's key: renewed by GenerateAppToken
    admin_username: str
    admin_password: str

    # ---- views the routes answer with ------------------------------------------------------
    def token_lifetime_s(self) -> float: ...
    def call_log_shape(self) -> CallLogShape: ...
    def state(self) -> dict[str, Any]: ...
    def system_status(self) -> dict[str, Any]: ...
    def licence(self) -> dict[str, Any]: ...
    def licence_status(self) -> dict[str, Any]: ...
    def repository_settings(self) -> dict[str, Any]: ...
    def departments(self) -> list[Department]: ...
    def users(self, *, expand_groups: bool) -> list[dict[str, Any]]: ...
    def active_calls_v20(self) -> list[dict[str, Any]]: ...
    def active_calls_v18(self) -> list[dict[str, Any]]: ...
    def visible_recording_ids(self) -> set[int]: ...
    def recording_filename(self, rec_id: int) -> str: ...
    def crm_export_csv(self, flavour: str = ...) -> str: ...

    async def place_call(
        self,
        kind: str = ...,
        *,
        answered: bool = ...,
        extension: str | None = ...,
        number: str | None = ...,
        queue: str | None = ...,
        ring_s: float = ...,
        talk_s: float = ...,
    ) -> CallRecord: ...

    # ---- service principals (API clients) --------------------------------------------------
    def add_principal(
        self,
        number: str,
        xapi: bool,
        cc: bool,
        *,
        secret: str | None = ...,
        settings: dict[str, Any] | None = ...,
    ) -> dict[str, Any]: ...
    def principal_settings(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def principal_by_number(self, number: str) -> dict[str, Any] | None: ...
    def principal_by_id(self, pid: int) -> dict[str, Any] | None: ...
    def principal_allows(self, token: Any, flag: str) -> bool: ...
    def role_refuses(self, token: Any, capability: str) -> bool: ...
    def principal_json(self, p: dict[str, Any], expand: frozenset[str] = ...) -> dict[str, Any]: ...
    def principals_json(self, expand: frozenset[str] = ...) -> list[dict[str, Any]]: ...
    def number_in_use(self, number: str) -> bool: ...
