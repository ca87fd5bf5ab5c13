"""SNS -> Lambda: a ``lambda`` subscription invokes the function asynchronously with the SNS event.

AWS's shape ("Using Lambda with Amazon SNS",
https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html)::

    {"Records": [{"EventVersion": "1.0", "EventSubscriptionArn": ..., "EventSource": "aws:sns",
                  "Sns": {"Type": "Notification", "MessageId", "TopicArn", "Subject" (null when none),
                          "Message", "Timestamp" (ISO, ms, Z), "SignatureVersion": "1", "Signature",
                          "SigningCertUrl", "UnsubscribeUrl",
                          "MessageAttributes": {name: {"Type", "Value"}}}}]}

One record per delivery. ``Signature`` is a real SHA1withRSA signature (SignatureVersion 1) of
the canonical string SNS signs, made with a key of this process: its certificate URL names
sns.amazonaws.com as AWS's does, so code that fetches it to verify cannot do so locally.

Everything moto delivers goes through ``Subscription.publish`` (Publish, PublishBatch, S3 bucket
notifications, EventBridge SNS targets), so patching it for ``lambda`` subscriptions covers them
all; other protocols stay moto's. Filter policies (both ``FilterPolicyScope`` values) are
evaluated by :mod:`emulator.event_sources.filtering` for every protocol: moto's own matcher
misses ``wildcard``, ``equals-ignore-case``, ``prefix``/``equals-ignore-case``, ``null`` values,
nested ``exists: false`` and crashes on ``$or`` in body policies, and its validator rejects
``wildcard`` and ``cidr``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
from datetime import datetime, timezone
from typing import Any, Mapping

from .filtering import PatternError, compile_pattern, sns_filter_matches, validate_sns_filter_policy

log = logging.getLogger(__name__)

__all__ = ["sns_event", "select_message", "string_to_sign", "timestamp", "filter_policy_complexity",
           "patch_moto"]

_MAX_POLICY_KEYS = 5
_MAX_POLICY_COMBINATIONS = 150


# --------------------------------------------------------------------------- the event (pure)


def timestamp(moment: datetime) -> str:
    """SNS's Timestamp: ISO 8601 in UTC with milliseconds, ``2019-01-02T12:45:07.000Z``."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def string_to_sign(*, message: str, message_id: str, subject: str | None, timestamp: str,
                   topic_arn: str) -> str:
    """The canonical text SNS signs for a Notification (Subject only when there is one)."""
    fields = [("Message", message), ("MessageId", message_id)]
    if subject is not None:
        fields.append(("Subject", subject))
    fields += [("Timestamp", timestamp), ("TopicArn", topic_arn), ("Type", "Notification")]
    return "".join(f"{name}\n{value}\n" for name, value in fields)


def sns_event(*, subscription_arn: str, topic_arn: str, message_id: str, message: str,
              subject: str | None, message_attributes: Mapping[str, Mapping[str, Any]] | None,
              timestamp: str, signature: str, signing_cert_url: str) -> dict[str, Any]:
    """The event a Lambda function subscribed to a topic receives for one message.

    ``message_attributes`` are in the notification shape ``{name: {"Type", "Value"}}`` (moto
    already base64-encodes Binary values); every Value is passed on as a string.
    """
    region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else "us-east-1"
    attributes = {
        name: {"Type": str(attribute.get("Type", "String")), "Value": _text(attribute.get("Value"))}
        for name, attribute in (message_attributes or {}).items()
    }
    return {"Records": [{
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "EventSource": "aws:sns",
        "Sns": {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": topic_arn,
            "Subject": subject,
            "Message": message,
            "Timestamp": timestamp,
            "SignatureVersion": "1",
            "Signature": signature,
            "SigningCertUrl": signing_cert_url,
            "UnsubscribeUrl": (f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe"
                               f"&SubscriptionArn={subscription_arn}"),
            "MessageAttributes": attributes,
        },
    }]}


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value if isinstance(value, str) else json.dumps(value)


def select_message(message: str, protocol: str = "lambda") -> str:
    """The message a ``protocol`` subscriber gets when Publish had ``MessageStructure: json``.

    Raises ValueError with SNS's reason when the structure is unusable.
    """
    try:
        structure = json.loads(message)
    except ValueError:
        raise ValueError("Invalid parameter: Message Structure - JSON message body failed to parse") from None
    if not isinstance(structure, dict) or "default" not in structure:
        raise ValueError("Invalid parameter: Message Structure - No default entry in JSON message body")
    chosen = structure.get(protocol, structure["default"])
    return chosen if isinstance(chosen, str) else json.dumps(chosen)


