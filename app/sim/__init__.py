"""A simulated 3CX PBX (v20 XAPI + Call Control, v18 web API) for demo mode and tests."""

from app.sim.config import SimConfig
from app.sim.faults import FAULTS, KNOBS, PRESETS, FaultSet, UnknownFault
from app.sim.records import CallRecord
from app.sim.simulator import Simulator
from app.sim.tenant import Tenant

__all__ = [
    "FAULTS",
    "KNOBS",
    "PRESETS",
    "CallRecord",
    "FaultSet",
    "SimConfig",
    "Simulator",
    "Tenant",
    "UnknownFault",
]
