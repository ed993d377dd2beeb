"""Missed-call trigger rules (seed 003): each branch, the 7-day repeat, bursts, DIDs, zones."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.bridge import Bridge, BridgeIndex, NumberMatch
from app.domain.business_hours import BusinessHours, Holiday, Period, describe_hours
from app.domain.contacts import Contact, ContactSource, PhoneEntry
from app.domain.triggers import (
    NEW_CONTACT,
    TAG_AFTER_HOURS,
    TAG_REPEAT,
    TAG_SOURCE,
    ActionKind,
    DidSources,
    SettledCall,
    TriggerBranch,
    TriggerPlanner,
    TriggerRules,
)

SYDNEY = ZoneInfo("Australia/Sydney")
HOURS = BusinessHours("Australia/Sydney", (0, 1, 2, 3, 4), time(8, 30), time(17, 30))
SALES_DID = "+61881234500"
SOURCES = {SALES_DID: "Sales enquiries", "08 8123 4501": "Support"}
CALLER = "+61412345678"
_ids = itertools.count(1)


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A moment in Sydney in the week of Monday 2026-11-16 (day 0 = Monday)."""
    return datetime(2026, 11, 16 + day, hour, minute, second, tzinfo=SYDNEY)


def missed(at: datetime, number: str | None = CALLER, **changes: object) -> SettledCall:
    fields: dict[str, object] = {
        "call_id": f"c{next(_ids)}",
        "at": at,
        "number": number,
        "e164": number if number and number.startswith("+") else None,
        "did": SALES_DID,
        "contact_name": "Jane Smith",
    }
    fields.update(changes)
    return SettledCall(**fields)  # type: ignore[arg-type]


def planner(**rules: object) -> TriggerPlanner:
    return TriggerPlanner(HOURS, SOURCES, TriggerRules(**rules))  # type: ignore[arg-type]


def kinds(preview: object) -> list[ActionKind]:
    return [a.kind for a in preview.actions]  # type: ignore[attr-defined]


def test_in_hours_first_miss_texts_within_60_s_and_tasks_the_owner() -> None:
    preview = planner().preview(missed(local(2, 10, 15)))
    assert preview.branch is TriggerBranch.IN_HOURS
    assert kinds(preview) == [ActionKind.SMS, ActionKind.TASK, ActionKind.TAG]
    assert "within 60 s" in preview.actions[0].text
    assert "contact owner" in preview.actions[1].text
    assert preview.tags == (TAG_SOURCE,)
    assert preview.in_hours and preview.sends_sms
    assert preview.source_list == "Sales enquiries" and preview.source_mapped
    assert preview.reasons[0].startswith("First missed call")


def test_second_in_hours_miss_within_7_days_escalates_to_the_manager() -> None:
    plan = planner()
    plan.preview(missed(local(0, 9, 0)))
    second = plan.preview(missed(local(6, 11, 0) + timedelta(days=1)))  # next Monday, 7d+2h
    assert second.branch is TriggerBranch.IN_HOURS, "7 days and 2 hours later is a new week"
    third = plan.preview(missed(local(7, 16, 0)))  # 5 hours after the second
    assert third.branch is TriggerBranch.ESCALATED
    assert not third.sends_sms
    assert ActionKind.NOTIFY_MANAGER in kinds(third)
    assert TAG_REPEAT in third.tags
    assert any("manager" in a.text and a.kind is ActionKind.TASK for a in third.actions)
    assert third.misses_in_window == 2
    assert "2nd missed call from this number within 7 days" in third.reasons[0]
    assert "the first was Mon 11:00" in third.reasons[0]


@pytest.mark.parametrize(
    ("gap", "branch"),
    [
        (timedelta(days=6, hours=23), TriggerBranch.ESCALATED),
        (timedelta(days=7), TriggerBranch.ESCALATED),
        (timedelta(days=8), TriggerBranch.IN_HOURS),
    ],
)
def test_repeat_window_is_7_days(gap: timedelta, branch: TriggerBranch) -> None:
    plan = planner()
    first_at = local(0, 10, 0)
    plan.preview(missed(first_at))
    assert plan.preview(missed(first_at + gap)).branch is branch


def test_after_hours_miss_emails_and_tasks_the_morning_without_a_text() -> None:
    preview = planner().preview(missed(local(4, 18, 45)))  # Friday evening
    assert preview.branch is TriggerBranch.AFTER_HOURS
    assert not preview.sends_sms
    assert kinds(preview) == [ActionKind.EMAIL, ActionKind.TASK, ActionKind.TAG]
    assert "Mon 08:30" in preview.actions[1].text, "the next opening is after the weekend"
    assert preview.tags == (TAG_SOURCE, TAG_AFTER_HOURS)
    assert "quiet hours" in preview.reasons[0]


