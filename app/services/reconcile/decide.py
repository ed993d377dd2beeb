"""A period's ledger decided by the domain's ``reconcile``, as the reconcile run and the bench
call it: with the cycle collector held off (``gc_pause``), since a month's ledger makes a
million small objects and no cycles, and each full collection would walk them all."""

from __future__ import annotations

from app.domain.reconcile.ledger import reconcile
from app.services.reconcile.gc_pause import with_collection_paused

# The domain's ``reconcile``: same arguments, same ledger, the collector paused.
decide_ledger = with_collection_paused(reconcile)
