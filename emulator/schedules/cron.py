"""Schedule expressions, parsed and validated as AWS documents them, and their firing times.

EventBridge rules take ``cron(...)`` and ``rate(...)`` ("Schedule expressions for rules",
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html and
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html), always in UTC.
EventBridge Scheduler takes the same two plus ``at(yyyy-mm-ddThh:mm:ss)``, evaluated in the
schedule's time zone ("Schedule types",
https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html).

Cron has six fields: minutes (0-59), hours (0-23), day-of-month (1-31), month (1-12 or
JAN-DEC), day-of-week (1-7 or SUN-SAT, 1 is Sunday) and year (1970-2199). Every field takes
``,`` lists, ``-`` ranges, ``*`` and ``/`` increments (``1/10``: every tenth minute from minute
1), except that day-of-week takes no increment. Exactly one of day-of-month and day-of-week is
``?``. Day-of-month also takes ``L`` (last day), ``LW`` (last weekday) and ``15W`` (the weekday
nearest the 15th, never leaving the month); day-of-week takes ``L`` (the last day of the week,
Saturday), ``6L`` (the month's last Friday) and ``3#2`` (the month's second Tuesday). ``L``, ``W``
and ``#`` stand alone in their field. Where the documentation is silent, the behaviour is
Quartz's, which AWS's syntax follows: names are case-insensitive and a range whose start is
past its end wraps around (``FRI-MON``, ``22-2``), except in the year field.

A rate is ``rate(value unit)``: a positive whole number and ``minute``/``hour``/``day``,
singular for 1 and plural otherwise (``rate(1 hours)`` and ``rate(5 hour)`` are invalid),
separated by one space (``rate( 5 minutes )`` is invalid, as moto's PutRule check has it).
A day is 24 hours, also across a daylight saving change. AWS documents no largest value; here
a period longer than a date can hold (999,999,999 days) is invalid, and a firing time past
year 9999 is "no next firing" (:meth:`RateExpression.next_after` and
:meth:`AtExpression.moment` give None), so such a schedule never fires instead of failing.
An expression is matched whole: a trailing newline or space makes it invalid.

In a time zone with daylight saving, a cron time that does not exist (the hour skipped in
spring) does not fire and a time that happens twice (the hour repeated in autumn) fires once,
the first time, as Scheduler documents.

Everything here is pure: times are aware ``datetime`` objects, no clock is read.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

__all__ = [
    "MAX_EXPRESSION_LENGTH",
    "AtExpression",
    "CronExpression",
    "Expression",
    "RateExpression",
    "ScheduleExpressionError",
    "parse_at",
    "parse_cron",
    "parse_rate",
    "parse_rule_expression",
    "parse_scheduler_expression",
]

UTC = UTC
MAX_EXPRESSION_LENGTH = 256
YEARS = (1970, 2199)
MONTHS = {name: i for i, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}
WEEKDAYS = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
#: the longest rate period a date can hold (``timedelta.max``): AWS documents no maximum
MAX_RATE_SECONDS = timedelta.max.days * 86400
# matched with fullmatch: no trailing newline, no spaces inside rate() but the one separator
_RATE_RE = re.compile(r"rate\((\d+) ([a-z]+)\)")
_CRON_RE = re.compile(r"cron\((.*)\)", re.DOTALL)
_AT_RE = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")


class ScheduleExpressionError(ValueError):
    """The expression is not valid; the message says which part is wrong and why."""


# --------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None
    steps: bool = True  # "/" allowed
    wraps: bool = True  # a range like 22-2 wraps around


_MINUTES = _Field("minutes", 0, 59)
_HOURS = _Field("hours", 0, 23)
_DOM = _Field("day-of-month", 1, 31)
_MONTH = _Field("month", 1, 12, MONTHS)
_DOW = _Field("day-of-week", 1, 7, WEEKDAYS, steps=False)
_YEAR = _Field("year", YEARS[0], YEARS[1], wraps=False)


def _value(field: _Field, text: str) -> int:
    if field.names and text in field.names:
        return field.names[text]
    if not text.isdigit():
        raise ScheduleExpressionError(f"{field.name}: {text!r} is not a number"
                                      + (" or a name" if field.names else ""))
    value = int(text)
    if not field.low <= value <= field.high:
        raise ScheduleExpressionError(f"{field.name}: {value} is out of range {field.low}-{field.high}")
    return value


def _span(field: _Field, start: int, end: int) -> list[int]:
    """The values from start to end inclusive, wrapping past the field's end when start > end."""
    if start <= end:
        return list(range(start, end + 1))
    if not field.wraps:
        raise ScheduleExpressionError(f"{field.name}: the range {start}-{end} runs backwards")
    return list(range(start, field.high + 1)) + list(range(field.low, end + 1))


