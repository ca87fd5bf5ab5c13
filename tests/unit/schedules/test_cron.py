"""Schedule expressions: parsing, validation and firing times.

Cases follow "Schedule expressions for rules"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html), the
rate reference (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html)
and Scheduler's "Schedule types" (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from emulator.schedules.checks import rule_expression_problem, schedule_problem
from emulator.schedules.cron import (
    AtExpression,
    CronExpression,
    RateExpression,
    ScheduleExpressionError,
    parse_at,
    parse_cron,
    parse_rate,
    parse_rule_expression,
    parse_scheduler_expression,
)

UTC = UTC
NEW_YORK = ZoneInfo("America/New_York")


def at(*args: int, tz=UTC) -> datetime:
    return datetime(*args, tzinfo=tz)


def firings(expression: str, after: datetime, count: int = 5, tz=UTC) -> list[datetime]:
    """The next ``count`` firing times after ``after``, in ``tz``'s wall time."""
    cron = parse_cron(expression)
    found, moment = [], after
    for _ in range(count):
        nxt = cron.next_after(moment, tz)
        if nxt is None:
            break
        found.append(nxt.astimezone(tz))
        moment = nxt
    return found


def days(expression: str, after: datetime, count: int = 6) -> list[str]:
    return [moment.strftime("%Y-%m-%d") for moment in firings(expression, after, count)]


# --------------------------------------------------------------------------- the doc's examples


@pytest.mark.parametrize("expression, after, expected", [
    # "Run at 10:00 am (UTC+0) every day"
    ("cron(0 10 * * ? *)", at(2024, 5, 1, 10, 0), [at(2024, 5, 2, 10), at(2024, 5, 3, 10)]),
    # "Run at 12:15 pm (UTC+0) every day"
    ("cron(15 12 * * ? *)", at(2024, 5, 1, 12, 20), [at(2024, 5, 2, 12, 15), at(2024, 5, 3, 12, 15)]),
    # "Run at 6:00 pm (UTC+0) every Monday through Friday" (2024-05-03 is a Friday)
    ("cron(0 18 ? * MON-FRI *)", at(2024, 5, 3, 12), [at(2024, 5, 3, 18), at(2024, 5, 6, 18)]),
    # "Run at 8:00 am (UTC+0) every first day of the month"
    ("cron(0 8 1 * ? *)", at(2024, 5, 1, 9), [at(2024, 6, 1, 8), at(2024, 7, 1, 8)]),
    # "Run every 15 minutes"
    ("cron(0/15 * * * ? *)", at(2024, 5, 1, 9, 50), [at(2024, 5, 1, 10, 0), at(2024, 5, 1, 10, 15)]),
    # "Run every 10 minutes Monday through Friday" (2024-05-03 Friday night -> Monday)
    ("cron(0/10 * ? * MON-FRI *)", at(2024, 5, 3, 23, 55), [at(2024, 5, 6, 0, 0), at(2024, 5, 6, 0, 10)]),
    # "Run every 5 minutes Monday through Friday between 8:00 am and 5:55 pm (UTC+0)"
    ("cron(0/5 8-17 ? * MON-FRI *)", at(2024, 5, 6, 17, 52), [at(2024, 5, 6, 17, 55), at(2024, 5, 7, 8, 0)]),
    # "Run every 30 minutes Monday through Friday between 10:00 pm on the starting day to
    # 2:00 am on the following day" (the doc's 20-2: a range that wraps past midnight)
    ("cron(0/30 20-2 ? * MON-FRI *)", at(2024, 5, 6, 2, 31),
     [at(2024, 5, 6, 20, 0), at(2024, 5, 6, 20, 30)]),
    # "Run at 9:00 am on the first Monday of each month"
    ("cron(0 9 ? * 2#1 *)", at(2024, 5, 1), [at(2024, 5, 6, 9), at(2024, 6, 3, 9), at(2024, 7, 1, 9)]),
])
def test_documented_examples(expression: str, after: datetime, expected: list[datetime]) -> None:
    assert firings(expression, after, len(expected)) == expected


def test_slash_starts_at_the_given_minute() -> None:
    # "1/10 ... every tenth minute, starting from the first minute of the hour (11th, 21st, 31st...)"
    assert [m.minute for m in firings("cron(1/10 * * * ? *)", at(2024, 1, 1, 0, 0), 7)] == [1, 11, 21, 31, 41, 51, 1]


