"""Cause 5: the contact phone number did not match in the CRM, judged for the customer's bridge.

One rule from typed facts to the verdict: the doctor (CLI, desktop, setup report) and the guided
setup's contact preview all ask ``judge_contact_match``, so they say the same thing in the same
words. A recent call whose caller IS a contact, but whose stored number this bridge does not
match, would have gone to a new or default contact: that fails cause 5. Numbers several people
share are a warning; callers no contact has are first-time callers, as expected.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from app.domain.bridge import (
    Bridge,
    BridgeIndex,
    BridgeMatch,
    ContactStore,
    FixSummary,
    NumberMatch,
    PhonebookResolution,
    PhonebookResolving,
)
from app.domain.causes import fields
from app.domain.causes.wording import listing, plural
from app.domain.contact_match import MatchKind
from app.domain.contacts import Contact
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus, DiagnosisFormatError

SAMPLE = 5  # evidence lines per kind, and bulk-fix lines
CALLS_KEPT = 100  # calls in the details
# Bulk-fix rows in the details (JSON, report, doctor pane); all are counted. Enough to show the
# pattern and start the CRM's bulk edit; a 300,000-row export can need a fix on every number,
# and holding each as a row (then a dict, then JSON text) cost the doctor over 500 MB. The full
# list is the guided setup's bulk-fix CSV, written one row at a time.
BULK_FIXES_KEPT = 200
ALL_STRANGERS_MIN = 5  # this many calls, none from a contact: the wrong contacts, likely
COUNT_LABELS = {
    MatchKind.EXACT: "attach to one contact",
    MatchKind.NORMALISED: "miss a contact that exists",
    MatchKind.ORPHAN: "match no contact",
    MatchKind.AMBIGUOUS: "match several contacts",
    MatchKind.UNUSABLE: "withheld or internal",
}
NATIONAL_HINTS = {
    "AU": "For Australian numbers that means +61, no leading zero.",
    "US": "For United States numbers, +1.",
    "GB": "For United Kingdom numbers, +44, no leading zero.",
}
SHARED_NUMBER_FIX = (
    "Merge or tell apart the contacts that share one number (a shared company line needs one "
    "owner in the CRM)."
)
NO_RESOLVING_FIX = (
    "In the 3CX admin console's phonebook settings, turn caller resolution on: match the last "
    "9 digits (or the exact number, with every contact stored in E.164). Then place a test "
    "call from a known contact and confirm 3CX shows the contact's name and the call lands on "
    "that contact."
)


@dataclass(frozen=True)
class RecentCall:
    call_id: str
    number: str  # the outside party's number as the PBX gave it


@dataclass(frozen=True)
class SearchedContacts:
    """The contacts the bridge searches, read from one store."""

    store: ContactStore
    contacts: tuple[Contact, ...]
    label: str  # "CRM export hubspot.csv (HubSpot)", "3CX phonebook"
    record_ids: bool = False  # the export's ids are the CRM's record ids, not row numbers
    standing_in: bool = False  # the 3CX phonebook, read because no CRM export was given
    problem: str | None = None  # why the store could not be read


@dataclass(frozen=True)
class ContactMatchFacts:
    """What cause 5 is judged on; ``index`` is built from them once, on first use."""

    bridge: Bridge
    region: str | None
    region_source: str  # where the region came from, in words
    searched: SearchedContacts
    calls: tuple[RecentCall, ...]  # recent external calls, newest first
    recent_label: str  # "last 7 days", or the wider window a quiet week needed
    resolution: PhonebookResolution | None = None  # read only for 3CX's own resolution
    resolution_problem: str | None = None
    history_problem: str | None = None  # the call history could not be read
    context: tuple[str, ...] = ()  # evidence only the gatherer knows (the window, notices)

    @functools.cached_property
    def index(self) -> BridgeIndex | None:
        """The searched contacts as the bridge compares them; None when nothing can match."""
        if self.region is None or not self.searched.contacts:
            return None
        if self.bridge.match is NumberMatch.PHONEBOOK and self.resolution is None:
            return None
        return BridgeIndex.build(
            self.searched.contacts,
            self.region,
            self.bridge,
            self.resolution,
            record_ids=self.searched.record_ids,
        )


# ---- typed details -----------------------------------------------------------------------------
@dataclass(frozen=True)
class MatchedCall:
    call_id: str
    raw: str
    e164: str | None
    match: str  # a MatchKind's value
    contacts: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class FixRow:
    contact_id: str
    name: str
    label: str
    stored: str
    e164: str


@dataclass(frozen=True)
class ContactMatchDetails:
    """``CheckResult.details`` of cause 5; the report and the doctor pane read these keys."""

    region: str | None = None
    bridge: Bridge | None = None
    resolution: str | None = None  # 3CX's setting in words, when the bridge is 3CX's own
    store: str | None = None  # the contacts searched, in words
    contacts: int | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    calls: tuple[MatchedCall, ...] = ()
    bulk_fixes: tuple[FixRow, ...] = ()  # the first BULK_FIXES_KEPT
    bulk_fix_count: int | None = None  # every stored number to change (None: len(bulk_fixes))

    @property
    def fixes_in_all(self) -> int:
        return len(self.bulk_fixes) if self.bulk_fix_count is None else self.bulk_fix_count

    def as_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "bridge": self.bridge.as_json() if self.bridge is not None else None,
            "resolution": self.resolution,
            "store": self.store,
            "contacts": self.contacts,
            "counts": dict(self.counts),
            "calls": [
                {
                    "call_id": c.call_id,
                    "raw": c.raw,
                    "e164": c.e164,
                    "match": c.match,
                    "contacts": list(c.contacts),
                    "reason": c.reason,
                }
                for c in self.calls
            ],
            "bulk_fixes": [
                {
                    "contact_id": f.contact_id,
                    "name": f.name,
                    "label": f.label,
                    "stored": f.stored,
                    "e164": f.e164,
                }
                for f in self.bulk_fixes
            ],
            "bulk_fix_count": self.fixes_in_all,
        }

    @classmethod
    def from_json(cls, data: object, where: str = "details") -> ContactMatchDetails:
        """Read back ``as_json`` (also a document saved before the bridge was recorded)."""
        item = fields.obj(data, where)
        counts = fields.obj(item.get("counts", {}), f"{where}.counts")
        bridge = item.get("bridge")
        try:
            chosen = None if bridge is None else Bridge.from_json(bridge, f"{where}.bridge")
        except ValueError as exc:
            raise DiagnosisFormatError(str(exc)) from None
        calls = fields.items(item.get("calls"), f"{where}.calls")
        fixes = fields.items(item.get("bulk_fixes"), f"{where}.bulk_fixes")
        return cls(
            region=fields.opt_text(item.get("region"), f"{where}.region"),
            bridge=chosen,
            resolution=fields.opt_text(item.get("resolution"), f"{where}.resolution"),
            store=fields.opt_text(item.get("store"), f"{where}.store"),
            contacts=fields.opt_int(item.get("contacts"), f"{where}.contacts"),
            counts={
                key: fields.opt_int(n, f"{where}.counts.{key}") or 0 for key, n in counts.items()
            },
            calls=tuple(
                MatchedCall(
                    call_id=fields.text(c.get("call_id"), f"{where}.calls[{n}].call_id"),
                    raw=fields.text(c.get("raw"), f"{where}.calls[{n}].raw"),
                    e164=fields.opt_text(c.get("e164"), f"{where}.calls[{n}].e164"),
                    match=fields.text(c.get("match"), f"{where}.calls[{n}].match"),
                    contacts=tuple(
                        fields.text(name, f"{where}.calls[{n}].contacts")
                        for name in c.get("contacts", [])
                    ),
                    reason=fields.text(c.get("reason"), f"{where}.calls[{n}].reason"),
                )
                for n, c in enumerate(calls)
            ),
            bulk_fixes=tuple(
                FixRow(
                    contact_id=fields.text(
                        f.get("contact_id"), f"{where}.bulk_fixes[{n}].contact_id"
                    ),
                    name=fields.text(f.get("name"), f"{where}.bulk_fixes[{n}].name"),
                    label=fields.text(f.get("label"), f"{where}.bulk_fixes[{n}].label"),
                    stored=fields.text(f.get("stored"), f"{where}.bulk_fixes[{n}].stored"),
                    e164=fields.text(f.get("e164"), f"{where}.bulk_fixes[{n}].e164"),
                )
                for n, f in enumerate(fixes)
            ),
            bulk_fix_count=fields.opt_int(item.get("bulk_fix_count"), f"{where}.bulk_fix_count"),
        )


# ---- the rule ----------------------------------------------------------------------------------
def judge_contact_match(facts: ContactMatchFacts) -> CheckResult:
    """Cause 5's verdict, finding, fix (in the field docs' words) and evidence."""
    if facts.region is None:
        return CheckResult(
            CheckId.CONTACT_MATCH,
            CheckStatus.WARN,
            "Could not tell the PBX's country, so local numbers cannot be normalised.",
            "Run the doctor again with --region and the customer's two-letter country code "
            "(AU, US, GB, ...).",
        )
    context = [
        f"Bridge: {facts.bridge.describe(facts.resolution)}, searching {facts.searched.label}",
        f"Region {facts.region} (from {facts.region_source})",
        *facts.context,
    ]
    skipped = _not_checkable(facts, context)
    if skipped is not None:
        return skipped
    index = facts.index
    assert index is not None
    fixes = index.fix_summary(BULK_FIXES_KEPT)
    matches = [(call.call_id, index.match(call.number)) for call in facts.calls]
    counts = Counter(m.kind for _, m in matches)
    details = _details(facts, len(index), fixes, matches, counts)
    usable = [m for _, m in matches if m.kind is not MatchKind.UNUSABLE]
    context.append(_calls_line(facts, len(matches), counts))
    context += _samples([m for _, m in matches])
    fix_lines = _fix_lines(facts, fixes)
    if counts[MatchKind.NORMALISED]:
        finding, fix = _miss_wording(facts, counts, [m for _, m in matches], fixes.count)
        return _result(CheckStatus.FAIL, finding, fix, [*fix_lines, *context], details)
    status, finding, fix = _no_miss_verdict(facts, fixes, counts, len(usable), bool(matches))
    return _result(status, finding, fix, [*context, *fix_lines], details)


def _details(
    facts: ContactMatchFacts,
    contacts: int,
    fixes: FixSummary,
    matches: list[tuple[str, BridgeMatch]],
    counts: Counter[MatchKind],
) -> dict[str, Any]:
    """Cause 5's details, as JSON, for the calls matched and the stored numbers to fix."""
    return ContactMatchDetails(
        region=facts.region,
        bridge=facts.bridge,
        resolution=facts.resolution.describe() if facts.resolution is not None else None,
        store=facts.searched.label,
        contacts=contacts,
        counts={str(kind): counts[kind] for kind in MatchKind},
        calls=tuple(_matched(call_id, m) for call_id, m in matches[:CALLS_KEPT]),
        bulk_fixes=tuple(
            FixRow(f.contact_id, f.contact_name, f.label, f.stored, f.e164) for f in fixes.first
        ),
        bulk_fix_count=fixes.count,
    ).as_json()


