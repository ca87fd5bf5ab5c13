"""What schedules send: the "Scheduled Event" of a rule, a Scheduler schedule's Input."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime

from emulator.push.target_input import target_payload
from emulator.schedules.events import iso, scheduled_event, scheduler_payload
from emulator.schedules.timetable import RULE, SCHEDULE, ScheduleSpec

AT = datetime(2024, 5, 6, 10, 5, 0, 700000, tzinfo=UTC).timestamp()
RULE_ARN = "arn:aws:events:eu-west-1:111122223333:rule/nightly"
RULE_SPEC = ScheduleSpec(kind=RULE, name="nightly", group="default", arn=RULE_ARN, expression="cron(5 10 * * ? *)")


def schedule(target: dict) -> ScheduleSpec:
    return ScheduleSpec(kind=SCHEDULE, name="s", group="default", expression="rate(1 hour)", target=target,
                        arn="arn:aws:scheduler:eu-west-1:111122223333:schedule/default/s")


def test_scheduled_event_is_awss_envelope() -> None:
    # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html
    event = scheduled_event(RULE_SPEC, AT)
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
    assert event == {"version": "0", "id": event["id"], "detail-type": "Scheduled Event", "source": "aws.events",
                     "account": "111122223333", "time": "2024-05-06T10:05:00Z", "region": "eu-west-1",
                     "resources": [RULE_ARN], "detail": {}}
    assert uuid.UUID(event["id"]) and scheduled_event(RULE_SPEC, AT)["id"] != event["id"]


def test_rule_targets_shape_the_event() -> None:
    event = scheduled_event(RULE_SPEC, AT)
    assert json.loads(target_payload(event, {"Id": "1", "Arn": "f"}, "nightly")) == event
    assert target_payload(event, {"Id": "1", "Arn": "f", "Input": '{"job": "report"}'}, "nightly") == b'{"job": "report"}'
    assert target_payload(event, {"Id": "1", "Arn": "f", "InputPath": "$.time"}, "nightly") == b'"2024-05-06T10:05:00Z"'
    shaped = target_payload(event, {"Id": "1", "Arn": "f", "InputTransformer": {
        "InputPathsMap": {"t": "$.time"}, "InputTemplate": '{"at": <t>, "rule": <aws.events.rule-name>}'}},
        "nightly", rule_arn=RULE_ARN)
    assert json.loads(shaped) == {"at": "2024-05-06T10:05:00Z", "rule": "nightly"}


def test_scheduler_input_gets_its_context_attributes() -> None:
    spec = schedule({"Arn": "f", "Input": json.dumps({
        "arn": "<aws.scheduler.schedule-arn>", "at": "<aws.scheduler.scheduled-time>",
        "id": "<aws.scheduler.execution-id>", "attempt": "<aws.scheduler.attempt-number>", "other": "<aws.x>"})})
    sent = json.loads(scheduler_payload(spec, AT))
    assert sent["arn"] == spec.arn and sent["at"] == "2024-05-06T10:05:00Z" and sent["attempt"] == "1"
    assert re.fullmatch(r"[0-9a-f]{16}", sent["id"]) and sent["other"] == "<aws.x>"


def test_scheduler_without_input_sends_an_empty_object() -> None:
    assert scheduler_payload(schedule({"Arn": "f"}), AT) == b"{}"
    assert scheduler_payload(schedule({"Arn": "f", "Input": "plain text"}), AT) == b"plain text"


def test_times_are_to_the_second() -> None:
    assert iso(AT) == "2024-05-06T10:05:00Z"
