"""EventBridge -> Lambda: rules whose targets are functions invoke them asynchronously.

A matching event reaches a Lambda target as AWS sends it (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html)::

    {"version": "0", "id", "detail-type", "source", "account", "time": "YYYY-MM-DDTHH:MM:SSZ",
     "region", "resources": [...], "detail": {...}}

or what the target's ``Input`` / ``InputPath`` / ``InputTransformer`` make of it
(:func:`target_payload`, in :mod:`emulator.push.target_input`).

moto calls ``Rule.send_to_targets`` for each rule of the bus on PutEvents, for S3 events sent
to EventBridge and for archive replays. Patched, it

* skips DISABLED rules (moto fires them) and rules without an event pattern (schedule rules:
  events on the bus never match them);
* matches with :mod:`emulator.patterns.engine` (moto's matcher lacks most operators)
  against the AWS envelope (moto's copy has a numeric ``time`` and an ``ingestion-time`` key);
* delivers Lambda targets through :func:`emulator.moto.delivery.deliver` (moto raises
  NotImplementedError for them, which fails PutEvents) and SNS targets by publishing to moto's
  topic (moto does not support them either), so SNS subscribers, Lambda ones included, get it;
* hands every other target to moto, one at a time, so a target moto cannot deliver (logged)
  does not fail the call or the other targets.

PutTargets also gets AWS's checks of the input settings (:func:`.target_input.validate_target`),
as ValidationException. An event a Lambda or SNS target cannot take (the function or topic does
not exist, the template renders invalid JSON) is logged and, when the target has a
``DeadLetterConfig``, sent to that queue with EventBridge's RULE_ARN, TARGET_ARN, ERROR_CODE
(``NO_RESOURCE``, ``INVALID_JSON``...) and ERROR_MESSAGE attributes; PutEvents still succeeds.
The target's ``RetryPolicy`` is not used: a refused Invoke is not retried (AWS does not retry
these errors either), and the function's own asynchronous retries apply once it is queued.
PutEvents refuses a ``Detail`` that is JSON but not an object with the entry error
``MalformedDetail`` "Detail is malformed." (moto accepts it with a warning).

PutRule's ``EventPattern`` is checked with the same engine that matches it
(:func:`event_pattern_problem`): an invalid pattern is refused with AWS's
InvalidEventPatternException ("Event pattern is not valid. Reason: ...") instead of being stored
and then matching nothing (or, for JSON that is not an object, a 500 from moto's parser). That
check is applied by :func:`emulator.schedules.checks.patch_moto_rules`, PutRule's
one wrapper. TestEventPattern answers ``{"Result": true|false}`` from that engine too (moto's
handler returns nothing); the event must be a JSON object with ``id``, ``account``, ``source``,
``time``, ``region`` and ``detail-type`` ("Parameter Event is not valid.", a
ValidationException), as AWS requires.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from emulator.patterns.engine import PatternError, compile_pattern, matches
from emulator.push.target_input import TargetInputError, iso_time, target_payload, validate_target

log = logging.getLogger(__name__)

__all__ = [
    "EventNotValid",
    "TargetInputError",
    "dead_letter",
    "dead_letter_attributes",
    "deliver_to_target",
    "dispatch_to_targets",
    "envelope",
    "error_code",
    "event_pattern_problem",
    "patch_moto",
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
        event = json.loads(event_text or "")
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


def _service(arn: str) -> str:
    parts = arn.split(":", 5)
    return parts[2] if len(parts) > 2 else ""


def deliver_to_target(rule: Any, target: Mapping[str, Any], event: Mapping[str, Any],
                      ingestion_time: float | None = None) -> bool:
    """Deliver ``event`` (AWS envelope) to one Lambda or SNS ``target`` of ``rule``.

    False when the target is of another kind (moto's to deliver) or was not delivered: that is
    logged and, when the target has a ``DeadLetterConfig``, the event goes to that queue as
    EventBridge sends it (:func:`dead_letter`).
    """
    arn = str(target.get("Arn", ""))
    service = _service(arn)
    if service not in ("lambda", "sns"):
        return False
    try:
        payload = target_payload(event, target, rule.name, rule_arn=rule.arn, ingestion_time=ingestion_time)
    except TargetInputError as exc:
        log.warning("EventBridge rule %s: nothing sent to target %s: %s", rule.name, target.get("Id"), exc)
        dead_letter(rule, target, event, exc.code, str(exc))
        return False
    if service == "lambda":
        from emulator.moto import delivery as moto_delivery

        refusal = moto_delivery.invoke_async(arn, payload, source=f"EventBridge rule {rule.name}")
        if refusal is None:
            return True
        dead_letter(rule, target, event, error_code(refusal.status, refusal.error_type), refusal.message)
        return False
    problem = _publish_to_topic(rule, arn, payload)
    if problem is None:
        return True
    dead_letter(rule, target, event, *problem)
    return False


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


def _publish_to_topic(rule: Any, topic_arn: str, payload: bytes) -> tuple[str, str] | None:
    """Publish to a moto topic; None, or (ERROR_CODE, message) when it cannot."""
    from moto.sns.exceptions import SNSNotFoundError
    from moto.sns.models import sns_backends

    from emulator.moto import delivery as moto_delivery

    moto_delivery.prepare("sns")  # its lambda subscriptions deliver our way
    parts = topic_arn.split(":")
    try:
        sns_backends[parts[4]][parts[3]].publish(message=payload.decode("utf-8"), arn=topic_arn)
    except SNSNotFoundError as exc:
        log.warning("EventBridge rule %s: could not publish to %s: %s", rule.name, topic_arn, exc)
        return "NO_RESOURCE", f"Topic does not exist: {topic_arn}"
    except Exception as exc:  # noqa: BLE001 - AWS drops (or dead-letters) what it cannot deliver
        log.warning("EventBridge rule %s: could not publish to %s: %s", rule.name, topic_arn, exc)
        return "SDK_CLIENT_ERROR", str(exc)
    return None


def dead_letter_attributes(rule_arn: str, target_arn: str, code: str, message: str) -> dict[str, dict[str, str]]:
    """The message attributes of an event EventBridge sends to a target's dead-letter queue."""
    return {name: {"DataType": "String", "StringValue": value} for name, value in (
        ("RULE_ARN", rule_arn), ("TARGET_ARN", target_arn), ("ERROR_CODE", code),
        ("ERROR_MESSAGE", message[:1000] or code))}


def dead_letter(rule: Any, target: Mapping[str, Any], event: Mapping[str, Any], code: str, message: str) -> bool:
    """Send an undelivered ``event`` to the target's dead-letter queue, as EventBridge does.

    The body is the event; the attributes are RULE_ARN, TARGET_ARN, ERROR_CODE and ERROR_MESSAGE
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html). False when the
    target has no DLQ or it cannot take the message (logged).
    """
    queue_arn = str((target.get("DeadLetterConfig") or {}).get("Arn") or "")
    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        return False
    from moto.sqs.models import sqs_backends

    attributes = dead_letter_attributes(str(rule.arn), str(target.get("Arn", "")), code, message)
    try:
        sqs_backends[parts[4]][parts[3]].send_message(parts[5], json.dumps(event), message_attributes=attributes)
    except Exception as exc:  # noqa: BLE001 - InvocationsFailedToBeSentToDLQ on AWS
        log.warning("EventBridge rule %s: could not send to the dead-letter queue %s: %s", rule.name, queue_arn, exc)
        return False
    return True


def dispatch_to_targets(rule: Any, moto_event: Mapping[str, Any], original: Any = None,
                        transform_input: bool = True) -> None:
    """Send one event to every target of ``rule``, without pattern matching.

    ``moto_event`` is moto's event dict (or an AWS envelope). Lambda and SNS targets are ours;
    the others go to moto's ``send_to_targets`` (``original``, the unpatched one), one by one.
    A schedule rule fires through here too.
    """
    event = envelope(moto_event)
    ingestion = moto_event.get("ingestion-time")
    ingestion_time = float(ingestion) if isinstance(ingestion, (int, float)) else None
    for target in list(rule.targets):
        if _service(str(target.get("Arn", ""))) in ("lambda", "sns"):
            deliver_to_target(rule, target, event, ingestion_time)
            continue
        if original is None:
            from moto.events.models import Rule

            original = getattr(Rule.send_to_targets, "_cloudmicro_original", Rule.send_to_targets)
        _moto_deliver(original, rule, target, moto_event, transform_input)


def _moto_deliver(original: Any, rule: Any, target: Mapping[str, Any], moto_event: Mapping[str, Any],
                  transform_input: bool) -> None:
    from moto.events.models import EventPattern

    if _service(str(target.get("Arn", ""))) == "states":
        from emulator.moto import delivery as moto_delivery

        moto_delivery.prepare("states")  # the execution runs our way (prepared on use: it is heavy)

    single = copy.copy(rule)
    single.targets = [target]
    single.event_pattern = EventPattern.load(None)  # matched already
    event = _moto_shaped(moto_event)
    try:
        original(single, event, transform_input=transform_input)
    except Exception as exc:  # noqa: BLE001 - one target's failure must not fail PutEvents
        log.warning("EventBridge rule %s: moto could not deliver to %s: %s", rule.name, target.get("Arn"), exc)


def _moto_shaped(event: Mapping[str, Any]) -> dict[str, Any]:
    """moto's senders want ``time`` and ``ingestion-time`` as epoch seconds."""
    shaped = dict(event)
    now = time.time()
    if not isinstance(shaped.get("time"), (int, float)):
        try:
            parsed = datetime.strptime(str(shaped.get("time")), "%Y-%m-%dT%H:%M:%SZ")
            shaped["time"] = parsed.replace(tzinfo=UTC).timestamp()
        except ValueError:
            shaped["time"] = now
    shaped.setdefault("ingestion-time", now)
    return shaped


def rule_matches(rule: Any, moto_event: Mapping[str, Any]) -> bool:
    """Does an event on the bus fire ``rule``? (Enabled, has a pattern, the pattern matches.)"""
    if str(getattr(rule, "state", "ENABLED")) == "DISABLED":
        return False
    raw = getattr(rule.event_pattern, "_raw_pattern", None)
    if not raw:
        return False
    try:
        return matches(raw, envelope(moto_event))
    except PatternError as exc:
        log.warning("EventBridge rule %s: unusable event pattern (%s); it matches nothing", rule.name, exc)
        return False


def patch_moto() -> None:
    """Route rule targets through us (Lambda, SNS) and moto (the rest); check PutTargets input."""
    import moto.events.models as models
    from moto.events.exceptions import ValidationException

    original = models.Rule.send_to_targets
    if getattr(original, "_cloudmicro", False):
        return

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if rule_matches(self, original_event):
            dispatch_to_targets(self, original_event, original, transform_input)

    send_to_targets._cloudmicro = True  # type: ignore[attr-defined]
    send_to_targets._cloudmicro_original = original  # type: ignore[attr-defined]
    models.Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]

    original_put_targets = models.EventsBackend.put_targets

    def put_targets(self: Any, name: str, event_bus_arn: str | None, targets: list[dict[str, Any]]) -> None:
        for index, target in enumerate(targets, start=1):
            problem = validate_target(target, index)
            if problem:
                raise ValidationException(problem)
        return original_put_targets(self, name, event_bus_arn, targets)

    models.EventsBackend.put_targets = put_targets  # type: ignore[method-assign]
    models.EventsBackend.put_events = _checked_put_events(models.EventsBackend.put_events)  # type: ignore[method-assign]
    _patch_test_event_pattern()


