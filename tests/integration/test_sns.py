"""SNS -> Lambda with real moto and real Docker: what the recorder function receives.

The event shape is AWS's ("Using Lambda with Amazon SNS",
https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html); filter policies follow
https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time

import pytest

from tests.conftest import aws_error, lambda_client
from tests.integration.recorded import aws, ensure_table, recorded, settle, wait_for

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:recorder"


@pytest.fixture(scope="module")
def endpoint(docker_endpoint) -> str:
    ensure_table(docker_endpoint)
    lambda_client(docker_endpoint).invoke(FunctionName="recorder", Payload=b'{"warm": true}')
    return docker_endpoint


@pytest.fixture
def tag() -> str:
    return "sns-" + os.urandom(4).hex()


def topic_with_lambda(endpoint: str, tag: str, **attributes: str) -> tuple[str, str]:
    sns = aws(endpoint, "sns")
    topic = sns.create_topic(Name=f"t-{tag}")["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=FUNCTION, Attributes=attributes,
                                 ReturnSubscriptionArn=True)["SubscriptionArn"]
    return topic, subscription


def messages(found) -> list[str]:
    return [r.event["Records"][0]["Sns"]["Message"] for r in found]


def test_publish_delivers_the_aws_event(endpoint, tag):
    topic, subscription = topic_with_lambda(endpoint, tag)
    message_id = aws(endpoint, "sns").publish(
        TopicArn=topic, Message=f"hello {tag}", Subject="greeting",
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "order"},
            "count": {"DataType": "Number", "StringValue": "12.5"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01binary"},
            "tags": {"DataType": "String.Array", "StringValue": '["a", "b"]'},
        })["MessageId"]
    [found] = wait_for(endpoint, tag)
    assert list(found.event) == ["Records"] and len(found.event["Records"]) == 1
    record = found.event["Records"][0]
    assert record["EventVersion"] == "1.0" and record["EventSource"] == "aws:sns"
    assert record["EventSubscriptionArn"] == subscription
    sns = record["Sns"]
    assert set(sns) == {"Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion",
                        "Signature", "SigningCertUrl", "UnsubscribeUrl", "MessageAttributes"}
    assert sns["Type"] == "Notification" and sns["MessageId"] == message_id and sns["TopicArn"] == topic
    assert sns["Subject"] == "greeting" and sns["Message"] == f"hello {tag}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", sns["Timestamp"])
    assert sns["SignatureVersion"] == "1" and len(base64.b64decode(sns["Signature"])) == 256
    assert re.fullmatch(r"https://sns\.us-east-1\.amazonaws\.com/SimpleNotificationService-[0-9a-f]{32}\.pem",
                        sns["SigningCertUrl"])
    assert sns["UnsubscribeUrl"] == (
        f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription}")
    assert sns["MessageAttributes"] == {
        "kind": {"Type": "String", "Value": "order"},
        "count": {"Type": "Number", "Value": "12.5"},
        "blob": {"Type": "Binary", "Value": base64.b64encode(b"\x00\x01binary").decode()},
        "tags": {"Type": "String.Array", "Value": '["a", "b"]'},
    }


def test_no_subject_is_null(endpoint, tag):
    topic, _ = topic_with_lambda(endpoint, tag)
    aws(endpoint, "sns").publish(TopicArn=topic, Message=tag)
    [found] = wait_for(endpoint, tag)
    assert found.event["Records"][0]["Sns"]["Subject"] is None
    assert found.event["Records"][0]["Sns"]["MessageAttributes"] == {}


def test_attribute_filter_policy(endpoint, tag):
    policy = {"kind": ["order", {"prefix": "ret"}], "total": [{"numeric": [">=", 100]}],
              "region": [{"anything-but": ["eu-west-1"]}]}
    topic, _ = topic_with_lambda(endpoint, tag, FilterPolicy=json.dumps(policy))
    sns = aws(endpoint, "sns")

    def publish(name: str, kind: str, total: str, region: str | None = "us-east-1") -> None:
        attributes = {"kind": {"DataType": "String", "StringValue": kind},
                      "total": {"DataType": "Number", "StringValue": total}}
        if region:
            attributes["region"] = {"DataType": "String", "StringValue": region}
        sns.publish(TopicArn=topic, Message=f"{tag} {name}", MessageAttributes=attributes)

    publish("match-order", "order", "150")
    publish("match-return", "return", "100")
    publish("low-total", "order", "99.5")
    publish("wrong-kind", "refund", "500")
    publish("excluded-region", "order", "500", "eu-west-1")
    publish("missing-region", "order", "500", None)
    sns.publish(TopicArn=topic, Message=f"{tag} no-attributes")
    wait_for(endpoint, tag, 2)
    assert sorted(messages(settle(endpoint, tag))) == [f"{tag} match-order", f"{tag} match-return"]


def test_body_filter_policy(endpoint, tag):
    policy = {"order": {"status": [{"wildcard": "ship*"}], "lines": {"sku": [{"exists": True}]}}}
    topic, _ = topic_with_lambda(endpoint, tag, FilterPolicyScope="MessageBody", FilterPolicy=json.dumps(policy))
    sns = aws(endpoint, "sns")
    bodies = {
        "yes": {"tag": tag, "order": {"status": "shipped", "lines": [{"sku": "a"}, {"qty": 1}]}},
        "no-status": {"tag": tag, "order": {"status": "open", "lines": [{"sku": "a"}]}},
        "no-sku": {"tag": tag, "order": {"status": "shipping", "lines": [{"qty": 1}]}},
    }
    for body in bodies.values():
        sns.publish(TopicArn=topic, Message=json.dumps(body))
    sns.publish(TopicArn=topic, Message=f"not json {tag}")
    wait_for(endpoint, tag)
    assert [json.loads(m) for m in messages(settle(endpoint, tag))] == [bodies["yes"]]


def test_policy_set_after_subscribing_and_unsubscribe(endpoint, tag):
    topic, subscription = topic_with_lambda(endpoint, tag)
    sns = aws(endpoint, "sns")
    sns.set_subscription_attributes(SubscriptionArn=subscription, AttributeName="FilterPolicy",
                                    AttributeValue=json.dumps({"keep": ["yes"]}))
    for keep in ("no", "yes"):
        sns.publish(TopicArn=topic, Message=f"{tag} {keep}",
                    MessageAttributes={"keep": {"DataType": "String", "StringValue": keep}})
    wait_for(endpoint, tag)
    sns.unsubscribe(SubscriptionArn=subscription)
    sns.publish(TopicArn=topic, Message=f"{tag} after",
                MessageAttributes={"keep": {"DataType": "String", "StringValue": "yes"}})
    assert messages(settle(endpoint, tag)) == [f"{tag} yes"]


def test_message_structure_json_and_publish_batch(endpoint, tag):
    topic, _ = topic_with_lambda(endpoint, tag)
    sns = aws(endpoint, "sns")
    sns.publish(TopicArn=topic, MessageStructure="json",
                Message=json.dumps({"default": f"{tag} default", "lambda": f"{tag} for-lambda", "sqs": "x"}))
    reply = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "a", "Message": f"{tag} batch-a"},
        {"Id": "b", "Message": f"{tag} batch-b", "Subject": "b",
         "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "7"}}}])
    assert not reply.get("Failed")
    found = wait_for(endpoint, tag, 3)
    assert sorted(messages(found)) == sorted([f"{tag} for-lambda", f"{tag} batch-a", f"{tag} batch-b"])
    batch_b = next(r.event["Records"][0]["Sns"] for r in found if r.event["Records"][0]["Sns"]["Subject"] == "b")
    assert batch_b["MessageId"] == next(s["MessageId"] for s in reply["Successful"] if s["Id"] == "b")
    assert batch_b["MessageAttributes"] == {"n": {"Type": "Number", "Value": "7"}}


@pytest.mark.parametrize(("attributes", "message"), [
    ({"FilterPolicy": json.dumps({"kind": [{"prefix": 5}]})},
     "Invalid parameter: Attributes Reason: FilterPolicy: "),
    ({"FilterPolicy": "{not json"},
     "Invalid parameter: Attributes Reason: FilterPolicy: failed to parse JSON."),
    ({"FilterPolicyScope": "Body", "FilterPolicy": json.dumps({"kind": ["order"]})},
     "Invalid parameter: Attributes Reason: FilterPolicyScope: Invalid value [Body]. "
     "Please use either MessageBody or MessageAttributes"),
    ({"FilterPolicyScope": "MessageAttributes", "FilterPolicy": json.dumps({"order": {"kind": ["x"]}})},
     "Invalid parameter: Attributes Reason: FilterPolicy: Filter policy scope MessageAttributes does not "
     "support nested filter policy"),
])
def test_an_invalid_filter_is_refused_and_no_subscription_is_left(endpoint, tag, attributes, message):
    sns = aws(endpoint, "sns")
    topic = sns.create_topic(Name=f"t-{tag}")["TopicArn"]
    error = aws_error(sns.subscribe, TopicArn=topic, Protocol="lambda", Endpoint=FUNCTION, Attributes=attributes)
    assert error["Code"] == "InvalidParameter"
    assert error["Message"].startswith(message), error["Message"]
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []

    # nothing half-made is left to poison the next, valid, Subscribe
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=FUNCTION,
                  Attributes={"FilterPolicy": json.dumps({"kind": ["order"]})})
    [subscription] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    for kind in ("other", "order"):
        sns.publish(TopicArn=topic, Message=f"{tag} {kind}",
                    MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}})
    wait_for(endpoint, tag)
    assert messages(settle(endpoint, tag)) == [f"{tag} order"]
    assert subscription["Endpoint"] == FUNCTION


def test_a_lambda_subscription_needs_a_function_arn(endpoint, tag):
    sns = aws(endpoint, "sns")
    topic = sns.create_topic(Name=f"t-{tag}")["TopicArn"]
    for wrong in ("recorder", "arn:aws:sqs:us-east-1:123456789012:queue"):
        error = aws_error(sns.subscribe, TopicArn=topic, Protocol="lambda", Endpoint=wrong)
        assert (error["Code"], error["Message"]) == ("InvalidParameter", "Invalid parameter: Lambda endpoint ARN")
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_subscribing_again_with_other_attributes_is_refused(endpoint, tag):
    policy = json.dumps({"kind": ["order"]})
    topic, subscription = topic_with_lambda(endpoint, tag, FilterPolicy=policy)
    sns = aws(endpoint, "sns")
    again = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=FUNCTION, Attributes={"FilterPolicy": policy},
                          ReturnSubscriptionArn=True)
    assert again["SubscriptionArn"] == subscription
    error = aws_error(sns.subscribe, TopicArn=topic, Protocol="lambda", Endpoint=FUNCTION,
                    Attributes={"FilterPolicy": json.dumps({"kind": ["refund"]})})
    assert error["Message"] == "Invalid parameter: Attributes Reason: Subscription already exists with different attributes"
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    assert json.loads(attributes["FilterPolicy"]) == {"kind": ["order"]}


def test_set_subscription_attributes_checks_the_scope(endpoint, tag):
    topic, subscription = topic_with_lambda(endpoint, tag, FilterPolicyScope="MessageBody",
                                            FilterPolicy=json.dumps({"order": {"kind": ["x"]}}))
    sns = aws(endpoint, "sns")
    error = aws_error(sns.set_subscription_attributes, SubscriptionArn=subscription,
                    AttributeName="FilterPolicyScope", AttributeValue="Attributes")
    assert error["Message"] == ("Invalid parameter: FilterPolicyScope: Invalid value [Attributes]. "
                                "Please use either MessageBody or MessageAttributes")
    error = aws_error(sns.set_subscription_attributes, SubscriptionArn=subscription,
                    AttributeName="FilterPolicyScope", AttributeValue="MessageAttributes")
    assert error["Message"] == ("Invalid parameter: FilterPolicy: Filter policy scope MessageAttributes does not "
                                "support nested filter policy")
    error = aws_error(sns.set_subscription_attributes, SubscriptionArn=subscription,
                    AttributeName="FilterPolicy", AttributeValue="{not json")
    assert error["Message"] == "Invalid parameter: FilterPolicy: failed to parse JSON."
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    assert attributes["FilterPolicyScope"] == "MessageBody"
    assert json.loads(attributes["FilterPolicy"]) == {"order": {"kind": ["x"]}}

    sns.publish(TopicArn=topic, Message=json.dumps({"tag": tag, "order": {"kind": "x"}}))
    [found] = wait_for(endpoint, tag)
    assert json.loads(messages([found])[0])["order"] == {"kind": "x"}


def test_s3_notification_to_topic_reaches_the_function(endpoint, tag):
    topic, _ = topic_with_lambda(endpoint, tag)
    s3 = aws(endpoint, "s3")
    s3.create_bucket(Bucket=tag)
    s3.put_bucket_notification_configuration(Bucket=tag, NotificationConfiguration={"TopicConfigurations": [
        {"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket=tag, Key="file.txt", Body=b"data")

    deadline = time.monotonic() + 20
    while True:  # the s3:TestEvent sent on configuration arrives too; wait for the object's record
        records = [record for found in recorded(endpoint, tag)
                   for record in json.loads(found.event["Records"][0]["Sns"]["Message"]).get("Records", [])]
        if records or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    [record] = records
    assert record["eventSource"] == "aws:s3" and record["eventName"].startswith("ObjectCreated:")
    assert record["s3"]["bucket"]["name"] == tag and record["s3"]["object"]["key"] == "file.txt"


def test_delivery_is_asynchronous_and_retried_as_an_event_invoke(endpoint, tag):
    """A slow function does not slow Publish; a failing attempt (a timeout) is retried with the
    same request id, as an InvocationType Event invoke is."""
    topic, _ = topic_with_lambda(endpoint, tag)
    started = time.monotonic()
    aws(endpoint, "sns").publish(TopicArn=topic, Message=f"{tag} please-timeout")  # sleeps past its 3 s
    assert time.monotonic() - started < 1.5
    first, second = wait_for(endpoint, tag, 2, timeout=40)[:2]
    assert first.request_id == second.request_id
    assert second.at - first.at >= 3
    assert first.event == second.event


def test_a_message_for_a_missing_function_goes_to_the_redrive_policy_queue(endpoint, tag):
    sns, sqs = aws(endpoint, "sns"), aws(endpoint, "sqs")
    queue = sqs.create_queue(QueueName=f"dlq-{tag}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name=f"t-{tag}")["TopicArn"]
    missing = f"arn:aws:lambda:us-east-1:123456789012:function:gone-{tag}"
    error = aws_error(sns.subscribe, TopicArn=topic, Protocol="lambda", Endpoint=missing,
                      Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": "dlq"})})
    assert (error["Code"], error["Message"]) == (
        "InvalidParameter", "Invalid parameter: Attributes Reason: RedrivePolicy: deadLetterTargetArn is an invalid arn")
    subscription = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=missing, ReturnSubscriptionArn=True,
                                 Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": queue_arn})})
    message_id = sns.publish(TopicArn=topic, Message=f"for nobody {tag}", Subject="orphan",
                             MessageAttributes={"kind": {"DataType": "String", "StringValue": "x"}})["MessageId"]

    got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10).get("Messages", [])
    assert len(got) == 1
    body = json.loads(got[0]["Body"])
    assert body["Type"] == "Notification" and body["MessageId"] == message_id and body["TopicArn"] == topic
    assert (body["Message"], body["Subject"]) == (f"for nobody {tag}", "orphan")
    assert body["MessageAttributes"] == {"kind": {"Type": "String", "Value": "x"}}
    assert body["UnsubscribeURL"].endswith(subscription["SubscriptionArn"])

    error = aws_error(sns.set_subscription_attributes, SubscriptionArn=subscription["SubscriptionArn"],
                      AttributeName="RedrivePolicy", AttributeValue="{not json")
    assert error["Message"] == "Invalid parameter: RedrivePolicy: failed to parse JSON."