def test_repeat_after_hours_stays_quiet_but_is_tagged_repeat_missed() -> None:
    plan = planner()
    plan.preview(missed(local(1, 12, 0)))
    preview = plan.preview(missed(local(1, 21, 0)))
    assert preview.branch is TriggerBranch.AFTER_HOURS
    assert not preview.sends_sms
    assert TAG_REPEAT in preview.tags


@pytest.mark.parametrize("at", [local(2, 10, 0), local(5, 10, 0)])
def test_voicemail_skips_the_text_and_asks_someone_to_listen(at: datetime) -> None:
    preview = planner().preview(missed(at, voicemail_left=True))
    assert preview.branch is TriggerBranch.VOICEMAIL
    assert not preview.sends_sms
    assert ActionKind.EMAIL not in kinds(preview)
    assert any("listen to the voicemail" in a.text for a in preview.actions)
    assert (TAG_AFTER_HOURS in preview.tags) is (not preview.in_hours)


def test_a_burst_from_one_number_is_rate_limited() -> None:
    plan = planner()
    start = local(2, 10, 0)
    first = plan.preview(missed(start))
    second = plan.preview(missed(start + timedelta(seconds=20)))
    third = plan.preview(missed(start + timedelta(seconds=40)))
    assert [first.branch, second.branch, third.branch] == [
        TriggerBranch.IN_HOURS,
        TriggerBranch.ESCALATED,
        TriggerBranch.RATE_LIMITED,
    ]
    assert [p.sends_sms for p in (first, second, third)] == [True, False, False]
    assert kinds(third) == [ActionKind.LOG]
    assert "3rd call from this number within 60 s" in third.reasons[0]
    # Another caller in the middle of the burst is not affected.
    other = plan.preview(missed(start + timedelta(seconds=41), number="+61298765432"))
    assert other.branch is TriggerBranch.IN_HOURS


def test_burst_limit_is_a_rule_parameter() -> None:
    plan = planner(burst_limit=2, burst_window=timedelta(seconds=30))
    start = local(2, 10, 0)
    plan.preview(missed(start))
    assert plan.preview(missed(start + timedelta(seconds=10))).branch is (
        TriggerBranch.RATE_LIMITED
    )
    assert plan.preview(missed(start + timedelta(seconds=80))).branch is (
        TriggerBranch.ESCALATED
    ), "outside the 30 s burst window the 7-day repeat rule applies again"


def test_internal_and_answered_and_outbound_calls_never_trigger() -> None:
    plan = planner()
    for call in (
        missed(local(2, 10, 0), internal=True, number="102", did=None),
        missed(local(2, 10, 1), answered=True),
        missed(local(2, 10, 2), outbound=True),
    ):
        preview = plan.preview(call)
        assert preview.branch is TriggerBranch.NO_TRIGGER
        assert preview.actions == ()
    assert plan.preview(missed(local(2, 10, 3))).branch is TriggerBranch.IN_HOURS, (
        "the answered call from the same number did not count as a miss"
    )


def test_withheld_number_has_no_one_to_follow_up() -> None:
    plan = planner()
    for number in ("anonymous", None):
        preview = plan.preview(missed(local(2, 10, 0), number=number, e164=None))
        assert preview.branch is TriggerBranch.NO_TRIGGER
        assert "withheld" in preview.reasons[0]


def test_unnormalised_numbers_are_the_same_caller_by_digits() -> None:
    plan = planner()
    plan.preview(missed(local(2, 10, 0), number="0412 345 678", e164=None))
    again = plan.preview(missed(local(2, 11, 0), number="0412-345-678", e164=None))
    assert again.branch is TriggerBranch.ESCALATED


def test_did_maps_to_its_source_list_and_unmapped_goes_to_general() -> None:
    plan = planner()
    support = plan.preview(missed(local(2, 10, 0), did="+61 8 8123 4501"))
    assert (support.source_list, support.source_mapped) == ("Support", True)
    unmapped = plan.preview(missed(local(2, 10, 0), number="+61298765432", did="+61299990000"))
    assert (unmapped.source_list, unmapped.source_mapped) == ("general", False)
    assert any("not in this connection's DID" in r for r in unmapped.reasons)
    no_did = plan.preview(missed(local(2, 10, 0), number="+61298765433", did=None))
    assert no_did.source_list == "general"
    assert any("no DID" in r for r in no_did.reasons)


