"""SNS -> Lambda: the event builder, MessageStructure, filter policy checks, and the moto patch
driven in-process (moto's SNS backend, ``invoke_async`` replaced by a recorder).

The event shape is AWS's sample in "Using Lambda with Amazon SNS",
https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from emulator.moto import sns as sns_glue
from emulator.push import sns

TOPIC = "arn:aws:sns:us-east-2:123456789012:sns-lambda"
SUBSCRIPTION = TOPIC + ":21be56ed-a058-49f5-8c98-aedd2564c486"


def build(**overrides: Any) -> dict:
    fields: dict[str, Any] = dict(
        subscription_arn=SUBSCRIPTION, topic_arn=TOPIC, message_id="95df01b4-ee98-5cb9-9903-4c221d41eb5e",
        message="Hello from SNS!", subject="TestInvoke",
        message_attributes={"Test": {"Type": "String", "Value": "TestString"},
                            "TestBinary": {"Type": "Binary", "Value": "VGVzdEJpbmFyeQ=="}},
        timestamp="2019-01-02T12:45:07.000Z", signature="c2ln",
        signing_cert_url="https://sns.us-east-2.amazonaws.com/SimpleNotificationService-ac56.pem")
    fields.update(overrides)
    return sns.sns_event(**fields)


def test_event_has_the_documented_shape():
    event = build()
    [record] = event["Records"]
    assert set(record) == {"EventVersion", "EventSubscriptionArn", "EventSource", "Sns"}
    assert record["EventVersion"] == "1.0" and record["EventSource"] == "aws:sns"
    assert record["EventSubscriptionArn"] == SUBSCRIPTION
    assert record["Sns"] == {
        "Type": "Notification",
        "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
        "TopicArn": TOPIC,
        "Subject": "TestInvoke",
        "Message": "Hello from SNS!",
        "Timestamp": "2019-01-02T12:45:07.000Z",
        "SignatureVersion": "1",
        "Signature": "c2ln",
        "SigningCertUrl": "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-ac56.pem",
        "UnsubscribeUrl": f"https://sns.us-east-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={SUBSCRIPTION}",
        "MessageAttributes": {"Test": {"Type": "String", "Value": "TestString"},
                              "TestBinary": {"Type": "Binary", "Value": "VGVzdEJpbmFyeQ=="}},
    }


def test_no_subject_is_null_and_no_attributes_is_an_empty_object():
    sns_record = build(subject=None, message_attributes=None)["Records"][0]["Sns"]
    assert sns_record["Subject"] is None and sns_record["MessageAttributes"] == {}
    assert json.loads(json.dumps(build(subject=None)))["Records"][0]["Sns"]["Subject"] is None


def test_attribute_values_are_strings():
    attributes = build(message_attributes={
        "n": {"Type": "Number", "Value": "12.5"},
        "a": {"Type": "String.Array", "Value": '["x", 1]'},
        "b": {"Type": "Binary", "Value": b"\x00\x01"},
    })["Records"][0]["Sns"]["MessageAttributes"]
    assert attributes == {"n": {"Type": "Number", "Value": "12.5"}, "a": {"Type": "String.Array", "Value": '["x", 1]'},
                          "b": {"Type": "Binary", "Value": "AAE="}}


def test_timestamp_is_iso_with_milliseconds_in_utc():
    moment = datetime(2019, 1, 2, 12, 45, 7, 123456, tzinfo=UTC)
    assert sns.timestamp(moment) == "2019-01-02T12:45:07.123Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", sns.timestamp(datetime.now(UTC)))


def test_string_to_sign_names_subject_only_when_there_is_one():
    with_subject = sns.string_to_sign(message="m", message_id="i", subject="s", timestamp="t", topic_arn="a")
    assert with_subject == "Message\nm\nMessageId\ni\nSubject\ns\nTimestamp\nt\nTopicArn\na\nType\nNotification\n"
    assert "Subject" not in sns.string_to_sign(message="m", message_id="i", subject=None, timestamp="t", topic_arn="a")


def test_signature_is_sha1_with_rsa_over_the_canonical_string():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    text = sns.string_to_sign(message="m", message_id="i", subject=None, timestamp="t", topic_arn="a")
    signature = base64.b64decode(sns.signer.sign(text))
    sns.signer._key.public_key().verify(signature, text.encode(), padding.PKCS1v15(), hashes.SHA1())
    assert re.fullmatch(r"SimpleNotificationService-[0-9a-f]{32}\.pem", sns.signer.cert_name)


def test_message_structure_json_picks_lambda_then_default():
    assert sns.select_message(json.dumps({"default": "d", "lambda": "l", "sqs": "q"})) == "l"
    assert sns.select_message(json.dumps({"default": "d", "sqs": "q"})) == "d"
    with pytest.raises(ValueError, match="No default entry"):
        sns.select_message(json.dumps({"lambda": "l"}))
    with pytest.raises(ValueError, match="failed to parse"):
        sns.select_message("not json")


def test_filter_policy_complexity_multiplies_values_and_adds_or_branches():
    assert sns.filter_policy_complexity({"a": ["x", "y"], "b": [1, 2, 3]}) == 6
    assert sns.filter_policy_complexity({"a": {"b": ["x", "y"]}, "c": ["z"]}) == 2
    assert sns.filter_policy_complexity({"$or": [{"a": ["x"]}, {"b": ["y", "z"]}]}) == 3


# --------------------------------------------------------------------------- the moto patch, in process


@pytest.fixture
def delivered(monkeypatch) -> list[tuple[str, dict, str]]:
    from emulator.moto import delivery as moto_delivery

    sns_glue.PATCHES.apply()
    got: list[tuple[str, dict, str]] = []
    monkeypatch.setattr(moto_delivery, "invoke_async",
                        lambda arn, payload, source: got.append((arn, json.loads(payload), source)))
    return got


@pytest.fixture
def backend():
    from moto.sns.models import sns_backends

    return sns_backends["123456789012"]["us-east-1"]


FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:recorder"


def topic(backend) -> str:
    return backend.create_topic(f"unit-{uuid.uuid4().hex[:8]}").arn


def test_publish_delivers_one_event_per_lambda_subscription(backend, delivered):
    arn = topic(backend)
    subscription = backend.subscribe(arn, FUNCTION, "lambda")
    message_id = backend.publish("hello", arn=arn, subject="greeting",
                                 message_attributes={"k": {"Type": "String", "Value": "v"}})
    [(target, event, source)] = delivered
    assert target == FUNCTION and source == f"SNS topic {arn}"
    record = event["Records"][0]
    assert record["EventSubscriptionArn"] == subscription.arn
    assert record["Sns"]["MessageId"] == message_id and record["Sns"]["Subject"] == "greeting"
    assert record["Sns"]["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}


def test_filter_policies_use_our_engine(backend, delivered):
    arn = topic(backend)
    subscription = backend.subscribe(arn, FUNCTION, "lambda")
    backend.set_subscription_attributes(subscription.arn, "FilterPolicy",
                                        json.dumps({"color": [{"wildcard": "r*d"}]}))
    backend.publish("no", arn=arn, message_attributes={"color": {"Type": "String", "Value": "blue"}})
    backend.publish("yes", arn=arn, message_attributes={"color": {"Type": "String", "Value": "rusted"}})
    assert [e["Records"][0]["Sns"]["Message"] for _, e, _ in delivered] == ["yes"]


def test_body_scope_policy_with_or(backend, delivered):
    arn = topic(backend)
    subscription = backend.subscribe(arn, FUNCTION, "lambda")
    backend.set_subscription_attributes(subscription.arn, "FilterPolicyScope", "MessageBody")
    backend.set_subscription_attributes(subscription.arn, "FilterPolicy", json.dumps(
        {"$or": [{"kind": ["a"]}, {"order": {"total": [{"numeric": [">", 100]}]}}]}))
    for body in ({"kind": "b"}, {"order": {"total": 150}}, {"kind": "a"}, {"order": {"total": 5}}):
        backend.publish(json.dumps(body), arn=arn)
    assert [json.loads(e["Records"][0]["Sns"]["Message"]) for _, e, _ in delivered] == [
        {"order": {"total": 150}}, {"kind": "a"}]


def test_invalid_policies_are_refused_with_sns_messages(backend, delivered):
    from moto.sns.exceptions import SNSInvalidParameter

    arn = topic(backend)
    subscription = backend.subscribe(arn, FUNCTION, "lambda")
    with pytest.raises(SNSInvalidParameter, match="does not support nested filter policy"):
        backend.set_subscription_attributes(subscription.arn, "FilterPolicy", json.dumps({"a": {"b": ["c"]}}))
    with pytest.raises(SNSInvalidParameter, match="more than 5 keys"):
        backend.set_subscription_attributes(subscription.arn, "FilterPolicy",
                                            json.dumps({k: ["x"] for k in "abcdef"}))
    with pytest.raises(SNSInvalidParameter, match="too complex"):
        backend.set_subscription_attributes(subscription.arn, "FilterPolicy", json.dumps(
            {"a": list(range(10)), "b": list(range(16))}))
    with pytest.raises(SNSInvalidParameter, match="Invalid parameter: FilterPolicy: "):
        backend.set_subscription_attributes(subscription.arn, "FilterPolicy", json.dumps({"a": []}))


def test_other_protocols_filter_with_our_engine_too(backend, delivered):
    from moto.sqs.models import sqs_backends

    sqs = sqs_backends["123456789012"]["us-east-1"]
    queue = sqs.create_queue(f"unit-{uuid.uuid4().hex[:8]}")
    arn = topic(backend)
    subscription = backend.subscribe(arn, queue.queue_arn, "sqs")
    backend.set_subscription_attributes(subscription.arn, "FilterPolicy",
                                        json.dumps({"color": [{"equals-ignore-case": "RED"}]}))
    backend.publish("in", arn=arn, message_attributes={"color": {"Type": "String", "Value": "red"}})
    backend.publish("out", arn=arn, message_attributes={"color": {"Type": "String", "Value": "blue"}})
    bodies = [json.loads(m.body)["Message"] for m in sqs.receive_message(queue.name, 10, 0, 0)]
    assert bodies == ["in"] and delivered == []


def test_message_structure_json_and_unsubscribe(backend, delivered):
    arn = topic(backend)
    subscription = backend.subscribe(arn, FUNCTION, "lambda")
    backend.publish(json.dumps({"default": "d", "lambda": "for lambda"}), arn=arn, message_structure="json")
    backend.unsubscribe(subscription.arn)
    backend.publish("after", arn=arn)
    assert [e["Records"][0]["Sns"]["Message"] for _, e, _ in delivered] == ["for lambda"]


def test_publish_batch_delivers_each_entry(backend, delivered):
    arn = topic(backend)
    backend.subscribe(arn, FUNCTION, "lambda")
    successful, failed = backend.publish_batch(arn, [
        {"Id": "1", "Message": "one"}, {"Id": "2", "Message": "two", "Subject": "s"}])
    assert not failed
    records = [e["Records"][0]["Sns"] for _, e, _ in delivered]
    assert [(r["Message"], r["Subject"]) for r in records] == [("one", None), ("two", "s")]
    assert [r["MessageId"] for r in records] == [s["MessageId"] for s in successful]


# --------------------------------------------------------------------------- subscription checks (pure)


@pytest.mark.parametrize("endpoint", [
    FUNCTION, FUNCTION + ":$LATEST", FUNCTION + ":live", "arn:aws-cn:lambda:cn-north-1:123456789012:function:f"])
def test_lambda_endpoints_must_be_function_arns(endpoint):
    assert sns.lambda_endpoint_problem(endpoint) is None


@pytest.mark.parametrize("endpoint", [
    None, "", "recorder", "arn:aws:sqs:us-east-1:123456789012:q", "arn:aws:lambda:us-east-1:123456789012:layer:x",
    "arn:aws:lambda:us-east-1:1234:function:short-account", FUNCTION + " "])
def test_other_lambda_endpoints_are_refused(endpoint):
    assert sns.lambda_endpoint_problem(endpoint) == "Invalid parameter: Lambda endpoint ARN"


def test_filter_policy_problems_name_the_reason():
    assert sns.filter_policy_problem('{"a": ["b"]}', "MessageAttributes") is None
    assert sns.filter_policy_problem('{not json', None) == "FilterPolicy: failed to parse JSON."
    assert sns.filter_policy_problem('{"a": [{"prefix": 5}]}', None).startswith("FilterPolicy: ")
    nested = json.dumps({"a": {"b": ["c"]}})
    assert sns.filter_policy_problem(nested, "MessageBody") is None
    assert sns.filter_policy_problem(nested, "MessageAttributes") == (
        "FilterPolicy: Filter policy scope MessageAttributes does not support nested filter policy")
    assert sns.filter_policy_problem("[1]", None) == "FilterPolicy: Filter is not an object"


def test_attribute_problems():
    assert sns.attributes_problem({}, "lambda") is None
    assert sns.attributes_problem({"FilterPolicyScope": "Body"}, "sqs") == (
        "FilterPolicyScope: Invalid value [Body]. Please use either MessageBody or MessageAttributes")
    assert sns.attributes_problem({"Nope": "1"}, "sqs") == "AttributeName"
    assert sns.attributes_problem({"RawMessageDelivery": "yes"}, "sqs") == (
        "RawMessageDelivery: Invalid value [yes]. Must be true or false.")
    assert sns.attributes_problem({"RawMessageDelivery": "true"}, "sqs") is None
    assert sns.attributes_problem({"RawMessageDelivery": True}, "lambda") == (
        "Delivery protocol [lambda] does not support raw message delivery.")
    assert sns.attributes_problem({"RawMessageDelivery": "false"}, "lambda") is None
    # the policy is checked against the scope given with it, in whichever order they come
    nested = json.dumps({"a": {"b": ["c"]}})
    assert sns.attributes_problem({"FilterPolicy": nested, "FilterPolicyScope": "MessageBody"}, "lambda") is None
    assert sns.attributes_problem({"FilterPolicy": nested}, "lambda").endswith("does not support nested filter policy")


def test_a_new_scope_rechecks_the_policy_in_force():
    nested = {"FilterPolicy": json.dumps({"a": {"b": ["c"]}}), "FilterPolicyScope": "MessageBody"}
    problem = sns.attributes_problem({"FilterPolicyScope": "MessageAttributes"}, "lambda", nested)
    assert problem == "FilterPolicy: Filter policy scope MessageAttributes does not support nested filter policy"
    flat = {"FilterPolicy": json.dumps({"a": ["b"]})}
    assert sns.attributes_problem({"FilterPolicyScope": "MessageBody"}, "lambda", flat) is None
    # a new policy is checked against the scope in force
    assert sns.attributes_problem({"FilterPolicy": json.dumps({"a": {"b": ["c"]}})}, "lambda",
                                  {"FilterPolicyScope": "MessageBody"}) is None


def test_changed_attributes_compare_values_not_spelling():
    existing = {"RawMessageDelivery": False, "FilterPolicy": '{"a": ["b"]}'}
    assert sns.changed_attributes(existing, {}) == []
    assert sns.changed_attributes(existing, {"FilterPolicy": '{"a":["b"]}', "RawMessageDelivery": "false",
                                             "FilterPolicyScope": "MessageAttributes"}) == []
    assert sns.changed_attributes(existing, {"FilterPolicy": '{"a": ["c"]}'}) == ["FilterPolicy"]
    assert sns.changed_attributes(existing, {"FilterPolicyScope": "MessageBody"}) == ["FilterPolicyScope"]


def test_set_subscription_attributes_checks_scope_values_and_scope_changes(backend, delivered):
    from moto.sns.exceptions import SNSInvalidParameter

    arn = topic(backend)
    subscription = backend.subscribe(arn, FUNCTION, "lambda")
    with pytest.raises(SNSInvalidParameter, match=r"Invalid parameter: FilterPolicyScope: Invalid value \[Body\]"):
        backend.set_subscription_attributes(subscription.arn, "FilterPolicyScope", "Body")
    assert "FilterPolicyScope" not in subscription.attributes
    with pytest.raises(SNSInvalidParameter, match=r"Invalid parameter: FilterPolicy: failed to parse JSON\."):
        backend.set_subscription_attributes(subscription.arn, "FilterPolicy", "{not json")
    backend.set_subscription_attributes(subscription.arn, "FilterPolicyScope", "MessageBody")
    backend.set_subscription_attributes(subscription.arn, "FilterPolicy", json.dumps({"a": {"b": ["c"]}}))
    with pytest.raises(SNSInvalidParameter, match="does not support nested filter policy"):
        backend.set_subscription_attributes(subscription.arn, "FilterPolicyScope", "MessageAttributes")
    assert subscription.attributes["FilterPolicyScope"] == "MessageBody"


# --------------------------------------------------------------------------- RedrivePolicy


def test_the_notification_is_what_an_sqs_subscriber_gets():
    fields: dict[str, Any] = dict(
        subscription_arn=SUBSCRIPTION, topic_arn=TOPIC, message_id="m-1", message="hi", subject=None,
        message_attributes=None, timestamp="2019-01-02T12:45:07.000Z", signature="c2ln",
        signing_cert_url="https://sns.us-east-2.amazonaws.com/SimpleNotificationService-ac56.pem")
    body = sns.notification(**fields)
    assert list(body) == ["Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion", "Signature",
                          "SigningCertURL", "UnsubscribeURL"]  # no Subject, no MessageAttributes when none
    assert body["UnsubscribeURL"] == (
        f"https://sns.us-east-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={SUBSCRIPTION}")
    fields.update(subject="s", message_attributes={"n": {"Type": "Number", "Value": 5}})
    body = sns.notification(**fields)
    assert body["Subject"] == "s" and body["MessageAttributes"] == {"n": {"Type": "Number", "Value": "5"}}


def test_redrive_policy_problems():
    queue = "arn:aws:sqs:us-east-1:123456789012:dlq"
    assert sns.redrive_policy_problem(json.dumps({"deadLetterTargetArn": queue})) is None
    assert sns.redrive_policy_problem(json.dumps({"deadLetterTargetArn": queue + ".fifo"})) is None
    assert sns.redrive_policy_problem("{nope") == "RedrivePolicy: failed to parse JSON."
    assert sns.redrive_policy_problem("[]") == "RedrivePolicy: failed to parse JSON."
    for wrong in ({}, {"deadLetterTargetArn": "dlq"}, {"deadLetterTargetArn": FUNCTION}):
        assert sns.redrive_policy_problem(json.dumps(wrong)) == "RedrivePolicy: deadLetterTargetArn is an invalid arn"
    assert sns.attributes_problem({"RedrivePolicy": "{nope"}, "lambda") == "RedrivePolicy: failed to parse JSON."
    assert sns.attributes_problem({"RedrivePolicy": ""}, "lambda") is None  # clears it


def test_a_refused_delivery_goes_to_the_redrive_queue(backend, monkeypatch):
    from moto.sqs.models import sqs_backends

    from emulator.moto import delivery as moto_delivery

    sns_glue.PATCHES.apply()
    refused = moto_delivery.Refusal(404, "ResourceNotFoundException", "Function not found")
    outcome: list[Any] = [refused]
    monkeypatch.setattr(moto_delivery, "invoke_async", lambda arn, payload, source: outcome[0])
    queues = sqs_backends["123456789012"]["us-east-1"]
    name = f"dlq-{uuid.uuid4().hex[:8]}"
    queue_arn = queues.create_queue(name).queue_arn
    arn = topic(backend)
    subscription = backend.subscribe(arn, FUNCTION, "lambda")
    backend.publish("lost", arn=arn)  # no RedrivePolicy yet: dropped
    backend.set_subscription_attributes(subscription.arn, "RedrivePolicy", json.dumps({"deadLetterTargetArn": queue_arn}))
    message_id = backend.publish("kept", arn=arn, subject="s")
    outcome[0] = None
    backend.publish("delivered", arn=arn)  # accepted by Invoke: not dead-lettered
    [message] = queues.receive_message(name, 10, wait_seconds_timeout=0, visibility_timeout=30)
    body = json.loads(message.body)
    assert (body["Type"], body["MessageId"], body["TopicArn"], body["Message"], body["Subject"]) == (
        "Notification", message_id, arn, "kept", "s")
