"""The Fleet view's words: a run's time, the next expiry, a check's dot and a row's changes.

Times of a run are on the customer's clock (the PBX's zone, as the doctor shows them; UTC,
said so, when the run did not learn the zone). Nothing here reads the time or the machine's
zone: what is due is judged against the ``now`` the pane is given.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from app.domain.connection import CheckStatusSummary
from app.domain.diagnosis import TITLES, CheckId, CheckResult
from app.domain.report_text import on_customer_clock
from app.services.fleet.overview import Due, Expires, Expiry
from app.services.fleet.sweep import FleetRow
from app.ui.presenter import Presenter
from app.ui.theme import Mark

TITLE: Final = "Fleet"
NEVER_CHECKED: Final = "Never checked — press Sweep now"
NO_CONNECTIONS: Final = (
    "No saved connections yet.\n\nAdd a customer PBX in the list on the left (Set up a PBX… "
    "or Add…); every saved connection shows here, checked together with Sweep now."
)
DETAILS_HINT: Final = (
    "Select a PBX to see what changed since its last good run, each change with the check it "
    "threatens and what to do. Double-click it (or Open in Doctor) to check it on its own."
)
SWEEP_TIP: Final = (
    "Run the doctor against every connection shown (the filter narrows them), a few at a "
    "time; each row updates as its PBX answers. Every run is kept in the fleet history."
)
# Sorting the checks column: not checked, pass, warnings, failing, unreachable.
SEVERITY: Final = {
    CheckStatusSummary.NEVER: 0,
    CheckStatusSummary.PASS: 1,
    CheckStatusSummary.WARN: 2,
    CheckStatusSummary.FAIL: 3,
    CheckStatusSummary.UNREACHABLE: 4,
}
EXPIRY_WORDS: Final = {
    Expires.LICENCE: "Licence",
    Expires.MAINTENANCE: "Maintenance",
    Expires.CERTIFICATE: "Certificate",
    Expires.KEY: "Key age limit",
}
EXPIRY_TIPS: Final = {
    Expires.LICENCE: "The 3CX licence ends on {when}.",
    Expires.MAINTENANCE: "3CX maintenance (updates) ends on {when}.",
    Expires.CERTIFICATE: "The PBX's certificate ends on {when}.",
    Expires.KEY: "The API key reaches the age limit chosen in the settings on {when}.",
}


def run_time(row: FleetRow) -> str:
    """When the row's run was, on the customer's clock: "18 Nov 13:30 NZDT"."""
    if row.checked_at is None:
        return ""
    return on_customer_clock(row.checked_at, _zone(row), "%d %b %H:%M")


def run_time_tip(row: FleetRow) -> str:
    if row.checked_at is None:
        return NEVER_CHECKED
    zone = _zone(row)
    clock = "the customer's time" if zone else "the PBX's zone is not known yet"
    return f"Last run {on_customer_clock(row.checked_at, zone)} ({clock})."


def expiry_text(expiry: Expiry | None, now: datetime) -> str:
    if expiry is None:
        return "—"
    when = f"{expiry.at:%d %b %Y}"
    if expiry.due(now) is Due.PASSED:
        return f"⚠ {EXPIRY_WORDS[expiry.what]} passed {when}"
    mark = "⚠ " if expiry.due(now) is Due.SOON else ""
    return f"{mark}{EXPIRY_WORDS[expiry.what]} {when}"


def expiry_tip(expiry: Expiry | None) -> str:
    if expiry is None:
        return "No licence, certificate or key date is known yet: sweep to read them."
    return (
        EXPIRY_TIPS[expiry.what].format(when=f"{expiry.at:%d %B %Y}")
        + " The soonest of the licence, the certificate and the key's age limit."
    )


def dot_tip(presenter: Presenter, check: CheckId, state: Mark, result: CheckResult | None) -> str:
    """One dot's tooltip in the doctor's words: "6. Retention: Fail — <finding>"."""
    head = f"{check.order}. {TITLES[check]}: {state.words}"
    if result is None or not result.finding:
        return head
    return f"{head} — {presenter.text(result.finding)}"


def changes_text(presenter: Presenter, row: FleetRow | None) -> str:
    """A row's changes since its last good run, each with the check it threatens and the fix."""
    if row is None or row.checked_at is None:
        return NEVER_CHECKED + "."
    since = (
        f"since the last good run ({on_customer_clock(row.baseline_at, _zone(row), '%d %b %Y %H:%M')})"
        if row.baseline_at is not None
        else ""
    )
    lines: list[str] = []
    if row.changes:
        lines.append(f"Changes {since}:" if since else "Changes (no good run stored before):")
        for change in row.changes:
            check = change.threatens
            lines.append(
                f"• {check.order}. {TITLES[check]} — {presenter.text(change.finding)}\n"
                f"   What to do: {presenter.text(change.fix)}"
            )
    elif since:
        lines.append(f"No changes {since}.")
    else:
        lines.append("No good run stored before this one to compare with.")
    lines += [f"Note: {presenter.text(note)}" for note in row.notes]
    return "\n".join(lines)


def _zone(row: FleetRow) -> str | None:
    return row.diagnosis.pbx.time_zone if row.diagnosis is not None else None
