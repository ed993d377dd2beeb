"""Presenter mode's masking of free text: numbers and names go, versions, dates and IPs stay."""

from __future__ import annotations

import pytest

from app.domain.masking import Masker, initials


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("+61412345678: no contact has this number", "+••••••••678: no contact has this number"),
        ("Caller:+61412345678 rang", "Caller:+••••••••678 rang"),
        ("call 0412.345.678 back", "call ••••.•••.678 back"),
        ("(02) 9876-5432", "(••) ••••-•432"),
        (
            "3CX 20.0.10.1116 on 2026-11-21 at 10:15:30",
            "3CX 20.0.10.1116 on 2026-11-21 at 10:15:30",
        ),
        ("PBX at 10.0.0.12, extension 101", "PBX at 10.0.0.12, extension 101"),
    ],
)
def test_free_text_masks_numbers_only(text: str, shown: str) -> None:
    assert Masker(enabled=True).free_text(text) == shown


def test_learned_names_become_initials_longest_first() -> None:
    masker = Masker(enabled=True)
    masker.learn_names(["Jane Smith", "Jane Smithers", "Al"])  # too short names are not learned
    assert masker.free_text("Jane Smithers and Jane Smith, Al") == "J. S. and J. S., Al"


def test_nothing_is_masked_when_presenter_mode_is_off_except_secrets() -> None:
    masker = Masker(enabled=False)
    masker.learn_names(["Jane Smith"])
    assert masker.free_text("Jane Smith +61412345678") == "Jane Smith +61412345678"
    assert "secret" not in masker.secret("secret")


def test_initials() -> None:
    assert initials("Jane Q. Smith") == "J. Q. S."
    assert initials("  ") == ""
