"""Validation of schedules where they are created: PutRule's ScheduleExpression and
EventBridge Scheduler's CreateSchedule / UpdateSchedule.

moto accepts any ``cron(...)`` in PutRule and any expression, time zone and input in
CreateSchedule; AWS rejects them with a ValidationException. These checks (pure, on :mod:`.cron`)
let :mod:`emulator.moto.events` and :mod:`emulator.moto.scheduler` refuse an invalid schedule when
it is created (with AWS's message, followed by what is wrong) instead of never firing. PutRule's message is AWS's
"Parameter ScheduleExpression is not valid."; Scheduler's checks follow the CreateSchedule
reference (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html):
a time zone from the IANA database, ``FlexibleTimeWindow`` ``OFF`` or ``FLEXIBLE`` with
``MaximumWindowInMinutes`` 1-1440, ``ActionAfterCompletion`` ``NONE`` or ``DELETE``, and a
templated Lambda target's ``Input`` must be well-formed JSON.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from emulator.domain import json_text
from emulator.domain.arn import Arn
from emulator.schedules.cron import (
    AtExpression,
    ScheduleExpressionError,
    parse_rule_expression,
    parse_scheduler_expression,
)

__all__ = ["rule_expression_problem", "schedule_problem", "zone"]


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
    arn = Arn.maybe(target.get("Arn"))
    if arn is not None and arn.service == "lambda" and target.get("Input") is not None:
        try:
            json_text.loads(target["Input"])
        except ValueError:
            return "Target.Input must be well-formed JSON for a Lambda target"
    return None
