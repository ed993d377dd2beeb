"""The parts of the 3CX client the window may hold: its error type, a client, how to open one.

The UI never imports ``app.threecx`` (an import contract says so): it talks to a PBX through
the services, and where a pane must hold a client, catch the client's one error type or show
a certificate, it takes the name from here. One door keeps the window's view of the 3CX
client small and visible, so a change in the client shows up here first.
"""

from __future__ import annotations

from app.threecx.client import PbxClient
from app.threecx.connect import ConnectionParams, open_client
from app.threecx.errors import ThreeCXError
from app.threecx.probe import CertificateInfo
from app.threecx.tls import TlsOptions
from app.threecx.transport import Timeouts
from app.threecx.v20.admin import AdminSession, ServicePrincipal, admin_sign_in

__all__ = [
    "AdminSession",
    "CertificateInfo",
    "ConnectionParams",
    "PbxClient",
    "ServicePrincipal",
    "ThreeCXError",
    "Timeouts",
    "TlsOptions",
    "admin_sign_in",
    "open_client",
]
