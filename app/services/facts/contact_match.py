"""Cause 5's facts: what the customer's bridge would search, and the recent callers' numbers.

The bridge decides what is read: the CRM export (or the 3CX phonebook standing in for it), or
the 3CX phonebook with 3CX's own resolution settings, fetched only for that bridge. The doctor
and the guided setup's contact preview both gather here and ask the same rule
(``app.domain.causes.contact_match``), so they say the same thing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import phonenumbers

from app.domain.bridge import ContactStore, NumberMatch, PhonebookResolution, store_to_search
from app.domain.calls import CallRecord
from app.domain.causes.contact_match import ContactMatchFacts, RecentCall, SearchedContacts
from app.domain.causes.wording import plural
from app.domain.contacts import Contact
from app.domain.licence import Licence, NumberingPlan
from app.domain.phones import default_region
from app.services.facts.gatherer import Facts
from app.services.facts.options import DoctorOptions
from app.services.facts.outcome import Outcome, attempt

MAX_CALLS = 500  # recent calls matched (newest first)


async def gather_contact_match_facts(facts: Facts, options: DoctorOptions) -> ContactMatchFacts:
    """Everything cause 5 is judged on, each fact fetched once (shared with the other checks)."""
    bridge = options.bridge
    store = store_to_search(
        bridge, crm_export=bool(options.crm_contacts), phonebook_allowed=options.use_phonebook
    )
    licence, plan, history, (phonebook, resolution) = await facts.gather(
        attempt(facts.licence()),
        attempt(facts.numbering_plan()),
        attempt(facts.recent_calls()),
        _bridge_side(facts, store is ContactStore.PHONEBOOK, bridge.match),
    )
    region, source = _region(options, licence, plan, history)
    context: list[str] = []
    if store is not ContactStore.PHONEBOOK:  # the CRM's export (None: none given)
        searched = _crm_export(options, context)
    else:
        searched = _phonebook_searched(options, phonebook, context)
    window = await facts.recent_window()
    if window is not None:
        context.append(window.describe(await facts.customer_hours()))
    if not history.ok:
        context.append(f"Call history unreadable ({history.error}): matched stored numbers only")
    calls = tuple(
        RecentCall(c.call_id, c.external_number)
        for c in history.value or []
        if c.is_external and c.external_number
    )[:MAX_CALLS]
    return ContactMatchFacts(
        bridge=bridge,
        region=region,
        region_source=source,
        searched=searched,
        calls=calls,
        recent_label=await facts.recent_label(),
        resolution=resolution.value,
        resolution_problem=_resolution_problem(resolution)
        if bridge.match is NumberMatch.PHONEBOOK
        else None,
        history_problem=None if history.ok else str(history.error),
        context=tuple(context),
    )


def _region(
    options: DoctorOptions,
    licence: Outcome[Licence],
    plan: Outcome[NumberingPlan],
    history: Outcome[list[CallRecord]],
) -> tuple[str | None, str]:
    """The region numbers without a country code are read in, and where it came from."""
    region = options.region or default_region(
        licence.value.country_code if licence.value else None,
        plan.value.country_code if plan.value else None,
    )
    if region is not None:
        return (
            region,
            "the region you set" if options.region else "the PBX licence and E.164 settings",
        )
    region = _region_from_numbers(
        c.external_number or "" for c in history.value or [] if c.is_external
    )
    return region, "the international numbers in the call log; override with --region"


def _crm_export(options: DoctorOptions, context: list[str]) -> SearchedContacts:
    """The CRM's export as searched; its size noted in ``context``."""
    label = options.crm_contacts_label
    named = f" {label}" if label else ""
    context.append(f"CRM export{named}: {plural(len(options.crm_contacts), 'contact')}")
    return SearchedContacts(
        ContactStore.CRM,
        options.crm_contacts,
        f"the CRM export {label}" if label else "the CRM export",
        record_ids=options.crm_record_ids,
    )


def _phonebook_searched(
    options: DoctorOptions, phonebook: Outcome[list[Contact]], context: list[str]
) -> SearchedContacts:
    """The 3CX phonebook as searched; what was read, or not, noted in ``context``."""
    bridge = options.bridge
    searched = _phonebook(phonebook, standing_in=bridge.store is ContactStore.CRM)
    size = plural(len(searched.contacts), "contact")
    if searched.problem is not None:
        context.append(f"3CX phonebook not read: {searched.problem}")
    elif searched.standing_in:
        context.append(
            f"3CX phonebook: {size} (no CRM export given: the phonebook stands in for the "
            "CRM's contacts)"
        )
    else:
        context.append(f"3CX phonebook: {size}")
    if options.crm_contacts and bridge.store is ContactStore.PHONEBOOK:
        context.append(
            f"{len(options.crm_contacts)} contacts of the CRM export not searched: 3CX's "
            "own integration looks callers up in the 3CX phonebook"
        )
    return searched


async def _bridge_side(
    facts: Facts, read_phonebook: bool, match: NumberMatch
) -> tuple[Outcome[list[Contact]], Outcome[PhonebookResolution | None]]:
    """The phonebook and 3CX's resolution settings, each only when this bridge needs it."""
    return await facts.gather(
        attempt(facts.phonebook() if read_phonebook else _no_contacts()),
        attempt(facts.phonebook_settings() if match is NumberMatch.PHONEBOOK else _no_resolution()),
    )


def _phonebook(outcome: Outcome[list[Contact]], *, standing_in: bool) -> SearchedContacts:
    problem = None if outcome.ok else str(outcome.error)
    return SearchedContacts(
        ContactStore.PHONEBOOK,
        tuple(outcome.value or ()),
        ContactStore.PHONEBOOK.words,
        standing_in=standing_in,
        problem=problem,
    )


def _resolution_problem(outcome: Outcome[PhonebookResolution | None]) -> str | None:
    if not outcome.ok:
        return str(outcome.error)
    return None if outcome.value is not None else "this PBX version does not say"


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


async def _no_contacts() -> list[Contact]:
    return []


async def _no_resolution() -> PhonebookResolution | None:
    return None
