"""Each finished run kept in the reconcile ledger database, and compared with the newest earlier
run of the same connection over the same period: what a fix fixed, what is still to fix, what
broke since (as ``pbx-companion reconcile`` says it).

The store is SQLite and blocks on the disk: every use runs in a worker thread, one at a time
(runs are kept in the order they finished). One store per pane, opened on first use; a store
that could not be opened is tried again on the next run. The demo's runs are never saved with
the engineer's: they go to a scratch ledger in a temporary folder, removed on close.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.services.reconcile.ledger_store import FILE_NAME, LedgerStore
from app.services.reconcile.ledger_store_compare import Comparison
from app.services.reconcile.run import ReconcileInputs, ReconcileResult


@dataclass(frozen=True)
class Kept:
    run_id: int
    comparison: Comparison | None  # None: no earlier run of this connection and period
    problems: tuple[str, ...] = ()  # what opening the store found (a damaged file set aside)


class RunHistory:
    def __init__(
        self, opener: Callable[[], LedgerStore] = LedgerStore.open, *, scratch: bool = False
    ) -> None:
        """``scratch``: a ledger for this session only (the demo's), not ``opener``'s."""
        self._opener = opener
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._scratch_wanted = scratch
        self._store: LedgerStore | None = None
        self._turn = asyncio.Lock()
        self._work: asyncio.Future[Kept] | None = None

    async def keep(
        self,
        result: ReconcileResult,
        *,
        connection_id: str,
        inputs: ReconcileInputs,
        contacts: Path | None,
    ) -> Kept:
        """Save the run and compare it with the period's last one; ``LedgerStoreError`` when
        the store cannot be opened, read or written (nothing already saved is changed)."""
        async with self._turn:
            # Shielded: a task cancelled mid-save leaves the save to finish, as one transaction.
            self._work = asyncio.ensure_future(
                asyncio.to_thread(self._keep, result, connection_id, inputs, contacts)
            )
            return await asyncio.shield(self._work)

    def _keep(
        self,
        result: ReconcileResult,
        connection_id: str,
        inputs: ReconcileInputs,
        contacts: Path | None,
    ) -> Kept:
        problems: tuple[str, ...] = ()
        if self._store is None:
            self._store = self._open()
            problems = tuple(p.message for p in self._store.problems)
        store = self._store
        ledger = result.ledger
        before = store.latest_for_period(connection_id, ledger.period_from, ledger.period_to)
        run_id = store.save(result, connection_id=connection_id, inputs=inputs, contacts=contacts)
        comparison = store.compare(before.id, run_id) if before is not None else None
        return Kept(run_id, comparison, problems)

    @property
    def path(self) -> Path | None:
        """The ledger file in use, once opened."""
        return self._store.path if self._store is not None else None

    def _open(self) -> LedgerStore:
        if not self._scratch_wanted:
            return self._opener()
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="pbx-companion-demo-ledger-")
        return LedgerStore.open(Path(self._scratch.name) / FILE_NAME)

    async def aclose(self) -> None:
        """Let a save under way finish, then close the store (a scratch one is removed)."""
        if self._work is not None:
            await asyncio.gather(self._work, return_exceptions=True)
        store, self._store = self._store, None
        scratch, self._scratch = self._scratch, None
        if store is not None:
            await asyncio.to_thread(store.close)
        if scratch is not None:
            await asyncio.to_thread(scratch.cleanup)
