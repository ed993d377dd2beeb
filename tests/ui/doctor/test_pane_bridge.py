"""The doctor pane judges cause 5 for the connection's bridge, against the same contacts as the
CLI: one connection, one answer, shown with its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli.doctor import _options_from_args
from app.cli.entry import build_parser
from app.domain.bridge import Bridge, NumberMatch
from app.domain.diagnosis import CheckId, CheckStatus
from app.services.doctor import Doctor
from app.services.session import connection_params
from app.ui.context import UiContext
from tests.conftest import SimFactory
from tests.ui.conftest import profile_for
from tests.ui.doctor.test_pane import make_pane, opened, run_to_end


def _without_clock(evidence: tuple[str, ...]) -> list[str]:
    return [line for line in evidence if not line.startswith("Recent calls:")]


@pytest.mark.parametrize(
    ("match", "verdict"),
    [(NumberMatch.E164, CheckStatus.FAIL), (NumberMatch.PHONEBOOK, CheckStatus.PASS)],
)
async def test_the_pane_and_the_cli_search_the_same_contacts_for_one_connection(
    ui: UiContext,
    make_sim: SimFactory,
    tmp_path: Path,
    match: NumberMatch,
    verdict: CheckStatus,
) -> None:
    sim = await make_sim(
        tls=True, faults=["unnormalised-contacts", "phonebook-resolving=MatchLength:9"]
    )
    export = tmp_path / "hubspot-contacts.csv"
    export.write_text(sim.crm_export_csv("hubspot"), encoding="utf-8")
    bridge = Bridge.for_match(match)
    pane = make_pane(ui, tmp_path)
    async with opened(sim, contacts_csv=str(export), bridge=bridge) as session:
        pane.set_session(session)
        desktop = (await run_to_end(pane)).result(CheckId.CONTACT_MATCH)

    profile = profile_for(sim, contacts_csv=str(export), bridge=bridge)
    args = build_parser().parse_args(["doctor", "--connection", profile.name])
    options = await _options_from_args(args, profile)
    assert options.bridge == bridge and options.crm_record_ids
    cli = (await Doctor(connection_params(profile), sim.client_secret, options).run()).result(
        CheckId.CONTACT_MATCH
    )

    assert desktop.status is cli.status is verdict, desktop.finding
    assert (desktop.finding, desktop.fix) == (cli.finding, cli.fix)
    assert desktop.details == cli.details
    assert _without_clock(desktop.evidence) == _without_clock(cli.evidence)
    assert desktop.details["bridge"] == bridge.as_json()

    # The pane shows that finding and that fix.
    pane.select(CheckId.CONTACT_MATCH)
    assert pane.details.finding.text() == desktop.finding
    assert pane.details.fix.text() == desktop.fix
    assert bool(desktop.fix) is (verdict is not CheckStatus.PASS)  # a pass needs no fix
    assert pane.details.evidence.toPlainText().startswith(f"• {desktop.evidence[0]}")
    await pane.aclose()
