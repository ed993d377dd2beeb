from hypothesis import given
from hypothesis import strategies as st

from app.domain.version import SUPPORTED_FLOOR, PbxVersion


def test_parses_four_part_versions() -> None:
    v = PbxVersion.parse("20.0.10.1116")
    assert v == PbxVersion(20, 0, 10, 1116)
    assert v is not None and v.is_v20 and v.meets_floor
    assert str(v) == "20.0.10.1116"


def test_token_lifetime_unit_changes_at_20_0_9() -> None:
    assert PbxVersion(20, 0, 8, 500).token_lifetime_in_minutes
    assert not PbxVersion(20, 0, 9, 1).token_lifetime_in_minutes
    assert not PbxVersion(18, 0, 11, 200).token_lifetime_in_minutes


def test_floor_is_v18_build_11() -> None:
    assert PbxVersion.parse("18.0.11.200") == SUPPORTED_FLOOR.__class__(18, 0, 11, 200)
    assert PbxVersion(18, 0, 11, 0).meets_floor
    assert not PbxVersion(18, 0, 10, 5).meets_floor
    assert not PbxVersion(16, 0, 9, 1000).meets_floor


def test_unreadable_versions_are_none() -> None:
    for text in ("", None, "v20", "twenty", "..."):
        assert PbxVersion.parse(text) is None


@given(st.lists(st.integers(0, 5000), min_size=1, max_size=4))
def test_round_trip_and_ordering(parts: list[int]) -> None:
    text = ".".join(map(str, parts))
    v = PbxVersion.parse(text)
    assert v is not None
    padded = [*parts, 0, 0, 0][:4]
    assert (v.major, v.minor, v.update, v.build) == tuple(padded)
    assert PbxVersion.parse(str(v)) == v
