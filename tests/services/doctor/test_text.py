"""The doctor's plain-text rendering, shared by the CLI and the desktop app's copy-as-text."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from app.domain.diagnosis import CHECK_ORDER, CheckId, CheckResult, CheckStatus, Diagnosis, PbxFacts
from app.services.doctor.text import render_text, summary_line


def diagnosis(**statuses: CheckStatus) -> Diagnosis:
    results = [
        CheckResult(
            check,
            statuses.get(check.value, CheckStatus.PASS),
            f"finding {check.order}",
            f"fix {check.order}",
            tuple(f"evidence {check.order}.{i}" for i in range(check.order)),
        )
        for check in CHECK_ORDER
    ]
    pbx = PbxFacts(
        "https://pbx.example.com:5001", "20.0.10.1116", 20, "Enterprise", "AU", "self-hosted"
    )
    return Diagnosis.in_order(pbx, results, datetime(2026, 11, 21, tzinfo=UTC), 1234.0)


def test_render_text_layout_is_the_cli_one() -> None:
    text = render_text(diagnosis(retention=CheckStatus.FAIL), evidence_lines=2)
    lines = text.splitlines()
    assert (
        lines[0]
        == "Doctor: https://pbx.example.com:5001 (3CX 20.0.10.1116, Enterprise, region AU, self-hosted)"
    )
    assert lines[2:5] == [
        "1. [PASS] Licence covers the API and call recording",
        "   finding 1",
        "     - evidence 1.0",
    ]
    assert "6. [FAIL] Retention keeps recordings long enough" in lines
    assert "     - ... 4 more (see --json)" in lines
    assert "   Fix: fix 6" in lines and "   Fix: fix 1" not in lines  # a pass needs no fix
    assert lines[-2:] == [
        "First failure: 6. Retention keeps recordings long enough (retention). Fix that first.",
        "Checked in 1.2 s.",
    ]
    gui = render_text(diagnosis(), evidence_lines=2, more_hint="the rest in the Doctor pane")
    assert "     - ... 4 more (the rest in the Doctor pane)" in gui.splitlines()
    assert gui.splitlines()[-2] == "No check failed."


def test_summary_line() -> None:
    assert summary_line(diagnosis()) == "All seven checks passed"
    assert (
        summary_line(diagnosis(api_roles=CheckStatus.FAIL, retention=CheckStatus.FAIL))
        == "First failure: 2. API user holds both roles (Reports User, Recording Manager)"
    )
    assert (
        summary_line(diagnosis(api_roles=CheckStatus.WARN, late_recording=CheckStatus.SKIP))
        == "No check failed; 1 warning, 1 not checked"
    )
    both = diagnosis(licence=CheckStatus.WARN, retention=CheckStatus.WARN)
    assert summary_line(both) == "No check failed; 2 warnings"
    unreachable = replace(
        diagnosis(),
        checks=tuple(
            replace(
                r, status=CheckStatus.FAIL if r.id is CheckId.REACHABILITY else CheckStatus.SKIP
            )
            for r in diagnosis().checks
        ),
    )
    assert summary_line(unreachable).startswith("First failure: 7.")
