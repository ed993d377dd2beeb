"""``phonebook_settings()``: 3CX's caller resolution as a domain value (v20), or None (v18)."""

from __future__ import annotations

import pytest

from app.domain.bridge import PhonebookResolution, PhonebookResolving
from app.threecx.errors import MalformedResponse
from app.threecx.v20.mapping import phonebook_resolution_from_row
from tests.conftest import SimFactory
from tests.threecx.conftest import ClientFactory


@pytest.mark.parametrize(
    ("knob", "expected"),
    [
        ([], PhonebookResolution(PhonebookResolving.MATCH_EXACT)),
        (
            ["phonebook-resolving=MatchLength:9"],
            PhonebookResolution(PhonebookResolving.MATCH_LENGTH, 9),
        ),
        (["phonebook-resolving=NotResolve"], PhonebookResolution(PhonebookResolving.NOT_RESOLVE)),
    ],
)
async def test_v20_reads_how_3cx_resolves_callers(
    make_sim: SimFactory, connect: ClientFactory, knob: list[str], expected: PhonebookResolution
) -> None:
    client = await connect(await make_sim(faults=knob))
    await client.authenticate()
    assert await client.phonebook_settings() == expected


async def test_v18_does_not_say(make_sim: SimFactory, connect: ClientFactory) -> None:
    client = await connect(await make_sim(pbx_version="18.0.11.200"))
    await client.authenticate()
    assert await client.phonebook_settings() is None


def test_wire_variants_map_or_are_named() -> None:
    assert phonebook_resolution_from_row({"ResolvingType": "2", "ResolvingLength": 8}) == (
        PhonebookResolution(PhonebookResolving.MATCH_LENGTH, 8)
    )
    assert phonebook_resolution_from_row({"ResolvingType": "matchexact"}) == (
        PhonebookResolution(PhonebookResolving.MATCH_EXACT)
    )
    with pytest.raises(MalformedResponse, match="ResolvingType 'Fuzzy' is not one of"):
        phonebook_resolution_from_row({"ResolvingType": "Fuzzy"})
    with pytest.raises(MalformedResponse, match="ResolvingType None"):
        phonebook_resolution_from_row({"ResolvingLength": 9})
