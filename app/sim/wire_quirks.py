"""The shapes live PBXs send (API-NOTES §9), which the simulator speaks by default.

Our client and our simulator were written from the same documents, so by themselves they agree
with each other. Each quirk here is one shape integrators captured from a live PBX; all are on
unless the simulator is started with ``--clean-wire``, and each can be switched alone so tests
cover both forms. Every shape still validates against 3CX's OpenAPI spec.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, MutableMapping
from datetime import datetime, tzinfo
from enum import StrEnum
from typing import Any


class WireQuirk(StrEnum):
    # §9.1: CallId/SegmentId are row numbers of one response; legs share MainCallHistoryId.
    CALL_IDS_PER_RESPONSE = "call-ids-per-response"
    # §9.3: $orderby ignored on call history: always the oldest first.
    ORDERBY_IGNORED = "orderby-ignored"
    # §9.5: 7 fractional digits and the PBX's own UTC offset; durations with 6 decimals.
    FRACTIONAL_TIMES = "fractional-times"
    # §9.6: the queue's leg says Direction "Inbound Queue", CallType "Queue".
    QUEUE_ROWS = "queue-rows"
    # §9.5: RecordingUrl is a file path under the recordings folder, not a download URL.
    RECORDING_PATHS = "recording-paths"
    # §9.4: display names "Last, First".
    LAST_FIRST_NAMES = "last-first-names"
    # §9.4: Call Control caller ids national while the name holds +E.164; DIDs without "+".
    NATIONAL_CALLER_IDS = "national-caller-ids"
    # §9.4: device ids with ";rinstance=…"; participants carry referred_by_*/on_behalf_of_*.
    DEVICE_DETAILS = "device-details"
    # §9.9: v18 /api/activeCalls as {Now, list}; older SystemStatus bodies carry no
    # LicenseActive, a null expiry and times with 7 fractional digits and the PBX's offset.
    V18_OLD_BODIES = "v18-old-bodies"
    # /Groups lists each user's speed dials as "___FAVORITES___…" groups beside the departments.
    FAVORITES_GROUPS = "favorites-groups"


ALL_QUIRKS: frozenset[WireQuirk] = frozenset(WireQuirk)


def parse_quirks(
    *, clean: bool = False, on: Iterable[str] = (), off: Iterable[str] = ()
) -> frozenset[WireQuirk]:
    """All quirks (or none with ``clean``), plus ``on``, minus ``off``; unknown names raise."""

    def named(names: Iterable[str]) -> set[WireQuirk]:
        out = set()
        for name in names:
            try:
                out.add(WireQuirk(name.strip()))
            except ValueError:
                known = ", ".join(q.value for q in WireQuirk)
                raise ValueError(f"Unknown wire quirk {name!r}; known: {known}.") from None
        return out

    base = set() if clean else set(ALL_QUIRKS)
    return frozenset((base | named(on)) - named(off))


def main_history_id(call_id: int) -> str:
    """A call's ``MainCallHistoryId``, shaped like the ``00000000-01dc-…`` ids seen live."""
    return f"00000000-01dc-0000-{(call_id >> 48) & 0xFFFF:04x}-{call_id & 0xFFFFFFFFFFFF:012x}"


def renumber_per_response(rows: list[MutableMapping[str, Any]]) -> None:
    """CallId and SegmentId as a live PBX numbers them: positions in this one answer."""
    for n, row in enumerate(rows, start=1):
        if "CallId" in row:
            row["CallId"] = n
        if "SegmentId" in row:
            row["SegmentId"] = n


def fractional_time(value: datetime | None, zone: tzinfo) -> str | None:
    """``2026-11-18T11:30:00.1234567+11:00``: seven digits and the PBX's own offset."""
    if value is None:
        return None
    local = value.astimezone(zone)
    text = local.isoformat(timespec="microseconds")
    # isoformat gives six digits then the offset; 3CX writes seven.
    stamp, offset = text[:26], text[26:] or "+00:00"
    return f"{stamp}0{offset}"


def six_decimal_duration(seconds: float) -> str:
    """``PT1M16.460000S``, and ``P1DT2H…`` once a duration passes a day."""
    seconds = max(0.0, seconds)
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    out = f"P{int(days)}DT" if days else "PT"
    if hours:
        out += f"{int(hours)}H"
    if minutes:
        out += f"{int(minutes)}M"
    return out + f"{secs:.6f}S"


@functools.lru_cache(maxsize=4096)  # two per call-log row served; the names repeat
def last_first(name: str) -> str:
    """``Dina Rasheed`` → ``Rasheed, Dina``; one-word and company names stay as they are."""
    parts = name.split()
    if len(parts) != 2 or not all(p[:1].isupper() and p.isalpha() for p in parts):
        return name
    return f"{parts[1]}, {parts[0]}"


def recording_path(
    extension: str, name: str, number: str, start: datetime, rec_id: int, zone: tzinfo
) -> str:
    """``116/[Rasheed, Dina]_116-7196403939_20250117123456(789).wav``, as 3CX names files."""
    digits = re.sub(r"\D", "", number)
    stamp = start.astimezone(zone).strftime("%Y%m%d%H%M%S")
    return (
        f"{extension}/[{last_first(name) or extension}]_{extension}-{digits}_{stamp}({rec_id}).wav"
    )


def national(number: str, country_code: str, trunk_prefix: str = "0") -> str:
    """``+61882260358`` → ``0882260358``; a number of another country keeps its "+"."""
    if country_code and number.startswith("+" + country_code):
        return trunk_prefix + number[1 + len(country_code) :]
    return number


def without_plus(number: str) -> str:
    return number[1:] if number.startswith("+") else number
