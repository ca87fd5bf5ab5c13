"""EventBridge inside moto: rules deliver to our functions (and SNS topics), PutRule, PutTargets
and PutEvents get AWS's checks, and TestEventPattern answers from our engine.

moto calls ``Rule.send_to_targets`` for each rule of the bus on PutEvents, for S3 events sent
to EventBridge and for archive replays. Patched, it

* skips DISABLED rules (moto fires them) and rules without an event pattern (schedule rules:
  events on the bus never match them);
* matches with :mod:`emulator.patterns.engine` (moto's matcher lacks most operators)
  against the AWS envelope (:func:`emulator.push.eventbridge.envelope`: moto's copy has a
  numeric ``time`` and an ``ingestion-time`` key);
* delivers Lambda targets through :func:`emulator.moto.delivery.invoke_async` (moto raises
  NotImplementedError for them, which fails PutEvents) and SNS targets by publishing to moto's
  topic (moto does not support them either), so SNS subscribers, Lambda ones included, get it;
* hands every other target to moto, one at a time, so a target moto cannot deliver (logged)
  does not fail the call or the other targets.

An event a Lambda or SNS target cannot take (the function or topic does not exist, the template
renders invalid JSON) is logged and, when the target has a ``DeadLetterConfig``, sent to that
queue with EventBridge's RULE_ARN, TARGET_ARN, ERROR_CODE (``NO_RESOURCE``, ``INVALID_JSON``...)
and ERROR_MESSAGE attributes; PutEvents still succeeds. The target's ``RetryPolicy`` is not used:
a refused Invoke is not retried (AWS does not retry these errors either), and the function's own
asynchronous retries apply once it is queued.

The checks (their rules are :mod:`emulator.push.eventbridge`'s and :mod:`emulator.schedules.checks`'s):
PutTargets validates each target's input settings (ValidationException); PutEvents answers an
entry whose ``Detail`` is JSON but not an object with ``MalformedDetail``; PutRule refuses an
invalid ``ScheduleExpression`` (ValidationException "Parameter ScheduleExpression is not
valid. ...") and an invalid ``EventPattern`` (InvalidEventPatternException "Event pattern is not
valid. Reason: ..."), instead of storing it and then never firing or matching; TestEventPattern
answers ``{"Result": true|false}``.

This code runs in moto's threads, during the call that sent the event.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from emulator.domain.arn import Arn
from emulator.moto import delivery as moto_delivery
from emulator.moto import sns as sns_glue
from emulator.moto.patching import Patch, PatchSet, replace_with
from emulator.patterns.engine import PatternError, matches
from emulator.push.eventbridge import (
    MALFORMED_DETAIL,
    EventNotValid,
    dead_letter_attributes,
    detail_is_malformed,
    envelope,
    error_code,
    event_pattern_problem,
    pattern_result,
)
from emulator.push.target_input import TargetInputError, target_payload, validate_target
from emulator.schedules.checks import rule_expression_problem

log = logging.getLogger(__name__)


def _service(arn: object) -> str:
    parsed = Arn.maybe(arn)
    return parsed.service if parsed is not None else ""


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


def _publish_to_topic(rule: Any, topic_arn: str, payload: bytes) -> tuple[str, str] | None:
    """Publish to a moto topic; None, or (ERROR_CODE, message) when it cannot."""
    from moto.sns.exceptions import SNSNotFoundError
    from moto.sns.models import sns_backends

    sns_glue.PATCHES.apply()  # its lambda subscriptions deliver our way
    topic = Arn.parse(topic_arn)
    try:
        sns_backends[topic.account][topic.region].publish(message=payload.decode("utf-8"), arn=topic_arn)
    except SNSNotFoundError as exc:
        log.warning("EventBridge rule %s: could not publish to %s: %s", rule.name, topic_arn, exc)
        return "NO_RESOURCE", f"Topic does not exist: {topic_arn}"
    except Exception as exc:  # noqa: BLE001 - AWS drops (or dead-letters) what it cannot deliver
        log.warning("EventBridge rule %s: could not publish to %s: %s", rule.name, topic_arn, exc)
        return "SDK_CLIENT_ERROR", str(exc)
    return None


def dead_letter(rule: Any, target: Mapping[str, Any], event: Mapping[str, Any], code: str, message: str) -> bool:
    """Send an undelivered ``event`` to the target's dead-letter queue, as EventBridge does.

    The body is the event; the attributes are RULE_ARN, TARGET_ARN, ERROR_CODE and ERROR_MESSAGE
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html). False when the
    target has no DLQ or it cannot take the message (logged).
    """
    queue_arn = str((target.get("DeadLetterConfig") or {}).get("Arn") or "")
    queue = Arn.maybe(queue_arn)
    if queue is None or queue.service != "sqs":
        return False
    from moto.sqs.models import sqs_backends

    attributes = dead_letter_attributes(str(rule.arn), str(target.get("Arn", "")), code, message)
    try:
        sqs_backends[queue.account][queue.region].send_message(queue.resource, json.dumps(event),
                                                               message_attributes=attributes)
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
        if _service(target.get("Arn")) in ("lambda", "sns"):
            deliver_to_target(rule, target, event, ingestion_time)
            continue
        if original is None:
            from moto.events.models import Rule

            original = PATCHES.original(Rule, "send_to_targets") or Rule.send_to_targets
        _moto_deliver(original, rule, target, moto_event, transform_input)


def _moto_deliver(original: Any, rule: Any, target: Mapping[str, Any], moto_event: Mapping[str, Any],
                  transform_input: bool) -> None:
    from moto.events.models import EventPattern

    if _service(target.get("Arn")) == "states":
        from emulator.moto.stepfunctions import PATCHES as STATES  # heavy: imported on use

        STATES.apply()  # the execution runs our way

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


def _checked_put_events(original: Any) -> Any:
    def put_events(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(events) > 10 or not any(detail_is_malformed(e) for e in events):
            return original(self, events)
        accepted = iter(original(self, [e for e in events if not detail_is_malformed(e)]))
        return [dict(MALFORMED_DETAIL) if detail_is_malformed(e) else next(accepted) for e in events]

    return put_events


def _send_to_targets(original: Callable[..., None]) -> Callable[..., None]:
    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if rule_matches(self, original_event):
            dispatch_to_targets(self, original_event, original, transform_input)

    return send_to_targets


def _put_targets(original: Callable[..., None]) -> Callable[..., None]:
    from moto.events.exceptions import ValidationException

    def put_targets(self: Any, name: str, event_bus_arn: str | None, targets: list[dict[str, Any]]) -> None:
        for index, target in enumerate(targets, start=1):
            problem = validate_target(target, index)
            if problem:
                raise ValidationException(problem)
        return original(self, name, event_bus_arn, targets)

    return put_targets


def _put_rule(original: Callable[..., Any]) -> Callable[..., Any]:
    """PutRule's ScheduleExpression and EventPattern checked as AWS checks them."""
    from moto.events.exceptions import InvalidEventPatternException, ValidationException

    @functools.wraps(original)
    def put_rule(self: Any, *args: Any, **kwargs: Any) -> Any:
        expression = kwargs.get("scheduled_expression")
        problem = rule_expression_problem(expression) if expression else None
        if problem is not None:
            raise ValidationException(f"Parameter ScheduleExpression is not valid. {problem}")
        reason = event_pattern_problem(kwargs.get("event_pattern"))
        if reason is not None:
            raise InvalidEventPatternException(reason=reason)
        return original(self, *args, **kwargs)

    return put_rule


def _test_event_pattern(self: Any) -> tuple[str, dict[str, Any]]:
    from moto.events.exceptions import InvalidEventPatternException, ValidationException

    try:
        result = pattern_result(self._get_param("EventPattern"), self._get_param("Event"))
    except PatternError as exc:
        raise InvalidEventPatternException(reason=exc.reason) from None
    except EventNotValid as exc:
        raise ValidationException(str(exc)) from None
    return json.dumps({"Result": result}), self.response_headers


def _patches() -> Iterator[Patch]:
    import moto.events.models as models
    from moto.events.responses import EventsHandler

    yield Patch(models.Rule, "send_to_targets", _send_to_targets)
    yield Patch(models.EventsBackend, "put_targets", _put_targets)
    yield Patch(models.EventsBackend, "put_events", _checked_put_events)
    yield Patch(models.EventsBackend, "put_rule", _put_rule)
    yield Patch(EventsHandler, "test_event_pattern", replace_with(_test_event_pattern))


#: rule targets through us (Lambda, SNS) and moto (the rest); PutRule, PutTargets, PutEvents and
#: TestEventPattern as AWS answers them
PATCHES = PatchSet("events", _patches)