def test_next_is_strictly_after() -> None:
    assert firings("cron(0 10 * * ? *)", at(2024, 1, 1, 10, 0), 1) == [at(2024, 1, 2, 10)]
    assert firings("cron(0 10 * * ? *)", at(2024, 1, 1, 9, 59, 59), 1) == [at(2024, 1, 1, 10)]
    assert firings("cron(* * * * ? *)", at(2024, 1, 1, 10, 0, 0, 1), 1) == [at(2024, 1, 1, 10, 1)]


def test_every_minute_crosses_hour_day_month_and_year() -> None:
    assert firings("cron(* * * * ? *)", at(2023, 12, 31, 23, 58), 3) == [
        at(2023, 12, 31, 23, 59), at(2024, 1, 1, 0, 0), at(2024, 1, 1, 0, 1)]


# --------------------------------------------------------------------------- day-of-month


def test_last_day_of_month_and_leap_years() -> None:
    assert days("cron(0 0 L * ? *)", at(2023, 12, 31, 12), 6) == [
        "2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30"]
    assert days("cron(0 0 L 2 ? *)", at(2022, 3, 1), 4) == ["2023-02-28", "2024-02-29", "2025-02-28", "2026-02-28"]
    # 2100 is not a leap year, 2000 was
    assert days("cron(0 0 L 2 ? 2100)", at(2024, 1, 1), 1) == ["2100-02-28"]
    assert days("cron(0 0 L 2 ? 2000)", at(1999, 1, 1), 1) == ["2000-02-29"]


def test_29_30_31_only_in_months_that_have_them() -> None:
    assert days("cron(0 0 31 * ? *)", at(2024, 1, 31, 1), 4) == ["2024-03-31", "2024-05-31", "2024-07-31", "2024-08-31"]
    assert days("cron(0 0 29 2 ? *)", at(2024, 3, 1), 3) == ["2028-02-29", "2032-02-29", "2036-02-29"]
    assert days("cron(0 0 30 * ? *)", at(2024, 1, 30, 1), 2) == ["2024-03-30", "2024-04-30"]


def test_last_weekday_of_month() -> None:
    # Mar 2024 ends on a Sunday, Jun 2024 on a Sunday, Aug 2024 on a Saturday
    assert days("cron(0 0 LW * ? *)", at(2024, 3, 1), 6) == [
        "2024-03-29", "2024-04-30", "2024-05-31", "2024-06-28", "2024-07-31", "2024-08-30"]


@pytest.mark.parametrize("expression, month, expected", [
    ("cron(0 0 15W * ? *)", (2024, 6), "2024-06-14"),  # 15th is a Saturday: Friday
    ("cron(0 0 15W * ? *)", (2024, 9), "2024-09-16"),  # 15th is a Sunday: Monday
    ("cron(0 0 15W * ? *)", (2024, 5), "2024-05-15"),  # a Wednesday: that day
    ("cron(0 0 1W * ? *)", (2024, 6), "2024-06-03"),  # 1st is a Saturday: Monday the 3rd, not May 31
    ("cron(0 0 30W * ? *)", (2024, 6), "2024-06-28"),  # 30th is the last day, a Sunday: Friday the 28th
    ("cron(0 0 3W * ? *)", (2024, 11), "2024-11-04"),  # the doc's 3W: 3rd is a Sunday
])
def test_nearest_weekday(expression: str, month: tuple[int, int], expected: str) -> None:
    assert days(expression, at(*month, 1) - timedelta(seconds=1), 1) == [expected]


def test_w_past_the_end_of_a_short_month_skips_it() -> None:
    assert days("cron(0 0 31W * ? *)", at(2024, 4, 1), 2) == ["2024-05-31", "2024-07-31"]


def test_day_of_month_list_range_and_increment() -> None:
    assert days("cron(0 0 1,15 * ? *)", at(2024, 1, 2), 3) == ["2024-01-15", "2024-02-01", "2024-02-15"]
    assert days("cron(0 0 10-12 * ? *)", at(2024, 1, 1), 4) == ["2024-01-10", "2024-01-11", "2024-01-12", "2024-02-10"]
    assert days("cron(0 0 1/10 * ? *)", at(2024, 1, 1, 1), 4) == ["2024-01-11", "2024-01-21", "2024-01-31", "2024-02-01"]


