"""Missed-call trigger rules: what a CRM workflow would fire for one settled call.

The rules follow the field doc's missed-call workflow (seed 003):

- in hours, first miss: text the caller within 60 s and give the contact owner a follow-up task;
- in hours, second miss from the same number within 7 days: escalate to the manager, tag the
  contact ``repeat-missed`` and give the manager a call-back task, no second auto-text;
- after hours: no text (quiet hours), an acknowledgement email and a task for the morning,
  tag ``after-hours-callback``;
- a voicemail was left: no text, a task to listen to it and call back;
- a burst from one number (the 3rd call within 60 s by default): rate-limited, no duplicate text;
- internal calls and answered calls never trigger; the DID picks the source list.

Decisions the doc leaves open, taken here (and shown to the engineer in the reasons):

- Every unanswered external inbound call counts as a miss for the 7-day count, voicemails and
  rate-limited calls included; an answered call in between does not reset the count.
- A repeat miss after hours stays on the after-hours path (no text at night either way) and is
  tagged ``repeat-missed`` as well; a voicemail on a repeat miss is tagged the same way.
- A withheld caller id fires nothing: there is no one to text, email or call back.
- An unanswered outbound call is not a missed call (the CRM's own call-ended trigger covers it).
- "A CRM contact matched" is the customer's bridge's answer (``SettledCall.caller_match``): a
  contact whose number the bridge misses gets a new contact, said in the bridge's own words.
"""

from __future__ import annotations

import enum
import re
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.domain.bridge import BridgeMatch
from app.domain.business_hours import (
    DAY_NAMES,
    BusinessHours,
    HoursState,
    describe_hours,
)
from app.domain.contact_match import MatchKind
from app.domain.phones import LINE_TAIL_DIGITS, line_tail

GENERAL_LIST = "general"
TAG_SOURCE = "missed-call"
TAG_REPEAT = "repeat-missed"
TAG_AFTER_HOURS = "after-hours-callback"
NEW_CONTACT = "new contact would be created, then the workflow runs against it"

_NON_DIGITS = re.compile(r"\D+")
# DIDs are written "+61 8 8123 4500", "0881234500" or "61881234500" depending on who typed
# them; the last 9 digits (phones.line_tail) are the subscriber number in every national plan
# we meet.


class TriggerBranch(enum.StrEnum):
    IN_HOURS = "in-hours"
    AFTER_HOURS = "after-hours"
    ESCALATED = "escalated"
    VOICEMAIL = "voicemail"
    RATE_LIMITED = "rate-limited"
    NO_TRIGGER = "no trigger"


class ActionKind(enum.StrEnum):
    CREATE_CONTACT = "create contact"
    SMS = "sms"
    EMAIL = "email"
    TASK = "task"
    NOTIFY_MANAGER = "notify manager"
    TAG = "tag"
    LOG = "log"


@dataclass(frozen=True)
class SettledCall:
    """One call once it has settled (rang out, answered, or reached voicemail).

    ``number`` is the caller id as the PBX sent it; ``e164`` its normalised form (None when it
    could not be normalised). ``contact_name`` is the CRM contact the bridge attaches the call
    to, None if none; ``caller_match`` is where the customer's bridge lands the call and why
    (None: the contacts were not matched).
    """

    call_id: str
    at: datetime
    number: str | None
    e164: str | None
    did: str | None
    voicemail_left: bool = False
    internal: bool = False
    answered: bool = False
    contact_name: str | None = None
    outbound: bool = False
    caller_match: BridgeMatch | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError(f"call {self.call_id}: 'at' must be timezone-aware")

    @property
    def number_key(self) -> str:
        """What "the same number" means: E.164 when known, else the digits as sent."""
        return self.e164 or _NON_DIGITS.sub("", self.number or "")


