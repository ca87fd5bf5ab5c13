"""Validation of schedules where they are created: PutRule's ScheduleExpression and
EventBridge Scheduler's CreateSchedule / UpdateSchedule.

moto accepts any ``cron(...)`` in PutRule and any expression, time zone and input in
CreateSchedule; AWS rejects them with a ValidationException. These patches run the checks of
:mod:`.cron` first, so an invalid schedule is refused when it is created (with AWS's message,
followed by what is wrong) instead of never firing. PutRule's message is AWS's
"Parameter ScheduleExpression is not valid."; Scheduler's checks follow the CreateSchedule
reference (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html):
a time zone from the IANA database, ``FlexibleTimeWindow`` ``OFF`` or ``FLEXIBLE`` with
``MaximumWindowInMinutes`` 1-1440, ``ActionAfterCompletion`` ``NONE`` or ``DELETE``, and a
templated Lambda target's ``Input`` must be well-formed JSON.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from emulator.schedules.cron import (
    AtExpression,
    ScheduleExpressionError,
    parse_rule_expression,
    parse_scheduler_expression,
)

__all__ = ["patch_moto", "patch_moto_rules", "rule_expression_problem", "schedule_problem", "zone"]


def zone(name: str | None) -> ZoneInfo:
    """The IANA time zone ``name`` (UTC when None); ValueError when there is no such zone."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Europe/Paris)") from None


def rule_expression_problem(expression: str) -> str | None:
    """Why a rule's ScheduleExpression is invalid, or None when it is valid."""
    try:
        parse_rule_expression(expression)
    except ScheduleExpressionError as exc:
        return str(exc)
    return None


def schedule_problem(*, expression: str | None, timezone: str | None, window: dict[str, Any] | None,
                     target: dict[str, Any] | None, action: str | None) -> str | None:
    """Why a CreateSchedule/UpdateSchedule request is invalid, or None."""
    try:
        parsed = parse_scheduler_expression(expression or "")
    except ScheduleExpressionError as exc:
        return f"Invalid Schedule Expression {expression}: {exc}"
    try:
        tz = zone(timezone)
    except ValueError as exc:
        return f"Invalid ScheduleExpressionTimezone: {exc}"
    if isinstance(parsed, AtExpression) and parsed.moment(tz) is None:
        return (f"Invalid Schedule Expression {expression}: in {timezone or 'UTC'} it is past "
                "9999-12-31T23:59:59 UTC, the last time a schedule can have")
    window = window or {}
    mode = window.get("Mode")
    if mode not in ("OFF", "FLEXIBLE"):
        return f"FlexibleTimeWindow.Mode must be OFF or FLEXIBLE, not {mode!r}"
    minutes = window.get("MaximumWindowInMinutes")
    if mode == "FLEXIBLE" and not (isinstance(minutes, int) and 1 <= minutes <= 1440):
        return "FlexibleTimeWindow.MaximumWindowInMinutes must be 1 to 1440 when Mode is FLEXIBLE"
    if mode == "OFF" and minutes is not None:
        return "FlexibleTimeWindow.MaximumWindowInMinutes is only allowed when Mode is FLEXIBLE"
    if action not in (None, "NONE", "DELETE"):
        return f"ActionAfterCompletion must be NONE or DELETE, not {action!r}"
    target = target or {}
    arn = str(target.get("Arn", ""))
    if arn.split(":")[2:3] == ["lambda"] and target.get("Input") is not None:
        try:
            json.loads(target["Input"])
        except ValueError:
            return "Target.Input must be well-formed JSON for a Lambda target"
    return None


def _checked(method: Callable[..., Any], check: Callable[[dict[str, Any]], Exception | None]) -> Callable[..., Any]:
    """``method`` raising what ``check`` finds wrong with its keyword arguments (wrapped once)."""
    if getattr(method, "_cloudmicro_checked", False):
        return method

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        problem = check(kwargs)
        if problem is not None:
            raise problem
        return method(self, *args, **kwargs)

    wrapper._cloudmicro_checked = True  # type: ignore[attr-defined]
    return wrapper


def patch_moto() -> None:
    """Validate CreateSchedule and UpdateSchedule (and refuse an unknown schedule group)."""
    from moto.scheduler.exceptions import ScheduleGroupNotFound, ValidationException
    from moto.scheduler.models import EventBridgeSchedulerBackend as Backend

    def check(kwargs: dict[str, Any]) -> Exception | None:
        problem = schedule_problem(
            expression=kwargs.get("schedule_expression"), timezone=kwargs.get("schedule_expression_timezone"),
            window=kwargs.get("flexible_time_window"), target=kwargs.get("target"),
            action=kwargs.get("action_after_completion"))
        return None if problem is None else ValidationException(problem)

    Backend.create_schedule = _checked(Backend.create_schedule, check)  # type: ignore[method-assign]
    Backend.update_schedule = _checked(Backend.update_schedule, check)  # type: ignore[method-assign]

    create = Backend.create_schedule
    if not getattr(create, "_cloudmicro_group_checked", False):
        @functools.wraps(create)
        def create_in_existing_group(self: Any, *args: Any, **kwargs: Any) -> Any:
            group = kwargs.get("group_name") or "default"
            if group not in self.schedule_groups:
                raise ScheduleGroupNotFound(group)
            return create(self, *args, **kwargs)

        create_in_existing_group._cloudmicro_group_checked = True  # type: ignore[attr-defined]
        Backend.create_schedule = create_in_existing_group  # type: ignore[method-assign]


def patch_moto_rules() -> None:
    """Validate PutRule's ScheduleExpression and EventPattern as AWS does.

    The pattern is checked by the engine that matches it (:mod:`.eventbridge`):
    InvalidEventPatternException "Event pattern is not valid. Reason: ...".
    """
    from moto.events.exceptions import InvalidEventPatternException, ValidationException
    from moto.events.models import EventsBackend

    from emulator.push.eventbridge import event_pattern_problem

    def check(kwargs: dict[str, Any]) -> Exception | None:
        expression = kwargs.get("scheduled_expression")
        problem = rule_expression_problem(expression) if expression else None
        if problem is not None:
            return ValidationException(f"Parameter ScheduleExpression is not valid. {problem}")
        reason = event_pattern_problem(kwargs.get("event_pattern"))
        return None if reason is None else InvalidEventPatternException(reason=reason)

    EventsBackend.put_rule = _checked(EventsBackend.put_rule, check)  # type: ignore[method-assign]
