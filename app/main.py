"""The composition root: builds the services and the UI, then runs the event loop.

The desktop window is not there yet; until it is, ``pbx-companion --demo`` runs the terminal
demo from ``app.cli``.
"""

from __future__ import annotations

import sys

from app.cli import main as cli_main


def main() -> int:
    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
