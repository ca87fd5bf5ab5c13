"""The events functions receive, source by source, against committed snapshots
(tests/integration/snapshots/, see event_snapshots.py) and AWS Lambda Powertools' parser models.

Each test makes a real delivery through the session's Docker control plane: boto3 calls against
the endpoint, the ``recorder`` function (tests/functions/recorder) records the event it got, and
the test compares that event with its snapshot. A shape change therefore shows as a diff of a
snapshot file: ``CLOUDMICRO_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/integration/test_event_shapes.py``
rewrites the files, and ``git diff tests/integration/snapshots/`` is the change to review.

Resource names are fixed (each session's control plane starts empty), so ARNs are compared
whole; only what AWS itself makes differ per call (ids, times, handles, sequence numbers, md5s
of varying bodies) is a placeholder. Powertools' models (``aws-lambda-powertools``) are what
many handlers parse their events with: each delivered event must parse.

Event shapes as AWS documents them:
SQS https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html,
S3 https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html and
https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html (EventBridge),
SNS https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html,
EventBridge https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html and
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html,
DynamoDB Streams https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html,
Kinesis https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html,
destinations https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html.

The snapshots record the events as Cloudmicro sends them today, including where they differ from
AWS (a fix shows as a snapshot diff): a DynamoDB record's SizeBytes is moto's estimate and its stream
label has microseconds (AWS: milliseconds).
"""

from __future__ import annotations

import base64
import calendar
import contextlib
import gzip
import hashlib
import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    CloudWatchLogsModel,
    DynamoDBStreamLambdaOnFailureDestinationModel,
    DynamoDBStreamModel,
    EventBridgeModel,
    KinesisDataStreamModel,
    S3EventNotificationEventBridgeModel,
    S3Model,
    S3SqsEventNotificationModel,
    SnsModel,
    SqsModel,
)
from pydantic import BaseModel, ValidationError

from emulator.testing.pytest_plugin import admin_request
from tests.conftest import lambda_client
from tests.integration.event_snapshots import check_snapshot
from tests.integration.recorded import aws, ensure_table, recorded

ACCOUNT = "123456789012"
REGION = "us-east-1"
RECORDER = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:recorder"

# --- what varies per run, by path (list indices are "*"; "<json>" is a string holding JSON) ----

