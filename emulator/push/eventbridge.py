"""EventBridge -> Lambda: the event a rule's target receives, and EventBridge's checks of rules,
targets and events.

A matching event reaches a Lambda target as AWS sends it (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html)::

    {"version": "0", "id", "detail-type", "source", "account", "time": "YYYY-MM-DDTHH:MM:SSZ",
     "region", "resources": [...], "detail": {...}}

or what the target's ``Input`` / ``InputPath`` / ``InputTransformer`` make of it
(:func:`target_payload`, in :mod:`emulator.push.target_input`).

The rules of the other checks, with AWS's messages: PutTargets' input settings
(:func:`.target_input.validate_target`, ValidationException), PutEvents' ``Detail`` that is JSON
but not an object (:func:`detail_is_malformed`: the entry error ``MalformedDetail`` "Detail is
malformed."; moto accepts it with a warning), PutRule's ``EventPattern``, checked with the same
engine that matches it (:func:`event_pattern_problem`: InvalidEventPatternException "Event
pattern is not valid. Reason: ..."), and TestEventPattern, answered by that engine too
(:func:`pattern_result`); its event must be a JSON object with ``id``, ``account``, ``source``,
``time``, ``region`` and ``detail-type`` ("Parameter Event is not valid.", a ValidationException),
as AWS requires. A target that cannot take an event gets it in its dead-letter queue with
:func:`dead_letter_attributes` and an :func:`error_code`. :mod:`emulator.moto.events` applies all
of this inside moto.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from emulator.domain import json_text
from emulator.patterns.engine import PatternError, compile_pattern
from emulator.push.target_input import TargetInputError, iso_time, target_payload

log = logging.getLogger(__name__)

__all__ = [
    "EventNotValid",
    "TargetInputError",
    "dead_letter_attributes",
    "envelope",
    "error_code",
    "event_pattern_problem",
    "pattern_result",
    "target_payload",
]

#: the fields TestEventPattern requires of its Event (AWS: "Parameter Event is not valid.")
TEST_EVENT_FIELDS = ("id", "account", "source", "time", "region", "detail-type")


class EventNotValid(ValueError):
    """TestEventPattern's Event is not an event (AWS's ValidationException)."""


def event_pattern_problem(pattern: str | None) -> str | None:
    """Why EventBridge refuses ``pattern`` (the reason after "Event pattern is not valid. Reason: "), or None."""
    if not pattern:
        return None
    try:
        compile_pattern(pattern)
    except PatternError as exc:
        return exc.reason
    return None


def pattern_result(pattern: str | None, event_text: str | None) -> bool:
    """TestEventPattern: does the event (JSON text) match the pattern?

    Raises PatternError for an invalid pattern and :class:`EventNotValid` for an event that is
    not a JSON object with the fields AWS requires.
    """
    compiled = compile_pattern(pattern or "")
    try:
        event = json_text.loads(event_text or "")
    except ValueError:
        raise EventNotValid("Parameter Event is not valid.") from None
    if not isinstance(event, dict) or any(field not in event for field in TEST_EVENT_FIELDS):
        raise EventNotValid("Parameter Event is not valid.")
    return compiled.matches(event)


def envelope(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as AWS delivers it, from moto's copy (numeric time, internal keys).

    A replayed event keeps its ``replay-name``, as AWS's do.
    """
    shaped: dict[str, Any] = {
        "version": str(event.get("version") or "0"),
        "id": event.get("id", ""),
        "detail-type": event.get("detail-type", ""),
        "source": event.get("source", ""),
        "account": event.get("account", ""),
        "time": iso_time(event.get("time")),
        "region": event.get("region", ""),
        "resources": list(event.get("resources") or []),
        "detail": event.get("detail", {}),
    }
    if event.get("replay-name"):
        shaped["replay-name"] = event["replay-name"]
    return shaped


def error_code(status: int | None, error_type: str) -> str:
    """EventBridge's DLQ ERROR_CODE for a refused Invoke."""
    if status is None:
        return "CONNECTION_FAILURE"
    if status == 404 or error_type == "ResourceNotFoundException":
        return "NO_RESOURCE"
    if error_type == "InvalidRequestContentException":
        return "INVALID_JSON"
    if status == 429:
        return "THROTTLING"
    return "SDK_CLIENT_ERROR"


def dead_letter_attributes(rule_arn: str, target_arn: str, code: str, message: str) -> dict[str, dict[str, str]]:
    """The message attributes of an event EventBridge sends to a target's dead-letter queue."""
    return {name: {"DataType": "String", "StringValue": value} for name, value in (
        ("RULE_ARN", rule_arn), ("TARGET_ARN", target_arn), ("ERROR_CODE", code),
        ("ERROR_MESSAGE", message[:1000] or code))}


MALFORMED_DETAIL = {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}


def detail_is_malformed(entry: Mapping[str, Any]) -> bool:
    """A PutEvents entry whose Detail is JSON but not an object (AWS: MalformedDetail).

    Entries moto already refuses (no Source, DetailType or Detail; Detail not JSON) are moto's.
    """
    if not (entry.get("Source") and entry.get("DetailType") and entry.get("Detail")):
        return False
    try:
        detail = json_text.loads(entry["Detail"])
    except (TypeError, ValueError):
        return False
    return not isinstance(detail, dict)


