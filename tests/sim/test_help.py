import argparse

from app.sim import cli
from app.sim.faults import DESCRIPTIONS, FAULTS, KNOBS


def test_every_fault_and_knob_is_described_in_the_help() -> None:
    assert set(DESCRIPTIONS) == set(FAULTS) | set(KNOBS)
    parser = argparse.ArgumentParser(prog="pbx-companion sim")
    cli.add_arguments(parser)
    text = parser.format_help()
    for name in (*FAULTS, *KNOBS):
        assert f"  {name} " in text
