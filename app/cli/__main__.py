"""``python -m app.cli``, and the script the PyInstaller build starts (build/pbx-companion.spec)."""

import sys

from app.cli.entry import main

if __name__ == "__main__":
    sys.exit(main())