@dataclass(frozen=True)
class TriggerRules:
    """The workflow's parameters; the defaults are the field doc's."""

    sms_within: timedelta = timedelta(seconds=60)
    repeat_window: timedelta = timedelta(days=7)
    repeat_threshold: int = 2  # the 2nd miss inside the window escalates
    burst_window: timedelta = timedelta(seconds=60)
    burst_limit: int = 3  # the 3rd call inside the burst window is rate-limited
    general_list: str = GENERAL_LIST
    max_numbers: int = 10_000  # callers remembered (least recently seen are forgotten first)
    max_misses_per_number: int = 50
    # Previews remembered by call id, so a call reported twice is not counted twice.
    max_previews: int = 5_000

    def __post_init__(self) -> None:
        if self.repeat_threshold < 2:
            raise ValueError("repeat_threshold must be 2 or more (the first miss never repeats)")
        if self.burst_limit < 2:
            raise ValueError("burst_limit must be 2 or more")
        if self.burst_window <= timedelta(0) or self.repeat_window <= timedelta(0):
            raise ValueError("burst_window and repeat_window must be positive")
        if min(self.max_numbers, self.max_misses_per_number, self.max_previews) < 1:
            raise ValueError("the memory bounds must be 1 or more")


@dataclass(frozen=True)
class TriggerAction:
    kind: ActionKind
    text: str  # in the words a customer reads, e.g. "Text the caller within 60 s"
    short: str  # the same for a table cell, e.g. "SMS within 60 s"


@dataclass(frozen=True)
class TriggerPreview:
    call: SettledCall
    branch: TriggerBranch
    actions: tuple[TriggerAction, ...]
    # Plain words; a phone number or a name only inside the bridge's own reason for where the
    # call lands (``caller_match.reason``), which a screen masks as it masks the contact.
    reasons: tuple[str, ...]
    source_list: str
    source_mapped: bool
    in_hours: bool
    local_time: datetime  # ``call.at`` in the customer's time zone
    misses_in_window: int  # this number's misses inside the repeat window, this one included
    new_contact: bool
    tags: tuple[str, ...] = field(default=())

    @property
    def sends_sms(self) -> bool:
        return any(a.kind is ActionKind.SMS for a in self.actions)

    @property
    def fires(self) -> bool:
        return self.branch is not TriggerBranch.NO_TRIGGER


def _short_time(moment: datetime) -> str:
    return f"{DAY_NAMES[moment.weekday()]} {moment:%H:%M}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 86_400 == 0:
        days = seconds // 86_400
        return f"{days} day" if days == 1 else f"{days} days"
    return f"{seconds} s"


class DidSources:
    """DID -> source list, matching the DID however it was written."""

    def __init__(self, mapping: Mapping[str, str], general: str = GENERAL_LIST) -> None:
        self._exact = {did.strip(): source for did, source in mapping.items() if did.strip()}
        self._digits: dict[str, str] = {}
        self._tails: dict[str, str] = {}
        for did, source in self._exact.items():
            digits = _NON_DIGITS.sub("", did)
            if digits:
                self._digits.setdefault(digits, source)
                if len(digits) >= LINE_TAIL_DIGITS:
                    self._tails.setdefault(line_tail(digits), source)
        self.general = general

    def __len__(self) -> int:
        return len(self._exact)

    def source_for(self, did: str | None) -> tuple[str, bool]:
        """(source list, whether the DID was in the mapping)."""
        text = (did or "").strip()
        if not text:
            return self.general, False
        if text in self._exact:
            return self._exact[text], True
        digits = _NON_DIGITS.sub("", text)
        if digits in self._digits:
            return self._digits[digits], True
        if len(digits) >= LINE_TAIL_DIGITS and line_tail(digits) in self._tails:
            return self._tails[line_tail(digits)], True
        return self.general, False


def _no_trigger_reason(call: SettledCall) -> str | None:
    """Why this call can never be a missed call the workflow follows up, or None if it can."""
    if call.internal:
        return (
            "Internal call between extensions: the bridge filters these out, "
            "they have no CRM contact."
        )
    if call.answered:
        return "The call was answered: there is nothing to follow up."
    if call.outbound:
        return "An outgoing call the other party did not pick up is not a missed call."
    if not call.number_key:
        return "The caller withheld their number: there is no one to text or call back."
    return None


