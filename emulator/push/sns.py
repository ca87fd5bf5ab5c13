"""SNS -> Lambda: the event a ``lambda`` subscription sends, the notification, and SNS's subscription checks.

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

SNS's checks, with SNS's messages ("Invalid parameter: Attributes Reason: FilterPolicy: ...",
"... FilterPolicyScope: Invalid value [x]. Please use either MessageBody or MessageAttributes", a
policy that is not JSON, raw delivery on a ``lambda`` subscription, "Subscription already
exists with different attributes"; a ``lambda`` endpoint must be a function ARN: "Invalid
parameter: Lambda endpoint ARN"). SetSubscriptionAttributes gets the same checks (prefix
"Invalid parameter: "), and changing ``FilterPolicyScope`` re-checks the policy in force
against the new scope. :mod:`emulator.moto.sns` applies all of this inside moto.

A ``lambda`` subscription's ``RedrivePolicy`` (``{"deadLetterTargetArn": <queue ARN>}``) is
honoured: a message the async Invoke refuses (the function was deleted: a "client-side error",
https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html) goes to that queue as the
JSON notification an SQS subscriber gets (:func:`notification`). AWS retries server-side errors
for days before that; here a refusal is final, so the queue gets it at once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from emulator.domain import json_text
from emulator.domain.arn import Arn
from emulator.patterns.engine import (
    PatternError,
    compile_pattern,
    validate_sns_filter_policy,
)

log = logging.getLogger(__name__)

__all__ = [
    "SET_PREFIX",
    "SUBSCRIBE_PREFIX",
    "attributes_problem",
    "filter_policy_complexity",
    "filter_policy_problem",
    "lambda_endpoint_problem",
    "notification",
    "redrive_policy_problem",
    "select_message",
    "sns_event",
    "string_to_sign",
    "timestamp",
]

_MAX_POLICY_KEYS = 5
_MAX_POLICY_COMBINATIONS = 150

#: how SNS words an InvalidParameter: Subscribe names its Attributes, SetSubscriptionAttributes does not
SUBSCRIBE_PREFIX = "Invalid parameter: Attributes Reason: "
SET_PREFIX = "Invalid parameter: "
ATTRIBUTE_NAMES = frozenset({"RawMessageDelivery", "DeliveryPolicy", "FilterPolicy", "FilterPolicyScope",
                             "RedrivePolicy", "SubscriptionRoleArn"})
SCOPES = ("MessageAttributes", "MessageBody")
_LAMBDA_FUNCTION_ARN = re.compile(
    r"arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?")
_SQS_QUEUE_ARN = re.compile(r"arn:aws[a-zA-Z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,75}(\.fifo)?")


# --------------------------------------------------------------------------- the event (pure)


def timestamp(moment: datetime) -> str:
    """SNS's Timestamp: ISO 8601 in UTC with milliseconds, ``2019-01-02T12:45:07.000Z``."""
    moment = moment.astimezone(UTC)
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
    region = _region(topic_arn)
    attributes = _attributes(message_attributes)
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


def notification(*, topic_arn: str, subscription_arn: str, message_id: str, message: str, subject: str | None,
                 message_attributes: Mapping[str, Mapping[str, Any]] | None, timestamp: str, signature: str,
                 signing_cert_url: str) -> dict[str, Any]:
    """The JSON notification SNS sends to SQS and HTTP subscribers (and to a dead-letter queue):
    ``Subject`` and ``MessageAttributes`` only when there are some, ``...URL`` spelled in capitals."""
    region = _region(topic_arn)
    body: dict[str, Any] = {"Type": "Notification", "MessageId": message_id, "TopicArn": topic_arn}
    if subject is not None:
        body["Subject"] = subject
    body.update({
        "Message": message,
        "Timestamp": timestamp,
        "SignatureVersion": "1",
        "Signature": signature,
        "SigningCertURL": signing_cert_url,
        "UnsubscribeURL": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}",
    })
    if message_attributes:
        body["MessageAttributes"] = _attributes(message_attributes)
    return body


def _region(topic_arn: str) -> str:
    arn = Arn.maybe(topic_arn)
    return arn.region if arn is not None and arn.region else "us-east-1"


def _attributes(message_attributes: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, str]]:
    return {name: {"Type": str(attribute.get("Type", "String")), "Value": _text(attribute.get("Value"))}
            for name, attribute in (message_attributes or {}).items()}


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value if isinstance(value, str) else json.dumps(value)


