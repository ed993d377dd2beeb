"""The overall deadline of a doctor run or a ``pbx`` command, and what a missed one says.

Per-request timeouts do not bound a run: a PBX that answers every request just in time, pages
without end or trickles a body can keep a run going for ever. The deadline does, and a check
still waiting when it passes is "not verified" (WARN), never a pass and never silence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from app.domain.diagnosis import TITLES, CheckId, CheckResult, CheckStatus, Diagnosis

# Long enough for a large PBX's seven checks on a slow link (a healthy one takes seconds);
# short enough that a script running the doctor for many customers moves on.
DEFAULT_DOCTOR_DEADLINE_S: Final = 90.0
# A ``pbx`` listing reads a handful of pages; a download moves one WAV, which on a slow link
# takes longer (an hour's call is over 100 MB).
DEFAULT_COMMAND_DEADLINE_S: Final = 90.0
DEFAULT_DOWNLOAD_DEADLINE_S: Final = 600.0

# Marks a result the deadline cut short (in ``details``), so callers can tell it from a warning.
OUT_OF_TIME: Final = "out_of_time"

OUT_OF_TIME_FIX: Final = (
    "Check these causes again when the PBX answers promptly: look at its CPU and disk load and "
    "at any reverse proxy or firewall in front of it, then run the doctor again (or give it "
    "longer with --deadline SECONDS)."
)


def seconds(value: float) -> str:
    """90 -> "90 s", 2.5 -> "2.5 s"."""
    return f"{value:g} s"


def out_of_time(check: CheckId, deadline_s: float, pending: Sequence[CheckId]) -> CheckResult:
    """The verdict for ``check``, still waiting on the PBX when the deadline passed."""
    names = [f"{p.order}. {TITLES[p]}" for p in sorted(pending, key=lambda p: p.order)]
    return CheckResult(
        check,
        CheckStatus.WARN,
        "Not verified: the PBX did not finish answering within the doctor's "
        f"{seconds(deadline_s)} deadline.",
        OUT_OF_TIME_FIX,
        evidence=(
            f"Deadline: {seconds(deadline_s)} for the whole run.",
            "Still waiting on the PBX for: " + "; ".join(names) + ".",
        ),
        details={
            OUT_OF_TIME: True,
            "deadline_s": deadline_s,
            "pending": [p.value for p in pending],
        },
    )


def ran_out_of_time(checks: Iterable[CheckResult] | Diagnosis) -> bool:
    """Whether the deadline cut any check short (the CLI then exits 1: the run is incomplete)."""
    results = checks.checks if isinstance(checks, Diagnosis) else checks
    return any(result.details.get(OUT_OF_TIME) is True for result in results)


def command_out_of_time(what: str, deadline_s: float) -> str:
    """A ``pbx`` command's message when its deadline passed."""
    return (
        f"The PBX did not finish answering `pbx {what}` within {seconds(deadline_s)}; nothing "
        "more was read."
    )


COMMAND_OUT_OF_TIME_FIX: Final = (
    "Try again when the PBX is less busy, check any reverse proxy or firewall in front of it, "
    "or give the command longer with --deadline SECONDS."
)
