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
import json
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

from app.domain import phones  # noqa: E402
from app.domain.contact_match import ContactIndex, ContactMatch, MatchKind  # noqa: E402
from app.domain.contacts import Contact  # noqa: E402
from app.services.contacts_import import read_contacts_csv  # noqa: E402

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


def bench_contacts() -> list[Figure]:
    return figures(run_worker())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command")
    worker = sub.add_parser("worker", help="measure (run by the parent; prints JSON)")
    worker.add_argument("export", type=Path)
    worker.add_argument("calls", type=Path)
    worker.add_argument("--sample", type=int, default=NAIVE_SAMPLE)
    parser.add_argument("--sample", type=int, default=NAIVE_SAMPLE, help="calls scanned naively")
    args = parser.parse_args()
    if args.command == "worker":
        print(json.dumps(measure(args.export, args.calls, args.sample)))
        return
    from bench import print_table

    result = run_worker(sample=args.sample)
    for mismatch in result.get("mismatches", []):
        print("MISMATCH", mismatch, file=sys.stderr)
    print_table(figures(result))


if __name__ == "__main__":
    main()
