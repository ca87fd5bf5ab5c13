"""When schedules fire: first times, rates from creation, and no firing missed or doubled by the
refreshes that re-read the schedules (a fake clock: epoch seconds passed in)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from emulator.schedules.timetable import RULE, SCHEDULE, ScheduleSpec, Timetable

T0 = datetime(2024, 5, 6, 10, 0, 30, tzinfo=UTC).timestamp()  # a Monday, 10:00:30 UTC


def rule(expression: str, **kwargs: object) -> ScheduleSpec:
    return ScheduleSpec(kind=RULE, name="r", group="default", arn="arn:aws:events:us-east-1:123456789012:rule/r",
                        expression=expression, **kwargs)  # type: ignore[arg-type]


def schedule(expression: str, created: float = T0, **kwargs: object) -> ScheduleSpec:
    return ScheduleSpec(kind=SCHEDULE, name="s", group="default",
                        arn="arn:aws:scheduler:us-east-1:123456789012:schedule/default/s",
                        expression=expression, created=created, **kwargs)  # type: ignore[arg-type]


class Clock:
    """Drive a timetable like the firing loop does, with syncs in between; record what fired."""

    def __init__(self, spec: ScheduleSpec, now: float = T0, **timetable: object) -> None:
        self.table = Timetable(**timetable)  # type: ignore[arg-type]
        self.spec = spec
        self.now = now
        self.fired: list[float] = []
        self.table.sync([spec], now)

    def run_until(self, end: float, step: float = 0.25, sync_every: float = 1.0) -> list[float]:
        """Advance to ``end``, firing what is due and syncing the same spec every second."""
        next_sync = self.now + sync_every
        while self.now < end:
            self.now = min(end, self.now + step)
            if self.now >= next_sync:
                self.table.sync([self.spec], self.now)
                next_sync += sync_every
            for entry in self.table.due(self.now):
                assert entry.scheduled is not None
                self.fired.append(entry.scheduled)
                self.table.fired(entry, self.now)
        return [f - T0 for f in self.fired]

    @property
    def entry(self):
        return self.table.get(self.spec.key)


def test_rule_rate_fires_from_creation_not_on_the_minute() -> None:
    clock = Clock(rule("rate(1 minute)"))
    assert clock.entry.scheduled == T0 + 60
    assert clock.run_until(T0 + 200) == [60, 120, 180]


def test_rule_rate_keeps_its_phase_across_refreshes_and_an_unrelated_change() -> None:
    clock = Clock(rule("rate(2 minutes)"))
    clock.run_until(T0 + 130)
    clock.spec = replace(clock.spec, arn=clock.spec.arn)  # same timing
    assert clock.run_until(T0 + 250) == [120, 240]


def test_rule_recreated_with_another_rate_counts_from_the_change() -> None:
    clock = Clock(rule("rate(1 minute)"))
    clock.run_until(T0 + 70)
    clock.spec = rule("rate(2 minutes)")
    clock.table.sync([clock.spec], T0 + 70)
    assert clock.entry.scheduled == T0 + 190
    assert clock.run_until(T0 + 200) == [60, 190]


def test_cron_fires_on_the_minute() -> None:
    clock = Clock(rule("cron(* * * * ? *)"))
    assert clock.run_until(T0 + 150) == [30, 90, 150]


def test_refreshes_never_double_or_miss_a_firing() -> None:
    # syncing far more often than it fires, including right at the firing time
    clock = Clock(rule("cron(0/2 * * * ? *)"))
    assert clock.run_until(T0 + 600, step=0.1, sync_every=0.1) == [90 + 120 * k for k in range(5)]


def test_a_sync_between_due_time_and_firing_keeps_it_due() -> None:
    table = Timetable()
    spec = rule("cron(* * * * ? *)")
    table.sync([spec], T0)
    late = T0 + 30.5  # 10:01:00.5: due, not fired yet
    table.sync([spec], late)
    [entry] = table.due(late)
    assert entry.scheduled == T0 + 30


def test_changing_the_expression_right_after_a_firing_does_not_fire_that_time_again() -> None:
    table = Timetable()
    table.sync([rule("cron(* * * * ? *)")], T0)
    [entry] = table.due(T0 + 30)
    table.fired(entry, T0 + 30)
    table.sync([rule("cron(0/1 * * * ? *)")], T0 + 30.2)  # same minutes, new text
    assert table.get(entry.spec.key).scheduled == T0 + 90
    assert table.due(T0 + 31) == []


def test_disabled_rule_does_not_fire_and_resumes_from_when_it_is_enabled() -> None:
    clock = Clock(rule("cron(* * * * ? *)", state="DISABLED"))
    assert clock.entry.scheduled is None
    assert clock.run_until(T0 + 200) == []
    clock.spec = rule("cron(* * * * ? *)")  # enabled at T0 + 200, seen at the next refresh
    assert clock.run_until(T0 + 300) == [210, 270]


def test_a_deleted_schedule_is_dropped() -> None:
    table = Timetable()
    table.sync([rule("rate(1 minute)")], T0)
    table.sync([], T0 + 1)
    assert table.entries == {} and table.due(T0 + 100) == []


def test_a_long_stall_fires_once_not_a_burst() -> None:
    table = Timetable()
    table.sync([rule("cron(* * * * ? *)")], T0)
    stalled = T0 + 30 + 610  # ten minutes late
    [entry] = table.due(stalled)
    assert entry.scheduled == T0 + 30
    table.fired(entry, stalled)
    assert table.due(stalled) == []
    assert entry.scheduled == T0 + 30 + 660


def test_invalid_expression_never_fires_and_says_why() -> None:
    table = Timetable()
    table.sync([rule("cron(0 10 * * * *)")], T0)
    entry = table.get(rule("x").key)
    assert entry.scheduled is None and "exactly one" in (entry.problem or "")


# --------------------------------------------------------------------------- Scheduler


def test_scheduler_rate_without_start_date_fires_at_creation() -> None:
    clock = Clock(schedule("rate(1 minute)", created=T0 - 0.7), now=T0)  # first seen 0.7 s later
    assert clock.run_until(T0 + 125) == pytest.approx([-0.7, 59.3, 119.3])


def test_scheduler_rate_with_start_and_end_dates() -> None:
    clock = Clock(schedule("rate(1 minute)", start=T0 + 100, end=T0 + 250))
    assert clock.run_until(T0 + 400) == [100, 160, 220]
    assert clock.entry.completed


def test_scheduler_cron_in_a_time_zone_from_start_date() -> None:
    # 06:04 in New York is 10:04 UTC in May; the start date is 10:02:30 UTC
    clock = Clock(schedule("cron(0/2 6 * * ? *)", timezone="America/New_York", start=T0 + 120))
    assert clock.run_until(T0 + 400) == [210, 330]


def test_at_fires_once_and_completes() -> None:
    clock = Clock(schedule("at(2024-05-06T10:00:40)", action_after_completion="DELETE"))
    assert clock.run_until(T0 + 100) == [10]
    assert clock.entry.completed and clock.entry.fired == 1


def test_at_in_a_time_zone() -> None:
    clock = Clock(schedule("at(2024-05-06T06:00:45)", timezone="America/New_York"))
    assert clock.run_until(T0 + 30) == [15]


def test_at_just_past_when_seen_still_fires_but_not_one_long_past() -> None:
    # at() is given to the second: at(now) is already in the past when the schedule is created
    assert Clock(schedule("at(2024-05-06T10:00:27)"), now=T0).run_until(T0 + 5) == [-3]
    assert Clock(schedule("at(2024-05-06T09:00:00)"), now=T0).run_until(T0 + 5) == []


def test_a_schedule_seen_long_after_creation_does_not_replay_its_past() -> None:
    # e.g. the control plane restarted against a moto server that kept the schedule
    clock = Clock(schedule("rate(1 minute)", created=T0 - 3630), now=T0)
    assert clock.run_until(T0 + 91) == [30, 90]


def test_flexible_window_delays_within_the_window() -> None:
    clock = Clock(schedule("cron(* * * * ? *)", window=600.0), delay=lambda window: window / 4)
    assert clock.entry.scheduled == T0 + 30 and clock.entry.due == T0 + 180
    clock.run_until(T0 + 179)
    assert clock.fired == []
    clock.run_until(T0 + 181)
    assert clock.fired == [T0 + 30]


def test_disabled_schedule_does_not_fire() -> None:
    assert Clock(schedule("rate(1 minute)", state="DISABLED")).run_until(T0 + 200) == []


# --------------------------------------------------------------------------- times past year 9999


def test_a_rule_rate_past_year_9999_never_fires_and_does_not_stop_the_others() -> None:
    table = Timetable()
    huge = replace(rule("rate(999999999 days)"), name="huge")
    minutely = rule("rate(1 minute)")
    table.sync([huge, minutely], T0)  # no OverflowError: the other rule is planned
    assert table.get(huge.key).scheduled is None
    assert "past year 9999" in (table.get(huge.key).problem or "")
    assert not table.get(huge.key).completed
    assert table.get(minutely.key).scheduled == T0 + 60
    table.sync([huge, minutely], T0 + 1)  # refreshes keep working
    assert table.next_due() == T0 + 60


def test_a_scheduler_rate_past_year_9999_fires_once_and_the_loop_goes_on() -> None:
    clock = Clock(schedule("rate(5000000 days)", action_after_completion="DELETE"))
    assert clock.run_until(T0 + 5) == [0]  # at creation; the next one would be in year 15713
    assert clock.entry.scheduled is None and not clock.entry.completed  # so never deleted
    assert "past year 9999" in (clock.entry.problem or "")


def test_an_at_past_year_9999_in_its_time_zone_never_fires() -> None:
    table = Timetable()
    late = schedule("at(9999-12-31T23:00:00)", timezone="America/New_York")
    other = replace(schedule("rate(1 minute)"), name="other")
    table.sync([late, other], T0)
    assert table.get(late.key).scheduled is None and not table.get(late.key).completed
    assert table.get(other.key).scheduled == T0


def test_an_entry_that_cannot_be_planned_does_not_stop_the_others(monkeypatch) -> None:
    from emulator.schedules import timetable as module

    real = module._next_time

    def broken(entry, after):
        if entry.spec.name == "bad":
            raise ZeroDivisionError("what a surprise")
        return real(entry, after)

    monkeypatch.setattr(module, "_next_time", broken)
    table = Timetable()
    bad, good = replace(rule("rate(1 minute)"), name="bad"), rule("rate(2 minutes)")
    table.sync([bad, good], T0)
    assert "cannot be planned: what a surprise" in (table.get(bad.key).problem or "")
    assert table.get(good.key).scheduled == T0 + 120
