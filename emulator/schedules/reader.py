"""Reading the schedules from AWS (blocking boto3 calls, run in the pollers' thread pool).

Rules with a ScheduleExpression on every event bus, and every Scheduler schedule: ListSchedules
gives no expression or target, so GetSchedule is called for the new and modified ones only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from emulator.schedules.timetable import RULE, SCHEDULE, ScheduleSpec

__all__ = ["pages", "read_rules", "read_schedules"]


def pages(call: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get(key) or []
        token = page.get("NextToken")
        if not token:
            return


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def read_rules(events: Any) -> list[ScheduleSpec]:
    """Every rule with a ScheduleExpression, on every event bus (blocking)."""
    specs = []
    for bus in pages(events.list_event_buses, "EventBuses"):
        for rule in pages(events.list_rules, "Rules", EventBusName=bus["Name"]):
            if rule.get("ScheduleExpression"):
                specs.append(ScheduleSpec(
                    kind=RULE, name=rule["Name"], group=bus["Name"], arn=rule["Arn"],
                    expression=rule["ScheduleExpression"], state=rule.get("State") or "ENABLED"))
    return specs


def read_schedules(scheduler: Any, cache: dict[str, tuple[Any, ScheduleSpec]]) -> list[ScheduleSpec]:
    """Every Scheduler schedule (blocking); ``cache`` keeps GetSchedule results by ARN."""
    specs, seen = [], set()
    for summary in pages(scheduler.list_schedules, "Schedules"):
        arn = summary["Arn"]
        stamp = (summary.get("CreationDate"), summary.get("LastModificationDate"), summary.get("State"))
        seen.add(arn)
        cached = cache.get(arn)
        if cached is None or cached[0] != stamp:
            try:
                full = scheduler.get_schedule(Name=summary["Name"], GroupName=summary.get("GroupName") or "default")
            except scheduler.exceptions.ResourceNotFoundException:
                continue
            window = full.get("FlexibleTimeWindow") or {}
            spec = ScheduleSpec(
                kind=SCHEDULE, name=full["Name"], group=full.get("GroupName") or "default", arn=arn,
                expression=full.get("ScheduleExpression", ""), state=full.get("State") or "ENABLED",
                timezone=full.get("ScheduleExpressionTimezone") or "UTC",
                start=_seconds(full.get("StartDate")), end=_seconds(full.get("EndDate")),
                created=_seconds(full.get("CreationDate")),
                window=60.0 * (window.get("MaximumWindowInMinutes") or 0) if window.get("Mode") == "FLEXIBLE" else 0.0,
                action_after_completion=full.get("ActionAfterCompletion") or "NONE",
                target=full.get("Target") or {})
            cached = (stamp, spec)
            cache[arn] = cached
        specs.append(cached[1])
    for arn in set(cache) - seen:
        del cache[arn]
    return specs
