"""Cause 5: the caller's number did not match the CRM contact (E.164 normalisation)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import phonenumbers

from app.domain.contact_match import ContactIndex, ContactMatch, MatchKind
from app.domain.contacts import Contact
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus
from app.domain.phones import default_region
from app.services.doctor.common import CheckContext, attempt, listing, plural

SAMPLE = 5  # evidence lines per kind
MAX_CALLS = 500  # recent calls matched (newest first)
COUNT_LABELS = {
    MatchKind.EXACT: "match exactly",
    MatchKind.NORMALISED: "match only after normalising",
    MatchKind.ORPHAN: "match no contact",
    MatchKind.AMBIGUOUS: "match several contacts",
    MatchKind.UNUSABLE: "withheld or internal",
}
NATIONAL_HINTS = {
    "AU": "For Australian numbers that means +61, no leading zero.",
    "US": "For United States numbers, +1.",
    "GB": "For United Kingdom numbers, +44, no leading zero.",
}


def normalise_fix(region: str, fixes: int) -> str:
    code = phonenumbers.country_code_for_region(region)
    hint = NATIONAL_HINTS.get(region, f"For this country that means +{code}.")
    listed = (
        f" The {plural(fixes, 'stored number')} to change "
        f"{'is' if fixes == 1 else 'are'} listed with {'its' if fixes == 1 else 'their'} "
        "E.164 form (bulk-fix list): re-import them through the CRM's import."
        if fixes
        else ""
    )
    return (
        f"Normalise the contact phone numbers in the CRM to E.164 (international, plus-prefixed). "
        f"{hint}{listed} Then place a test call from a known E.164 contact and confirm it lands "
        "on that contact, not on a default or new record."
    )


async def check_contact_match(ctx: CheckContext) -> CheckResult:
    options = ctx.options
    licence, plan, phonebook, history = await ctx.facts.gather(
        attempt(ctx.facts.licence()),
        attempt(ctx.facts.numbering_plan()),
        attempt(ctx.facts.phonebook()) if options.use_phonebook else attempt(_nothing()),
        attempt(ctx.facts.recent_calls()),
    )
    recent = await ctx.facts.recent_label()
    region = options.region or default_region(
        licence.value.country_code if licence.value else None,
        plan.value.country_code if plan.value else None,
    )
    evidence: list[str] = []
    source = "--region" if options.region else "the PBX licence and E.164 settings"
    if region is None:
        region = _region_from_numbers(
            c.external_number or "" for c in history.value or [] if c.is_external
        )
        source = "the international numbers in the call log; override with --region"
    if region is None:
        return CheckResult(
            CheckId.CONTACT_MATCH,
            CheckStatus.WARN,
            "Could not tell the PBX's country, so local numbers cannot be normalised.",
            "Run the doctor again with --region and the customer's two-letter country code "
            "(AU, US, GB, ...).",
        )
    evidence.append(f"Region {region} (from {source})")

    contacts: list[Contact] = list(options.crm_contacts)
    if options.crm_contacts:
        evidence.append(
            f"CRM export {options.crm_contacts_label or ''}: "
            f"{plural(len(options.crm_contacts), 'contact')}".replace("  ", " ")
        )
    if phonebook.ok and phonebook.value:
        contacts.extend(phonebook.value)
        evidence.append(f"3CX phonebook: {plural(len(phonebook.value), 'contact')}")
    elif options.use_phonebook and not phonebook.ok:
        evidence.append(f"3CX phonebook not read: {phonebook.error}")
    if not contacts:
        return CheckResult(
            CheckId.CONTACT_MATCH,
            CheckStatus.SKIP,
            "No contacts to match against: the 3CX phonebook is empty or unreadable and no CRM "
            "export was given.",
            "Export the CRM's contacts as CSV (HubSpot, Salesforce, GoHighLevel, Zoho or any "
            "sheet with a phone column) and run the doctor with --contacts FILE.",
            tuple(evidence),
            {"region": region},
        )

    index = ContactIndex.build(contacts, region)
    fixes = index.bulk_fixes()
    calls = [c for c in (history.value or []) if c.is_external and c.external_number][:MAX_CALLS]
    matches: list[tuple[str, ContactMatch]] = [
        (c.call_id, index.match(c.external_number or "")) for c in calls
    ]
    counts = Counter(m.kind for _, m in matches)
    window = await ctx.facts.recent_window()
    if window is not None:
        evidence.append(window.describe(await ctx.facts.customer_hours()))
    if not history.ok:
        evidence.append(f"Call history unreadable ({history.error}): matched stored numbers only")
    evidence.append(
        f"{plural(len(matches), 'recent external call')} ({recent}): "
        + ", ".join(f"{counts[k]} {COUNT_LABELS[k]}" for k in MatchKind if counts[k])
        if matches
        else f"No external calls in the {recent}"
    )
    for kind in (MatchKind.NORMALISED, MatchKind.AMBIGUOUS, MatchKind.ORPHAN, MatchKind.EXACT):
        sample = [m for _, m in matches if m.kind is kind]
        seen: set[str] = set()
        for match in sample:
            if match.raw in seen or len(seen) >= SAMPLE:
                continue
            seen.add(match.raw)
            shown = match.raw if match.e164 in (None, match.raw) else f"{match.raw} → {match.e164}"
            evidence.append(f"{shown}: {match.reason}")
    if fixes:
        evidence.append(f"{plural(len(fixes), 'stored number')} not in E.164 (bulk-fix list)")

    details: dict[str, Any] = {
        "region": region,
        "contacts": len(index),
        "counts": {str(k): counts[k] for k in MatchKind},
        "calls": [
            {
                "call_id": call_id,
                "raw": m.raw,
                "e164": m.e164,
                "match": str(m.kind),
                "contacts": [c.name for c in m.contacts],
                "reason": m.reason,
            }
            for call_id, m in matches[:100]
        ],
        "bulk_fixes": [
            {
                "contact_id": f.contact_id,
                "name": f.contact_name,
                "label": f.label,
                "stored": f.stored,
                "e164": f.e164,
            }
            for f in fixes
        ],
    }
    missed = counts[MatchKind.NORMALISED]
    orphans = counts[MatchKind.ORPHAN]
    ambiguous = counts[MatchKind.AMBIGUOUS]
    if missed:
        names = sorted(
            {c.name for _, m in matches if m.kind is MatchKind.NORMALISED for c in m.contacts}
        )
        return CheckResult(
            CheckId.CONTACT_MATCH,
            CheckStatus.FAIL,
            f"{plural(missed, 'recent call')} would miss a contact that exists "
            f"({listing(names)}): the contact's number is stored in a local format, not E.164, "
            "so a bridge that compares E.164 lands the call on a default or new contact.",
            normalise_fix(region, len(fixes)),
            tuple(evidence),
            details,
        )
    if orphans or ambiguous or fixes:
        parts = []
        if orphans:
            parts.append(
                f"{plural(orphans, 'recent call')} from numbers no contact has: the bridge would "
                "create a new contact with only the phone number"
            )
        if ambiguous:
            parts.append(
                f"{plural(ambiguous, 'recent call')} from numbers several contacts share: the "
                "bridge may attach them to either"
            )
        if fixes and not parts:
            parts.append(
                f"no recent caller was missed, but {plural(len(fixes), 'stored number')} "
                "are not in E.164 and would miss their contact on the next call"
            )
        fix = normalise_fix(region, len(fixes)) if fixes else ""
        if ambiguous:
            fix = (fix + " " if fix else "") + (
                "Merge or tell apart the contacts that share one number (a shared company "
                "line needs one owner in the CRM)."
            )
        if orphans and not fix:
            fix = (
                "Expected for first-time callers; if these are known customers, add their "
                "numbers to the CRM in E.164."
            )
        finding = "; ".join(parts)
        return CheckResult(
            CheckId.CONTACT_MATCH,
            CheckStatus.WARN,
            finding[0].upper() + finding[1:] + ".",
            fix,
            tuple(evidence),
            details,
        )
    return CheckResult(
        CheckId.CONTACT_MATCH,
        CheckStatus.PASS,
        "Every recent caller matches exactly one contact whose number is stored in E.164.",
        "",
        tuple(evidence),
        details,
    )


def _region_from_numbers(numbers: Iterable[str]) -> str | None:
    """The most common country among numbers written with a "+" (v18 does not say its own)."""
    regions: Counter[str] = Counter()
    for number in numbers:
        if not number.startswith("+"):
            continue
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            continue
        region = phonenumbers.region_code_for_number(parsed)
        if region and region != "ZZ":
            regions[region] += 1
    return regions.most_common(1)[0][0] if regions else None


async def _nothing() -> list[Contact]:
    return []
