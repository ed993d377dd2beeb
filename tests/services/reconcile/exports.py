"""CRM activity exports as each CRM writes them, written to disk for the readers' tests."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from app.sim.bridge_formats import CRM_HEADERS

# HubSpot's calls export, as the simulator's CRM writes it.
HUBSPOT = list(CRM_HEADERS)
SALESFORCE = [
    "Id",
    "Activity Date",
    "CreatedDate",
    "Subject",
    "CallType",
    "Phone",
    "Who.Name",
    "Description",
    "CallObject",
    "TaskSubtype",
]
ZOHO = ["Call Start Time", "Call Type", "Phone", "Contact Name", "Call Recording", "Call ID"]
SHEET = ["date", "time", "direction", "phone", "contact", "recording", "call id", "type"]


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text(csv_text(rows), encoding="utf-8", newline="")
    return path


def one_row(folder: Path, header: str, cell: str) -> Path:
    """An export of one call with a time, a number and ``header`` holding ``cell``."""
    rows = [["Activity date", "Phone number", header], ["2026-11-18 11:01", "0412345678", cell]]
    return write_csv(folder / "one.csv", rows)
