"""What a schedule sends when it fires (pure).

A rule sends each Lambda target the "Scheduled Event"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html)::

    {"version": "0", "id": <uuid>, "detail-type": "Scheduled Event", "source": "aws.events",
     "account": ..., "time": <the scheduled time, YYYY-MM-DDTHH:MM:SSZ>, "region": ...,
     "resources": [<rule ARN>], "detail": {}}

as the target's Input / InputPath / InputTransformer make of it
(:func:`emulator.push.target_input.target_payload`).

A Scheduler schedule sends its target's ``Input`` with the context attributes filled in
(``<aws.scheduler.schedule-arn>``, ``<aws.scheduler.scheduled-time>``,
``<aws.scheduler.execution-id>``, ``<aws.scheduler.attempt-number>``,
https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html).
Without ``Input`` AWS "delivers a default notification" (API_Target) whose shape it does not
document; here that is ``{}``.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from emulator.domain import json_text
from emulator.domain.arn import Arn
from emulator.schedules.timetable import ScheduleSpec

__all__ = ["is_function", "iso", "payload_preview", "scheduled_event", "scheduler_payload"]


def iso(seconds: float) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``, as EventBridge's ``time`` and Scheduler's scheduled-time."""
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scheduled_event(spec: ScheduleSpec, scheduled: float) -> dict[str, Any]:
    """The "Scheduled Event" a rule sends for its firing at ``scheduled``."""
    arn = Arn.maybe(spec.arn)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": arn.account if arn is not None else "",
        "time": iso(scheduled),
        "region": arn.region if arn is not None else "",
        "resources": [spec.arn],
        "detail": {},
    }


def scheduler_payload(spec: ScheduleSpec, scheduled: float, attempt: int = 1) -> bytes:
    """What a Scheduler schedule sends its target: Input with the context attributes, or {}."""
    text = (spec.target or {}).get("Input")
    if text is None:
        return b"{}"
    values = {
        "<aws.scheduler.schedule-arn>": spec.arn,
        "<aws.scheduler.scheduled-time>": iso(scheduled),
        "<aws.scheduler.execution-id>": uuid.uuid4().hex[:16],
        "<aws.scheduler.attempt-number>": str(attempt),
    }
    for key, value in values.items():
        text = text.replace(key, value)
    return text.encode("utf-8")


def is_function(arn: str) -> bool:
    parsed = Arn.maybe(arn)
    return parsed is not None and parsed.service == "lambda"


def payload_preview(payload: bytes, limit: int = 2000) -> str:
    text = payload.decode("utf-8", "replace")
    with contextlib.suppress(ValueError):
        text = json.dumps(json_text.loads(text), separators=(",", ":"))
    return text if len(text) <= limit else text[:limit] + "..."