def select_message(message: str, protocol: str = "lambda") -> str:
    """The message a ``protocol`` subscriber gets when Publish had ``MessageStructure: json``.

    Raises ValueError with SNS's reason when the structure is unusable.
    """
    try:
        structure = json_text.loads(message)
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


# --------------------------------------------------------------------------- subscription checks (pure)


def lambda_endpoint_problem(endpoint: str | None) -> str | None:
    """SNS's message when a ``lambda`` subscription's endpoint is not a function ARN, or None."""
    if endpoint and _LAMBDA_FUNCTION_ARN.fullmatch(endpoint):
        return None
    return "Invalid parameter: Lambda endpoint ARN"


def filter_policy_problem(policy: Any, scope: str | None) -> str | None:
    """Why ``policy`` (JSON text) is refused for ``scope``: the reason after "Invalid parameter: ", or None."""
    try:
        parsed = json_text.loads(policy) if isinstance(policy, (str, bytes)) else policy
    except ValueError:
        return "FilterPolicy: failed to parse JSON."
    try:
        checked = validate_sns_filter_policy(parsed, scope or "MessageAttributes")
    except PatternError as exc:
        return "FilterPolicy: " + exc.reason
    if len(checked) > _MAX_POLICY_KEYS:
        return "FilterPolicy: Filter policy can not have more than 5 keys"
    if _combinations(checked) > _MAX_POLICY_COMBINATIONS:
        return "FilterPolicy: Filter policy is too complex"
    return None


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def attributes_problem(changes: Mapping[str, Any], protocol: str,
                       current: Mapping[str, Any] | None = None) -> str | None:
    """Why setting ``changes`` on a ``protocol`` subscription (now holding ``current``) is refused.

    The reason after SNS's prefix ("Invalid parameter: " or, for Subscribe, "Invalid parameter:
    Attributes Reason: "), or None. A new ``FilterPolicyScope`` re-checks the policy in force.
    """
    current = current or {}
    for name, value in changes.items():
        if name not in ATTRIBUTE_NAMES:
            return "AttributeName"
        if name == "FilterPolicyScope" and value not in SCOPES:
            return f"FilterPolicyScope: Invalid value [{value}]. Please use either MessageBody or MessageAttributes"
        if name == "RawMessageDelivery":
            if isinstance(value, str) and value.lower() not in ("true", "false"):
                return f"RawMessageDelivery: Invalid value [{value}]. Must be true or false."
            if protocol == "lambda" and _is_true(value):
                return "Delivery protocol [lambda] does not support raw message delivery."
        if name == "RedrivePolicy" and value:
            problem = redrive_policy_problem(value)
            if problem is not None:
                return problem
    if "FilterPolicy" not in changes and "FilterPolicyScope" not in changes:
        return None
    policy = changes.get("FilterPolicy", current.get("FilterPolicy"))
    if not policy:
        return None
    return filter_policy_problem(policy, changes.get("FilterPolicyScope", current.get("FilterPolicyScope")))


def redrive_policy_problem(value: Any) -> str | None:
    """What is wrong with a RedrivePolicy (after SNS's prefix), or None."""
    try:
        policy = json_text.loads(value) if isinstance(value, str) else value
    except ValueError:
        policy = None
    if not isinstance(policy, dict):
        return "RedrivePolicy: failed to parse JSON."
    target = policy.get("deadLetterTargetArn")
    if not isinstance(target, str) or not _SQS_QUEUE_ARN.fullmatch(target):
        return "RedrivePolicy: deadLetterTargetArn is an invalid arn"
    return None


def _same_value(name: str, old: Any, new: Any) -> bool:
    if name == "RawMessageDelivery":
        return _is_true(old) == _is_true(new)
    if name in ("FilterPolicy", "DeliveryPolicy", "RedrivePolicy"):
        try:
            return bool(json_text.loads(old) == json_text.loads(new))
        except (TypeError, ValueError):
            pass
    return old == new


def changed_attributes(existing: Mapping[str, Any], requested: Mapping[str, Any]) -> list[str]:
    """The requested attributes an existing subscription holds with another value."""
    return [name for name, value in requested.items()
            if not _same_value(name, existing.get(name, "MessageAttributes" if name == "FilterPolicyScope"
                                                   else None), value)]


# --------------------------------------------------------------------------- signing


class Signer:
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


#: the key every notification of this process is signed with
signer = Signer()