def _item(field: _Field, item: str) -> list[int]:
    """One comma-separated item: N, N-M, *, and with increments N/S, N-M/S, */S."""
    base, slash, step_text = item.partition("/")
    if slash:
        if not field.steps:
            raise ScheduleExpressionError(f"{field.name}: increments (/) are not allowed")
        if not step_text.isdigit() or not 1 <= int(step_text) <= field.high:
            raise ScheduleExpressionError(f"{field.name}: the increment in {item!r} must be a number "
                                          f"from 1 to {field.high}")
    if base == "*":
        values = list(range(field.low, field.high + 1))
    elif "-" in base:
        start_text, _, end_text = base.partition("-")
        values = _span(field, _value(field, start_text), _value(field, end_text))
    else:
        start = _value(field, base)
        values = list(range(start, field.high + 1)) if slash else [start]
    if slash:
        values = values[::int(step_text)]
    return values


def _values(field: _Field, text: str) -> frozenset[int]:
    if text == "?":
        raise ScheduleExpressionError(f"{field.name}: ? is only allowed in day-of-month and day-of-week")
    result: set[int] = set()
    for item in text.split(","):
        if not item:
            raise ScheduleExpressionError(f"{field.name}: empty item in {text!r}")
        result.update(_item(field, item))
    return frozenset(result)


# --------------------------------------------------------------------------- days


def _weekday(year: int, month: int, day: int) -> int:
    """1 (Sunday) to 7 (Saturday), the cron numbering."""
    return (calendar.weekday(year, month, day) + 1) % 7 + 1


def _nearest_weekday(year: int, month: int, day: int) -> int | None:
    """The weekday (Mon-Fri) nearest ``day`` without leaving the month; None if no such day."""
    last = calendar.monthrange(year, month)[1]
    if day > last:
        return None
    weekday = _weekday(year, month, day)
    if weekday == 7:  # Saturday: the Friday before, or Monday the 3rd for the 1st
        return day - 1 if day > 1 else day + 2
    if weekday == 1:  # Sunday: the Monday after, or the Friday before at the month's end
        return day + 1 if day < last else day - 2
    return day


DaySet = Callable[[int, int], frozenset[int]]  # (year, month) -> matching days


def _day_of_month(text: str) -> DaySet:
    if text == "L":
        return lambda y, m: frozenset({calendar.monthrange(y, m)[1]})
    if text == "LW":
        return lambda y, m: frozenset(d for d in [_nearest_weekday(y, m, calendar.monthrange(y, m)[1])]
                                      if d is not None)
    if text.endswith("W"):
        day = _value(_DOM, text[:-1]) if text[:-1].isdigit() else None
        if day is None:
            raise ScheduleExpressionError(f"day-of-month: W needs a single day before it (e.g. 15W), "
                                          f"not {text!r}")
        return lambda y, m: frozenset(d for d in [_nearest_weekday(y, m, day)] if d is not None)
    if "L" in text or "W" in text:
        raise ScheduleExpressionError(f"day-of-month: {text!r}: L and W must stand alone (L, LW or 15W)")
    days = _values(_DOM, text)
    return lambda y, m: frozenset(d for d in days if d <= calendar.monthrange(y, m)[1])


