"""The doctor's time limits in tests: short only where a test waits on a PBX that hangs.

A loaded CI machine can take over a second to accept on loopback or to answer a read; a test
that gives a healthy simulator one second reads that slow moment as "the PBX did not answer"
and fails on a busy day only. So every test talks to a working simulator with ROOMY limits,
and only a fault that hangs on purpose (or an address that never answers) gets QUICK ones.
"""

from __future__ import annotations

from app.sim import Simulator
from app.threecx.transport import Timeouts

QUICK = Timeouts(connect=1.0, read=1.0, total=3.0)
ROOMY = Timeouts(connect=10.0, read=10.0, total=30.0)


def timeouts_for(sim: Simulator) -> Timeouts:
    """ROOMY for any simulator, unless it hangs on purpose."""
    return QUICK if sim.faults.active("hang") else ROOMY
