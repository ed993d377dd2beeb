"""Tags as the engineer types them: split on commas, tidied, a repeat kept once; a pasted
paragraph is refused with the reason; matching ignores case and spacing."""

from __future__ import annotations

import pytest

from app.domain.connection import (
    TAG_MAX_LENGTH,
    ConnectionProfile,
    has_tag,
    parse_tags,
    tag_problem,
)


@pytest.mark.parametrize(
    ("typed", "tags"),
    [
        ("north, Monthly  review,north", ("north", "Monthly review")),
        (" , ,", ()),
        ("", ()),
        (["North ", "NORTH", " south"], ("North", "south")),
        ("a,b,A,B,c", ("a", "b", "c")),
    ],
)
def test_tags_are_tidied_and_a_repeat_is_kept_once(
    typed: str | list[str], tags: tuple[str, ...]
) -> None:
    assert parse_tags(typed) == tags


def test_a_tag_too_long_is_refused_with_what_to_do() -> None:
    assert tag_problem(("north", "x" * TAG_MAX_LENGTH)) is None
    problem = tag_problem(("north", "y" * (TAG_MAX_LENGTH + 1)))
    assert problem is not None
    assert f"is {TAG_MAX_LENGTH + 1} characters long" in problem
    assert "separate tags with commas" in problem


def test_has_tag_ignores_case_and_spacing() -> None:
    profile = ConnectionProfile(
        id="c1", name="Harbour", url="https://pbx", client_id="9", tags=("Monthly review",)
    )
    assert has_tag(profile, "monthly  REVIEW")
    assert not has_tag(profile, "monthly")
    assert not has_tag(ConnectionProfile(id="c2", name="B", url="u", client_id="9"), "north")
