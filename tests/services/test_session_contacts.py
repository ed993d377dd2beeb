"""A connection's CRM export is read with the columns mapped in the guided setup, everywhere."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from app.domain.connection import ConnectionProfile, ContactColumns
from app.services.session import PbxSession
from tests.conftest import SimFactory

EXPORT = "Full Name,Main Line,Notes\nJane Smith,0412 345 678,VIP\nBob Jones,(02) 9000 1234,\n"


async def index_names(session: PbxSession, number: str) -> set[str]:
    index = await session.contact_index()
    return {c.name for c in index.match(number).contacts}


async def test_the_mapped_columns_are_used_and_without_them_the_file_is_reported(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True)
    export = tmp_path / "crm.csv"
    export.write_text(EXPORT, encoding="utf-8")
    plain = ConnectionProfile(
        id="mapped",
        name="Harbour Dental",
        url=sim.url,
        client_id=sim.client_id,
        region="AU",
        ca_file=sim.ca_file,
        contacts_csv=str(export),
    )
    columns = ContactColumns(phone=("Main Line",), name=("Full Name",))
    mapped = PbxSession(replace(plain, contacts_columns=columns), sim.client_secret)
    unmapped = PbxSession(plain, sim.client_secret)
    try:
        assert await index_names(mapped, "+61412345678") == {"Jane Smith"}
        assert mapped.contact_problems == []
        # Without the mapping no phone column is found: said, and the phonebook is used instead.
        assert await index_names(unmapped, "+61412345678") == set()
        assert any("crm.csv not read" in p for p in unmapped.contact_problems)
    finally:
        await mapped.aclose()
        await unmapped.aclose()