# --------------------------------------------------------------------------- day-of-week


def test_day_of_week_numbers_start_on_sunday() -> None:
    assert [d.strftime("%a") for d in firings("cron(0 0 ? * 1 *)", at(2024, 1, 1), 2)] == ["Sun", "Sun"]
    assert [d.strftime("%a") for d in firings("cron(0 0 ? * 7 *)", at(2024, 1, 1), 2)] == ["Sat", "Sat"]
    assert firings("cron(0 0 ? * SUN *)", at(2024, 1, 1), 3) == firings("cron(0 0 ? * 1 *)", at(2024, 1, 1), 3)


def test_day_of_week_lists_ranges_and_wrapping_ranges() -> None:
    assert [d.strftime("%a") for d in firings("cron(0 0 ? * MON,WED,FRI *)", at(2024, 1, 1, 1), 4)] == [
        "Wed", "Fri", "Mon", "Wed"]
    assert [d.strftime("%a") for d in firings("cron(0 0 ? * FRI-MON *)", at(2024, 1, 1, 1), 5)] == [
        "Fri", "Sat", "Sun", "Mon", "Fri"]
    assert [d.strftime("%a") for d in firings("cron(0 0 ? * 2-4 *)", at(2024, 1, 1, 1), 3)] == ["Tue", "Wed", "Mon"]


def test_names_are_case_insensitive() -> None:
    assert firings("cron(0 0 ? jan-mar mon *)", at(2024, 1, 1, 1), 3) == firings(
        "cron(0 0 ? 1-3 2 *)", at(2024, 1, 1, 1), 3)


def test_l_alone_is_saturday() -> None:
    # "The L wildcard in the Day-of-month or Day-of-week fields specifies the last day of the month or week"
    assert [d.strftime("%a %d") for d in firings("cron(0 0 ? * L *)", at(2024, 1, 1), 3)] == ["Sat 06", "Sat 13", "Sat 20"]


def test_last_given_weekday_of_month() -> None:
    assert days("cron(0 0 ? * 6L *)", at(2024, 1, 1), 5) == [
        "2024-01-26", "2024-02-23", "2024-03-29", "2024-04-26", "2024-05-31"]
    assert days("cron(0 0 ? * 1L *)", at(2024, 2, 1), 2) == ["2024-02-25", "2024-03-31"]


def test_nth_weekday_of_month() -> None:
    # the doc's 3#2: the second Tuesday
    assert days("cron(0 0 ? * 3#2 *)", at(2024, 1, 1), 3) == ["2024-01-09", "2024-02-13", "2024-03-12"]
    # a fifth Thursday exists in only some months
    assert days("cron(0 0 ? * 5#5 *)", at(2024, 1, 1), 4) == ["2024-02-29", "2024-05-30", "2024-08-29", "2024-10-31"]
    assert days("cron(0 0 ? * FRI#1 *)", at(2024, 1, 1), 2) == ["2024-01-05", "2024-02-02"]


# --------------------------------------------------------------------------- month, hour, year


def test_month_names_and_increments() -> None:
    assert days("cron(0 0 1 JAN/3 ? *)", at(2024, 1, 1, 1), 3) == ["2024-04-01", "2024-07-01", "2024-10-01"]
    assert days("cron(0 0 1 NOV-FEB ? *)", at(2024, 3, 1), 4) == ["2024-11-01", "2024-12-01", "2025-01-01", "2025-02-01"]


def test_hours_wrap_past_midnight() -> None:
    assert [d.hour for d in firings("cron(0 22-2 * * ? *)", at(2024, 1, 1, 3), 6)] == [22, 23, 0, 1, 2, 22]


def test_hour_and_minute_increments_with_ranges() -> None:
    assert [(d.hour, d.minute) for d in firings("cron(5-20/5 0/6 * * ? *)", at(2024, 1, 1, 0, 0), 6)] == [
        (0, 5), (0, 10), (0, 15), (0, 20), (6, 5), (6, 10)]