def _calls_line(facts: ContactMatchFacts, calls: int, counts: Counter[MatchKind]) -> str:
    """The evidence line saying how the recent calls match."""
    if not calls:
        return f"No external calls in the {facts.recent_label}"
    return f"{plural(calls, 'recent external call')} ({facts.recent_label}): " + ", ".join(
        f"{counts[k]} {COUNT_LABELS[k]}" for k in MatchKind if counts[k]
    )


def _miss_wording(
    facts: ContactMatchFacts, counts: Counter[MatchKind], matches: list[BridgeMatch], fixes: int
) -> tuple[str, str]:
    """The FAIL's finding and fix: recent callers who are contacts the bridge misses."""
    shared = counts[MatchKind.AMBIGUOUS]
    finding = _missed_finding(facts, counts[MatchKind.NORMALISED], matches)
    if shared:
        finding += f" Also {plural(shared, 'recent call')} from numbers several contacts share."
    fix = _miss_fix(facts, fixes)
    if shared:
        fix += " " + SHARED_NUMBER_FIX
    return finding, fix


def _no_miss_verdict(
    facts: ContactMatchFacts,
    fixes: FixSummary,
    counts: Counter[MatchKind],
    usable: int,
    any_calls: bool,
) -> tuple[CheckStatus, str, str]:
    """Status, finding and fix when no recent caller who is a contact was missed."""
    later = _latent(fixes, facts)
    normalise = _normalise_fix(facts, fixes.count) if fixes.count else ""
    warning = _warning(facts, counts, usable, later, normalise)
    if warning is not None:
        return CheckStatus.WARN, *warning
    if not any_calls:
        finding = (
            f"No external calls in the {facts.recent_label} to match: place a test call from a "
            f"known contact, then check again.{later}"
        )
        fix = _join("Place a test call from a known contact, then check again.", normalise)
        return CheckStatus.SKIP, finding, fix
    finding = "Every recent caller who is a contact attaches to exactly one contact."
    orphans = counts[MatchKind.ORPHAN]
    if orphans:
        finding += (
            f" {plural(orphans, 'recent call')} came from numbers no contact has: the bridge "
            "gives each a new contact, as expected for first-time callers."
        )
    return CheckStatus.PASS, finding + later, ""