SQS_VARYING = {
    "Records.*.messageId": "<uuid>",
    "Records.*.receiptHandle": "<receipt-handle>",
    "Records.*.attributes.SentTimestamp": "<epoch-ms>",
    "Records.*.attributes.ApproximateFirstReceiveTimestamp": "<epoch-ms>",
}
SQS_FIFO_VARYING = {**SQS_VARYING, "Records.*.attributes.SequenceNumber": "<sqs-sequence-number>"}
S3_RECORD_VARYING = {
    "Records.*.eventTime": "<iso8601-ms>",
    "Records.*.responseElements.x-amz-request-id": "<s3-request-id>",
    "Records.*.responseElements.x-amz-id-2": "<s3-host-id>",
    "Records.*.s3.object.sequencer": "<sequencer>",
}
S3_IN_SQS_VARYING = {
    **SQS_VARYING,
    "Records.*.md5OfBody": "<md5>",  # of a body that holds times and ids
    "Records.*.body": "<json>",
    **{f"Records.*.body.<json>.{path}": name for path, name in S3_RECORD_VARYING.items()},
}
S3_TEST_EVENT_IN_SQS_VARYING = {
    **SQS_VARYING,
    "Records.*.md5OfBody": "<md5>",
    "Records.*.body": "<json>",
    "Records.*.body.<json>.Time": "<iso8601-ms>",
    "Records.*.body.<json>.RequestId": "<s3-request-id>",
    "Records.*.body.<json>.HostId": "<s3-host-id>",
}
S3_EVENTBRIDGE_VARYING = {
    "id": "<uuid>",
    "time": "<iso8601>",
    "detail.request-id": "<s3-request-id>",
    "detail.object.sequencer": "<sequencer>",
}
SNS_VARYING = {
    "Records.*.EventSubscriptionArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:snapshot-topic:<uuid>",
    "Records.*.Sns.MessageId": "<uuid>",
    "Records.*.Sns.Timestamp": "<iso8601-ms>",
    "Records.*.Sns.Signature": "<signature>",
    "Records.*.Sns.SigningCertUrl": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-<hex32>.pem",
    "Records.*.Sns.UnsubscribeUrl": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
                                    f"arn:aws:sns:{REGION}:{ACCOUNT}:snapshot-topic:<uuid>",
}
EVENTBRIDGE_VARYING = {"id": "<uuid>", "time": "<iso8601>"}
DYNAMODB_VARYING = {
    "Records.*.eventID": "<hex32>",
    "Records.*.eventSourceARN": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/snapshot-table/stream/<stream-label>",
    "Records.*.dynamodb.ApproximateCreationDateTime": "<epoch-s:int>",
    "Records.*.dynamodb.SequenceNumber": "<sequence-number>",
    "Records.*.dynamodb.SizeBytes": "<byte-count>",
}
KINESIS_VARYING = {
    "Records.*.eventID": "shardId-000000000000:<sequence-number>",
    "Records.*.kinesis.sequenceNumber": "<sequence-number>",
    "Records.*.kinesis.approximateArrivalTimestamp": "<epoch-s:float>",
}
ASYNC_RECORD_VARYING = {"timestamp": "<iso8601-ms>", "requestContext.requestId": "<uuid>"}
ASYNC_FAILURE_VARYING = {**ASYNC_RECORD_VARYING, "responsePayload.requestId": "<uuid>"}
STREAM_FAILURE_VARYING = {
    "timestamp": "<iso8601-ms>",
    "requestContext.requestId": "<uuid>",
    "DDBStreamBatchInfo.*SequenceNumber": "<sequence-number>",
    "DDBStreamBatchInfo.approximateArrival*": "<iso8601>",
    "DDBStreamBatchInfo.streamArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/snapshot-failing/stream/<stream-label>",
}


# --- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def endpoint(docker_endpoint) -> str:
    ensure_table(docker_endpoint)
    lambda_client(docker_endpoint).invoke(FunctionName="recorder", Payload=b'{"warm": true}')
    return docker_endpoint


@pytest.fixture(scope="module")
def mappings(endpoint) -> Iterator[Any]:
    """Create event source mappings to the recorder; all are deleted when the module ends."""
    client = lambda_client(endpoint)
    created: list[str] = []

    def create(**kwargs: Any) -> str:
        created.append(client.create_event_source_mapping(FunctionName="recorder", **kwargs)["UUID"])
        return created[-1]

    yield create
    for key in created:
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            client.delete_event_source_mapping(UUID=key)


def delivered(endpoint: str, tag: str, count: int = 1, timeout: float = 30) -> list[Any]:
    """The events the recorder got whose JSON text holds ``tag``, oldest first, once there are
    ``count`` of them (fails after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while len(found := recorded(endpoint, tag)) < count:
        assert time.monotonic() < deadline, f"{len(found)} event(s) with {tag!r} delivered to the recorder, wanted {count}"
        time.sleep(0.1)
    return [r.event for r in found]


def parses(model: type[BaseModel], event: Any) -> BaseModel:
    """Powertools' model for this event must accept it."""
    try:
        return model.model_validate(event)
    except ValidationError as error:
        raise AssertionError(f"Powertools' {model.__name__} refuses the delivered event:\n{error}\n"
                             f"event: {json.dumps(event, indent=2)}") from None


def assert_sqs_md5s(event: Any) -> None:
    """Each SQS record's md5OfBody is the MD5 of its body (a placeholder in some snapshots)."""
    for record in event["Records"]:
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest(), record


