"""The simulated PBX's web server, one module per part of the wire.

``dispatch`` routes each path; ``xapi`` and ``call_log`` answer the v20 XAPI, ``tokens`` signs in,
``callcontrol`` serves Call Control (REST and websocket), ``v18`` the v18 web API, ``control``
the simulator's own /_sim API; ``middleware`` wraps them all in the transport faults. They know
the simulator only as the ``Pbx`` interface (``pbx``) it hands them.
"""

from app.sim.server.dispatch import SimServer
from app.sim.server.pbx import Pbx

__all__ = ["Pbx", "SimServer"]