MALFORMED_DETAIL = {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}


def detail_is_malformed(entry: Mapping[str, Any]) -> bool:
    """A PutEvents entry whose Detail is JSON but not an object (AWS: MalformedDetail).

    Entries moto already refuses (no Source, DetailType or Detail; Detail not JSON) are moto's.
    """
    if not (entry.get("Source") and entry.get("DetailType") and entry.get("Detail")):
        return False
    try:
        detail = json.loads(entry["Detail"])
    except (TypeError, ValueError):
        return False
    return not isinstance(detail, dict)


def _checked_put_events(original: Any) -> Any:
    def put_events(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(events) > 10 or not any(detail_is_malformed(e) for e in events):
            return original(self, events)
        accepted = iter(original(self, [e for e in events if not detail_is_malformed(e)]))
        return [dict(MALFORMED_DETAIL) if detail_is_malformed(e) else next(accepted) for e in events]

    return put_events


def _patch_test_event_pattern() -> None:
    from moto.events.exceptions import InvalidEventPatternException, ValidationException
    from moto.events.responses import EventsHandler

    def test_event_pattern(self: Any) -> tuple[str, dict[str, Any]]:
        try:
            result = pattern_result(self._get_param("EventPattern"), self._get_param("Event"))
        except PatternError as exc:
            raise InvalidEventPatternException(reason=exc.reason) from None
        except EventNotValid as exc:
            raise ValidationException(str(exc)) from None
        return json.dumps({"Result": result}), self.response_headers

    EventsHandler.test_event_pattern = test_event_pattern  # type: ignore[method-assign,assignment]
