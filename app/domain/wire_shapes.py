"""Which of the shapes live PBXs send (docs/3cx-wire.md) this PBX showed us.

The client notes a shape the moment it reads one; the doctor puts the list in its evidence so
an engineer on an unfamiliar PBX can see what the product had to cope with, and so a wrong
verdict can be traced to the shape that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class WireShape(StrEnum):
    MAIN_CALL_ID = "call legs grouped by MainCallHistoryId"
    LEG_ID_ONLY = "no MainCallHistoryId: each call keyed by its CallHistoryId or CdrId"
    LEGS_FOLDED = "several legs per call, folded into one call"
    OLDEST_FIRST = "call history served oldest first ($orderby ignored)"
    ROWS_OUTSIDE_RANGE = "call history rows outside the asked period (dropped)"
    FRACTIONAL_TIMES = "times with 7 fractional digits or a UTC offset"
    QUEUE_ROWS = 'queue legs marked "Inbound Queue" / "Queue"'
    RECORDING_PATHS = "RecordingUrl given as a file path, not a download URL"
    LAST_FIRST_NAMES = 'display names written "Last, First"'
    NATIONAL_CALLER_IDS = "live caller ids in national format (E.164 taken from the name)"
    RINSTANCE_DEVICES = 'device ids with ";rinstance="'
    V18_ACTIVE_CALLS_LIST = "v18 active calls as {Now, list}"
    V18_DOWNLOAD_UNCONFIRMED = "v18 recording download: no known path answered"


@dataclass
class WireSeen:
    """Shapes seen on one connection, in the order first seen."""

    shapes: dict[WireShape, None] = field(default_factory=dict)

    def note(self, shape: WireShape) -> None:
        self.shapes.setdefault(shape, None)

    def __contains__(self, shape: object) -> bool:
        return shape in self.shapes

    def described(self) -> tuple[str, ...]:
        return tuple(str(s) for s in self.shapes)
