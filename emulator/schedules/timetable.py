"""When each schedule fires next: the pure bookkeeping behind :mod:`.schedules`.

A :class:`Timetable` holds one :class:`Entry` per schedule (an EventBridge rule with a
ScheduleExpression, or an EventBridge Scheduler schedule). :meth:`Timetable.sync` merges what
was just read from AWS; :meth:`Timetable.due` and :meth:`Timetable.fired` drive the firing
loop. The clock is a parameter (epoch seconds), so all of it is tested without waiting.

No firing is missed or doubled by a sync: an entry whose timing (expression, time zone, dates,
state, flexible window) is unchanged keeps its next firing time; one whose timing changed gets
the first firing time at or after the moment of the change, and never one it already fired.

When the first firing times are:

* EventBridge rule, ``rate(n unit)``: the rule's creation plus n units, then every n units
  ("A rate expression starts when you create the scheduled event rule",
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html). moto
  keeps no creation time for rules, so creation is when the rule is first seen, at most one
  refresh (1 s) after PutRule; changing the expression re-creates it.
* Scheduler, ``rate(...)``: at ``StartDate``, or at creation when there is none ("If you do not
  provide a StartDate for a rate-based schedule, your schedule starts invoking the target
  immediately"), then every period until ``EndDate`` (exclusive).
* ``cron(...)``: the expression's next time (Scheduler: in its time zone, from ``StartDate``,
  before ``EndDate``).
* Scheduler ``at(...)``: that time, once; ``StartDate`` and ``EndDate`` are ignored, as on AWS.

A firing time up to ``catch_up`` seconds (5) in the past when a schedule is first seen, or
after a stall, still fires, late; older ones are skipped rather than fired in a burst. None
before a schedule's creation fires, except for ``at()``: it is given to the second, so
``at(now)`` is already past when the schedule is created; it fires, one for yesterday does not.
A ``FLEXIBLE`` time window delays each firing by a random time within the window, as on AWS.

A firing time past what a date can hold (year 9999, e.g. ``rate(5000000 days)`` after its first
firing, or ``at(9999-12-31T23:00:00)`` west of UTC) is "no next firing": the entry shows why
in ``problem`` and is not completed (ActionAfterCompletion does not apply). One entry that
cannot be planned for any other reason gets that reason as its ``problem``; it never stops
the planning of the others.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from emulator.schedules.checks import zone
from emulator.schedules.cron import (
    AtExpression,
    CronExpression,
    Expression,
    RateExpression,
    ScheduleExpressionError,
    parse_rule_expression,
    parse_scheduler_expression,
)

__all__ = ["RULE", "SCHEDULE", "Entry", "ScheduleSpec", "Timetable"]

log = logging.getLogger(__name__)

RULE = "rule"
SCHEDULE = "schedule"
_EPSILON = 1e-3  # seconds: times are compared to the millisecond


@dataclass(frozen=True)
class ScheduleSpec:
    """One schedule as read from AWS."""

    kind: str  # RULE or SCHEDULE
    name: str
    group: str  # the event bus of a rule, the schedule group of a schedule
    arn: str
    expression: str
    state: str = "ENABLED"
    timezone: str = "UTC"
    start: float | None = None
    end: float | None = None
    created: float | None = None  # a schedule's CreationDate (rules: unknown, see module doc)
    window: float = 0.0  # FlexibleTimeWindow, seconds
    action_after_completion: str = "NONE"
    target: Mapping[str, Any] | None = None  # a schedule's Target (a rule's are read when it fires)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.group}/{self.name}"

    @property
    def enabled(self) -> bool:
        return self.state != "DISABLED"

    def timing(self) -> tuple[Any, ...]:
        """What decides the firing times; a change re-plans the entry."""
        return (self.expression, self.timezone, self.start, self.end, self.state, self.window, self.created)


@dataclass
class Entry:
    spec: ScheduleSpec
    expression: Expression | None
    problem: str | None  # why the expression cannot be used
    anchor: float  # where a rate counts from
    scheduled: float | None = None  # the next firing time (None: no more, or disabled)
    due: float | None = None  # when to fire it: ``scheduled`` plus the flexible-window delay
    last: float | None = None  # the last firing time fired
    fired: int = 0
    completed: bool = False  # no firing is left (ActionAfterCompletion applies)
    stats: dict[str, Any] = field(default_factory=dict)


class Timetable:
    def __init__(self, catch_up: float = 5.0,
                 delay: Callable[[float], float] = lambda window: random.uniform(0, window)) -> None:
        self.catch_up = catch_up
        self.delay = delay
        self.entries: dict[str, Entry] = {}

    # --- merging what was read -------------------------------------------------------

    def sync(self, specs: Iterable[ScheduleSpec], now: float) -> None:
        """Make the entries those of ``specs``: add new ones, re-plan changed ones, drop gone ones."""
        seen: set[str] = set()
        for spec in specs:
            seen.add(spec.key)
            entry = self.entries.get(spec.key)
            try:
                if entry is None:
                    self.entries[spec.key] = self._new(spec, now)
                elif entry.spec.timing() != spec.timing():
                    self.entries[spec.key] = self._replanned(entry, spec, now)
                else:
                    entry.spec = spec
            except Exception as exc:
                log.exception("schedules: %s %s/%s cannot be planned", spec.kind, spec.group, spec.name)
                self.entries[spec.key] = Entry(spec, None, f"cannot be planned: {exc}", anchor=now,
                                               last=entry.last if entry else None,
                                               fired=entry.fired if entry else 0,
                                               stats=entry.stats if entry else {})
        for key in set(self.entries) - seen:
            del self.entries[key]

    def _new(self, spec: ScheduleSpec, now: float) -> Entry:
        expression, problem = _parse(spec)
        entry = Entry(spec, expression, problem, anchor=_anchor(spec, now))
        # at() is given to the second, so at(now) is already past when created: only catch_up counts
        created = now if spec.created is None else spec.created
        since = now - self.catch_up if isinstance(expression, AtExpression) else max(now - self.catch_up, created)
        self._plan(entry, since, inclusive=True, now=now)
        return entry

    def _replanned(self, old: Entry, spec: ScheduleSpec, now: float) -> Entry:
        expression, problem = _parse(spec)
        rule_recreated = spec.kind == RULE and spec.expression != old.spec.expression
        anchor = _anchor(spec, now) if rule_recreated or spec.kind == SCHEDULE else old.anchor
        entry = Entry(spec, expression, problem, anchor=anchor, last=old.last, fired=old.fired,
                      stats=old.stats)
        since = now if old.last is None else max(now, old.last + _EPSILON)
        self._plan(entry, since, inclusive=True, now=now)
        return entry

    # --- firing ------------------------------------------------------------------------

    def due(self, now: float) -> list[Entry]:
        return sorted((e for e in self.entries.values() if e.due is not None and e.due <= now),
                      key=lambda e: e.due or 0.0)

    def next_due(self) -> float | None:
        times = [e.due for e in self.entries.values() if e.due is not None]
        return min(times) if times else None

    def fired(self, entry: Entry, now: float) -> None:
        """Record that ``entry`` fired its ``scheduled`` time, and plan the next one."""
        if entry.scheduled is None:
            return
        entry.last = entry.scheduled
        entry.fired += 1
        since = max(entry.scheduled, now - self.catch_up)
        try:
            self._plan(entry, since, inclusive=False, now=now)
        except Exception as exc:
            log.exception("schedules: %s %s/%s cannot be planned", entry.spec.kind, entry.spec.group,
                          entry.spec.name)
            entry.scheduled = entry.due = None
            entry.problem = f"cannot be planned: {exc}"

    def get(self, key: str) -> Entry | None:
        return self.entries.get(key)

    # --- planning ----------------------------------------------------------------------

    def _plan(self, entry: Entry, since: float, *, inclusive: bool, now: float) -> None:
        spec = entry.spec
        entry.scheduled = entry.due = None
        if entry.expression is None or not spec.enabled:
            return
        after = since - _EPSILON if inclusive else since
        try:
            scheduled = _occurrence(entry, after)
        except _PastLastDate:
            entry.problem = "the next firing time is past year 9999: it does not fire again"
            return
        if scheduled is None:
            ended = isinstance(entry.expression, AtExpression) or (spec.end is not None and now >= spec.end) \
                or entry.fired > 0
            entry.completed = ended
            return
        entry.scheduled = scheduled
        entry.due = scheduled + (self.delay(spec.window) if spec.window > 0 else 0.0)


class _PastLastDate(Exception):
    """The next firing time is past what a date can hold."""


def _parse(spec: ScheduleSpec) -> tuple[Expression | None, str | None]:
    try:
        expression: Expression = (parse_rule_expression(spec.expression) if spec.kind == RULE
                                  else parse_scheduler_expression(spec.expression))
        zone(spec.timezone)
    except (ScheduleExpressionError, ValueError) as exc:
        return None, str(exc)
    return expression, None


def _anchor(spec: ScheduleSpec, now: float) -> float:
    if spec.kind == SCHEDULE:
        if spec.start is not None:
            return spec.start
        return spec.created if spec.created is not None else now
    return now


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _occurrence(entry: Entry, after: float) -> float | None:
    """The first firing time strictly after ``after`` (epoch seconds), or None when there is no
    more; raises _PastLastDate when it is past year 9999."""
    try:
        return _next_time(entry, after)
    except OverflowError:
        raise _PastLastDate() from None


def _next_time(entry: Entry, after: float) -> float | None:
    spec, expression = entry.spec, entry.expression
    if isinstance(expression, AtExpression):
        if entry.fired:
            return None
        at = expression.moment(zone(spec.timezone))
        if at is None:
            raise _PastLastDate()
        return at.timestamp() if at.timestamp() > after else None
    if spec.kind == SCHEDULE and spec.start is not None:
        after = max(after, spec.start - _EPSILON)
    if isinstance(expression, RateExpression):
        first = 1 if spec.kind == RULE else 0
        found = expression.next_after(_utc(after), _utc(entry.anchor), first)
        if found is None:
            raise _PastLastDate()
        moment = found.timestamp()
    elif isinstance(expression, CronExpression):
        found = expression.next_after(_utc(after), zone(spec.timezone))
        if found is None:
            return None
        moment = found.timestamp()
    else:  # pragma: no cover - every expression type is handled above
        return None
    if spec.kind == SCHEDULE and spec.end is not None and moment >= spec.end:
        return None
    return moment