def queue(endpoint: str, name: str, **attributes: str) -> tuple[str, str]:
    url = aws(endpoint, "sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def stream_table(endpoint: str, name: str) -> str:
    ddb = aws(endpoint, "dynamodb")
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    return ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]


# --- SQS -----------------------------------------------------------------------------------------


def test_sqs_batch(endpoint, mappings):
    url, arn = queue(endpoint, "snapshot-standard")
    sqs = aws(endpoint, "sqs")
    sqs.send_message(QueueUrl=url, MessageBody='{"order": 1}')
    sent = sqs.send_message(QueueUrl=url, MessageBody="order 2, as plain text", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "order"},
        "total": {"DataType": "Number", "StringValue": "12.5"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01binary"},
    })
    # both messages wait in the queue; the batching window gathers them into one batch
    mappings(EventSourceArn=arn, BatchSize=10, MaximumBatchingWindowInSeconds=1)
    [event] = delivered(endpoint, "snapshot-standard")
    event["Records"].sort(key=lambda r: r["body"])  # a standard queue promises no order
    with_attributes = event["Records"][0]
    assert with_attributes["messageId"] == sent["MessageId"]
    assert with_attributes["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert_sqs_md5s(event)
    parses(SqsModel, event)
    check_snapshot("sqs_batch", event, SQS_VARYING)


def test_sqs_fifo_record(endpoint, mappings):
    url, arn = queue(endpoint, "snapshot-fifo.fifo", FifoQueue="true")
    sent = aws(endpoint, "sqs").send_message(QueueUrl=url, MessageBody='{"order": 3}', MessageGroupId="customer-1",
                                             MessageDeduplicationId="order-3")
    mappings(EventSourceArn=arn, BatchSize=10)
    [event] = delivered(endpoint, "snapshot-fifo.fifo")
    assert event["Records"][0]["attributes"]["SequenceNumber"] == sent["SequenceNumber"]
    assert_sqs_md5s(event)
    parses(SqsModel, event)
    check_snapshot("sqs_fifo", event, SQS_FIFO_VARYING)


# --- S3 ------------------------------------------------------------------------------------------


def test_s3_object_created_and_removed(endpoint):
    s3 = aws(endpoint, "s3")
    s3.create_bucket(Bucket="snapshot-direct")
    s3.put_bucket_notification_configuration(Bucket="snapshot-direct", NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"Id": "to-recorder", "LambdaFunctionArn": RECORDER,
                                          "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]})
    s3.put_object(Bucket="snapshot-direct", Key="photos/cat 1.jpg", Body=b"hello world")
    [created] = delivered(endpoint, "snapshot-direct")
    s3.delete_object(Bucket="snapshot-direct", Key="photos/cat 1.jpg")
    _, removed = delivered(endpoint, "snapshot-direct", 2)
    for event in (created, removed):
        parses(S3Model, event)
    check_snapshot("s3_object_created_put", created, S3_RECORD_VARYING)
    check_snapshot("s3_object_removed_delete", removed, S3_RECORD_VARYING)


def test_s3_record_in_an_sqs_queue(endpoint, mappings):
    _, arn = queue(endpoint, "snapshot-s3-queue")
    s3 = aws(endpoint, "s3")
    s3.create_bucket(Bucket="snapshot-to-queue")
    s3.put_bucket_notification_configuration(Bucket="snapshot-to-queue", NotificationConfiguration={
        "QueueConfigurations": [{"Id": "to-queue", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket="snapshot-to-queue", Key="reports/2024.csv", Body=b"a,b\n1,2\n")
    mappings(EventSourceArn=arn, BatchSize=1)
    # S3 first sends s3:TestEvent when the configuration is saved, then the object's record
    events = delivered(endpoint, "snapshot-s3-queue", 2)
    [test_event] = [e for e in events if "s3:TestEvent" in e["Records"][0]["body"]]
    [created] = [e for e in events if e is not test_event]
    assert_sqs_md5s(test_event)
    assert_sqs_md5s(created)
    parses(SqsModel, test_event)
    parses(S3SqsEventNotificationModel, created)
    check_snapshot("s3_test_event_in_sqs", test_event, S3_TEST_EVENT_IN_SQS_VARYING)
    check_snapshot("s3_object_created_in_sqs", created, S3_IN_SQS_VARYING)


def test_s3_event_through_eventbridge(endpoint):
    s3 = aws(endpoint, "s3")
    s3.create_bucket(Bucket="snapshot-to-eventbridge")
    s3.put_bucket_notification_configuration(Bucket="snapshot-to-eventbridge", NotificationConfiguration={
        "EventBridgeConfiguration": {}})
    events = aws(endpoint, "events")
    events.put_rule(Name="snapshot-s3-objects", EventPattern=json.dumps(
        {"source": ["aws.s3"], "detail": {"bucket": {"name": ["snapshot-to-eventbridge"]}}}))
    events.put_targets(Rule="snapshot-s3-objects", Targets=[{"Id": "recorder", "Arn": RECORDER}])
    s3.put_object(Bucket="snapshot-to-eventbridge", Key="in/data.json", Body=b'{"a": 1}')
    [event] = delivered(endpoint, "snapshot-to-eventbridge")
    parses(S3EventNotificationEventBridgeModel, event)
    check_snapshot("s3_eventbridge_object_created", event, S3_EVENTBRIDGE_VARYING)


# --- SNS -----------------------------------------------------------------------------------------


def test_sns_lambda_subscription(endpoint):
    sns = aws(endpoint, "sns")
    topic = sns.create_topic(Name="snapshot-topic")["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=RECORDER,
                                 ReturnSubscriptionArn=True)["SubscriptionArn"]
    published = sns.publish(TopicArn=topic, Message="hello from the topic", Subject="greeting", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "order"},
        "total": {"DataType": "Number", "StringValue": "12.5"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01binary"},
        "tags": {"DataType": "String.Array", "StringValue": '["a", "b"]'},
    })
    [event] = delivered(endpoint, "snapshot-topic")
    assert event["Records"][0]["EventSubscriptionArn"] == subscription
    assert event["Records"][0]["Sns"]["MessageId"] == published["MessageId"]
    parses(SnsModel, event)
    check_snapshot("sns_notification", event, SNS_VARYING)


# --- EventBridge ---------------------------------------------------------------------------------


def test_eventbridge_rule_target(endpoint):
    events = aws(endpoint, "events")
    events.put_rule(Name="snapshot-orders", EventPattern=json.dumps({"source": ["snapshot.orders"]}))
    events.put_targets(Rule="snapshot-orders", Targets=[{"Id": "recorder", "Arn": RECORDER}])
    reply = events.put_events(Entries=[{
        "Source": "snapshot.orders", "DetailType": "Order Placed", "Resources": ["arn:aws:s3:::snapshot-resource"],
        "Detail": json.dumps({"order": 1, "total": 12.5, "items": [{"sku": "A-1", "gift": False}], "note": None}),
    }])
    assert reply["FailedEntryCount"] == 0, reply
    [event] = delivered(endpoint, "snapshot.orders")
    assert event["id"] == reply["Entries"][0]["EventId"]
    parses(EventBridgeModel, event)
    check_snapshot("eventbridge_rule_target", event, EVENTBRIDGE_VARYING)


def admin(endpoint: str, method: str, path: str, body: Any = None) -> Any:
    """A call to the control plane's own API (/_cloudmicro/...)."""
    data = None if body is None else json.dumps(body).encode()
    request = admin_request(f"{endpoint}/_cloudmicro{path}", method, data)
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())


def set_schedule_clock(endpoint: str, offset: float) -> None:
    admin(endpoint, "PUT", "/schedules/clock", {"Offset": offset})


def test_eventbridge_scheduled_event(endpoint):
    events = aws(endpoint, "events")
    events.put_rule(Name="snapshot-schedule", ScheduleExpression="rate(1 minute)")
    events.put_targets(Rule="snapshot-schedule", Targets=[{"Id": "recorder", "Arn": RECORDER}])
    try:
        # no waiting a minute: the schedules' clock jumps to just before the rule's next firing
        [row] = [r for r in admin(endpoint, "GET", "/schedules")["Schedules"] if r["Name"] == "snapshot-schedule"]
        next_firing = calendar.timegm(time.strptime(row["NextFiring"], "%Y-%m-%dT%H:%M:%SZ"))
        set_schedule_clock(endpoint, next_firing - 1.5 - time.time())
        [event] = delivered(endpoint, "snapshot-schedule")
    finally:
        events.remove_targets(Rule="snapshot-schedule", Ids=["recorder"])
        events.delete_rule(Name="snapshot-schedule")
        set_schedule_clock(endpoint, 0)
    assert event["time"] == row["NextFiring"]
    parses(EventBridgeModel, event)
    check_snapshot("eventbridge_scheduled_event", event, EVENTBRIDGE_VARYING)


# --- DynamoDB Streams and Kinesis ----------------------------------------------------------------


def test_dynamodb_stream_insert_modify_remove(endpoint, mappings):
    stream = stream_table(endpoint, "snapshot-table")
    ddb = aws(endpoint, "dynamodb")
    ddb.put_item(TableName="snapshot-table", Item={
        "pk": {"S": "order-1"}, "total": {"N": "12.5"}, "paid": {"BOOL": False}, "note": {"NULL": True},
        "blob": {"B": b"\x00\x01"}, "tags": {"SS": ["a", "b"]}, "sizes": {"NS": ["1", "2"]},
        "lines": {"L": [{"M": {"sku": {"S": "A-1"}, "qty": {"N": "2"}}}]},
    })
    ddb.update_item(TableName="snapshot-table", Key={"pk": {"S": "order-1"}},
                    UpdateExpression="SET paid = :yes REMOVE note", ExpressionAttributeValues={":yes": {"BOOL": True}})
    ddb.delete_item(TableName="snapshot-table", Key={"pk": {"S": "order-1"}})
    mappings(EventSourceArn=stream, StartingPosition="TRIM_HORIZON", BatchSize=1)
    found = delivered(endpoint, "snapshot-table", 3)
    by_name = {e["Records"][0]["eventName"]: e for e in found}
    assert sorted(by_name) == ["INSERT", "MODIFY", "REMOVE"], found
    for name, event in by_name.items():
        parses(DynamoDBStreamModel, event)
        check_snapshot(f"dynamodb_{name.lower()}", event, DYNAMODB_VARYING)


def test_kinesis_record(endpoint, mappings):
    kinesis = aws(endpoint, "kinesis")
    kinesis.create_stream(StreamName="snapshot-stream", ShardCount=1)
    deadline = time.monotonic() + 10
    while (description := kinesis.describe_stream(StreamName="snapshot-stream")["StreamDescription"])[
            "StreamStatus"] != "ACTIVE":
        assert time.monotonic() < deadline, "the stream did not become ACTIVE"
        time.sleep(0.1)
    kinesis.put_record(StreamName="snapshot-stream", Data=b'{"hello": "kinesis"}', PartitionKey="partition-1")
    mappings(EventSourceArn=description["StreamARN"], StartingPosition="TRIM_HORIZON", BatchSize=1)
    [event] = delivered(endpoint, "snapshot-stream")
    model = parses(KinesisDataStreamModel, event)
    assert model.Records[0].kinesis.data == b'{"hello": "kinesis"}'  # type: ignore[attr-defined]
    assert base64.b64decode(event["Records"][0]["kinesis"]["data"]) == b'{"hello": "kinesis"}'
    check_snapshot("kinesis_record", event, KINESIS_VARYING)


# --- destinations ------------------------------------------------------------------------------


def test_async_invocation_records_sent_to_a_function_destination(endpoint):
    lam = lambda_client(endpoint)
    try:
        lam.put_function_event_invoke_config(FunctionName="sleeper", MaximumRetryAttempts=0,
                                             DestinationConfig={"OnSuccess": {"Destination": RECORDER}})
        lam.put_function_event_invoke_config(FunctionName="raiser", MaximumRetryAttempts=0,
                                             DestinationConfig={"OnFailure": {"Destination": RECORDER}})
        ok = lam.invoke(FunctionName="sleeper", InvocationType="Event",
                        Payload=json.dumps({"seconds": 0, "snapshot": "async-success"}))
        failed = lam.invoke(FunctionName="raiser", InvocationType="Event",
                            Payload=json.dumps({"card": "snapshot-async-failure"}))
        [success] = delivered(endpoint, "async-success")
        [failure] = delivered(endpoint, "snapshot-async-failure")
    finally:
        for name in ("sleeper", "raiser"):
            with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
                lam.delete_function_event_invoke_config(FunctionName=name)
    assert success["requestContext"]["requestId"] == ok["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert failure["requestContext"]["requestId"] == failed["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert failure["responsePayload"]["requestId"] == failure["requestContext"]["requestId"]
    # Powertools has no model for an asynchronous invocation's record
    check_snapshot("async_destination_success", success, ASYNC_RECORD_VARYING)
    check_snapshot("async_destination_failure", failure, ASYNC_FAILURE_VARYING)


def test_stream_on_failure_record_sent_to_an_sqs_destination(endpoint, mappings):
    failures_url, failures_arn = queue(endpoint, "snapshot-ddb-failures")
    stream = stream_table(endpoint, "snapshot-failing")
    # the recorder raises on an event holding "please-fail"
    aws(endpoint, "dynamodb").put_item(TableName="snapshot-failing", Item={
        "pk": {"S": "poison"}, "cmd": {"S": "please-fail"}})
    mappings(EventSourceArn=stream, StartingPosition="TRIM_HORIZON", BatchSize=1, MaximumRetryAttempts=0,
             DestinationConfig={"OnFailure": {"Destination": failures_arn}})
    sqs = aws(endpoint, "sqs")
    deadline = time.monotonic() + 30
    while not (messages := sqs.receive_message(QueueUrl=failures_url, WaitTimeSeconds=1).get("Messages")):
        assert time.monotonic() < deadline, "no on-failure record in the destination queue"
    record = json.loads(messages[0]["Body"])
    parses(DynamoDBStreamLambdaOnFailureDestinationModel, record)
    check_snapshot("dynamodb_stream_on_failure_record", record, STREAM_FAILURE_VARYING)


# --- CloudWatch Logs -----------------------------------------------------------------------------


def test_cloudwatch_logs_subscription_filter(endpoint):
    logs = aws(endpoint, "logs")
    logs.create_log_group(logGroupName="snapshot-logs")
    logs.create_log_stream(logGroupName="snapshot-logs", logStreamName="app")
    with pytest.raises(logs.exceptions.InvalidParameterException, match="Could not execute the lambda function"):
        logs.put_subscription_filter(logGroupName="snapshot-logs", filterName="nobody", filterPattern="",
                                     destinationArn=f"{RECORDER}-absent")
    logs.put_subscription_filter(logGroupName="snapshot-logs", filterName="errors", filterPattern="?ERROR ?FATAL",
                                 destinationArn=RECORDER)
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName="snapshot-logs", logStreamName="app", logEvents=[
        {"timestamp": now, "message": "ERROR the disk is full"},
        {"timestamp": now + 1, "message": "INFO all is well"},
        {"timestamp": now + 2, "message": "FATAL giving up"}])
    [event] = delivered(endpoint, "awslogs")
    assert list(event) == ["awslogs"] and list(event["awslogs"]) == ["data"]
    data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    assert {k: v for k, v in data.items() if k != "logEvents"} == {
        "messageType": "DATA_MESSAGE", "owner": ACCOUNT, "logGroup": "snapshot-logs", "logStream": "app",
        "subscriptionFilters": ["errors"]}
    assert [(e["timestamp"], e["message"]) for e in data["logEvents"]] == [
        (now, "ERROR the disk is full"), (now + 2, "FATAL giving up")]  # the pattern's, not INFO
    assert all(isinstance(e["id"], str) and e["id"] for e in data["logEvents"])
    parsed = parses(CloudWatchLogsModel, event)
    assert [e.message for e in parsed.awslogs.decoded_data.logEvents] == ["ERROR the disk is full", "FATAL giving up"]


def test_a_space_delimited_filter_passes_only_the_events_whose_fields_match(endpoint):
    """AWS's access-log example: fields by spaces, [] and "" one field each, conditions per field."""
    logs = aws(endpoint, "logs")
    logs.create_log_group(logGroupName="space-delimited")
    logs.create_log_stream(logGroupName="space-delimited", logStreamName="access")
    with pytest.raises(logs.exceptions.InvalidParameterException, match="Invalid filter pattern"):
        logs.put_subscription_filter(logGroupName="space-delimited", filterName="broken",
                                     filterPattern="[ip, user, status_code >", destinationArn=RECORDER)
    logs.put_subscription_filter(logGroupName="space-delimited", filterName="client-errors",
                                 filterPattern="[ip, user, username, timestamp, request = *html*, status_code = 4*, "
                                               "bytes > 1000]", destinationArn=RECORDER)
    lines = ['127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 1534',
             '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /index.html HTTP/1.0" 404 5324',
             '127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /index.html HTTP/1.0" 200 4355',
             '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /index.html HTTP/1.0" 403 12']
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName="space-delimited", logStreamName="access",
                        logEvents=[{"timestamp": now + i, "message": line} for i, line in enumerate(lines)])
    deadline = time.monotonic() + 30
    batches: list[dict[str, Any]] = []
    while not batches:
        assert time.monotonic() < deadline, "the matching access-log line did not reach the subscribed function"
        batches = [data for event in recorded(endpoint, "awslogs")
                   if (data := json.loads(gzip.decompress(base64.b64decode(event.event["awslogs"]["data"]))))
                   ["logGroup"] == "space-delimited"]
        time.sleep(0.1)
    [batch] = batches  # one PutLogEvents call: one delivery, holding what the pattern passed
    assert batch["subscriptionFilters"] == ["client-errors"]
    assert [e["message"] for e in batch["logEvents"]] == [lines[1]]
    parses(CloudWatchLogsModel, {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(batch).encode()))
                                             .decode()}})


def test_a_functions_own_log_lines_reach_a_function_subscribed_to_its_log_group(endpoint):
    lam, logs = lambda_client(endpoint), aws(endpoint, "logs")
    lam.invoke(FunctionName="logger", Payload=b"{}")  # its log group exists from its first lines on
    deadline = time.monotonic() + 30
    while not logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/logger")["logGroups"]:
        assert time.monotonic() < deadline, "the logger's log group was not made"
        time.sleep(0.2)
    logs.put_subscription_filter(logGroupName="/aws/lambda/logger", filterName="reports", filterPattern="REPORT",
                                 destinationArn=RECORDER)
    lam.invoke(FunctionName="logger", Payload=b"{}")
    deadline = time.monotonic() + 30
    reports: list[dict[str, Any]] = []
    while not reports:
        assert time.monotonic() < deadline, "no REPORT line reached the subscribed function"
        for event in delivered(endpoint, "awslogs", count=1):
            data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
            if data["logGroup"] == "/aws/lambda/logger":
                reports += data["logEvents"]
        time.sleep(0.2)
    assert all(e["message"].startswith("REPORT RequestId:") for e in reports), reports