def _warning(
    facts: ContactMatchFacts, counts: Counter[MatchKind], usable: int, later: str, normalise: str
) -> tuple[str, str] | None:
    """A WARN's finding and fix: history unread, shared numbers, or no caller a contact."""
    shared = counts[MatchKind.AMBIGUOUS]
    if facts.history_problem is not None:
        finding = (
            f"Not checked against calls: the call history could not be read "
            f"({facts.history_problem}); only the stored numbers were checked.{later}"
        )
        return finding, _join(
            normalise, "Once the call history reads (check 2), run the doctor again."
        )
    if shared:
        finding = (
            f"{plural(shared, 'recent call')} from numbers several contacts share: the bridge "
            f"may attach them to either.{later}"
        )
        return finding, _join(SHARED_NUMBER_FIX, normalise)
    if usable >= ALL_STRANGERS_MIN and counts[MatchKind.ORPHAN] == usable:
        finding = (
            f"None of the {plural(usable, 'recent external caller')} is in "
            f"{facts.searched.label}: the bridge would give every one of them a new contact.{later}"
        )
        fix = (
            "Check that these are the contacts the customer's bridge searches (the CRM's own "
            "export, or the bridge chosen for this connection); known customers need their "
            "numbers in the CRM in E.164."
        )
        return finding, _join(fix, normalise)
    return None