def _day_of_week(text: str) -> DaySet:
    if "#" in text:
        day_text, _, nth_text = text.partition("#")
        if "," in text or "-" in day_text or not day_text:
            raise ScheduleExpressionError(f"day-of-week: with #, the field holds one expression "
                                          f"(e.g. 3#2), not {text!r}")
        weekday = _value(_DOW, day_text)
        if not nth_text.isdigit() or not 1 <= int(nth_text) <= 5:
            raise ScheduleExpressionError(f"day-of-week: the number after # in {text!r} must be 1 to 5")
        nth = int(nth_text)

        def nth_weekday(y: int, m: int) -> frozenset[int]:
            first = (weekday - _weekday(y, m, 1)) % 7 + 1
            day = first + 7 * (nth - 1)
            return frozenset({day}) if day <= calendar.monthrange(y, m)[1] else frozenset()
        return nth_weekday
    if text == "L":
        return _weekdays(frozenset({7}))
    if text.endswith("L"):
        if "," in text or "-" in text:
            raise ScheduleExpressionError(f"day-of-week: L stands alone (L or 6L), not {text!r}")
        weekday = _value(_DOW, text[:-1])

        def last_weekday(y: int, m: int) -> frozenset[int]:
            last = calendar.monthrange(y, m)[1]
            return frozenset({last - (_weekday(y, m, last) - weekday) % 7})
        return last_weekday
    if "L" in text.split(","):
        raise ScheduleExpressionError(f"day-of-week: L stands alone (L or 6L), not {text!r}")
    return _weekdays(_values(_DOW, text))


def _weekdays(weekdays: frozenset[int]) -> DaySet:
    def days(y: int, m: int) -> frozenset[int]:
        last = calendar.monthrange(y, m)[1]
        return frozenset(d for d in range(1, last + 1) if _weekday(y, m, d) in weekdays)
    return days


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class CronExpression:
    """A parsed ``cron(...)``: the firing minutes, in the wall-clock time of some time zone."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: tuple[int, ...]
    years: tuple[int, ...]
    days: DaySet

    def local_times(self, start: datetime) -> Iterator[datetime]:
        """Naive wall-clock firing times at or after the naive ``start``, in order."""
        start = start.replace(second=0, microsecond=0) + (timedelta(minutes=1) if start.second
                                                           or start.microsecond else timedelta())
        for year in self.years:
            if year < start.year:
                continue
            for month in self.months:
                if (year, month) < (start.year, start.month):
                    continue
                for day in sorted(self.days(year, month)):
                    if (year, month, day) < (start.year, start.month, start.day):
                        continue
                    for hour in self.hours:
                        for minute in self.minutes:
                            moment = datetime(year, month, day, hour, minute)
                            if moment >= start:
                                yield moment

    def next_after(self, after: datetime, tz: tzinfo = UTC) -> datetime | None:
        """The first firing time strictly after ``after`` (aware), in UTC; None when none is left."""
        local_start = after.astimezone(tz).replace(tzinfo=None)
        for local in self.local_times(local_start):
            moment = local.replace(tzinfo=tz)  # fold=0: the first of a repeated time
            utc = moment.astimezone(UTC)
            if utc.astimezone(tz).replace(tzinfo=None) != local:
                continue  # skipped by a daylight saving change
            if utc > after:
                return utc
        return None

    def matches(self, moment: datetime, tz: tzinfo = UTC) -> bool:
        """Whether the minute of ``moment`` is a firing time."""
        floor = moment.replace(second=0, microsecond=0)
        return self.next_after(floor - timedelta(microseconds=1), tz) == floor.astimezone(UTC)


@dataclass(frozen=True)
class RateExpression:
    """A parsed ``rate(value unit)``: fires every ``seconds``, from an anchor time."""

    text: str
    value: int
    unit: str

    @property
    def seconds(self) -> int:
        return self.value * _RATE_UNITS[self.unit.rstrip("s")]

    def next_after(self, after: datetime, anchor: datetime, first: int = 0) -> datetime | None:
        """The first ``anchor + k * seconds`` (k >= ``first``) strictly after ``after``; None when
        that is past the last time a date can hold (year 9999): such a rate never fires again."""
        try:
            period = timedelta(seconds=self.seconds)
            k = max(first, (after - anchor) // period + 1)
            return anchor + k * period
        except OverflowError:
            return None


@dataclass(frozen=True)
class AtExpression:
    """A parsed ``at(...)``: one wall-clock time in the schedule's time zone."""

    text: str
    local: datetime  # naive

    def moment(self, tz: tzinfo = UTC) -> datetime | None:
        """The time in UTC; None when it cannot be given as a date (past year 9999 in UTC)."""
        try:
            return self.local.replace(tzinfo=tz).astimezone(UTC)
        except OverflowError:
            return None


