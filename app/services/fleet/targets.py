"""Which saved connections a sweep checks (``--only NAME|TAG``) and their keys, each read from
the OS keyring once.

A TAG is one of the engineer's tags on the connection, or its customer: ``--only north`` picks
every PBX tagged "north", ``--only "Harbour Dental"`` every PBX of that customer. A missing key
is not an error of the sweep: the connection becomes a target with ``key_problem`` set, and a row saying so.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.connection import ConnectionProfile, has_tag, parse_tags
from app.services.connections.store import ConnectionStore, ConnectionStoreError
from app.services.logs.setup import REDACTOR


@dataclass(frozen=True)
class FleetTarget:
    """One PBX to sweep: its saved profile and its key (None: ``key_problem`` says why)."""

    profile: ConnectionProfile
    secret: str | None = None
    key_problem: str = ""

    def __repr__(self) -> str:  # never the key, even in a traceback
        return f"FleetTarget({self.profile.name!r}, key={'set' if self.secret else 'missing'})"


class UnknownSelection(ValueError):
    """``--only`` names no saved connection, tag nor customer; the message lists what is saved."""


def _folded(text: str) -> str:
    return text.strip().casefold()


def select(profiles: Sequence[ConnectionProfile], only: Sequence[str]) -> list[ConnectionProfile]:
    """The saved (not demo) profiles ``only`` names by name, id, tag or customer; all when empty.

    Raises UnknownSelection when an entry of ``only`` matches nothing, so a typo is not a sweep
    of nothing that exits 0.
    """
    saved = [p for p in profiles if not p.demo]
    if not only:
        return saved
    chosen: list[ConnectionProfile] = []
    for wanted in only:
        key = _folded(wanted)
        matched = [
            p
            for p in saved
            if p.id == wanted.strip()
            or _folded(p.name) == key
            or (p.customer and _folded(p.customer) == key)
            or has_tag(p, wanted)
        ]
        if not matched:
            names = ", ".join(repr(p.name) for p in saved) or "none are saved yet"
            tags = sorted(parse_tags([t for p in saved for t in p.tags]), key=str.casefold)
            raise UnknownSelection(
                f"no saved connection, tag or customer is called {wanted!r} (saved: {names}"
                + (f"; tags: {', '.join(tags)})" if tags else ")")
            )
        chosen.extend(p for p in matched if p not in chosen)
    order = {p.id: n for n, p in enumerate(saved)}
    return sorted(chosen, key=lambda p: order[p.id])


async def read_targets(
    store: ConnectionStore, profiles: Sequence[ConnectionProfile]
) -> list[FleetTarget]:
    """Each profile with its key, read once, one after another (a keyring serves one at a time)."""
    targets: list[FleetTarget] = []
    for profile in profiles:
        try:
            secret = await store.secret(profile.id)
        except ConnectionStoreError as exc:
            targets.append(
                FleetTarget(profile, key_problem=f"The key could not be read: {exc.message}")
            )
            continue
        if secret is None:
            where = store.key_backend or "the OS keyring"
            targets.append(
                FleetTarget(
                    profile,
                    key_problem=f"No key is stored for {profile.name} in {where}: store one with "
                    f"`pbx-companion keys rotate {shlex.quote(profile.name)} --secret-stdin`.",
                )
            )
            continue
        REDACTOR.register(secret)
        targets.append(FleetTarget(profile, secret))
    return targets
