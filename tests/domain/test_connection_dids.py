"""What counts as a DID when the engineer types one: the one rule the dialog and the store ask."""

from __future__ import annotations

import pytest

from app.domain.connection import looks_like_did


@pytest.mark.parametrize("text", ["+61 2 9000 1234", "(02) 9000-1234", "1300.123.456", "123"])
def test_typed_numbers_with_the_usual_separators_are_dids(text: str) -> None:
    assert looks_like_did(text)


@pytest.mark.parametrize("text", ["", "12", "call us", "+61 2 9000 1234 ext 5", "61#2"])
def test_words_short_numbers_and_other_signs_are_not(text: str) -> None:
    assert not looks_like_did(text)
