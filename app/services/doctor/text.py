"""The doctor's answer as plain text: one rendering for the CLI, the GUI and the clipboard.

Nothing here reads a secret: the text is built from the diagnosis alone, which never holds
the API key. Presenter-mode masking of numbers and names is the caller's job (the GUI passes
the text through the presenter).
"""

from __future__ import annotations

from app.domain.business_hours import BusinessHoursError, zone_of
from app.domain.diagnosis import TITLES, CheckStatus, Diagnosis

MARKS = {
    CheckStatus.PASS: "[PASS]",
    CheckStatus.WARN: "[WARN]",
    CheckStatus.FAIL: "[FAIL]",
    CheckStatus.SKIP: "[SKIP]",
}


def render_text(
    diagnosis: Diagnosis, evidence_lines: int = 12, *, more_hint: str = "see --json"
) -> str:
    """The seven results with finding, evidence and fix; ``more_hint`` says where the evidence
    cut after ``evidence_lines`` can be read in full."""
    pbx = diagnosis.pbx
    about = ", ".join(
        part
        for part in (
            f"3CX {pbx.version}" if pbx.version else None,
            pbx.edition,
            f"region {pbx.region}" if pbx.region else None,
            pbx.hosting if pbx.hosting != "unknown" else None,
        )
        if part
    )
    lines = [f"Doctor: {pbx.url}" + (f" ({about})" if about else "")]
    if pbx.time_zone:
        try:
            when = (
                f", {diagnosis.started_at.astimezone(zone_of(pbx.time_zone)):%a %d %b %Y %H:%M %Z}"
            )
        except BusinessHoursError:  # a saved result naming a zone this machine does not know
            when = ""
        lines.append(
            f"Customer's clock: {pbx.time_zone}{when}"
            + (f"; office hours {pbx.business_hours}" if pbx.business_hours else "")
            + (f" ({pbx.hours_source})" if pbx.hours_source else "")
        )
    if pbx.wire:
        lines.append("Wire as this PBX sends it: " + "; ".join(pbx.wire))
    lines.append("")
    for result in diagnosis.checks:
        lines.append(f"{result.id.order}. {MARKS[result.status]} {result.title}")
        lines.append(f"   {result.finding}")
        for item in result.evidence[:evidence_lines]:
            lines.append(f"     - {item}")
        if len(result.evidence) > evidence_lines:
            lines.append(f"     - ... {len(result.evidence) - evidence_lines} more ({more_hint})")
        if result.fix and result.status is not CheckStatus.PASS:
            lines.append(f"   Fix: {result.fix}")
        lines.append("")
    first = diagnosis.first_failure
    if first is None:
        lines.append("No check failed.")
    else:
        lines.append(f"First failure: {first.order}. {TITLES[first]} ({first}). Fix that first.")
    lines.append(f"Checked in {diagnosis.duration_ms / 1000:.1f} s.")
    return "\n".join(lines)


def summary_line(diagnosis: Diagnosis) -> str:
    """One line for a status bar or a connection list: the first failure, else the tally."""
    first = diagnosis.first_failure
    if first is not None:
        return f"First failure: {first.order}. {TITLES[first]}"
    warned = sum(1 for r in diagnosis.checks if r.status is CheckStatus.WARN)
    skipped = sum(1 for r in diagnosis.checks if r.status is CheckStatus.SKIP)
    if not warned and not skipped:
        return "All seven checks passed"
    parts = [f"{warned} warning{'s' if warned != 1 else ''}"] if warned else []
    if skipped:
        parts.append(f"{skipped} not checked")
    return "No check failed; " + ", ".join(parts)