def _miss_counts(
    at: datetime, earlier: list[datetime], rules: TriggerRules
) -> tuple[int, int, datetime | None]:
    """This call's place in its burst and in the repeat window (both counting itself), and
    the first earlier miss inside the repeat window."""
    in_burst = sum(1 for t in earlier if at - t <= rules.burst_window) + 1
    in_window = [t for t in earlier if at - t <= rules.repeat_window]
    return in_burst, len(in_window) + 1, min(in_window, default=None)


def _repeat_note(
    in_week: int, window: timedelta, first_in_week: datetime | None, local: datetime
) -> str:
    """E.g. "2nd missed call from this number within 7 days (the first was Mon 09:12)"."""
    first = (
        f" (the first was {_short_time(first_in_week.astimezone(local.tzinfo))})"
        if first_in_week
        else ""
    )
    return f"{_ordinal(in_week)} missed call from this number within {_span(window)}" + first


class TriggerPlanner:
    """Previews the workflow for each settled call, remembering earlier misses per number.

    Memory is bounded (``TriggerRules.max_*``); a call id seen before returns its first preview,
    so a call reported twice is never counted twice.
    """

    def __init__(
        self,
        business_hours: BusinessHours,
        did_sources: Mapping[str, str] | None = None,
        rules: TriggerRules | None = None,
    ) -> None:
        self.business_hours = business_hours
        self.rules = rules or TriggerRules()
        self.sources = DidSources(did_sources or {}, self.rules.general_list)
        self._misses: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._previews: OrderedDict[str, TriggerPreview] = OrderedDict()

    def reset(self) -> None:
        self._misses.clear()
        self._previews.clear()

    @property
    def numbers_remembered(self) -> int:
        return len(self._misses)

    def preview(self, call: SettledCall) -> TriggerPreview:
        seen = self._previews.get(call.call_id)
        if seen is not None:
            return seen
        result = self._plan(call)
        self._previews[call.call_id] = result
        while len(self._previews) > self.rules.max_previews:
            self._previews.popitem(last=False)
        return result

    # ---- the rules -----------------------------------------------------------------------
    def _plan(self, call: SettledCall) -> TriggerPreview:
        hours = self.business_hours
        local = call.at.astimezone(hours.zone)
        in_hours = hours.is_open(call.at)
        source, mapped = self.sources.source_for(call.did)
        base = _Draft(call, local, in_hours, source, mapped)
        skip = _no_trigger_reason(call)
        if skip is not None:
            return base.no_trigger(skip)

        earlier = self._remember(call.number_key, call.at)
        rules = self.rules
        in_burst, in_week, first_in_week = _miss_counts(call.at, earlier, rules)
        base.misses = in_week
        base.explain_hours(hours)
        base.explain_source(did_given=bool((call.did or "").strip()))
        repeat = in_week >= rules.repeat_threshold
        base.explain_contact(bool(earlier))

        if in_burst >= rules.burst_limit:
            return base.rate_limited(in_burst, rules.burst_window)
        base.tag(TAG_SOURCE)
        repeat_note = _repeat_note(in_week, rules.repeat_window, first_in_week, local)
        if call.voicemail_left:
            return base.voicemail(hours, repeat_note if repeat else None)
        if in_hours and repeat:
            return base.escalated(repeat_note)
        if not in_hours:
            return base.after_hours(hours, repeat_note if repeat else None)
        return base.text_in_hours(rules)

    def _remember(self, key: str, at: datetime) -> list[datetime]:
        """This number's earlier misses (not after ``at``), then record this one."""
        misses = self._misses.get(key)
        if misses is None:
            misses = deque(maxlen=self.rules.max_misses_per_number)
            self._misses[key] = misses
            while len(self._misses) > self.rules.max_numbers:
                self._misses.popitem(last=False)
        else:
            self._misses.move_to_end(key)
        horizon = max(self.rules.repeat_window, self.rules.burst_window)
        earlier = [t for t in misses if t <= at and at - t <= horizon]
        misses.append(at)
        return earlier


