"""A simulated 3CX PBX (v20 XAPI + Call Control, v18 web API) for demo mode and tests."""

from app.sim.bridge_faults import BRIDGE_FAULTS, BridgeFaultError
from app.sim.bridge_playback import BridgePlayback
from app.sim.bridge_run import ExpectedCall
from app.sim.config import SimConfig
from app.sim.faults import FAULTS, KNOBS, PRESETS, FaultSet, UnknownFault
from app.sim.records import CallRecord
from app.sim.simulator import Simulator
from app.sim.tenant import Tenant

__all__ = [
    "BRIDGE_FAULTS",
    "FAULTS",
    "KNOBS",
    "PRESETS",
    "BridgeFaultError",
    "BridgePlayback",
    "CallRecord",
    "ExpectedCall",
    "FaultSet",
    "SimConfig",
    "Simulator",
    "Tenant",
    "UnknownFault",
]
