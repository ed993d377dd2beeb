"""The Doctor tab on a v18 PBX whose recording download no known path serves: the product's
limit, shown in the doctor's own words, never as the customer's warning or failure."""

from __future__ import annotations

from pathlib import Path

from app.domain.causes.api_answers import DOWNLOAD_BY_HAND, DOWNLOAD_UNCONFIRMED
from app.domain.diagnosis import TITLES, CheckId, CheckStatus
from app.domain.wire_shapes import WireShape
from app.ui.context import UiContext
from app.ui.doctor.model import RowState
from tests.conftest import SimFactory
from tests.ui.doctor.test_pane import make_pane, opened, run_to_end, screen_text, shown_states


async def test_the_doctor_tab_says_the_download_is_the_products_limit(
    ui: UiContext, make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True, pbx_version="18.0.11.200", faults=["v18-download-path=none"])
    pane = make_pane(ui, tmp_path)
    async with opened(sim) as session:
        pane.set_session(session)
        diagnosis = await run_to_end(pane)

    result = diagnosis.result(CheckId.API_ROLES)
    assert result.status is CheckStatus.SKIP
    assert pane.model.state(CheckId.API_ROLES) is RowState.SKIP
    assert shown_states(pane)[CheckId.API_ROLES.order - 1] == "Not checked"
    assert pane.summary.text().startswith("No check failed")
    assert str(WireShape.V18_DOWNLOAD_UNCONFIRMED) in pane.summary.toolTip()

    pane.select(CheckId.API_ROLES)
    details = pane.details
    assert details.title.text() == f"2. {TITLES[CheckId.API_ROLES]}"
    assert details.finding.text() == result.finding  # the doctor's words, as the CLI prints them
    assert DOWNLOAD_UNCONFIRMED in details.finding.text()
    assert details.fix.isVisible() and details.fix.text() == DOWNLOAD_BY_HAND
    assert all(line in details.evidence.toPlainText() for line in result.evidence)
    assert DOWNLOAD_UNCONFIRMED in screen_text(pane)
    await pane.aclose()
