"""3CX's phonebook settings as the simulator serves them (``GET /PhoneBookSettings``).

``ResolvingType`` says how 3CX matches a caller to a phonebook contact: not at all, the exact
number, or the last ``ResolvingLength`` digits. The ``phonebook-resolving`` knob chooses it.
"""

from __future__ import annotations

from typing import Any

DEFAULT = "MatchExact"
DEFAULT_LENGTH = 9
TYPES = ("NotResolve", "MatchExact", "MatchLength")


def phonebook_settings(spec: str | None) -> dict[str, Any]:
    """The settings row for a knob value such as ``MatchLength:9``; a bad one is the default."""
    name, _, length_text = (spec or DEFAULT).partition(":")
    kind = next((t for t in TYPES if t.lower() == name.strip().lower()), DEFAULT)
    length = 0
    if kind == "MatchLength":
        text = length_text.strip()
        length = int(text) if text.isdigit() and int(text) > 0 else DEFAULT_LENGTH
    return {
        "ResolvingType": kind,
        "ResolvingLength": length,
        "PhoneBookDisplay": "FirstNameLastName",
        "PhoneBookAddQueueName": "NotAdd",
    }
