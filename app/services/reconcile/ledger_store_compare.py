"""Before and after: two saved runs of one connection, call by call.

A re-run after a fix shows which calls it fixed, which are still broken and which broke since,
with the counts per state of both runs. Whether a state needs fixing is the domain's
``CallState.fine``: it is decided there once, not here.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from app.domain.diagnosis import CheckId
from app.domain.reconcile.records import CallState
from app.services.reconcile.ledger_store_rows import RunInfo

StateAndCause = tuple[CallState, CheckId | None]


class Change(enum.StrEnum):
    FIXED = "fixed"  # needed fixing before, fine now
    STILL_BROKEN = "still broken"
    NEWLY_BROKEN = "newly broken"  # fine before, needs fixing now
    STILL_FINE = "still fine"
    NEW_CALL = "new call"  # only in the later run (its period reaches further)
    GONE = "gone"  # only in the earlier run


@dataclass(frozen=True)
class CallChange:
    call_id: str
    change: Change
    before: CallState | None
    after: CallState | None
    cause_before: CheckId | None = None
    cause_after: CheckId | None = None


@dataclass(frozen=True)
class Comparison:
    before: RunInfo
    after: RunInfo
    calls: tuple[CallChange, ...]  # the later run's calls in time order, then the gone ones
    counts_before: dict[CallState, int]
    counts_after: dict[CallState, int]

    @property
    def same_period(self) -> bool:
        return (self.before.period_from, self.before.period_to) == (
            self.after.period_from,
            self.after.period_to,
        )

    def by_change(self) -> dict[Change, int]:
        found = Counter(c.change for c in self.calls)
        return {change: found.get(change, 0) for change in Change}

    def with_change(self, change: Change) -> tuple[CallChange, ...]:
        return tuple(c for c in self.calls if c.change is change)


def compare_states(
    before: RunInfo,
    after: RunInfo,
    states_before: Mapping[str, StateAndCause],
    states_after: Mapping[str, StateAndCause],
) -> Comparison:
    """``states_*``: call id -> (state, cause), in the order the calls should be listed."""
    calls = [
        _change(call_id, states_before.get(call_id), now) for call_id, now in states_after.items()
    ]
    calls += [
        CallChange(call_id, Change.GONE, state, None, cause, None)
        for call_id, (state, cause) in states_before.items()
        if call_id not in states_after
    ]
    return Comparison(
        before=before,
        after=after,
        calls=tuple(calls),
        counts_before=_counts(states_before),
        counts_after=_counts(states_after),
    )


def _change(call_id: str, was: StateAndCause | None, now: StateAndCause) -> CallChange:
    state, cause = now
    if was is None:
        return CallChange(call_id, Change.NEW_CALL, None, state, None, cause)
    old_state, old_cause = was
    if old_state.fine:
        change = Change.STILL_FINE if state.fine else Change.NEWLY_BROKEN
    else:
        change = Change.FIXED if state.fine else Change.STILL_BROKEN
    return CallChange(call_id, change, old_state, state, old_cause, cause)


def _counts(states: Mapping[str, StateAndCause]) -> dict[CallState, int]:
    found = Counter(state for state, _cause in states.values())
    return {state: found.get(state, 0) for state in CallState}
