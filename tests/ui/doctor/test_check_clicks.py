"""A click on a check in the doctor's table shows that check, as the arrow keys do.

A mouse press moves the current row before it selects the row (a key selects first): the
details follow the selection, so both ways show the same check, its finding and its fix.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.domain.diagnosis import CHECK_ORDER, TITLES, CheckId, CheckStatus
from app.ui.context import UiContext
from app.ui.doctor.pane import DoctorPane
from tests.conftest import SimFactory
from tests.ui.doctor.test_pane import make_pane, opened, run_to_end


def click_row(qtbot: QtBot, pane: DoctorPane, check: CheckId) -> None:
    """A left click in the middle of the check's title, where the engineer clicks."""
    table = pane.table
    index = pane.model.index(pane.model.row_of(check), pane.model.CHECK)
    table.scrollTo(index)
    where = table.visualRect(index).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=where)


def shown_title(pane: DoctorPane) -> str:
    return pane.details.title.text() if pane.details.title.isVisible() else ""


def press(qtbot: QtBot, pane: DoctorPane, key: Qt.Key) -> None:
    pane.table.setFocus()
    qtbot.keyClick(pane.table, key)


async def test_a_click_before_any_run_shows_the_check_not_the_hint(
    ui: UiContext, qtbot: QtBot, tmp_path: Path
) -> None:
    pane = make_pane(ui, tmp_path)
    qtbot.addWidget(pane)
    for check in CHECK_ORDER:
        click_row(qtbot, pane, check)
        assert pane.table.current_check() is check
        assert shown_title(pane) == f"{check.order}. {TITLES[check]}"
        assert pane.details.finding.text() == "Not checked yet in this run."
        assert not pane.details.hint.isVisible()
    await pane.aclose()


async def test_a_click_on_each_check_shows_its_finding_and_fix_like_the_keys(
    ui: UiContext, qtbot: QtBot, make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True, faults=["retention-deleted=30"])
    pane = make_pane(ui, tmp_path)
    qtbot.addWidget(pane)
    async with opened(sim) as session:
        pane.set_session(session)
        diagnosis = await run_to_end(pane)
    assert pane.table.current_check() is CheckId.RETENTION  # the first failure, selected
    details = pane.details

    for check in (*CHECK_ORDER, CheckId.RETENTION):  # the failing one last, from another row
        click_row(qtbot, pane, check)
        result = diagnosis.result(check)
        assert shown_title(pane) == f"{check.order}. {TITLES[check]}", check
        assert details.finding.text() == result.finding
        has_fix = bool(result.fix) and result.status is not CheckStatus.PASS
        assert details.fix.isVisible() is has_fix
        assert details.fix.text() == (result.fix if has_fix else "")
        assert all(line in details.evidence.toPlainText() for line in result.evidence)
    assert details.fix.text() == diagnosis.result(CheckId.RETENTION).fix

    # The arrow keys, from the clicked row, show the same as a click on the row they reach.
    by_row = list(CHECK_ORDER)
    below = by_row[by_row.index(CheckId.RETENTION) + 1]
    press(qtbot, pane, Qt.Key.Key_Down)
    assert shown_title(pane) == f"{below.order}. {TITLES[below]}"
    press(qtbot, pane, Qt.Key.Key_Up)
    assert details.fix.isVisible() and details.fix.text() == diagnosis.result(CheckId.RETENTION).fix
    await pane.aclose()
