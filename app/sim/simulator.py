"""The simulated 3CX PBX: owns the tenant, the faults, the call engine and the server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import shutil
import ssl
import string
import tempfile
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from aiohttp import web

from app.domain.clock import Clock, RunningClock, utc_now
from app.sim import principals, wire_v20
from app.sim.auth import TokenStore
from app.sim.bridge_playback import BridgePlayback, replay_history
from app.sim.calls import generate_history
from app.sim.config import SimConfig
from app.sim.crm import export_csv
from app.sim.departments import Department, of_extension
from app.sim.departments import build as build_departments
from app.sim.engine import Engine
from app.sim.faults import FaultSet, expand_scenarios
from app.sim.records import CallRecord
from app.sim.server import SimServer
from app.sim.tenant import Tenant
from app.sim.timefmt import iso
from app.sim.tls import SimCertificates
from app.sim.webhooks import AddOnWebhooks, WebhookSender
from app.sim.wire_quirks import ALL_QUIRKS, parse_quirks
from app.sim.wire_v20 import CallLogShape

DEFAULT_V18 = "18.0.11.200"
OLD_V18 = "18.0.10.5"
# The fault that takes each capability from a role the faults decide (the built-in client's).
ROLE_FAULTS = {"history": "missing-history-role", "recordings": "missing-recording-role"}


def _version_tuple(version: str) -> tuple[int, ...]:
    out = []
    for part in version.split("."):
        try:
            out.append(int(part))
        except ValueError:
            out.append(0)
    return tuple(out)


def _random_text(rng: random.Random, length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(rng.choice(alphabet) for _ in range(length))


class Simulator:
    def __init__(self, config: SimConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        # The PBX's own clock: given, else pinned by the config, else the real one.
        if clock is None:
            clock = RunningClock(config.now) if config.now is not None else utc_now
        self.clock: Clock = clock
        specs = expand_scenarios(config.scenarios) + list(config.faults)
        self.faults = FaultSet(specs)
        self.wire = (
            ALL_QUIRKS
            if config.wire_quirks is None
            else parse_quirks(clean=True, on=config.wire_quirks)
        )
        version = config.pbx_version
        if self.faults.active("old-version"):
            version = OLD_V18
        self.version = version
        self.is_v20 = not version.startswith(("18.", "16."))
        self.expires_in_seconds = _version_tuple(version) >= (20, 0, 9)
        # Both secrets come from one generator, drawn either side of the tenant: keep the order.
        rng = random.Random(config.seed * 1_000_003 + 11)
        self.client_id = "900"
        self.client_secret = _random_text(rng, 32)
        self.tenant = self._build_tenant()
        self.admin_username = self.tenant.extensions[0].number
        self.admin_password = _random_text(rng, 16)
        self._principals: list[dict[str, Any]] = []
        self.add_principal(self.client_id, True, True, secret=self.client_secret)
        self.url = ""
        self.ca_file: str | None = None
        self.tokens = TokenStore("")
        self.engine = self._build_engine()
        self.webhooks = self._build_webhooks()
        self.engine.observer = self.webhooks
        self._server = SimServer(self)
        self._runner: web.AppRunner | None = None
        self._generator: asyncio.Task[None] | None = None
        self._tmpdir: str | None = None
        self.certs: SimCertificates | None = None

    def _build_tenant(self) -> Tenant:
        """The customer the faults ask for, with its call history already generated."""
        tenant = Tenant(
            self.config.seed,
            self.faults.value("country") or "AU",
            unnormalised_contacts=self.faults.active("unnormalised-contacts"),
            shared_numbers=self.faults.active("shared-numbers"),
            clock=self.clock,
            time_zone=self.config.time_zone,
            on_demand=self.faults.numbers("on-demand-recording"),
        )
        generate_history(tenant, not_recording_fault=self.faults.active("extension-not-recording"))
        return tenant

    def _build_engine(self) -> Engine:
        config = self.config
        return Engine(
            self.tenant,
            self.faults,
            seed=config.seed,
            recording_delay_s=config.recording_delay_s,
            host=config.host,
        )

    def _build_webhooks(self) -> AddOnWebhooks:
        """The third-party "Webhook generator" add-on; silent until it has a target URL."""
        webhooks = AddOnWebhooks(
            self.tenant,
            WebhookSender(),
            records_base=lambda: f"{self.url}/webhooks/records",
            seed=self.config.seed,
        )
        webhooks.sender.set_target(self.config.webhook_url)
        return webhooks

    def history_id(self, call: CallRecord) -> str:
        """The id a call carries in call history (MainCallHistoryId), for tests and demos."""
        return call.history_id

    def call_log_shape(self) -> CallLogShape:
        return CallLogShape(self.wire, self.tenant.office_hours.zone)

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        cfg = self.config
        state_dir = cfg.state_dir
        if state_dir is None:
            self._tmpdir = tempfile.mkdtemp(prefix="pbx-sim-")
            state_dir = self._tmpdir
        else:
            self.tenant.continue_ids(os.path.join(state_dir, "sim-ids.json"))
        ssl_ctx: ssl.SSLContext | None = None
        if cfg.tls:
            self.certs = SimCertificates(state_dir)
            self.ca_file = self.certs.ca_file
            ssl_ctx = self.certs.good
            ssl_ctx.sni_callback = self._pick_certificate
        self._runner = web.AppRunner(
            self._server.app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, cfg.host, cfg.port, ssl_context=ssl_ctx)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
        self.url = f"{'https' if cfg.tls else 'http'}://{host}:{port}"
        self.tokens.issuer = self.url
        self.archive_base = f"{self.url}/archive"
        if cfg.calls_per_minute > 0:
            self._generator = self.engine.spawn(self.engine.generate(cfg.calls_per_minute))

    def _pick_certificate(
        self, sslobj: ssl.SSLObject, server_name: str | None, ctx: ssl.SSLContext
    ) -> None:
        del server_name, ctx
        assert self.certs is not None
        faults = self.faults
        if faults.active("tls-expired"):
            sslobj.context = self.certs.expired
        elif faults.active("tls-wrong-host"):
            sslobj.context = self.certs.wrong_host
        elif faults.active("tls-renewed") or faults.active("tls-expiring"):
            sslobj.context = self.certs.variant(
                renewed=faults.active("tls-renewed"),
                expires_in_days=(
                    faults.float_value("tls-expiring", 7.0)
                    if faults.active("tls-expiring")
                    else None
                ),
            )

    async def stop(self) -> None:
        self._server.closing.set()
        for ws in list(self._server.websockets):
            with contextlib.suppress(Exception):
                await ws.close()
        await self.engine.close()
        await self.webhooks.sender.aclose()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ---- public helpers --------------------------------------------------------------------
    async def place_call(
        self,
        kind: str = "inbound",
        *,
        answered: bool = True,
        extension: str | None = None,
        number: str | None = None,
        queue: str | None = None,
        ring_s: float = 0.2,
        talk_s: float = 0.3,
    ) -> CallRecord:
        """Run one call now (ring, connect, hang up); returns once it has hung up. The
        recording, if any, follows `recording_delay_s` later."""
        return await self.engine.run_call(
            kind,
            answered=answered,
            ring_s=ring_s,
            talk_s=talk_s,
            extension=extension,
            number=number,
            queue=queue,
        )

    def set_webhook_target(self, url: str | None) -> None:
        """Send the add-on's webhooks to ``url`` from now on (None: stop sending).

        Raises ``WebhookTargetError`` (a ValueError) when ``url`` is not an http(s) URL."""
        self.webhooks.sender.set_target(url)

    async def wait_for_call_control_client(self) -> None:
        """Until a Call Control websocket is open: calls placed from then on are seen live."""
        await self._server.subscribed.wait()

    def crm_export_csv(self, flavour: str = "hubspot") -> str:
        return export_csv(
            self.tenant, flavour, unnormalised=self.faults.active("unnormalised-contacts")
        )

    def bridge_playback(
        self,
        faults: Iterable[str] = (),
        *,
        fmt: str = "json",
        crm_zone: str | None = None,
        days: float | None = None,
        retry_window_s: float | None = None,
    ) -> BridgePlayback:
        """A customer's bridge and CRM played over this PBX's call history (the last ``days``
        of it): its log in ``fmt`` (json, logfmt, text, mixed), the CRM's activity export
        (times in UTC, or zone-less in ``crm_zone``) and the truth per call, with the bridge
        ``faults`` (app/sim/bridge_faults.py); the bridge retries a recording for
        ``retry_window_s`` (default 120). Raises ValueError for a bad fault or option."""
        return replay_history(
            self.tenant,
            self.faults,
            seed=self.config.seed,
            recording_delay_s=self.config.recording_delay_s,
            visible_recordings=self.visible_recording_ids(),
            bridge_faults=faults,
            fmt=fmt,
            crm_zone=crm_zone,
            days=days,
            retry_window_s=retry_window_s,
        )

    def token_lifetime_s(self) -> float:
        return self.faults.float_value("token-lifetime", 3600.0)

    def state(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "version": self.version,
            "faults": self.faults.as_list(),
            "extensions": len(self.tenant.extensions),
            "contacts": len(self.tenant.contacts),
            "call_log_rows": len(self.tenant.segments),
            "recordings": len(self.tenant.recordings),
            "calls_placed": len(self.tenant.calls),
            "active_calls": len(self.engine.live),
            "country": self.tenant.country.code,
            "company": self.tenant.company,
        }

    # ---- views used by the server ----------------------------------------------------------
    def visible_recording_ids(self) -> set[int]:
        ids = set(self.tenant.recordings)
        if self.faults.active("retention-deleted"):
            ids -= self.engine.expire_retention(self.faults.int_value("retention-deleted", 30))
        return ids

    def recording_filename(self, rec_id: int) -> str:
        rec = self.tenant.recordings[rec_id]
        stamp = rec.start.strftime("%Y%m%d%H%M%S")
        return f"[{rec.src.name or rec.src.caller_id}]_{rec.src.caller_id}-{rec.dst.dn}_{stamp}({rec.id}).wav"

    def departments(self) -> list[Department]:
        layout = self.faults.value("departments") if "departments" in self.faults else None
        return build_departments(self.tenant.extensions, layout)

    def users(self, *, expand_groups: bool) -> list[dict[str, Any]]:
        nrf = self.faults.active("extension-not-recording")
        depts = self.departments()
        rows = []
        for e in self.tenant.extensions:
            d = of_extension(depts, e.number)
            rows.append(
                wire_v20.user(
                    self.tenant,
                    e,
                    not_recording=nrf,
                    expand_groups=expand_groups,
                    group=(d.id, d.name),
                )
            )
        return rows

    def system_status(self) -> dict[str, Any]:
        used = sum(int(r.seconds * 16000) for r in self.tenant.recordings.values())
        return wire_v20.system_status(
            self.tenant,
            self.version,
            self.tenant.clock(),
            expired=self.faults.active("licence-expired"),
            stopped=self.faults.active("recording-stopped"),
            calls_active=len(self.engine.live),
            recording_bytes=used,
        )

    def licence(self) -> dict[str, Any]:
        return wire_v20.licence(
            self.tenant, self.version, expired=self.faults.active("licence-expired")
        )

    def licence_status(self) -> dict[str, Any]:
        return wire_v20.licence_status(
            self.tenant,
            self.version,
            self.tenant.clock(),
            expired=self.faults.active("licence-expired"),
        )

    def repository_settings(self) -> dict[str, Any]:
        days = (
            self.faults.int_value("retention-deleted", 30)
            if self.faults.active("retention-deleted")
            else None
        )
        used = sum(int(r.seconds * 16000) for r in self.tenant.recordings.values())
        return wire_v20.repository_settings(days, used)

    def active_calls_v20(self) -> list[dict[str, Any]]:
        rows = []
        for live in self.engine.active_calls():
            r = live.record
            rows.append(
                {
                    "Id": r.call_id,
                    "Caller": f"{r.src.caller_id} {r.src.name}".strip(),
                    "Callee": f"{r.dst.dn} {r.dst.name}".strip(),
                    "Status": "Talking" if live.established else "Routing",
                    "EstablishedAt": live.established or iso(r.start),
                    "LastChangeStatus": live.established or iso(r.start),
                    "ServerNow": iso(self.tenant.clock()),
                }
            )
        return rows

    def active_calls_v18(self) -> list[dict[str, Any]]:
        return self.active_calls_v20()

    # ---- service principals ----------------------------------------------------------------
    def add_principal(
        self,
        number: str,
        xapi: bool,
        cc: bool,
        *,
        secret: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        p = {
            "Id": 9000 + len(self._principals) + 1,
            "Number": number,
            "XAPIEnabled": xapi,
            "CallControlEnabled": cc,
            "MyPhoneEnabled": False,
            "IsSystem": False,
            "LastUsed": None,
            "_secret": secret or secrets.token_urlsafe(24),
            "_groups": [],
            "_peers": [],
        }
        p.update(settings or {})
        self._principals.append(p)
        return p

    def principal_settings(self, body: dict[str, Any]) -> dict[str, Any]:
        """The department, role and Extensions to Monitor an admin's body sets, checked as
        the PBX checks them; raises ``principals.SettingsRefused``."""
        tenant = self.tenant
        dns = {e.number for e in tenant.extensions} | {q.number for q in tenant.queues}
        refused = (
            principals.refused_settings(self.faults.value("api-client-settings-refused"))
            if "api-client-settings-refused" in self.faults
            else frozenset()
        )
        return principals.read_settings(body, self.departments(), dns, refused)

    def role_refuses(self, token: Any, capability: str) -> bool:
        """Whether the token may not read call history ("history") or recordings
        ("recordings"). An API client an admin gave a role has that role's rights: System
        Owner both, any other neither (API-NOTES §3). Any other token is refused by the
        missing-*-role faults."""
        principal = None if token.admin else self.principal_by_number(token.subject)
        role = principals.role_of(principal) if principal is not None else None
        if role is not None:
            return role != principals.SYSTEM_OWNER
        return self.faults.active(ROLE_FAULTS[capability])

    def principal_by_number(self, number: str) -> dict[str, Any] | None:
        return next((p for p in self._principals if p["Number"] == number), None)

    def number_in_use(self, number: str) -> bool:
        """Client IDs share the DN numbering with extensions and queues."""
        return (
            self.principal_by_number(number) is not None
            or self.tenant.queue(number) is not None
            or any(e.number == number for e in self.tenant.extensions)
        )

    def principal_allows(self, token: Any, flag: str) -> bool:
        """Whether an API client's token may use the API its ``flag`` ticks; admin users'
        tokens (console sign-in) are not API clients and are not limited by the flags."""
        if token.admin:
            return True
        principal = self.principal_by_number(token.subject)
        return principal is None or bool(principal[flag])

    def principal_by_id(self, pid: int) -> dict[str, Any] | None:
        return next((p for p in self._principals if p["Id"] == pid), None)

    def principal_json(
        self, p: dict[str, Any], expand: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """A ``Pbx.ServicePrincipal``; ``Groups`` and ``Peers`` (navigation properties) only
        when expanded."""
        row = {k: v for k, v in p.items() if not k.startswith("_")}
        row["TranscriptionMode"] = "Nothing"
        if "Groups" in expand:
            row["Groups"] = principals.groups_rows(p, self.departments())
        if "Peers" in expand:
            row["Peers"] = principals.peers_rows(p, self.tenant.extensions)
        return row

    def principals_json(self, expand: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
        return [self.principal_json(p, expand) for p in self._principals]
