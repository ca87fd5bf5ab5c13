"""SNS inside moto: ``lambda`` subscriptions delivered to our functions, filter policies matched
by our engine, and Subscribe / SetSubscriptionAttributes checked as SNS checks them.

Everything moto delivers goes through ``Subscription.publish`` (Publish, PublishBatch, S3 bucket
notifications, EventBridge SNS targets), so patching it for ``lambda`` subscriptions covers them
all; other protocols stay moto's. Filter policies (both ``FilterPolicyScope`` values) are
evaluated by :mod:`emulator.patterns.engine` for every protocol: moto's own matcher misses
``wildcard``, ``equals-ignore-case``, ``prefix``/``equals-ignore-case``, ``null`` values, nested
``exists: false`` and crashes on ``$or`` in body policies, and its validator rejects
``wildcard`` and ``cidr``. The event and the checks themselves are :mod:`emulator.push.sns`'s.

Subscribe is all or nothing, as on AWS: moto creates the subscription first and sets its
attributes one by one afterwards, so an invalid attribute used to leave a subscription behind
(without its filter). The patched Subscribe checks everything first and removes what moto made
if setting its attributes still fails.

A ``lambda`` subscription's ``RedrivePolicy`` is honoured: a message the async Invoke refuses
goes to that queue as the JSON notification an SQS subscriber gets.

This code runs in moto's threads, during the Publish (or the S3 / EventBridge call) that sent
the message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from emulator.domain.arn import Arn
from emulator.moto import delivery as moto_delivery
from emulator.moto.patching import Patch, PatchSet, replace_with
from emulator.patterns.engine import PatternError, sns_filter_matches
from emulator.push.sns import (
    SET_PREFIX,
    SUBSCRIBE_PREFIX,
    attributes_problem,
    changed_attributes,
    filter_policy_problem,
    lambda_endpoint_problem,
    notification,
    redrive_policy_problem,
    select_message,
    signer,
    sns_event,
    string_to_sign,
    timestamp,
)

log = logging.getLogger(__name__)


class _Matcher:
    """Stands in for moto's FilterPolicyMatcher: the same interface, our engine."""

    def __init__(self, filter_policy: dict[str, Any], filter_policy_scope: str | None) -> None:
        self.filter_policy = filter_policy
        self.filter_policy_scope = filter_policy_scope or "MessageAttributes"

    def matches(self, message_attributes: dict[str, Any] | None, message: str) -> bool:
        try:
            return sns_filter_matches(self.filter_policy, message_attributes, message, self.filter_policy_scope)
        except PatternError:
            return False


def _policy_passes(subscription: Any, message_attributes: dict[str, Any] | None, message: str) -> bool:
    policy = subscription.attributes.get("FilterPolicy")
    if not policy:
        return True
    scope = subscription.attributes.get("FilterPolicyScope") or "MessageAttributes"
    try:
        return sns_filter_matches(policy, message_attributes, message, scope)
    except PatternError as exc:
        log.warning("SNS subscription %s: unusable filter policy (%s); message dropped", subscription.arn, exc)
        return False


def deliver_to_lambda(subscription: Any, message: str, message_id: str, subject: str | None,
                      message_attributes: dict[str, Any] | None, message_structure: str | None) -> None:
    """Filter, shape and hand one message for a ``lambda`` subscription to the async Invoke."""
    from moto.sns.exceptions import InvalidParameterValue

    if message_structure == "json":
        try:
            message = select_message(message, "lambda")
        except ValueError as exc:
            raise InvalidParameterValue(str(exc)) from None
    if not _policy_passes(subscription, message_attributes, message):
        return
    topic_arn = subscription.topic.arn
    region = Arn.parse(topic_arn).region
    now = timestamp(datetime.now(UTC))
    signature = signer.sign(string_to_sign(message=message, message_id=message_id, subject=subject,
                                            timestamp=now, topic_arn=topic_arn))
    fields: dict[str, Any] = dict(
        subscription_arn=subscription.arn, topic_arn=topic_arn, message_id=message_id, message=message,
        subject=subject, message_attributes=message_attributes, timestamp=now, signature=signature,
        signing_cert_url=f"https://sns.{region}.amazonaws.com/{signer.cert_name}")
    refusal = moto_delivery.invoke_async(subscription.endpoint, json.dumps(sns_event(**fields)).encode("utf-8"),
                                             source=f"SNS topic {topic_arn}")
    if refusal is not None:
        dead_letter(subscription, notification(**fields))


