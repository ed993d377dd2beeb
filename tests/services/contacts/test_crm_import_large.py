"""A large CRM export is streamed: its import costs its contacts, not its size.

Measured in a child process of its own, by the kernel's peak-RSS account (``os.wait4``), so the
bound is on memory, never on time. The export is mostly long notes in a column no contact
keeps: read whole it costs well over the bound, streamed it costs a few MB.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ROWS = 2_000
NOTE_CHARS = 12_000  # 2,000 rows of 12 kB notes: a 24 MB file
# Streamed, the import adds its 2,000 contacts and one row at a time to an idle interpreter;
# the file read whole (24 MB of bytes and at least as much text) cannot fit under this.
BOUND_MB = 20

IMPORT = """
import json, sys
from app.services.contacts.crm_import import read_contacts_csv, parse_contacts_csv, read_contacts_text
path = sys.argv[2]
if sys.argv[1] == "stream":
    imported = read_contacts_csv(path)
elif sys.argv[1] == "whole":
    imported = parse_contacts_csv(read_contacts_text(path))
else:
    imported = None
counts = None if imported is None else [len(imported.contacts), imported.skipped]
try:  # Linux: this program's own high-water mark (exec starts it afresh)
    with open("/proc/self/status") as status:
        hwm = next(int(l.split()[1]) / 1024 for l in status if l.startswith("VmHWM:"))
except OSError:
    hwm = None
print(json.dumps([counts, hwm]))
"""


def peak_rss_mb(*args: str) -> tuple[float, object]:
    """The child's peak resident set in MB, and what it printed (JSON).

    On Linux the child's own VmHWM: ``wait4``'s ru_maxrss also counts the parent's resident
    set at the fork, which in a long pytest session can dwarf the import.
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", IMPORT, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    assert proc.returncode == 0
    counts, hwm = json.loads(out)
    if hwm is not None:
        return float(hwm), counts
    scale = 1 << 20 if sys.platform == "darwin" else 1 << 10
    return usage.ru_maxrss / scale, counts


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("large") / "hubspot.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\r\n")
        writer.writerow(["Record ID", "First Name", "Last Name", "Phone Number", "Notes"])
        for n in range(ROWS):
            note = f"call {n} " + "n" * NOTE_CHARS
            writer.writerow([str(n), "Ann", "Citizen", f"+61 8 8{n:03d} {n % 10_000:04d}", note])
            if n % 500 == 499:
                writer.writerow(["broken", "row"])
    return path


def test_a_large_export_is_imported_within_a_memory_bound(export: Path) -> None:
    assert export.stat().st_size > 20_000_000
    idle, _ = peak_rss_mb("none", str(export))
    streamed, counts = peak_rss_mb("stream", str(export))
    assert counts == [ROWS, ROWS // 500]
    assert streamed - idle < BOUND_MB


def test_the_bound_would_catch_a_file_read_whole(export: Path) -> None:
    idle, _ = peak_rss_mb("none", str(export))
    whole, counts = peak_rss_mb("whole", str(export))
    assert counts == [ROWS, ROWS // 500]
    assert whole - idle > BOUND_MB
