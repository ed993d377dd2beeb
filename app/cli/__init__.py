"""The headless commands, and ``pbx-companion``'s entry point (``main``).

``entry`` parses the command line and dispatches: ``pbx`` (read from a PBX), ``doctor``,
``report``, ``connections`` and ``keys``, ``--demo --headless`` (``demo``), ``--self-test``
(``self_test``), and ``sim`` (in ``app.sim.cli``). ``args`` holds the arguments they share and
the exit codes; ``watch`` the live call feed in the terminal. With no command, ``entry`` opens
the window through ``app.main``, the one module that may import it.
"""

from app.cli.entry import main

__all__ = ["main"]
