"""A plain bridge log's counts taken in their own process
(``python -m app.services.reconcile.bridge_log_count_worker``; see ``bridge_log_counting``).

Reads its job, pickled (the file, the bridge host's zone and how many bytes its reader reads),
from stdin, and writes those bytes' ``BridgeLogCounts``, pickled, to stdout.
"""

from __future__ import annotations

import pickle
import sys

from app.services.reconcile.bridge_log import count_lines


def main() -> None:
    path, zone, limit = pickle.load(sys.stdin.buffer)
    counts = count_lines(path, zone=zone, limit=limit)
    pickle.dump(counts, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
