import sys

from app.sim.cli import main

sys.exit(main())