@dataclass
class _Draft:
    """A preview being built: the branch, actions and reasons collected so far."""

    call: SettledCall
    local: datetime
    in_hours: bool
    source: str
    mapped: bool
    branch: TriggerBranch = TriggerBranch.NO_TRIGGER
    actions: list[TriggerAction] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    misses: int = 0
    new_contact: bool = False

    def add(self, kind: ActionKind, text: str, short: str) -> None:
        self.actions.append(TriggerAction(kind, text, short))

    def tag(self, name: str) -> None:
        if name not in self.tags:
            self.tags.append(name)

    def explain_hours(self, hours: BusinessHours) -> None:
        when = f"{_short_time(self.local)} in {hours.timezone}"
        opening_hours = describe_hours(hours, with_zone=False)
        state, holiday = hours.state_at(self.call.at)
        if state is HoursState.OPEN:
            self.reasons.append(f"{when} is inside business hours ({opening_hours}).")
        elif state is HoursState.HOLIDAY and holiday is not None:
            self.reasons.append(
                f"{when} is on a holiday on the PBX ({holiday.name}): quiet hours, "
                "so no text message."
            )
        elif state is HoursState.BREAK:
            self.reasons.append(
                f"{when} is in the office's break ({opening_hours}): the after-hours path, "
                "so no text message."
            )
        else:
            self.reasons.append(
                f"{when} is outside business hours ({opening_hours}): quiet hours, "
                "so no text message."
            )

    def explain_contact(self, earlier_miss: bool) -> None:
        """Which contact the workflow runs against: the one the bridge attaches the call to,
        one of several sharing the number, the one made for an earlier miss, or a new one."""
        match = self.call.caller_match
        if self.call.contact_name:
            self.reasons.append("Runs against the existing CRM contact for this number.")
        elif match is not None and match.kind is MatchKind.AMBIGUOUS:
            self.reasons.append(f"{match.reason} The workflow runs against the one it picks.")
        elif earlier_miss:
            self.reasons.append(
                "No CRM contact matched; the contact created for this number's earlier "
                "missed call is used."
            )
        else:
            self.new_contact = True
            self.add(
                ActionKind.CREATE_CONTACT,
                "Create a new contact for this number (no CRM contact matches)",
                "New contact",
            )
            if match is not None and match.kind is MatchKind.NORMALISED:
                # The contact exists, but the bridge misses it: its own words say why.
                self.reasons.append(f"{match.reason} In the CRM: {NEW_CONTACT}.")
            else:
                self.reasons.append(f"No CRM contact has this number: {NEW_CONTACT}.")

    def explain_source(self, *, did_given: bool) -> None:
        if self.mapped:
            self.reasons.append(f"The number the caller dialled maps to the {self.source!r} list.")
        elif did_given:
            self.reasons.append(
                "The number the caller dialled is not in this connection's DID → source list "
                f"mapping, so the {self.source!r} list is used (add it in the connection "
                "settings to route it)."
            )
        else:
            self.reasons.append(f"The call carried no DID, so the {self.source!r} list is used.")

    def reopening(self, hours: BusinessHours) -> tuple[str, str]:
        """When the after-hours task is for: the morning stand-up, or later the same day when
        the call came in the office's break; with the short label for the table."""
        opening = hours.next_opening(self.call.at)
        if opening is None:
            return "the morning stand-up", "Morning task"
        when = _short_time(opening)
        if opening.date() == self.local.date():
            return f"when the office reopens ({when})", "Task on reopening"
        return f"the morning stand-up ({when})", "Morning task"

    def rate_limited(self, in_burst: int, burst_window: timedelta) -> TriggerPreview:
        self.branch = TriggerBranch.RATE_LIMITED
        self.add(ActionKind.LOG, "Log the call on the contact; no text, no new task", "Log only")
        self.reasons.insert(
            0,
            f"{_ordinal(in_burst)} call from this number within "
            f"{_span(burst_window)}: the rate limit stops a duplicate text "
            "(the earlier call already triggered the workflow).",
        )
        return self.done()

    def voicemail(self, hours: BusinessHours, repeat_note: str | None) -> TriggerPreview:
        """A voicemail was left; ``repeat_note`` is set when this is a repeat miss."""
        self.branch = TriggerBranch.VOICEMAIL
        self.reasons.insert(
            0,
            "The caller left a voicemail: no text (they already said what they needed); "
            "someone listens and calls back.",
        )
        if self.in_hours:
            self.add(
                ActionKind.TASK,
                "Task for the contact owner: listen to the voicemail and call back",
                "Task: listen & call back",
            )
        else:
            when, short = self.reopening(hours)
            self.add(
                ActionKind.TASK,
                f"Task for {when}: listen to the voicemail and call back",
                f"{short}: listen & call back",
            )
            self.tag(TAG_AFTER_HOURS)
        if repeat_note is not None:
            self.tag(TAG_REPEAT)
            self.reasons.append(f"{repeat_note}: tagged {TAG_REPEAT}.")
        return self.done()

    def escalated(self, repeat_note: str) -> TriggerPreview:
        self.branch = TriggerBranch.ESCALATED
        self.add(ActionKind.NOTIFY_MANAGER, "Notify the team manager", "Notify manager")
        self.tag(TAG_REPEAT)
        self.add(ActionKind.TASK, "Task for the manager: call back personally", "Manager call-back")
        self.reasons.insert(
            0, f"{repeat_note}: escalate to the manager instead of another auto-text."
        )
        return self.done()

    def after_hours(self, hours: BusinessHours, repeat_note: str | None) -> TriggerPreview:
        """Quiet hours; ``repeat_note`` is set when this is a repeat miss."""
        self.branch = TriggerBranch.AFTER_HOURS
        self.add(ActionKind.EMAIL, "Email acknowledging the call", "Email ack")
        when, short = self.reopening(hours)
        self.add(ActionKind.TASK, f"Task for {when}", short)
        self.tag(TAG_AFTER_HOURS)
        if self.new_contact:
            self.reasons.append(
                "A new contact has no email address yet: the acknowledgement email goes "
                "out only once someone adds one."
            )
        if repeat_note is not None:
            self.tag(TAG_REPEAT)
            self.reasons.append(
                f"{repeat_note}: tagged {TAG_REPEAT}; the after-hours path never texts."
            )
        return self.done()

    def text_in_hours(self, rules: TriggerRules) -> TriggerPreview:
        """The first miss in business hours: text the caller, task the owner."""
        self.branch = TriggerBranch.IN_HOURS
        sms_s = int(rules.sms_within.total_seconds())
        self.add(
            ActionKind.SMS,
            f"Text the caller within {sms_s} s (\u201cSorry we missed you\u2026\u201d)",
            f"SMS within {sms_s} s",
        )
        self.add(ActionKind.TASK, "Follow-up task for the contact owner", "Owner task")
        self.reasons.insert(
            0,
            f"First missed call from this number within {_span(rules.repeat_window)}, "
            "in business hours: text the caller while they still remember calling.",
        )
        return self.done()

    def no_trigger(self, reason: str) -> TriggerPreview:
        self.branch = TriggerBranch.NO_TRIGGER
        self.actions.clear()
        self.tags.clear()
        self.reasons = [reason]
        return self.done()

    def done(self) -> TriggerPreview:
        actions = list(self.actions)
        if self.tags:
            # Every fired trigger carries the source tag: the cell names only the telling ones.
            telling = [t for t in self.tags if t != TAG_SOURCE] or self.tags
            actions.append(
                TriggerAction(
                    ActionKind.TAG,
                    f"Tag the contact {', '.join(self.tags)}",
                    f"Tag {', '.join(telling)}",
                )
            )
        return TriggerPreview(
            call=self.call,
            branch=self.branch,
            actions=tuple(actions),
            reasons=tuple(self.reasons),
            source_list=self.source,
            source_mapped=self.mapped,
            in_hours=self.in_hours,
            local_time=self.local,
            misses_in_window=self.misses,
            new_contact=self.new_contact,
            tags=tuple(self.tags),
        )