def _not_checkable(facts: ContactMatchFacts, context: list[str]) -> CheckResult | None:
    """A SKIP when the bridge's contacts or 3CX's resolution could not be read."""
    searched = facts.searched
    details = ContactMatchDetails(
        region=facts.region, bridge=facts.bridge, store=searched.label
    ).as_json()
    if facts.bridge.match is NumberMatch.PHONEBOOK and facts.resolution is None:
        why = facts.resolution_problem or "this PBX does not say"
        return _result(
            CheckStatus.SKIP,
            f"How 3CX matches callers to phonebook contacts could not be read ({why}), so the "
            "calls 3CX's own integration would attach cannot be told.",
            "Read the phonebook settings in the 3CX admin console (caller resolution: exact "
            "number, or the last digits), or run the check again for a bridge that compares "
            "E.164 numbers.",
            context,
            details,
        )
    if searched.contacts:
        return None
    if searched.store is ContactStore.PHONEBOOK and not searched.standing_in:
        return _result(
            CheckStatus.SKIP,
            "The 3CX phonebook is empty or could not be read"
            + (f" ({searched.problem})" if searched.problem else "")
            + ": 3CX's own integration has no contact to attach a call to.",
            "Add the customer's contacts to the 3CX phonebook (or sync them from the CRM), and "
            "check that the API user can read the phonebook.",
            context,
            details,
        )
    why = (
        "the 3CX phonebook is empty or unreadable and no CRM export was given"
        if searched.standing_in
        else "no CRM export was given, and the 3CX phonebook was not to stand in for it"
    )
    return _result(
        CheckStatus.SKIP,
        f"No contacts to match against: {why}.",
        "Export the CRM's contacts as CSV (HubSpot, Salesforce, GoHighLevel, Zoho or any sheet "
        "with a phone column) and run the doctor with --contacts FILE.",
        context,
        details,
    )


def _result(
    status: CheckStatus, finding: str, fix: str, evidence: list[str], details: dict[str, Any]
) -> CheckResult:
    return CheckResult(CheckId.CONTACT_MATCH, status, finding, fix, tuple(evidence), details)


def _matched(call_id: str, match: BridgeMatch) -> MatchedCall:
    return MatchedCall(
        call_id=call_id,
        raw=match.raw,
        e164=match.e164,
        match=str(match.kind),
        contacts=tuple(c.name for c in match.contacts),
        reason=match.reason,
    )


def _samples(matches: list[BridgeMatch]) -> list[str]:
    lines: list[str] = []
    for kind in (MatchKind.NORMALISED, MatchKind.AMBIGUOUS, MatchKind.ORPHAN, MatchKind.EXACT):
        seen: set[str] = set()
        for match in matches:
            if match.kind is not kind or match.raw in seen or len(seen) >= SAMPLE:
                continue
            seen.add(match.raw)
            shown = match.raw if match.e164 in (None, match.raw) else f"{match.raw} → {match.e164}"
            lines.append(f"{shown}: {match.reason}")
    return lines