def test_year_field() -> None:
    assert days("cron(0 0 1 1 ? 2030,2032)", at(2024, 1, 1), 3) == ["2030-01-01", "2032-01-01"]
    assert days("cron(0 0 1 1 ? 2024/5)", at(2024, 1, 1, 1), 2) == ["2029-01-01", "2034-01-01"]
    assert days("cron(0 0 1 1 ? 2025-2026)", at(2024, 1, 1), 3) == ["2025-01-01", "2026-01-01"]
    assert firings("cron(0 0 1 1 ? 2020)", at(2024, 1, 1)) == []  # only in the past: never
    assert days("cron(59 23 31 12 ? *)", at(2199, 1, 1), 2) == ["2199-12-31"]  # the last year there is


def test_a_date_that_never_exists_never_fires() -> None:
    assert firings("cron(0 0 30 2 ? *)", at(2024, 1, 1)) == []
    assert firings("cron(0 0 31 4,6,9,11 ? *)", at(2024, 1, 1)) == []


def test_matches() -> None:
    cron = parse_cron("cron(30 9 ? * MON-FRI *)")
    assert cron.matches(at(2024, 5, 6, 9, 30, 12))
    assert not cron.matches(at(2024, 5, 5, 9, 30))  # a Sunday
    assert not cron.matches(at(2024, 5, 6, 9, 31))


# --------------------------------------------------------------------------- time zones (Scheduler)


def test_cron_in_a_time_zone() -> None:
    # 09:00 in New York is 14:00 UTC in winter and 13:00 UTC in summer
    cron = parse_cron("cron(0 9 * * ? *)")
    assert cron.next_after(at(2024, 1, 10), NEW_YORK) == at(2024, 1, 10, 14)
    assert cron.next_after(at(2024, 7, 10), NEW_YORK) == at(2024, 7, 10, 13)


def test_time_skipped_in_spring_does_not_fire() -> None:
    # 2024-03-10 02:00 -> 03:00 in New York: 02:30 does not exist that day
    assert [d.strftime("%m-%d %H:%M %Z") for d in firings("cron(30 2 * * ? *)", at(2024, 3, 9), 3, NEW_YORK)] == [
        "03-09 02:30 EST", "03-11 02:30 EDT", "03-12 02:30 EDT"]


def test_time_repeated_in_autumn_fires_once() -> None:
    # 2024-11-03 02:00 -> 01:00 in New York: 01:30 happens twice, fires the first time only
    found = firings("cron(30 1 * * ? *)", at(2024, 11, 2, 12), 3, NEW_YORK)
    assert [d.strftime("%m-%d %H:%M %Z") for d in found] == ["11-03 01:30 EDT", "11-04 01:30 EST", "11-05 01:30 EST"]
    every_minute = firings("cron(0/30 * * * ? *)", at(2024, 11, 3, 4, 45), 4, NEW_YORK)  # 00:45 EDT
    assert [d.strftime("%H:%M %Z") for d in every_minute] == ["01:00 EDT", "01:30 EDT", "02:00 EST", "02:30 EST"]


# --------------------------------------------------------------------------- rate and at


@pytest.mark.parametrize("text, seconds", [
    ("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(1 hour)", 3600), ("rate(12 hours)", 43200),
    ("rate(1 day)", 86400), ("rate(7 days)", 604800),
])
def test_rates(text: str, seconds: int) -> None:
    assert parse_rate(text).seconds == seconds


def test_rate_counts_from_its_anchor() -> None:
    rate = parse_rate("rate(5 minutes)")
    anchor = at(2024, 1, 1, 10, 0, 7)
    assert rate.next_after(anchor, anchor, first=1) == at(2024, 1, 1, 10, 5, 7)
    assert rate.next_after(at(2024, 1, 1, 10, 12), anchor, first=1) == at(2024, 1, 1, 10, 15, 7)
    assert rate.next_after(anchor - timedelta(seconds=1), anchor, first=0) == anchor
    assert rate.next_after(at(2023, 1, 1), anchor, first=1) == at(2024, 1, 1, 10, 5, 7)


def test_a_rate_past_year_9999_has_no_next_firing() -> None:
    anchor = at(2024, 1, 1)
    assert parse_rate("rate(5000000 days)").next_after(anchor - timedelta(seconds=1), anchor) == anchor
    assert parse_rate("rate(5000000 days)").next_after(anchor, anchor, first=1) is None
    assert parse_rate("rate(999999999 days)").next_after(anchor, anchor, first=1) is None
    assert parse_rate("rate(1000000000000 minutes)").next_after(anchor, anchor, first=1) is None