def filter_policy_complexity(policy: Mapping[str, Any] | str) -> int:
    """SNS's "total combination of values" of a (valid) filter policy.

    Leaf value lists multiply, nested objects multiply, ``$or`` branches add up.
    """
    return _combinations(compile_pattern(policy).pattern)


def _combinations(node: Mapping[str, Any]) -> int:
    total = 1
    for key, value in node.items():
        if key == "$or":
            total *= sum(_combinations(branch) for branch in value)
        elif isinstance(value, Mapping):
            total *= _combinations(value)
        else:
            total *= len(value)
    return total


# --------------------------------------------------------------------------- signing


class _Signer:
    """One RSA key per process, made on first use (~0.1 s), to sign notifications."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: Any = None
        self.cert_name = ""

    def sign(self, text: str) -> str:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        with self._lock:
            if self._key is None:
                self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                public = self._key.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
                self.cert_name = f"SimpleNotificationService-{hashlib.md5(public).hexdigest()}.pem"
        signature = self._key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA1())
        return base64.b64encode(signature).decode("ascii")


_signer = _Signer()


# --------------------------------------------------------------------------- moto


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

    from emulator.aws import moto_integrations

    if message_structure == "json":
        try:
            message = select_message(message, "lambda")
        except ValueError as exc:
            raise InvalidParameterValue(str(exc)) from None
    if not _policy_passes(subscription, message_attributes, message):
        return
    topic_arn = subscription.topic.arn
    region = topic_arn.split(":")[3]
    now = timestamp(datetime.now(timezone.utc))
    signature = _signer.sign(string_to_sign(message=message, message_id=message_id, subject=subject,
                                            timestamp=now, topic_arn=topic_arn))
    event = sns_event(
        subscription_arn=subscription.arn, topic_arn=topic_arn, message_id=message_id, message=message,
        subject=subject, message_attributes=message_attributes, timestamp=now, signature=signature,
        signing_cert_url=f"https://sns.{region}.amazonaws.com/{_signer.cert_name}")
    moto_integrations.deliver(subscription.endpoint, json.dumps(event).encode("utf-8"),
                              source=f"SNS topic {topic_arn}")


def _validate_filter_policy(value: Any, scope: str | None) -> None:
    from moto.sns.exceptions import SNSInvalidParameter

    try:
        policy = validate_sns_filter_policy(value, scope or "MessageAttributes")
    except PatternError as exc:
        raise SNSInvalidParameter(exc.sns_message) from None
    if len(policy) > _MAX_POLICY_KEYS:
        raise SNSInvalidParameter("Invalid parameter: FilterPolicy: Filter policy can not have more than 5 keys")
    if _combinations(policy) > _MAX_POLICY_COMBINATIONS:
        raise SNSInvalidParameter("Invalid parameter: FilterPolicy: Filter policy is too complex")


def patch_moto() -> None:
    """Deliver ``lambda`` subscriptions ourselves; filter policies by our engine for every protocol."""
    import moto.sns.models as models

    original = models.Subscription.publish
    if getattr(original, "_cloudmicro", False):
        return

    def publish(self: Any, message: str, message_id: str, subject: str | None = None,
                message_attributes: dict[str, Any] | None = None, group_id: str | None = None,
                deduplication_id: str | None = None, message_structure: str | None = None) -> None:
        if self.protocol != "lambda":
            return original(self, message, message_id, subject=subject, message_attributes=message_attributes,
                            group_id=group_id, deduplication_id=deduplication_id,
                            message_structure=message_structure)
        deliver_to_lambda(self, message, message_id, subject, message_attributes, message_structure)
        return None

    publish._cloudmicro = True  # type: ignore[attr-defined]
    models.Subscription.publish = publish  # type: ignore[method-assign]
    models.FilterPolicyMatcher = _Matcher  # type: ignore[misc,assignment]
    models.SNSBackend._validate_filter_policy = (  # type: ignore[method-assign]
        lambda self, value, scope: _validate_filter_policy(value, scope))
