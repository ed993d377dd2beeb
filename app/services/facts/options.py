"""What the engineer asked the doctor to check, and against which thresholds: the facts are
gathered with the same options (the recent window, the bridge, the customer's hours)."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.bridge import Bridge
from app.domain.business_hours import BusinessHours
from app.domain.causes.recording import DEFAULT_BRIDGE_WINDOW_S as DEFAULT_BRIDGE_WINDOW_S
from app.domain.causes.retention import DEFAULT_RETENTION_DAYS as DEFAULT_RETENTION_DAYS
from app.domain.contacts import Contact
from app.domain.deadlines import DEFAULT_DOCTOR_DEADLINE_S as DEFAULT_DOCTOR_DEADLINE_S

RECENT_DAYS = 7  # "recent calls" for the extension cross-check and contact matching


@dataclass(frozen=True)
class DoctorOptions:
    region: str | None = None  # overrides the PBX's own country for number normalisation
    crm_contacts: tuple[Contact, ...] = ()  # from --contacts FILE, already read
    crm_contacts_label: str | None = None  # the file's name, for the evidence
    crm_record_ids: bool = False  # the export has the CRM's record id column (not row numbers)
    use_phonebook: bool = True  # the 3CX phonebook may stand in when no CRM export is given
    bridge: Bridge = field(default_factory=Bridge)  # the customer's: store searched, comparison
    watch_s: float = 0.0  # how long to watch for a call to time its recording
    bridge_window_s: float = DEFAULT_BRIDGE_WINDOW_S
    required_retention_days: int = DEFAULT_RETENTION_DAYS
    recent_days: int = RECENT_DAYS
    concurrent: bool = True  # False runs the checks one after another (the benchmark's naive run)
    # The connection's saved hours: used where the PBX does not say (v18), or is not asked.
    business_hours: BusinessHours | None = None
    # The whole run against the PBX (reachability and the six checks); a watch adds its own
    # time on top (``run_deadline_s``), so asking to watch never cuts the watch short.
    deadline_s: float = DEFAULT_DOCTOR_DEADLINE_S

    @property
    def watch_limit_s(self) -> float:
        """How long after hang-up to keep looking: past the window, so "later" can be told
        apart from "never"."""
        return max(self.bridge_window_s * 1.5, self.bridge_window_s + 2.0)

    @property
    def run_deadline_s(self) -> float:
        """The deadline the run keeps: ``deadline_s``, plus the watch and the wait after it."""
        if self.watch_s <= 0:
            return self.deadline_s
        return self.deadline_s + self.watch_s + self.watch_limit_s