def test_an_at_past_year_9999_in_utc_has_no_moment() -> None:
    late = parse_at("at(9999-12-31T23:00:00)")
    assert late.moment() == datetime(9999, 12, 31, 23, tzinfo=UTC)
    assert late.moment(NEW_YORK) is None  # 04:00 UTC on 10000-01-01


def test_at_is_a_wall_clock_time() -> None:
    expression = parse_scheduler_expression("at(2024-07-04T09:30:00)")
    assert isinstance(expression, AtExpression)
    assert expression.moment() == at(2024, 7, 4, 9, 30)
    assert expression.moment(NEW_YORK) == at(2024, 7, 4, 13, 30)


def test_kinds() -> None:
    assert isinstance(parse_rule_expression("cron(0 10 * * ? *)"), CronExpression)
    assert isinstance(parse_rule_expression("rate(1 day)"), RateExpression)
    assert isinstance(parse_scheduler_expression("rate(2 hours)"), RateExpression)
    with pytest.raises(ScheduleExpressionError, match="cron"):
        parse_rule_expression("at(2024-07-04T09:30:00)")  # one-time schedules are Scheduler's


# --------------------------------------------------------------------------- invalid expressions


@pytest.mark.parametrize("text, reason", [
    ("cron(0 10 * * * *)", "exactly one of them must be ?"),  # both days set
    ("cron(0 10 ? * ? *)", "exactly one of them must be ?"),  # neither
    ("cron(0 10 1 * MON *)", "exactly one of them must be ?"),
    ("cron(0 10 * * ?)", "6 fields"),
    ("cron(0 0 10 * * ? *)", "6 fields"),  # Quartz's seconds field
    ("cron()", "6 fields"),
    ("cron(60 * * * ? *)", "minutes: 60 is out of range 0-59"),
    ("cron(0 24 * * ? *)", "hours: 24 is out of range 0-23"),
    ("cron(0 0 0 * ? *)", "day-of-month: 0 is out of range 1-31"),
    ("cron(0 0 32 * ? *)", "day-of-month: 32"),
    ("cron(0 0 1 13 ? *)", "month: 13"),
    ("cron(0 0 ? * 0 *)", "day-of-week: 0 is out of range 1-7"),
    ("cron(0 0 ? * 8 *)", "day-of-week: 8"),
    ("cron(0 0 * * ? 1969)", "year: 1969"),
    ("cron(0 0 * * ? 2200)", "year: 2200"),
    ("cron(0 0 * * ? 2030-2020)", "runs backwards"),
    ("cron(0 0 1 FOO ? *)", "month: 'FOO' is not a number or a name"),
    ("cron(0 0 ? * FUN *)", "day-of-week: 'FUN'"),
    ("cron(0 0 ? JAN MON *)", None),  # valid: a month name and a weekday name
    ("cron(a * * * ? *)", "minutes: 'A' is not a number"),
    ("cron(0/0 * * * ? *)", "increment"),
    ("cron(0/60 * * * ? *)", "increment"),
    ("cron(0 0 ? * 1/2 *)", "day-of-week: increments (/) are not allowed"),
    ("cron(0 0 ? * 3#6 *)", "must be 1 to 5"),
    ("cron(0 0 ? * 3#0 *)", "must be 1 to 5"),
    ("cron(0 0 ? * 3#1,6#3 *)", "one expression"),  # the doc's own invalid example
    ("cron(0 0 ? * 8#1 *)", "day-of-week: 8"),
    ("cron(0 0 1-5W * ? *)", "W needs a single day"),
    ("cron(0 0 W * ? *)", "W needs a single day"),
    ("cron(0 0 L,1 * ? *)", "must stand alone"),
    ("cron(0 0 ? * L,1 *)", "L stands alone"),
    ("cron(0 0 ? * 2-6L *)", "L stands alone"),
    ("cron(0 0 1,,2 * ? *)", "empty item"),
    ("cron(? 0 * * ? *)", "? is only allowed"),
    ("cron(0 0 * ? ? *)", "month: ? is only allowed"),
    ("CRON(0 0 * * ? *)", "a rule's schedule is cron"),
    ("rate(1 minutes)", "singular for 1"),  # the doc's rule: rate(1 hours) is invalid
    ("rate(1 hours)", "singular for 1"),
    ("rate(5 hour)", "plural otherwise"),
    ("rate(0 minutes)", "positive"),
    ("rate(-1 minutes)", "is not rate"),
    ("rate(1.5 hours)", "is not rate"),
    ("rate(5)", "is not rate"),
    ("rate(5 seconds)", "minute(s), hour(s) or day(s)"),
    ("rate(1 week)", "minute(s), hour(s) or day(s)"),
    ("rate( 5 minutes )", "is not rate"),  # moto's PutRule regex refuses these too
    ("rate(5  minutes)", "is not rate"),
    ("rate(5 minutes)\n", "is not rate"),  # matched whole: no trailing newline
    ("rate(5 minutes) ", "is not rate"),
    ("cron(0 10 * * ? *)\n", "is not cron"),
    ("rate(1000000000 days)", "too long (at most 999999999 days)"),
    ("rate(1440000000000 minutes)", "too long"),
    ("rate(999999999 days)", None),  # the longest: valid, and never fires (past year 9999)
    ("every 5 minutes", "a rule's schedule is cron"),
    ("", "1 to 256"),
    ("cron(0 0 1 1 ? " + "2024," * 60 + "2025)", "1 to 256"),
])
def test_invalid_rule_expressions(text: str, reason: str | None) -> None:
    problem = rule_expression_problem(text)
    if reason is None:
        assert problem is None
    else:
        assert problem is not None and reason in problem, problem