def dead_letter(subscription: Any, body: Mapping[str, Any]) -> bool:
    """Send an undelivered notification to the subscription's RedrivePolicy queue; False when it
    has none or the queue cannot take it (logged: AWS counts NumberOfNotificationsFailedToRedriveToDlq)."""
    policy = subscription.attributes.get("RedrivePolicy")
    if not policy or redrive_policy_problem(policy) is not None:
        return False
    from moto.sqs.models import sqs_backends

    queue_arn = str((json.loads(policy) if isinstance(policy, str) else policy)["deadLetterTargetArn"])
    queue = Arn.parse(queue_arn)
    try:
        sqs_backends[queue.account][queue.region].send_message(queue.resource, json.dumps(body))
    except Exception as exc:  # noqa: BLE001 - the message is dropped, as AWS drops it
        log.warning("SNS subscription %s: could not send to the dead-letter queue %s: %s",
                    subscription.arn, queue_arn, exc)
        return False
    log.info("SNS subscription %s: undelivered message %s sent to %s", subscription.arn, body.get("MessageId"),
             queue_arn)
    return True


def _validate_filter_policy(value: Any, scope: str | None) -> None:
    from moto.sns.exceptions import SNSInvalidParameter

    problem = filter_policy_problem(value, scope)
    if problem is not None:
        raise SNSInvalidParameter(SET_PREFIX + problem)


def _checked_subscribe(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Subscribe, all or nothing: every attribute is checked before moto creates anything, and a
    subscription moto made is removed again if setting its attributes still fails."""
    from moto.sns.exceptions import SNSInvalidParameter

    def subscribe(self: Any) -> Any:
        protocol = str(self._get_param("Protocol") or "")
        endpoint = self._get_param("Endpoint")
        requested: dict[str, Any] = dict(self._get_param("Attributes", {}) or {})
        if protocol == "lambda":
            wrong_endpoint = lambda_endpoint_problem(endpoint)
            if wrong_endpoint is not None:
                raise SNSInvalidParameter(wrong_endpoint)
        problem = attributes_problem(requested, protocol)
        if problem is not None:
            raise SNSInvalidParameter(SUBSCRIBE_PREFIX + problem)
        existing = self.backend._find_subscription(self._get_param("TopicArn"), endpoint, protocol)
        if existing is not None and changed_attributes(existing.attributes, requested):
            raise SNSInvalidParameter(SUBSCRIBE_PREFIX + "Subscription already exists with different attributes")
        before = set(self.backend.subscriptions)
        try:
            return original(self)
        except Exception:
            for arn in set(self.backend.subscriptions) - before:
                self.backend.unsubscribe(arn)
            raise

    return subscribe


def _checked_set_attributes(original: Callable[..., None]) -> Callable[..., None]:
    """SetSubscriptionAttributes with SNS's checks, FilterPolicyScope values and scope changes included."""
    from moto.sns.exceptions import SNSInvalidParameter

    def set_subscription_attributes(self: Any, arn: str, name: str, value: Any) -> None:
        subscription = self.subscriptions.get(arn)
        if subscription is not None:
            problem = attributes_problem({name: value}, subscription.protocol, subscription.attributes)
            if problem is not None:
                raise SNSInvalidParameter(SET_PREFIX + problem)
        original(self, arn, name, value)

    return set_subscription_attributes


def _publish(original: Callable[..., None]) -> Callable[..., None]:
    def publish(self: Any, message: str, message_id: str, subject: str | None = None,
                message_attributes: dict[str, Any] | None = None, group_id: str | None = None,
                deduplication_id: str | None = None, message_structure: str | None = None) -> None:
        if self.protocol != "lambda":
            return original(self, message, message_id, subject=subject, message_attributes=message_attributes,
                            group_id=group_id, deduplication_id=deduplication_id,
                            message_structure=message_structure)
        deliver_to_lambda(self, message, message_id, subject, message_attributes, message_structure)
        return None

    return publish


def _patches() -> Iterator[Patch]:
    import moto.sns.models as models
    import moto.sns.responses as responses

    yield Patch(models.Subscription, "publish", _publish)
    yield Patch(models, "FilterPolicyMatcher", replace_with(_Matcher))
    yield Patch(models.SNSBackend, "_validate_filter_policy",
                replace_with(lambda self, value, scope: _validate_filter_policy(value, scope)))
    yield Patch(models.SNSBackend, "set_subscription_attributes", _checked_set_attributes)
    yield Patch(responses.SNSResponse, "subscribe", _checked_subscribe)


#: deliver ``lambda`` subscriptions ourselves; filter policies by our engine for every protocol;
#: Subscribe and SetSubscriptionAttributes checked as SNS checks them
PATCHES = PatchSet("sns", _patches)
