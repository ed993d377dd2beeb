"""The Fleet table's next expiry: the soonest of the licence, the certificate and the key's age
limit, marked as it comes due by the clock the pane is given (no test reads today's date)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt

from app.domain.connection import ConnectionProfile
from app.domain.diagnosis import CheckId, CheckStatus
from app.ui.doctor.model import STATE_LABELS, STATE_MARKS, RowState
from app.ui.fleet.model import EXPIRY, FleetModel, matches
from app.ui.fleet.text import dot_tip
from app.ui.presenter import Presenter

ROTATED = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)


def expiry_cell(now: datetime, role: int = Qt.ItemDataRole.DisplayRole) -> object:
    model = FleetModel(Presenter(), clock=lambda: now, key_warning_days=180)
    profile = ConnectionProfile(
        id="a", name="Harbour Main", url="https://a.invalid", client_id="9", key_rotated_at=ROTATED
    )
    model.set_profiles([profile])
    return model.index(0, EXPIRY).data(role)


def test_the_key_age_limit_is_the_next_expiry_when_no_run_gave_a_date() -> None:
    limit = ROTATED + timedelta(days=180)
    assert expiry_cell(limit - timedelta(days=10)) == f"Key age limit {limit:%d %b %Y}"
    assert expiry_cell(limit + timedelta(days=1)) == f"⚠ Key age limit passed {limit:%d %b %Y}"
    tip = str(expiry_cell(limit, Qt.ItemDataRole.ToolTipRole))
    assert tip.startswith(
        f"The API key reaches the age limit chosen in the settings on {limit:%d %B %Y}."
    )


def test_the_filter_matches_name_customer_and_tags_in_any_case() -> None:
    profile = ConnectionProfile(
        id="a",
        name="Harbour Main",
        url="https://a.invalid",
        client_id="9",
        customer="Bay Vets",
        tags=("north", "Monthly review"),
    )
    assert matches(profile, " harbour ") and matches(profile, "VETS") and matches(profile, "")
    assert matches(profile, "NORTH") and matches(profile, "monthly")
    assert not matches(profile, "hillcrest")


def test_a_fleet_dot_says_each_state_in_the_doctors_own_words() -> None:
    # One vocabulary: the doctor's table and the Fleet view's dots cannot drift apart.
    seen = set()
    for status in CheckStatus:
        state = RowState.of(status)
        tip = dot_tip(Presenter(), CheckId.RETENTION, STATE_MARKS[state], None)
        assert tip == f"6. Retention keeps recordings long enough: {STATE_LABELS[state]}"
        seen.add(STATE_LABELS[state])
    assert seen == {"Pass", "Warning", "Fail", "Not checked"}
    assert STATE_LABELS[RowState.WAITING] == "Waiting"
    assert STATE_LABELS[RowState.NOT_RUN] == "Not run yet"