@pytest.mark.parametrize("text, reason", [
    ("at(2024-13-01T00:00:00)", "does not match"),
    ("at(2024-02-30T00:00:00)", "day is out of range"),
    ("at(2024-01-01 00:00:00)", "is not at(yyyy-mm-ddThh:mm:ss)"),
    ("at(2024-01-01T00:00)", "is not at("),
    ("at(2024-01-01T00:00:00Z)", "is not at("),
    ("at(2024-01-01T00:00:00)\n", "is not at("),
    ("rate( 5 minutes)", "is not rate"),  # Scheduler's rate() is checked as strictly as PutRule's
    ("rate(5 minutes )", "is not rate"),
    ("rate(1000000000 days)", "too long"),
    ("rate(1 minutes)", "singular"),
    ("cron(0 10 * * * *)", "exactly one"),
    ("hourly", "at(...), rate(...) or cron(...)"),
])
def test_invalid_scheduler_expressions(text: str, reason: str) -> None:
    with pytest.raises(ScheduleExpressionError) as caught:
        parse_scheduler_expression(text)
    assert reason in str(caught.value)


# --------------------------------------------------------------------------- CreateSchedule's other checks


def _problem(**overrides: object) -> str | None:
    request: dict = {"expression": "rate(5 minutes)", "timezone": None, "window": {"Mode": "OFF"},
                     "target": {"Arn": "arn:aws:lambda:us-east-1:123456789012:function:f", "Input": "{}"},
                     "action": None}
    request.update(overrides)
    return schedule_problem(**request)


def test_schedule_requests() -> None:
    assert _problem() is None
    assert _problem(timezone="Europe/Paris", expression="cron(0 9 ? * MON-FRI *)") is None
    assert "unknown time zone" in (_problem(timezone="Mars/Olympus") or "")
    assert _problem(window={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}) is None
    assert "1 to 1440" in (_problem(window={"Mode": "FLEXIBLE"}) or "")
    assert "1 to 1440" in (_problem(window={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 1441}) or "")
    assert "OFF or FLEXIBLE" in (_problem(window={"Mode": "ON"}) or "")
    assert "NONE or DELETE" in (_problem(action="KEEP") or "")
    assert "well-formed JSON" in (_problem(target={"Arn": "arn:aws:lambda:us-east-1:1:function:f",
                                                   "Input": "not json"}) or "")
    # other targets take any text
    assert _problem(target={"Arn": "arn:aws:sqs:us-east-1:123456789012:q", "Input": "plain text"}) is None
    assert "Invalid Schedule Expression" in (_problem(expression="rate(1 minutes)") or "")
    assert _problem(expression="at(9999-12-31T23:00:00)") is None  # in UTC it is a date
    assert "past 9999-12-31T23:59:59 UTC" in (
        _problem(expression="at(9999-12-31T23:00:00)", timezone="America/New_York") or "")
    assert "too long" in (_problem(expression="rate(1000000000 days)") or "")
