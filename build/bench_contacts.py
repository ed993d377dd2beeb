"""`make bench`: a 100,000-row CRM contacts export imported, indexed, and 10,000 calls matched.

The export is a HubSpot-style CSV for an Australian customer, written the way real CRMs hold
numbers: E.164, national with spaces, bracketed area codes, dashes, a stripped "+", extensions,
some that are not numbers at all, and switchboard numbers shared by two contacts. It is read
with the app's own ``read_contacts_csv`` and indexed with ``ContactIndex``; the caller ids come
as a PBX gives them (E.164, national, "+" stripped), with strangers, extensions and withheld ids.

"Naive" is the plain per-call scan a simple bridge does: normalise the caller, then walk every
contact normalising each stored number. A full 10,000 x 100,000 scan would take hours, so it is
timed on a sample of the calls and extrapolated; both must give the same answer on the sample.

The measuring runs in its own process (``python build/bench_contacts.py worker ...``) so its
peak resident memory and the normaliser's cache are its own. Used by build/bench.py; run alone
with ``.venv/bin/python build/bench_contacts.py``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_rss import peak_rss_mb  # noqa: E402

from app.domain import phones  # noqa: E402
from app.domain.contact_match import ContactIndex, ContactMatch, MatchKind  # noqa: E402
from app.domain.contacts import Contact  # noqa: E402
from app.services.contacts.crm_import import (  # noqa: E402
    _RowReader,
    detect_columns,
    read_contacts_csv,
)

if TYPE_CHECKING:
    from bench import Figure

REGION = "AU"
ROWS = 100_000
CALLS = 10_000
NAIVE_SAMPLE = 50
WORKER_TIMEOUT_S = 900

HEADERS = [
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Mobile Phone Number",
    "Work Phone",
    "Fax Number",
    "Company Name",
    "Lifecycle Stage",
    "Create Date",
]
FIRST_NAMES = ["Olivia", "Jack", "Charlotte", "Noah", "Isla", "Priya", "Wei", "Fatima", "Rhys"]
LAST_NAMES = ["Smith", "Nguyen", "O'Brien", "Patel", "Chen", "Rossi", "Kelly", "MacDonald"]
COMPANY_WORDS = ["Harbour", "Coastal", "Outback", "Bayside", "Red Gum", "Wattle", "Banksia"]
# A comma in a company name: the export quotes the field.
COMPANY_KINDS = ["Dental", "Plumbing", "Accounting", "Legal", "Physio", "Builders, Pty Ltd"]
STAGES = ["lead", "subscriber", "marketingqualifiedlead", "opportunity", "customer"]
# How national numbers in real local ranges start: area code, then the exchange's first digits
# (Sydney, Newcastle, Melbourne, Geelong, Brisbane, Gold Coast, Adelaide, Perth).
LANDLINE_STARTS = ["29", "28", "249", "39", "38", "352", "73", "755", "88", "89", "86"]
NOT_NUMBERS = ("TBC", "n/a", "0000000000", "ask reception", "12345", "8123 4567", "-")


# ---- the export and the calls -------------------------------------------------------------


def _national(rng: random.Random, mobile: bool) -> str:
    """Nine national digits without the trunk prefix: "412345678" or "881234567"."""
    start = "4" if mobile else rng.choice(LANDLINE_STARTS)
    return start + f"{rng.randrange(10**8):08d}"[: 9 - len(start)]


def _as_stored(rng: random.Random, national: str) -> str:
    """One number the way people type it into a CRM."""
    mobile = national[0] == "4"
    trunk = "0" + national
    spaced = (
        f"{trunk[:4]} {trunk[4:7]} {trunk[7:]}"
        if mobile
        else f"{trunk[:2]} {trunk[2:6]} {trunk[6:]}"
    )
    style = rng.random()
    if style < 0.35:
        return "+61" + national
    if style < 0.60:
        return spaced
    if style < 0.70:
        return f"(0{national[0]}) {national[1:5]} {national[5:]}" if not mobile else spaced
    if style < 0.80:
        return (
            f"+61 {national[:3]} {national[3:6]} {national[6:]}"
            if mobile
            else f"+61 {national[0]} {national[1:5]} {national[5:]}"
        )
    if style < 0.90:
        return trunk
    if style < 0.94:
        return spaced.replace(" ", "-")
    if style < 0.97:
        return "61" + national
    return f"{spaced} x{rng.randrange(100, 400)}"


def write_export(path: Path, rows: int, rng: random.Random) -> list[str]:
    """The CSV export; returns the national numbers it holds, for drawing callers from."""
    numbers: list[str] = []
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file, lineterminator="\r\n")
        writer.writerow(HEADERS)
        for n in range(rows):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{first}.{last}{n}@example.com.au".lower().replace("'", "")
            company = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
            cells = {"phone": "", "mobile": "", "work": ""}
            if rng.random() < 0.85:
                if numbers and rng.random() < 0.03:
                    national = rng.choice(numbers)  # a switchboard shared with another contact
                else:
                    national = _national(rng, mobile=False)
                    numbers.append(national)
                cells["phone"] = _as_stored(rng, national)
            if rng.random() < 0.60:
                national = _national(rng, mobile=True)
                numbers.append(national)
                cells["mobile"] = _as_stored(rng, national)
                if not cells["phone"] and rng.random() < 0.05:
                    cells["phone"] = _as_stored(rng, national)  # the mobile in both columns
            if rng.random() < 0.12:
                national = _national(rng, mobile=False)
                numbers.append(national)
                cells["work"] = _as_stored(rng, national)
            for key in cells:
                if cells[key] and rng.random() < 0.015:
                    cells[key] = rng.choice(NOT_NUMBERS)
            fax = _as_stored(rng, _national(rng, mobile=False)) if rng.random() < 0.05 else ""
            writer.writerow(
                [
                    str(1_000_000 + n),
                    first,
                    last,
                    email,
                    cells["phone"],
                    cells["mobile"],
                    cells["work"],
                    fax,
                    company,
                    rng.choice(STAGES),
                    f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} 09:{n % 60:02d}",
                ]
            )
    return numbers


def caller_ids(numbers: Sequence[str], count: int, rng: random.Random) -> list[str]:
    """Caller ids as a PBX hands them over: mostly customers, some strangers and internal."""
    calls = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.03:
            calls.append(str(rng.randrange(100, 200)))  # an extension
            continue
        if kind < 0.05:
            calls.append(rng.choice(("anonymous", "", "Withheld")))
            continue
        national = rng.choice(numbers) if kind < 0.85 else _national(rng, mobile=rng.random() < 0.5)
        style = rng.random()
        if style < 0.55:
            calls.append("+61" + national)
        elif style < 0.85:
            calls.append("0" + national)
        else:
            calls.append("61" + national)
    return calls


BIG_EXPORT_MB = 50
# Broken rows, one in every this many, cycling through the kinds a real export has.
BROKEN_EVERY = 500
BIG_HEADERS = [*HEADERS, "Notes"]


def write_big_export(path: Path, megabytes: float, rng: random.Random) -> int:
    """A HubSpot-style export of about ``megabytes`` MB with broken rows; returns the rows.

    Every ``BROKEN_EVERY``th row is broken in one of the ways exports break: a row cut short,
    a stray quote, a 400-digit "number", a cp1252 name in a UTF-8 file, and one 10 MB notes
    cell (a pasted attachment) near the end.
    """
    target = int(megabytes * 1_000_000)
    rows = 0
    with path.open("wb") as file:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(BIG_HEADERS)
        file.write(buffer.getvalue().encode("utf-8-sig"))
        huge_at = target // 2
        while file.tell() < target:
            buffer.seek(0)
            buffer.truncate()
            n = rows
            rows += 1
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            phones = [
                _as_stored(rng, _national(rng, mobile=False)) if rng.random() < 0.85 else "",
                _as_stored(rng, _national(rng, mobile=True)) if rng.random() < 0.6 else "",
                _as_stored(rng, _national(rng, mobile=False)) if rng.random() < 0.12 else "",
            ]
            if not any(phones):
                phones[0] = _as_stored(rng, _national(rng, mobile=True))
            row = [
                str(1_000_000 + n),
                first,
                last,
                f"{first}.{last}{n}@example.com.au".lower().replace("'", ""),
                *phones,
                "",
                f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}",
                rng.choice(STAGES),
                f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} 09:{n % 60:02d}",
                "called back" if rng.random() < 0.1 else "",
            ]
            kind = n // BROKEN_EVERY % 4 if n % BROKEN_EVERY == BROKEN_EVERY - 1 else None
            if file.tell() >= huge_at and huge_at:
                row[-1] = "x" * 10_000_000
                huge_at = 0
            elif kind == 0:
                row = row[:5]
            elif kind == 2:
                row[4] = "9" * 400
            writer.writerow(row)
            line = buffer.getvalue()
            if kind == 1:
                line = line.replace(",", ',"', 1)
            data = line.encode("utf-8")
            if kind == 3:
                data = data.replace(first.encode(), "Zoë".encode("cp1252"), 1)
            file.write(data)
    return rows


# ---- the worker: measures in a process of its own -----------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def scan_match(contacts: Sequence[Contact], raw: str) -> tuple[MatchKind, tuple[str, ...]]:
    """The plain per-call scan: every stored number normalised again, for every call."""
    # The app's normaliser without its memo: a simple bridge normalises afresh each time.
    normalise = phones._normalise.__wrapped__
    e164 = normalise(raw, REGION)
    if e164 is None:
        return MatchKind.UNUSABLE, ()
    found: dict[str, None] = {}
    exact = False
    for contact in contacts:
        for phone in contact.phones:
            if phone.number.strip() and normalise(phone.number, REGION) == e164:
                found[contact.id] = None
                exact = exact or phone.number == e164
    if not found:
        return MatchKind.ORPHAN, ()
    if len(found) > 1:
        return MatchKind.AMBIGUOUS, tuple(found)
    return (MatchKind.EXACT if exact else MatchKind.NORMALISED), tuple(found)


def _answer(match: ContactMatch) -> tuple[MatchKind, tuple[str, ...]]:
    return match.kind, tuple(c.id for c in match.contacts)


def measure(export: Path, calls_file: Path, sample: int) -> dict[str, Any]:
    calls: list[str] = json.loads(calls_file.read_text())
    rss_base = _peak_rss_mb()

    began = time.perf_counter()
    imported = read_contacts_csv(export)
    import_s = time.perf_counter() - began
    rss_import = _peak_rss_mb()

    began = time.perf_counter()
    index = ContactIndex.build(imported.contacts, REGION)
    index_s = time.perf_counter() - began

    began = time.perf_counter()
    matches = [index.match(raw) for raw in calls]
    match_s = time.perf_counter() - began
    rss_peak = _peak_rss_mb()

    # An even spread over calls drawn at random, so the timing sees every kind of caller.
    step = max(1, len(calls) // sample)
    timed = list(range(0, len(calls), step))[:sample]
    began = time.perf_counter()
    scanned = [scan_match(imported.contacts, calls[i]) for i in timed]
    naive_s = time.perf_counter() - began
    # The answers are compared on the timed calls plus, untimed, one call of each kind of
    # answer the timed ones missed (an ambiguous caller is rare).
    seen = {matches[i].kind for i in timed}
    first_of_kind: dict[MatchKind, int] = {}
    for i, match in enumerate(matches):
        first_of_kind.setdefault(match.kind, i)
    checked = timed + [i for kind, i in first_of_kind.items() if kind not in seen]
    scanned += [scan_match(imported.contacts, calls[i]) for i in checked[len(timed) :]]
    mismatches = [
        {"caller": calls[i], "ours": _answer(matches[i]), "naive": naive}
        for i, naive in zip(checked, scanned, strict=True)
        if _answer(matches[i]) != naive
    ]
    return {
        "rows_read": imported.rows_read,
        "contacts": len(imported.contacts),
        "problems": len(imported.problems),
        "stored_numbers": sum(len(c.phones) for c in imported.contacts),
        "not_numbers": len(index.unusable()),
        "flavour": str(imported.mapping.flavour),
        "calls": len(calls),
        "kinds": {str(kind): n for kind, n in Counter(m.kind for m in matches).items()},
        "import_s": import_s,
        "index_s": index_s,
        "match_s": match_s,
        "naive_calls": len(timed),
        "naive_s": naive_s,
        "checked_calls": len(checked),
        "checked_kinds": len({matches[i].kind for i in checked}),
        "mismatches": mismatches,
        "rss_import_mb": rss_import - rss_base,
        "rss_peak_mb": rss_peak - rss_base,
    }


# ---- the parent: writes the export, runs the worker, turns its JSON into figures -----------


def run_worker(rows: int = ROWS, calls: int = CALLS, sample: int = NAIVE_SAMPLE) -> dict[str, Any]:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="pbx-bench-contacts-") as tmp:
        export, calls_file = Path(tmp, "hubspot-contacts.csv"), Path(tmp, "caller-ids.json")
        numbers = write_export(export, rows, rng)
        calls_file.write_text(json.dumps(caller_ids(numbers, calls, rng)))
        command = [sys.executable, __file__, "worker", str(export), str(calls_file)]
        try:
            done = subprocess.run(
                [*command, "--sample", str(sample)],
                capture_output=True,
                text=True,
                timeout=WORKER_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"failed": [f"no answer in {WORKER_TIMEOUT_S} s"]}
    if done.returncode != 0:
        return {"failed": done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]}
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def figures(result: dict[str, Any]) -> list[Figure]:
    from bench import Figure

    if "failed" in result:
        return [Figure("contacts: import, index, match", "failed", "-", "-", str(result["failed"]))]
    rows, calls = result["rows_read"], result["calls"]
    per_call = result["naive_s"] / result["naive_calls"]
    naive_match = per_call * calls
    ours_total = result["import_s"] + result["index_s"] + result["match_s"]
    naive_total = result["import_s"] + naive_match
    kinds = result["kinds"]
    matched = sum(kinds.get(str(k), 0) for k in (MatchKind.EXACT, MatchKind.NORMALISED))
    return [
        Figure(
            f"contacts: import a {rows:,}-row {result['flavour']} CSV",
            f"{result['import_s']:.2f} s ({rows / result['import_s']:,.0f} rows/s)",
            "-",
            "-",
            f"read_contacts_csv; {result['problems']:,} rows skipped and reported; "
            f"peak RSS +{result['rss_import_mb']:.0f} MB",
        ),
        Figure(
            f"contacts: index {result['stored_numbers']:,} numbers",
            f"{result['index_s']:.2f} s",
            "-",
            "-",
            f"ContactIndex.build; {result['not_numbers']:,} not numbers; "
            f"peak RSS +{result['rss_peak_mb']:.0f} MB with matching",
        ),
        Figure(
            f"contacts: match {calls:,} caller ids (naive: {result['naive_calls']} timed, "
            "extrapolated)",
            f"{result['match_s'] * 1000:.0f} ms ({calls / result['match_s']:,.0f} calls/s)",
            f"{naive_match:,.0f} s ({1 / per_call:.2f} calls/s) per-call scan",
            f"{naive_match / result['match_s']:,.0f}x faster",
            f"{matched:,} attach, {kinds.get(str(MatchKind.AMBIGUOUS), 0):,} ambiguous, "
            f"{kinds.get(str(MatchKind.ORPHAN), 0):,} orphan, "
            f"{kinds.get(str(MatchKind.UNUSABLE), 0):,} unusable; "
            f"mismatches vs the scan: {len(result['mismatches'])} of "
            f"{result['checked_calls']} calls ({result['checked_kinds']} kinds of answer)",
            value=result["match_s"],
            unit="s",
            baseline=naive_match,
        ),
        Figure(
            "contacts: import + index + match, end to end (naive extrapolated)",
            f"{ours_total:.2f} s",
            f"{naive_total:,.0f} s import + per-call scan",
            f"{naive_total / ours_total:,.0f}x faster",
            "one run each, in a fresh process",
            value=ours_total,
            unit="s",
            baseline=naive_total,
        ),
    ]


# ---- the 50 MB export: peak memory, streamed against read-everything ----------------------


def naive_import(export: Path) -> tuple[int, int]:
    """Read-everything: the whole file decoded, every row kept as its cells, then contacts."""
    csv.field_size_limit(sys.maxsize)  # as a naive reader does, to get past a huge cell
    text = export.read_bytes().decode("utf-8-sig", errors="replace")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    mapping = detect_columns(rows[0])
    reader = _RowReader([h.strip() for h in rows[0]], mapping)
    contacts = [reader.contact(n, row)[0] for n, row in enumerate(rows[1:], start=2) if row]
    kept = [c for c in contacts if c is not None]
    return len(rows) - 1, len(kept)


def import_once(export: Path, naive: bool) -> dict[str, Any]:
    """One import of ``export`` (run in a child of its own, so its peak RSS is the import's)."""
    began = time.perf_counter()
    if naive:
        rows, contacts = naive_import(export)
        skipped, summary = rows - contacts, ""
    else:
        imported = read_contacts_csv(export)
        rows, contacts = imported.rows_read, len(imported.contacts)
        skipped, summary = imported.skipped, imported.problem_summary() or ""
    seconds = time.perf_counter() - began
    return {
        "rows": rows,
        "contacts": contacts,
        "skipped": skipped,
        "summary": summary,
        "seconds": seconds,
    }


def _import_child(export: Path, naive: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "import", str(export), *(["--naive"] if naive else [])]
    run = peak_rss_mb(command, None, WORKER_TIMEOUT_S)
    if run.returncode != 0:
        tail = run.stderr.strip().splitlines()[-1:] or [f"exit {run.returncode}"]
        return {"failed": tail[0]}
    result: dict[str, Any] = json.loads(run.stdout)
    return {**result, "peak_mb": run.peak_rss_mb}


def _doctor_child(export: Path) -> dict[str, Any]:
    """``pbx-companion doctor --json --contacts`` against the simulator, in a child of its own."""
    from bench import sim_process

    with sim_process() as sim:
        env = dict(os.environ, PBX_BENCH_SECRET=sim["client_secret"])
        argv = [sys.executable, "-m", "app.cli", "doctor", "--json", "--contacts", str(export)]
        argv += ["--url", sim["url"], "--client-id", sim["client_id"], "--ca-file"]
        argv += [sim["ca_file"], "--secret-env", "PBX_BENCH_SECRET"]
        run = peak_rss_mb(argv, env, WORKER_TIMEOUT_S, cwd=ROOT)
    if run.returncode not in (0, 1):  # 1: a check failed, which a bench PBX may well do
        tail = run.stderr.strip().splitlines()[-1:] or [f"exit {run.returncode}"]
        return {"failed": tail[0]}
    return {"peak_mb": run.peak_rss_mb, "seconds": run.elapsed_s, "exit": run.returncode}


def run_big_export(megabytes: float = BIG_EXPORT_MB, doctor: bool = True) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pbx-bench-bigcsv-") as tmp:
        export = Path(tmp, "big-hubspot-contacts.csv")
        write_big_export(export, megabytes, random.Random(11))
        size_mb = export.stat().st_size / 1e6
        result = {
            "size_mb": size_mb,
            "ours": _import_child(export, naive=False),
            "naive": _import_child(export, naive=True),
        }
        if doctor:
            result["doctor"] = _doctor_child(export)
    return result


def big_export_figures(result: dict[str, Any]) -> list[Figure]:
    from bench import Figure

    ours, naive = result["ours"], result["naive"]
    name = f"contacts: peak RSS importing a {result['size_mb']:.0f} MB CSV"
    if "failed" in ours or "failed" in naive:
        return [Figure(name, "failed", "-", "-", str(ours.get("failed") or naive.get("failed")))]
    figures = [
        Figure(
            name,
            f"{ours['peak_mb']:.0f} MB in {ours['seconds']:.1f} s (streamed)",
            f"{naive['peak_mb']:.0f} MB in {naive['seconds']:.1f} s read-everything",
            f"{naive['peak_mb'] / ours['peak_mb']:.1f}x less memory",
            f"{ours['contacts']:,} contacts of {ours['rows']:,} rows; {ours['summary']}",
            value=round(ours["peak_mb"], 1),
            unit="MB",
            baseline=round(naive["peak_mb"], 1),
        )
    ]
    doctor = result.get("doctor")
    if doctor is not None:
        name = f"doctor --json --contacts ({result['size_mb']:.0f} MB CSV): peak RSS"
        if "failed" in doctor:
            figures.append(Figure(name, "failed", "-", "-", doctor["failed"]))
        else:
            figures.append(
                Figure(
                    name,
                    f"{doctor['peak_mb']:.0f} MB in {doctor['seconds']:.1f} s",
                    "400 MB target",
                    f"{400 / doctor['peak_mb']:.2f}x under the target"
                    if doctor["peak_mb"] < 400
                    else f"{doctor['peak_mb'] / 400:.2f}x OVER the target",
                    f"whole process against the simulator; exit {doctor['exit']}",
                    value=round(doctor["peak_mb"], 1),
                    unit="MB",
                    baseline=400.0,
                    baseline_is="target",
                )
            )
    return figures


def bench_contacts() -> list[Figure]:
    return figures(run_worker()) + big_export_figures(run_big_export())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command")
    worker = sub.add_parser("worker", help="measure (run by the parent; prints JSON)")
    worker.add_argument("export", type=Path)
    worker.add_argument("calls", type=Path)
    worker.add_argument("--sample", type=int, default=NAIVE_SAMPLE)
    once = sub.add_parser("import", help="import one export (run by the parent; prints JSON)")
    once.add_argument("export", type=Path)
    once.add_argument("--naive", action="store_true", help="read everything into memory first")
    big = sub.add_parser("big", help="only the 50 MB export's peak memory figures")
    big.add_argument("--megabytes", type=float, default=BIG_EXPORT_MB)
    big.add_argument("--no-doctor", action="store_true")
    parser.add_argument("--sample", type=int, default=NAIVE_SAMPLE, help="calls scanned naively")
    args = parser.parse_args()
    if args.command == "worker":
        print(json.dumps(measure(args.export, args.calls, args.sample)))
        return
    if args.command == "import":
        print(json.dumps(import_once(args.export, args.naive)))
        return
    from bench import print_table

    if args.command == "big":
        print_table(big_export_figures(run_big_export(args.megabytes, not args.no_doctor)))
        return

    result = run_worker(sample=args.sample)
    for mismatch in result.get("mismatches", []):
        print("MISMATCH", mismatch, file=sys.stderr)
    print_table(figures(result))


if __name__ == "__main__":
    main()