def _fix_lines(facts: ContactMatchFacts, fixes: FixSummary) -> list[str]:
    """The bulk-fix list: a headline, then its first entries."""
    if not fixes.count:
        return []
    lines = [f"{plural(fixes.count, 'stored number')} {_missed_form(facts)} (bulk-fix list)"]
    lines += [
        f"{fix.contact_name or fix.contact_id}, {fix.label}: {fix.stored!r} → {fix.e164}"
        for fix in fixes.first[:SAMPLE]
    ]
    if fixes.count > SAMPLE:
        lines.append(f"... and {fixes.count - SAMPLE:,} more in the bulk-fix list")
    return lines


def _missed_form(facts: ContactMatchFacts) -> str:
    if facts.bridge.match is not NumberMatch.PHONEBOOK or facts.resolution is None:
        return "not in E.164"
    return f"that 3CX's phonebook ({facts.resolution.describe()}) would miss"


def _missed_finding(facts: ContactMatchFacts, missed: int, matches: list[BridgeMatch]) -> str:
    names = sorted({c.name for m in matches if m.kind is MatchKind.NORMALISED for c in m.contacts})
    head = (
        f"{plural(missed, 'recent call')} would have gone to a new or default contact although "
        f"the caller is a contact ({listing(names)}): "
    )
    if facts.bridge.match is NumberMatch.E164:
        return head + (
            "the contact's number is stored in a local format, not E.164, so a bridge that "
            "compares E.164 misses the contact."
        )
    assert facts.resolution is not None
    if facts.resolution.kind is PhonebookResolving.NOT_RESOLVE:
        return (
            head + "3CX's phonebook is set to no resolving, so 3CX matches no caller to a contact."
        )
    return head + (
        f"the contact's number is stored in a form 3CX's phonebook "
        f"({facts.resolution.describe()}) does not match."
    )


def _miss_fix(facts: ContactMatchFacts, fixes: int) -> str:
    resolution = facts.resolution
    own = facts.bridge.match is NumberMatch.PHONEBOOK and resolution is not None
    if own and resolution is not None and resolution.kind is PhonebookResolving.NOT_RESOLVE:
        return NO_RESOLVING_FIX
    return _normalise_fix(facts, fixes)


def _normalise_fix(facts: ContactMatchFacts, fixes: int) -> str:
    """The field docs' fix for cause 5, for the store the bridge searches."""
    region = facts.region or ""
    code = phonenumbers.country_code_for_region(region)
    hint = NATIONAL_HINTS.get(region, f"For this country that means +{code}.")
    phonebook = facts.searched.store is ContactStore.PHONEBOOK and not facts.searched.standing_in
    where = "the 3CX phonebook (or the CRM it is synced from)" if phonebook else "the CRM"
    if fixes > BULK_FIXES_KEPT:
        listed = (
            f" {fixes:,} stored numbers need changing; the first {BULK_FIXES_KEPT} are listed "
            f"with their E.164 form (bulk-fix list) and the guided setup's contacts step "
            "exports them all as a CSV for the CRM's import."
        )
    elif fixes:
        listed = (
            f" The {plural(fixes, 'stored number')} to change "
            f"{'is' if fixes == 1 else 'are'} listed with {'its' if fixes == 1 else 'their'} "
            "E.164 form (bulk-fix list): re-import them through the CRM's import."
        )
    else:
        listed = ""
    return (
        f"Normalise the contact phone numbers in {where} to E.164 (international, "
        f"plus-prefixed). {hint}{listed} Then place a test call from a known E.164 contact and "
        "confirm it lands on that contact, not on a default or new record."
    )


def _latent(fixes: FixSummary, facts: ContactMatchFacts) -> str:
    """A sentence for stored numbers the bridge would miss that no recent caller used."""
    if not fixes.count:
        return ""
    one = fixes.count == 1
    return (
        f" {plural(fixes.count, 'stored number')} {'is' if one else 'are'} "
        f"{_missed_form(facts)}: no recent caller used {'it' if one else 'them'}, but the next "
        f"call from {'it' if one else 'one'} would miss the contact (bulk-fix list)."
    )


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)
