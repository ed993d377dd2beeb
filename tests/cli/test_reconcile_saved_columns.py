"""``reconcile --connection NAME`` reads the CRM export with the columns the engineer mapped for
that connection in the Reconcile pane, when they fit the export; another export is detected."""

from __future__ import annotations

from pathlib import Path

from app.cli.reconcile import _saved_columns
from app.domain.activity_columns import ActivityColumns
from app.domain.connection import ConnectionProfile
from app.services.reconcile.run import ReconcileInputs

MAPPED = ActivityColumns(time="Started", phone="Dialled", call_id="Ref")


def export(folder: Path, name: str, header: str) -> Path:
    path = folder / name
    path.write_text(f"{header}\r\n2026-11-11T01:03:20Z,+61451608509,+61881000101,abc\r\n")
    return path


def harbour(columns: ActivityColumns | None) -> ConnectionProfile:
    return ConnectionProfile(
        id="c1",
        name="Harbour Dental",
        url="https://pbx.example.com",
        client_id="901",
        activity_columns=columns,
    )


async def test_the_saved_mapping_reads_an_export_it_fits(tmp_path: Path) -> None:
    fits = export(tmp_path, "mapped.csv", "Started,Dialled,Phone,Ref")
    inputs = await _saved_columns(ReconcileInputs(fits), harbour(MAPPED))
    assert inputs.crm_columns == MAPPED
    assert inputs.crm_activities == fits


async def test_another_export_or_no_mapping_is_detected(tmp_path: Path) -> None:
    other = export(tmp_path, "other.csv", "Activity date,Phone number,Call notes,Owner")
    assert (await _saved_columns(ReconcileInputs(other), harbour(MAPPED))).crm_columns is None
    fits = export(tmp_path, "mapped.csv", "Started,Dialled,Phone,Ref")
    assert (await _saved_columns(ReconcileInputs(fits), harbour(None))).crm_columns is None
    # A missing file is left for the run to name (exit 2 there, with its message).
    missing = ReconcileInputs(tmp_path / "gone.csv")
    assert await _saved_columns(missing, harbour(MAPPED)) == missing