def test_did_matching_ignores_how_it_was_written() -> None:
    sources = DidSources({"+61 8 8123 4500": "Sales"})
    for written in ("+61881234500", "61881234500", "0881234500", "(08) 8123 4500"):
        assert sources.source_for(written) == ("Sales", True), written
    assert sources.source_for("0881234599") == ("general", False)
    assert sources.source_for("") == ("general", False)


def test_orphan_number_creates_a_contact_once() -> None:
    plan = planner()
    first = plan.preview(missed(local(2, 10, 0), contact_name=None))
    assert first.new_contact
    assert first.actions[0].kind is ActionKind.CREATE_CONTACT
    assert any(NEW_CONTACT in r for r in first.reasons)
    again = plan.preview(missed(local(2, 12, 0), contact_name=None))
    assert not again.new_contact
    assert ActionKind.CREATE_CONTACT not in kinds(again)


def test_a_new_contact_follows_the_customers_bridge() -> None:
    crm = ContactSource.CRM_EXPORT
    jane = Contact("7", "Jane Smith", None, (PhoneEntry("Mobile", "0412 345 678"),), crm)
    on_e164 = BridgeIndex.build([jane], "AU", Bridge()).match(CALLER)
    normalising = BridgeIndex.build([jane], "AU", Bridge(NumberMatch.NORMALISED)).match(CALLER)
    plan = planner()
    # Jane has the number, but the E.164 bridge misses her: a new contact, in its words.
    missed_her = plan.preview(missed(local(2, 10), contact_name=None, caller_match=on_e164))
    assert missed_her.new_contact
    assert f"{on_e164.reason} In the CRM: {NEW_CONTACT}." in missed_her.reasons
    # A bridge that normalises lands the same call on her: the workflow runs against her.
    plan.reset()
    found = plan.preview(missed(local(2, 10), contact_name="Jane Smith", caller_match=normalising))
    assert not found.new_contact and ActionKind.CREATE_CONTACT not in kinds(found)
    # Two people sharing the number: the bridge picks one of them, no new contact.
    bob = Contact("8", "Bob Smith", None, (PhoneEntry("Phone", CALLER),), crm)
    shared = BridgeIndex.build([jane, bob], "AU", Bridge(NumberMatch.NORMALISED)).match(CALLER)
    plan.reset()
    either = plan.preview(missed(local(2, 10), contact_name=None, caller_match=shared))
    assert not either.new_contact and ActionKind.CREATE_CONTACT not in kinds(either)
    assert any(r.startswith("2 contacts share this number") for r in either.reasons)


def test_in_hours_is_decided_in_the_customers_time_zone() -> None:
    plan = planner()
    # 22:45 UTC on a Sunday is 09:45 Monday in Sydney (AEDT, UTC+11): in hours there.
    sunday_night_utc = datetime(2026, 11, 22, 22, 45, tzinfo=UTC)
    preview = plan.preview(missed(sunday_night_utc))
    assert preview.in_hours and preview.branch is TriggerBranch.IN_HOURS
    assert preview.local_time.strftime("%a %H:%M") == "Mon 09:45"
    # 06:31 UTC on Monday is 17:31 in Sydney: just after closing.
    closing = plan.preview(missed(datetime(2026, 11, 23, 6, 31, tzinfo=UTC), number="+61298765432"))
    assert closing.branch is TriggerBranch.AFTER_HOURS
    opening = plan.preview(missed(local(0, 8, 30), number="+61298765431"))
    assert opening.branch is TriggerBranch.IN_HOURS, "the opening minute is in hours"


def test_london_hours_across_the_clock_change() -> None:
    london = BusinessHours("Europe/London", (0, 1, 2, 3, 4, 5), time(9), time(17))
    plan = TriggerPlanner(london)
    # Sunday 29 March 2026 the clocks go forward; Monday 08:30 UTC is 09:30 BST: open.
    assert plan.preview(missed(datetime(2026, 3, 30, 8, 30, tzinfo=UTC))).in_hours
    # Saturday 28 March 08:30 UTC is 08:30 GMT: not yet open.
    assert not plan.preview(
        missed(datetime(2026, 3, 28, 8, 30, tzinfo=UTC), number="+4420")
    ).in_hours


def test_a_call_reported_twice_is_counted_once() -> None:
    plan = planner()
    call = missed(local(2, 10, 0))
    assert plan.preview(call) is plan.preview(call)
    assert plan.preview(missed(local(2, 11, 0))).misses_in_window == 2


