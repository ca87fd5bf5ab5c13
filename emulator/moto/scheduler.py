"""EventBridge Scheduler inside moto: CreateSchedule and UpdateSchedule checked as AWS checks them
(:func:`emulator.schedules.checks.schedule_problem`), and a schedule refused in a group that does
not exist (moto creates it in no group). Runs in moto's threads, during the call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from emulator.moto.patching import Patch, PatchSet
from emulator.schedules.checks import schedule_problem


def _checked(original: Callable[..., Any]) -> Callable[..., Any]:
    """CreateSchedule / UpdateSchedule raising AWS's ValidationException for what is wrong."""
    from moto.scheduler.exceptions import ValidationException

    @functools.wraps(original)
    def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
        problem = schedule_problem(
            expression=kwargs.get("schedule_expression"), timezone=kwargs.get("schedule_expression_timezone"),
            window=kwargs.get("flexible_time_window"), target=kwargs.get("target"),
            action=kwargs.get("action_after_completion"))
        if problem is not None:
            raise ValidationException(problem)
        return original(self, *args, **kwargs)

    return checked


def _in_existing_group(original: Callable[..., Any]) -> Callable[..., Any]:
    from moto.scheduler.exceptions import ScheduleGroupNotFound

    checked = _checked(original)

    @functools.wraps(original)
    def create_schedule(self: Any, *args: Any, **kwargs: Any) -> Any:
        group = kwargs.get("group_name") or "default"
        if group not in self.schedule_groups:
            raise ScheduleGroupNotFound(group)
        return checked(self, *args, **kwargs)

    return create_schedule


def _patches() -> Iterator[Patch]:
    from moto.scheduler.models import EventBridgeSchedulerBackend as Backend

    yield Patch(Backend, "create_schedule", _in_existing_group)
    yield Patch(Backend, "update_schedule", _checked)


#: CreateSchedule and UpdateSchedule validated (and an unknown schedule group refused)
PATCHES = PatchSet("scheduler", _patches)
