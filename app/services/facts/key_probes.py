"""What an API key may do, found out rather than trusted: download a recording, and read the
admin-level claims its token carries. The doctor's cause 2 and the guided setup's key check
both probe here (3CX has no role names to read, API-NOTES §3)."""

from __future__ import annotations

from app.domain.recordings import Recording
from app.services.facts.outcome import Outcome
from app.threecx.client import PbxClient
from app.threecx.errors import DownloadUnconfirmed, RecordingFileMissing, ThreeCXError
from app.threecx.v20.client import V20Client

ADMIN_MARKERS = ("admin", "owner")


async def download_newest(client: PbxClient, recordings: list[Recording]) -> Outcome[int]:
    """Download the newest recording still on the PBX (archived ones live elsewhere): the
    recording-fetch probe. The value is the number of bytes of audio. On v18 a recording no
    known path serves is no verdict yet: the next one may confirm a path."""
    last: Outcome[int] = Outcome(error=RecordingFileMissing("No local recording to try."))
    for rec in [r for r in recordings if not r.archived][:3]:
        try:
            data = await client.download_recording(rec.id)
        except (RecordingFileMissing, DownloadUnconfirmed) as exc:
            last = Outcome(error=exc)
            continue
        except ThreeCXError as exc:
            return Outcome(error=exc)
        return Outcome(value=len(data))
    return last


def admin_claims(client: PbxClient) -> list[str]:
    """Admin-level role claims in the client's token (v20): the key is over-privileged."""
    if not isinstance(client, V20Client):
        return []
    claims = client.tokens.claims()
    found: list[str] = []
    for key, value in claims.items():
        if key.lower() in ("role", "roles") or key.endswith("/role"):
            values = value if isinstance(value, list) else [value]
            found.extend(str(v) for v in values if any(m in str(v).lower() for m in ADMIN_MARKERS))
        elif key.lower() in ("admin", "is_admin") and value is True:
            found.append(key)
    return list(dict.fromkeys(found))
