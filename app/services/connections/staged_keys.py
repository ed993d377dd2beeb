"""Which connection ids have a key staged in the keyring by an unfinished guided setup.

The guided setup puts the key in the keyring at step 4 and saves the connection at step 9. If
the app dies in between, the keyring would keep a key nobody can see. This journal (next to the
settings file) lists only the ids of such keys, never a key, so the next start can remove them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from app.services.atomic_files import write_text_atomically

log = logging.getLogger(__name__)

FILE_NAME = "staged-keys.json"


class StagedKeyJournal:
    """The ids on disk; every method is synchronous: call it through ``asyncio.to_thread``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> set[str]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return set()
        except (OSError, ValueError) as exc:
            log.warning("Staged-key journal %s not readable (%s): starting afresh", self.path, exc)
            return set()
        ids = raw.get("ids") if isinstance(raw, dict) else None
        return {i for i in ids if isinstance(i, str)} if isinstance(ids, list) else set()

    def write(self, ids: set[str]) -> None:
        """Replace the journal atomically; an empty set removes the file."""
        try:
            if not ids:
                self.path.unlink(missing_ok=True)
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomically(self.path, json.dumps({"ids": sorted(ids)}))
        except OSError as exc:
            # Losing the journal only means a leftover key is not swept: never block the setup.
            log.warning("Staged-key journal %s not written: %s", self.path, exc)
