"""Keeping the key and the customer's names safe in what the doctor pane shows and copies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.diagnosis import CheckId, CheckResult
from app.domain.masking import SECRET_MASK
from app.services.logs.setup import REDACTOR
from app.services.session import PbxSession


def without_key(text: str, session: PbxSession | None) -> str:
    """Redacted, and the connection's own key masked wherever it turns up."""
    text = REDACTOR.redact(text)
    if session is not None and session.secret:
        text = text.replace(session.secret, SECRET_MASK)
    return text


def names_quoted(result: CheckResult) -> list[str]:
    """Names the evidence may quote (contacts, staff on extensions), for presenter mode."""
    details: Mapping[str, Any] = result.details
    names: list[str] = []
    for call in details.get("calls", []) if result.id is CheckId.CONTACT_MATCH else []:
        names += [n for n in call.get("contacts", []) if isinstance(n, str)]
    for fix in details.get("bulk_fixes", []) if result.id is CheckId.CONTACT_MATCH else []:
        names += [fix["name"]] if isinstance(fix.get("name"), str) else []
    if result.id is CheckId.EXTENSION_RECORDING:
        names += [e["name"] for e in details.get("extensions", []) if e.get("name")]
    return names
