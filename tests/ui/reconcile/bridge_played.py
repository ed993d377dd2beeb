"""The inputs form's tests' simulator: a week of the issue's faults played through a bridge,
with its log and the CRM's activity export, and that export as another CRM labels it."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.services.session import PbxSession
from app.sim import BridgePlayback, Simulator
from tests.conftest import SimFactory
from tests.ui.conftest import profile_for

DECOY = "Phone"  # the agent's own line: detection takes it for the customer's number
DECOY_NUMBER = "+61 8 8100 0101"
RENAMED = {"Phone number": "Dialled", "Call notes": "Remarks"}  # names detection does not know


@dataclass
class Played:
    sim: Simulator
    session: PbxSession
    playback: BridgePlayback
    crm: Path
    log: Path


@pytest.fixture(name="played")
async def played_fixture(make_sim: SimFactory, tmp_path: Path) -> AsyncIterator[Played]:
    sim = await make_sim(tls=True)
    playback = sim.bridge_playback(("demo",), days=7)
    playback.write(tmp_path)
    session = PbxSession(profile_for(sim), sim.client_secret)
    yield Played(sim, session, playback, tmp_path / "crm-activities.csv", tmp_path / "bridge.log")
    await session.aclose()


def relabelled(source: Path, target: Path) -> Path:
    """The export as another CRM writes it: the number and notes under names detection does
    not know, and the agent's line under the name it looks for first."""
    rows = list(csv.reader(io.StringIO(source.read_text(encoding="utf-8"))))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([RENAMED.get(h, h) for h in rows[0]] + [DECOY])
    writer.writerows([*row, DECOY_NUMBER] for row in rows[1:] if row)
    target.write_text(out.getvalue(), encoding="utf-8", newline="")
    return target


def header_index(export: Path, header: str) -> int:
    return export.read_text(encoding="utf-8").splitlines()[0].split(",").index(header)