Expression = CronExpression | RateExpression | AtExpression


def parse_cron(text: str) -> CronExpression:
    match = _CRON_RE.fullmatch(text)
    if not match:
        raise ScheduleExpressionError(f"{text!r} is not cron(...)")
    fields = match[1].upper().split()
    if len(fields) != 6:
        raise ScheduleExpressionError(
            f"cron() takes 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}")
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleExpressionError(
            "day-of-month and day-of-week: exactly one of them must be ? "
            "(e.g. cron(0 10 * * ? *) or cron(0 10 ? * MON *))")
    days = _day_of_month(dom) if dow == "?" else _day_of_week(dow)
    return CronExpression(
        text=text,
        minutes=tuple(sorted(_values(_MINUTES, minute))),
        hours=tuple(sorted(_values(_HOURS, hour))),
        months=tuple(sorted(_values(_MONTH, month))),
        years=tuple(sorted(_values(_YEAR, year))),
        days=days,
    )


def parse_rate(text: str) -> RateExpression:
    match = _RATE_RE.fullmatch(text)
    if not match:
        raise ScheduleExpressionError(f"{text!r} is not rate(value unit), e.g. rate(5 minutes)")
    value, unit = int(match[1]), match[2]
    if value < 1:
        raise ScheduleExpressionError(f"{text!r}: the value must be a positive number")
    singular = unit in _RATE_UNITS
    if not singular and not (unit.endswith("s") and unit[:-1] in _RATE_UNITS):
        raise ScheduleExpressionError(f"{text!r}: the unit must be minute(s), hour(s) or day(s)")
    if singular != (value == 1):
        wanted = unit.rstrip("s") + ("" if value == 1 else "s")
        raise ScheduleExpressionError(
            f"{text!r}: the unit is singular for 1 and plural otherwise (rate({value} {wanted}))")
    rate = RateExpression(text=text, value=value, unit=unit)
    if rate.seconds > MAX_RATE_SECONDS:
        raise ScheduleExpressionError(
            f"{text!r}: the period is too long (at most {MAX_RATE_SECONDS // 86400} days)")
    return rate


def parse_at(text: str) -> AtExpression:
    match = _AT_RE.fullmatch(text)
    if not match:
        raise ScheduleExpressionError(f"{text!r} is not at(yyyy-mm-ddThh:mm:ss)")
    try:
        local = datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%S")
    except ValueError as exc:
        raise ScheduleExpressionError(f"{text!r}: {exc}") from None
    return AtExpression(text=text, local=local)


def _check_length(text: str) -> None:
    if not text or len(text) > MAX_EXPRESSION_LENGTH:
        raise ScheduleExpressionError(f"the expression must be 1 to {MAX_EXPRESSION_LENGTH} characters long")


def parse_rule_expression(text: str) -> CronExpression | RateExpression:
    """An EventBridge rule's ScheduleExpression: cron(...) or rate(...)."""
    _check_length(text)
    if text.startswith("cron("):
        return parse_cron(text)
    if text.startswith("rate("):
        return parse_rate(text)
    raise ScheduleExpressionError(f"{text!r}: a rule's schedule is cron(...) or rate(...)")


def parse_scheduler_expression(text: str) -> Expression:
    """An EventBridge Scheduler ScheduleExpression: at(...), rate(...) or cron(...)."""
    _check_length(text)
    if text.startswith("at("):
        return parse_at(text)
    if text.startswith("cron("):
        return parse_cron(text)
    if text.startswith("rate("):
        return parse_rate(text)
    raise ScheduleExpressionError(f"{text!r}: a schedule is at(...), rate(...) or cron(...)")