def test_memory_is_bounded() -> None:
    plan = planner(max_numbers=3, max_previews=4)
    for i in range(10):
        plan.preview(missed(local(2, 10, i), number=f"+6141234560{i}"))
    assert plan.numbers_remembered == 3
    # The oldest caller was forgotten: its next miss is a first miss again.
    assert plan.preview(missed(local(2, 11, 0), number="+61412345600")).branch is (
        TriggerBranch.IN_HOURS
    )


def test_next_opening_and_hours_description() -> None:
    assert describe_hours(HOURS) == "Mon–Fri 08:30–17:30 (Australia/Sydney)"
    assert describe_hours(BusinessHours(days=(0, 2, 4))).startswith("Mon, Wed, Fri")
    friday_evening = local(4, 19, 0)
    assert HOURS.next_opening(friday_evening) == local(7, 8, 30)
    assert HOURS.next_opening(local(1, 7, 0)) == local(1, 8, 30)
    assert BusinessHours(days=()).next_opening(friday_evening) is None


def test_rules_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="repeat_threshold"):
        TriggerRules(repeat_threshold=1)
    with pytest.raises(ValueError, match="burst_limit"):
        TriggerRules(burst_limit=0)
    with pytest.raises(ValueError, match="timezone-aware"):
        SettledCall("x", datetime(2026, 1, 1, 9), "+61412345678", None, None)


moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)
settled_calls = st.builds(
    SettledCall,
    call_id=st.uuids().map(str),
    at=moments,
    number=st.sampled_from(["+61412345678", "0412 345 678", "102", "", "anonymous", None]),
    e164=st.sampled_from([None, "+61412345678"]),
    did=st.sampled_from([None, "", SALES_DID, "+61299990000"]),
    voicemail_left=st.booleans(),
    internal=st.booleans(),
    answered=st.booleans(),
    contact_name=st.sampled_from([None, "Jane Smith"]),
    outbound=st.booleans(),
)


@given(st.lists(settled_calls, min_size=1, max_size=12))
def test_internal_calls_never_trigger_and_leave_no_trace(calls: list[SettledCall]) -> None:
    plan = planner()
    for call in calls:
        internal = SettledCall(**{**call.__dict__, "internal": True})
        preview = plan.preview(internal)
        assert preview.branch is TriggerBranch.NO_TRIGGER
        assert not preview.actions and not preview.sends_sms
    assert plan.numbers_remembered == 0


@given(st.lists(settled_calls, min_size=1, max_size=12))
def test_answered_calls_never_trigger(calls: list[SettledCall]) -> None:
    plan = planner()
    for call in calls:
        preview = plan.preview(SettledCall(**{**call.__dict__, "answered": True}))
        assert preview.branch is TriggerBranch.NO_TRIGGER
        assert not preview.actions


@given(st.lists(settled_calls, min_size=1, max_size=20))
def test_every_fired_preview_explains_itself_without_personal_data(
    calls: list[SettledCall],
) -> None:
    plan = planner()
    for call in calls:
        preview = plan.preview(call)
        assert preview.reasons
        text = " ".join(preview.reasons) + " ".join(a.text for a in preview.actions)
        assert "412" not in text and "Jane" not in text
        if preview.fires:
            assert preview.actions
            assert preview.sends_sms is (preview.branch is TriggerBranch.IN_HOURS)


LUNCH = dataclasses.replace(
    HOURS,
    breaks=tuple(Period(day, time(12, 30), time(13, 0)) for day in range(5)),
    holidays=(Holiday("Christmas Day", date(2000, 12, 25), date(2000, 12, 25), recurrent=True),),
)


def test_a_miss_in_the_break_waits_for_the_office_to_reopen_that_day() -> None:
    preview = TriggerPlanner(LUNCH, SOURCES).preview(missed(local(2, 12, 45)))
    assert preview.branch is TriggerBranch.AFTER_HOURS and not preview.sends_sms
    task = next(a for a in preview.actions if a.kind is ActionKind.TASK)
    assert task.text == "Task for when the office reopens (Wed 13:00)"
    assert task.short == "Task on reopening"
    assert any("in the office's break" in reason for reason in preview.reasons)


def test_a_miss_on_a_holiday_is_named_and_waits_for_the_next_business_day() -> None:
    christmas = datetime(2026, 12, 25, 10, 0, tzinfo=SYDNEY)  # a Friday
    preview = TriggerPlanner(LUNCH, SOURCES).preview(missed(christmas))
    assert preview.branch is TriggerBranch.AFTER_HOURS
    assert any("holiday on the PBX (Christmas Day)" in reason for reason in preview.reasons)
    task = next(a for a in preview.actions if a.kind is ActionKind.TASK)
    assert task.text == "Task for the morning stand-up (Mon 08:30)"
