"""Cause 7: the path to the PBX and the sign-in, judged by the domain's rule.

Probed first, although listed last: when it fails, checks 1 to 6 are blocked by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.causes.reachability import ReachabilityFacts, judge_reachability
from app.domain.diagnosis import CheckResult
from app.domain.pbx import PbxIdentity
from app.services.facts.reachability import gather_reachability
from app.services.known_certificates import KnownCertificates
from app.threecx.client import PbxClient
from app.threecx.connect import ConnectionParams


@dataclass
class Reach:
    """What the reachability phase found, and the client when it got through."""

    result: CheckResult
    facts: ReachabilityFacts
    client: PbxClient | None = None
    identity: PbxIdentity | None = None


async def check_reachability(
    params: ConnectionParams,
    secret: str,
    known: KnownCertificates | None,
    now: datetime,
    *,
    overlap: bool = True,
) -> Reach:
    found = await gather_reachability(params, secret, known, now, overlap=overlap)
    return Reach(judge_reachability(found.facts), found.facts, found.client, found.identity)
