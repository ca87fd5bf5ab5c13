"""Event source mappings with real moto and real Docker: SQS, DynamoDB Streams, Kinesis."""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from tests.conftest import lambda_client
from tests.integration import probes

pytestmark = pytest.mark.usefixtures("sink_table")


def aws(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture(scope="module")
def endpoint(docker_endpoint) -> str:
    return docker_endpoint


@pytest.fixture(scope="module")
def sink_table(endpoint):
    ddb = aws(endpoint, "dynamodb")
    if "sink" not in ddb.list_tables()["TableNames"]:
        ddb.create_table(TableName="sink", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
    # a warm environment, so no batch waits for a cold start
    lambda_client(endpoint).invoke(FunctionName="sink", Payload=json.dumps({"Records": []}))


@pytest.fixture
def tag() -> str:
    return os.urandom(4).hex()


@pytest.fixture
def mappings(endpoint):
    """Create mappings through boto3; each is deleted at the end of the test."""
    client = lambda_client(endpoint)
    created: list[str] = []

    def create(**kwargs: Any) -> dict:
        mapping = client.create_event_source_mapping(FunctionName="sink", **kwargs)
        created.append(mapping["UUID"])
        return mapping

    yield create
    for key in created:
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            client.delete_event_source_mapping(UUID=key)


def sink_state(endpoint: str, tag: str) -> tuple[dict[str, int], list[dict]]:
    """What the sink processed for this test: counts per payload, and the batches in order."""
    ddb = aws(endpoint, "dynamodb")
    items: list[dict] = []
    kwargs: dict[str, Any] = {"TableName": "sink"}
    while True:
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    # moto's UpdateItem stores a new item bare and then applies the ADD: a Scan at that moment sees
    # "ok#..." with no "n". That update has not happened yet, so the record is not counted yet.
    counts = {i["id"]["S"][3:]: int(i["n"]["N"]) for i in items
              if i["id"]["S"].startswith("ok#") and tag in i["id"]["S"] and "n" in i}
    batches = sorted(
        ({"at": float(i["at"]["N"]), "size": int(i["size"]["N"]), "failed": int(i["failed"]["N"]),
          "processed": json.loads(i["processed"]["S"]), "event": json.loads(i["event"]["S"])}
         for i in items if i["id"]["S"].startswith("batch#") and tag in i["event"]["S"]),
        key=lambda b: b["at"])
    return counts, batches


def wait_until(check: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def queue(endpoint: str, name: str, **attributes: str) -> tuple[str, str]:
    sqs = aws(endpoint, "sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def send(endpoint: str, url: str, bodies: list[str], **extra: Any) -> None:
    sqs = aws(endpoint, "sqs")
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(i), "MessageBody": b, **extra} for i, b in enumerate(bodies[start:start + 10])]
        assert not sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")


def depth(endpoint: str, url: str) -> int:
    attributes = aws(endpoint, "sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(v) for v in attributes["Attributes"].values())


def body(tag: str, n: int, **cmd: Any) -> str:
    return json.dumps({"t": tag, "n": n, **cmd}, sort_keys=True)


# --- the API ---------------------------------------------------------------------------------


def test_mapping_api_fields_and_states(endpoint, mappings, tag):
    _, arn = queue(endpoint, f"api-{tag}")
    client = lambda_client(endpoint)
    created = mappings(EventSourceArn=arn, BatchSize=5, Enabled=False)
    assert created["State"] == "Creating"
    assert created["BatchSize"] == 5 and created["EventSourceArn"] == arn
    assert created["FunctionArn"].endswith(":function:sink")
    assert created["StateTransitionReason"] == "USER_INITIATED"
    assert client.get_event_source_mapping(UUID=created["UUID"])["State"] == "Disabled"
    assert client.update_event_source_mapping(UUID=created["UUID"], Enabled=True)["State"] == "Enabling"
    assert client.get_event_source_mapping(UUID=created["UUID"])["State"] == "Enabled"
    assert client.update_event_source_mapping(UUID=created["UUID"], Enabled=False)["State"] == "Disabling"
    listed = client.list_event_source_mappings(FunctionName="sink")["EventSourceMappings"]
    assert created["UUID"] in [m["UUID"] for m in listed]
    assert [m["UUID"] for m in client.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]] == [
        created["UUID"]]
    with pytest.raises(client.exceptions.ResourceConflictException):
        mappings(EventSourceArn=arn)
    assert client.delete_event_source_mapping(UUID=created["UUID"])["State"] == "Deleting"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_event_source_mapping(UUID=created["UUID"])


def test_mapping_to_a_missing_source_is_a_clear_error(endpoint, mappings):
    client = lambda_client(endpoint)
    with pytest.raises(client.exceptions.InvalidParameterValueException) as err:
        mappings(EventSourceArn="arn:aws:sqs:us-east-1:123456789012:no-such-queue")
    assert "NonExistentQueue" in err.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.InvalidParameterValueException) as err:
        mappings(EventSourceArn="arn:aws:kinesis:us-east-1:123456789012:stream/no-such-stream",
                 StartingPosition="TRIM_HORIZON")
    assert "Stream not found" in err.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        mappings(EventSourceArn="arn:aws:sqs:us-east-1:123456789012:x", BatchSize=50)


# --- SQS ---------------------------------------------------------------------------------------


def test_sqs_batches_are_processed_once_and_deleted(endpoint, mappings, tag):
    url, arn = queue(endpoint, f"basic-{tag}")
    send(endpoint, url, [body(tag, n) for n in range(25)])
    mappings(EventSourceArn=arn, BatchSize=10)
    wait_until(lambda: len(sink_state(endpoint, tag)[0]) == 25, what="25 processed")
    counts, batches = sink_state(endpoint, tag)
    assert set(counts.values()) == {1}
    assert all(b["size"] <= 10 for b in batches)
    wait_until(lambda: depth(endpoint, url) == 0, what="queue drained")


def test_sqs_record_shape(endpoint, mappings, tag):
    url, arn = queue(endpoint, f"shape-{tag}")
    aws(endpoint, "sqs").send_message(QueueUrl=url, MessageBody=body(tag, 1), MessageAttributes={
        "Kind": {"DataType": "String", "StringValue": "greeting"}})
    mappings(EventSourceArn=arn, BatchSize=1)
    wait_until(lambda: sink_state(endpoint, tag)[1], what="the batch")
    [record] = sink_state(endpoint, tag)[1][0]["event"]["Records"]
    assert set(record) >= {"messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
                           "eventSource", "eventSourceARN", "awsRegion"}
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == arn and record["awsRegion"] == "us-east-1"
    assert record["body"] == body(tag, 1)
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"] == {"Kind": {
        "stringValue": "greeting", "stringListValues": [], "binaryListValues": [], "dataType": "String"}}
    import hashlib
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()


def test_sqs_filter_criteria_deletes_what_does_not_match(endpoint, mappings, tag):
    url, arn = queue(endpoint, f"filter-{tag}")
    pattern = json.dumps({"body": {"keep": [True]}})
    mappings(EventSourceArn=arn, FilterCriteria={"Filters": [{"Pattern": pattern}]})
    send(endpoint, url, [body(tag, n, keep=n % 2 == 0) for n in range(10)])
    wait_until(lambda: depth(endpoint, url) == 0, what="all messages deleted")
    counts, _ = sink_state(endpoint, tag)
    assert sorted(json.loads(k)["n"] for k in counts) == [0, 2, 4, 6, 8]


def test_sqs_batching_window_fills_batches(endpoint, mappings, tag):
    url, arn = queue(endpoint, f"window-{tag}")
    mappings(EventSourceArn=arn, BatchSize=50, MaximumBatchingWindowInSeconds=2)
    send(endpoint, url, [body(tag, n) for n in range(30)])
    wait_until(lambda: len(sink_state(endpoint, tag)[0]) == 30, what="30 processed")
    _, batches = sink_state(endpoint, tag)
    assert len(batches) <= 3 and max(b["size"] for b in batches) > 10


def test_sqs_partial_batch_response_retries_only_the_failed(endpoint, mappings, tag):
    url, arn = queue(endpoint, f"partial-{tag}", VisibilityTimeout="4")
    mappings(EventSourceArn=arn, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])
    send(endpoint, url, [body(tag, n, fail="first") if n in (3, 7) else body(tag, n) for n in range(10)])
    wait_until(lambda: len(sink_state(endpoint, tag)[0]) == 10, what="all 10 processed")
    counts, batches = sink_state(endpoint, tag)
    assert set(counts.values()) == {1}
    assert sum(b["failed"] for b in batches) == 2


def test_sqs_failures_go_to_the_dlq_after_max_receive_count(endpoint, mappings, tag):
    dlq_url, dlq_arn = queue(endpoint, f"dlq-{tag}")
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url, arn = queue(endpoint, f"main-{tag}", VisibilityTimeout="3", RedrivePolicy=redrive)
    mappings(EventSourceArn=arn, BatchSize=5)
    send(endpoint, url, [body(tag, 0, fail="always", how="raise")])
    wait_until(lambda: depth(endpoint, dlq_url) == 1, timeout=40, what="the poison message in the DLQ")
    message = aws(endpoint, "sqs").receive_message(QueueUrl=dlq_url, AttributeNames=["All"])["Messages"][0]
    assert json.loads(message["Body"])["fail"] == "always"
    assert message["Attributes"]["ApproximateReceiveCount"] >= "2"
    wait_until(lambda: depth(endpoint, url) == 0, what="main queue empty")
    _, batches = sink_state(endpoint, tag)
    assert len(batches) == 2  # invoked maxReceiveCount times, then moved


def test_a_failed_batch_is_retried_whole_without_partial_responses(endpoint, mappings, tag):
    url, arn = queue(endpoint, f"whole-{tag}", VisibilityTimeout="4")
    mappings(EventSourceArn=arn, BatchSize=5)
    send(endpoint, url, [body(tag, 0, fail="first", how="raise"), body(tag, 1)])
    wait_until(lambda: len(sink_state(endpoint, tag)[0]) == 2, what="both processed after the retry")
    counts, batches = sink_state(endpoint, tag)
    assert set(counts.values()) == {1}
    assert [len(b["event"]["Records"]) for b in batches][:2] in ([2, 2], [1, 1, 1][:2])


def test_fifo_order_is_kept_and_a_failed_group_is_not_overtaken(endpoint, mappings, tag):
    # a visibility timeout well above the function's run time, as AWS advises: a shorter one
    # lets messages reappear while their batch still runs
    url, arn = queue(endpoint, f"order-{tag}.fifo", FifoQueue="true", ContentBasedDeduplication="true",
                     VisibilityTimeout="4")
    mappings(EventSourceArn=arn, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])
    for group in "AB":
        bodies = [body(tag, n, g=group, **({"fail": "first"} if (group, n) == ("A", 2) else {})) for n in range(6)]
        send(endpoint, url, bodies, MessageGroupId=group)
    wait_until(lambda: len(sink_state(endpoint, tag)[0]) == 12, timeout=40, what="12 processed")
    counts, batches = sink_state(endpoint, tag)
    assert set(counts.values()) == {1}
    for group in "AB":
        order = [json.loads(p)["n"] for b in batches for p in b["processed"] if json.loads(p)["g"] == group]
        assert order == list(range(6)), (group, order)


def visible(endpoint: str, url: str) -> tuple[int, int]:
    """(messages visible, messages held by a receive) in the queue."""
    attributes = aws(endpoint, "sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return (int(attributes["Attributes"]["ApproximateNumberOfMessages"]),
            int(attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"]))


def test_disable_stops_delivery_and_enable_resumes(endpoint, mappings, tag):
    # A receive under way when a mapping stops ends after its poller is gone, and hides what it
    # got for the queue's visibility timeout (the default 30 s was most of this test's time)
    url, arn = queue(endpoint, f"toggle-{tag}", VisibilityTimeout="3")
    mapping = mappings(EventSourceArn=arn)
    client = lambda_client(endpoint)
    send(endpoint, url, [body(tag, 0)])
    wait_until(lambda: len(sink_state(endpoint, tag)[0]) == 1, what="first message")
    wait_until(lambda: depth(endpoint, url) == 0, what="the first message deleted")  # before its batch is cut off
    client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)

    def poller() -> tuple[str, bool, int]:
        status = probes.mapping(endpoint, mapping["UUID"])
        assert status is not None
        return status["State"], status["Running"], status["in_flight"]

    assert poller() == ("Disabled", False, 0)
    send(endpoint, url, [body(tag, n) for n in range(1, 6)])
    # no poller runs: once no receive holds any of them (one under way when the mapping stopped
    # may have taken some), nothing can take them
    wait_until(lambda: visible(endpoint, url) == (5, 0), what="the 5 messages visible, none held")
    assert len(sink_state(endpoint, tag)[0]) == 1
    assert depth(endpoint, url) == 5
    assert poller() == ("Disabled", False, 0)
    client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)
    wait_until(lambda: len(sink_state(endpoint, tag)[0]) == 6, what="the rest after enabling")
    wait_until(lambda: depth(endpoint, url) == 0, what="the rest deleted")  # before the delete cuts a batch off
    client.delete_event_source_mapping(UUID=mapping["UUID"])
    assert probes.mapping(endpoint, mapping["UUID"]) is None
    send(endpoint, url, [body(tag, 99)])
    wait_until(lambda: visible(endpoint, url) == (1, 0), what="the last message visible, not held")
    assert len(sink_state(endpoint, tag)[0]) == 6 and depth(endpoint, url) == 1


# --- DynamoDB Streams and Kinesis --------------------------------------------------------------


def stream_table(endpoint: str, name: str) -> str:
    ddb = aws(endpoint, "dynamodb")
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    return ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]


def test_dynamodb_stream_records_in_order(endpoint, mappings, tag):
    stream = stream_table(endpoint, f"orders-{tag}")
    mappings(EventSourceArn=stream, StartingPosition="TRIM_HORIZON", BatchSize=4)
    ddb = aws(endpoint, "dynamodb")
    for n in range(10):
        ddb.put_item(TableName=f"orders-{tag}", Item={"k": {"S": f"k{n}"}, "cmd": {"S": body(tag, n)}})
    wait_until(lambda: len(sink_state(endpoint, tag)[0]) == 10, what="10 stream records")
    counts, batches = sink_state(endpoint, tag)
    assert set(counts.values()) == {1}
    order = [json.loads(p)["n"] for b in batches for p in b["processed"]]
    assert order == list(range(10))


def test_stream_bisect_isolates_a_poison_record_and_sends_it_to_the_destination(endpoint, mappings, tag):
    failures_url, failures_arn = queue(endpoint, f"onfail-{tag}")
    stream = stream_table(endpoint, f"bisect-{tag}")
    ddb = aws(endpoint, "dynamodb")
    for n in range(8):
        cmd = body(tag, n, fail="always", how="raise") if n == 5 else body(tag, n)
        ddb.put_item(TableName=f"bisect-{tag}", Item={"k": {"S": f"k{n}"}, "cmd": {"S": cmd}})
    mappings(EventSourceArn=stream, StartingPosition="TRIM_HORIZON", BatchSize=8, BisectBatchOnFunctionError=True,
             MaximumRetryAttempts=1, DestinationConfig={"OnFailure": {"Destination": failures_arn}})
    wait_until(lambda: depth(endpoint, failures_url) == 1, timeout=40, what="the on-failure record")
    record = json.loads(aws(endpoint, "sqs").receive_message(QueueUrl=failures_url)["Messages"][0]["Body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["functionArn"].endswith(":function:sink")
    assert record["responseContext"]["functionError"] == "Unhandled"
    info = record["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["streamArn"] == stream
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    wait_until(lambda: len(sink_state(endpoint, tag)[0]) == 7, what="the 7 good records")
    assert sorted(json.loads(k)["n"] for k in sink_state(endpoint, tag)[0]) == [0, 1, 2, 3, 4, 6, 7]


def test_kinesis_records_and_partial_batch_by_sequence_number(endpoint, mappings, tag):
    kinesis = aws(endpoint, "kinesis")
    name = f"ks-{tag}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    arn = kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamARN"]
    for n in range(6):
        data = body(tag, n, fail="first") if n == 3 else body(tag, n)
        kinesis.put_record(StreamName=name, Data=data.encode(), PartitionKey="p")
    mappings(EventSourceArn=arn, StartingPosition="TRIM_HORIZON", BatchSize=10,
             FunctionResponseTypes=["ReportBatchItemFailures"])
    wait_until(lambda: len(sink_state(endpoint, tag)[0]) == 6, what="6 kinesis records")
    counts, batches = sink_state(endpoint, tag)
    assert set(counts.values()) == {1}
    order = [json.loads(p)["n"] for b in batches for p in b["processed"]]
    assert order == list(range(6))
    assert batches[1]["size"] == 3  # retried from the failed sequence number


def test_stream_record_shapes(endpoint, mappings, tag):
    stream = stream_table(endpoint, f"shape-{tag}")
    mappings(EventSourceArn=stream, StartingPosition="TRIM_HORIZON")
    aws(endpoint, "dynamodb").put_item(TableName=f"shape-{tag}", Item={"k": {"S": "a"}, "cmd": {"S": body(tag, 0)}})
    kinesis = aws(endpoint, "kinesis")
    kinesis.create_stream(StreamName=f"kshape-{tag}", ShardCount=1)
    arn = kinesis.describe_stream(StreamName=f"kshape-{tag}")["StreamDescription"]["StreamARN"]
    kinesis.put_record(StreamName=f"kshape-{tag}", Data=body(tag, 1).encode(), PartitionKey="pk")
    mappings(EventSourceArn=arn, StartingPosition="TRIM_HORIZON")
    wait_until(lambda: len(sink_state(endpoint, tag)[1]) == 2, what="both batches")
    records = [b["event"]["Records"][0] for b in sink_state(endpoint, tag)[1]]
    ddb = next(r for r in records if r["eventSource"] == "aws:dynamodb")
    assert ddb["eventVersion"] == "1.1" and ddb["eventName"] == "INSERT" and ddb["eventSourceARN"] == stream
    assert ddb["dynamodb"]["Keys"] == {"k": {"S": "a"}}
    assert ddb["dynamodb"]["NewImage"]["cmd"] == {"S": body(tag, 0)}
    assert ddb["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(ddb["dynamodb"]["ApproximateCreationDateTime"], (int, float))
    kin = next(r for r in records if r["eventSource"] == "aws:kinesis")
    assert base64.b64decode(kin["kinesis"]["data"]).decode() == body(tag, 1)
    assert kin["kinesis"]["partitionKey"] == "pk" and kin["kinesis"]["kinesisSchemaVersion"] == "1.0"
    assert kin["eventID"] == f"shardId-000000000000:{kin['kinesis']['sequenceNumber']}"
    assert kin["eventName"] == "aws:kinesis:record" and kin["eventSourceARN"] == arn


def test_a_mapping_declared_in_function_json_exists_at_start(make_server, tmp_path, tag):
    functions = tmp_path / "functions"
    folder = functions / "declared"
    folder.mkdir(parents=True)
    (folder / "declared.py").write_text("def declared_handler(event, context):\n    return None\n")
    arn = f"arn:aws:sqs:us-east-1:123456789012:declared-{tag}"
    (folder / "function.json").write_text(json.dumps(
        {"EventSourceMappings": [{"EventSourceArn": arn, "BatchSize": 3}]}))
    endpoint = make_server(functions, "process")
    mapped = lambda_client(endpoint).list_event_source_mappings(FunctionName="declared")["EventSourceMappings"]
    assert [(m["EventSourceArn"], m["BatchSize"], m["State"]) for m in mapped] == [(arn, 3, "Enabled")]
    url, _ = queue(endpoint, f"declared-{tag}")  # the queue may come later: the poller retries
    send(endpoint, url, ["{}"] * 4)
    wait_until(lambda: depth(endpoint, url) == 0, timeout=30, what="the declared mapping to drain its queue")


def test_mappings_and_messages_survive_a_restart(tmp_path, tag):
    """The control plane restarts (moto is external, as in the compose stack): nothing is lost."""
    import subprocess
    import sys
    from dataclasses import replace

    from emulator.app.server import BackgroundServer, free_port
    from emulator.config import Settings
    from tests.conftest import TEST_FUNCTIONS

    moto_port = free_port()
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        moto_url = f"http://127.0.0.1:{moto_port}"
        wait_until(lambda: _answers(moto_url + "/moto-api/data.json"), what="moto server")
        settings = replace(Settings.from_env(), port=free_port(), executor="process", functions_dir=TEST_FUNCTIONS,
                           state_dir=tmp_path / "state", moto_url=moto_url, seed_on_start=False)
        endpoint = settings.endpoint
        server = BackgroundServer(settings)
        server.start()
        ddb = aws(endpoint, "dynamodb")
        ddb.create_table(TableName="sink", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        url, arn = queue(endpoint, f"restart-{tag}", VisibilityTimeout="2")
        lambda_client(endpoint).create_event_source_mapping(FunctionName="sink", EventSourceArn=arn, BatchSize=10)
        send(endpoint, url, [body(tag, n) for n in range(50)])
        wait_until(lambda: len(sink_state(endpoint, tag)[0]) > 0, what="processing to start")
        server.stop()  # messages may be in flight right now
        send(endpoint.replace(str(settings.port), str(moto_port)), url.replace(str(settings.port), str(moto_port)),
             [body(tag, n) for n in range(50, 60)])
        server = BackgroundServer(settings)
        server.start()
        try:
            wait_until(lambda: len(sink_state(endpoint, tag)[0]) == 60, timeout=60, what="all 60 after the restart")
            wait_until(lambda: depth(endpoint, url) == 0, what="queue drained")
        finally:
            server.stop()
    finally:
        moto.terminate()
        moto.wait()


def _answers(url: str) -> bool:
    import urllib.request
    try:
        urllib.request.urlopen(url, timeout=1)
        return True
    except OSError:
        return False


def test_mapping_survives_a_code_update_and_the_cli_shows_it(endpoint, mappings, tag):
    import subprocess
    import sys

    url, arn = queue(endpoint, f"update-{tag}")
    mapping = mappings(EventSourceArn=arn)
    client = lambda_client(endpoint)
    client.update_function_configuration(FunctionName="sink", Description=f"changed {tag}")
    send(endpoint, url, [body(tag, 0)])
    wait_until(lambda: len(sink_state(endpoint, tag)[0]) == 1, what="processing after the update")
    done = subprocess.run([sys.executable, "-m", "emulator", "mappings", "--endpoint", endpoint],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    line = next(row for row in done.stdout.splitlines() if row.startswith(mapping["UUID"]))
    assert "Enabled" in line and f"update-{tag}" in line and "[OK]" in line


def test_kinesis_parallelization_keeps_order_per_key_and_at_timestamp(endpoint, mappings, tag):
    kinesis = aws(endpoint, "kinesis")
    name = f"par-{tag}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    arn = kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamARN"]
    kinesis.put_record(StreamName=name, Data=body(tag, -1, key="old").encode(), PartitionKey="old")
    # the old record is older than the starting timestamp, the others newer. Timestamps go over
    # the wire in whole seconds, so the clock must pass a second boundary between them: a wait
    # for the clock itself (0.5 s on average)
    since = math.floor(time.time()) + 1
    while time.time() <= since:
        time.sleep(max(0.0, since - time.time()) + 0.01)
    for n in range(12):
        key = "abc"[n % 3]
        kinesis.put_record(StreamName=name, Data=body(tag, n, key=key).encode(), PartitionKey=key)
    mappings(EventSourceArn=arn, StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=since,
             BatchSize=12, ParallelizationFactor=3)
    wait_until(lambda: len(sink_state(endpoint, tag)[0]) == 12, what="12 records")
    counts, batches = sink_state(endpoint, tag)
    assert set(counts.values()) == {1}
    assert not any(json.loads(k)["n"] == -1 for k in counts)  # before the timestamp
    for key in "abc":
        order = [json.loads(p)["n"] for b in batches for p in b["processed"] if json.loads(p)["key"] == key]
        assert order == sorted(order) and len(order) == 4


def test_stream_on_failure_destination_can_be_sns(endpoint, mappings, tag):
    sns = aws(endpoint, "sns")
    topic = sns.create_topic(Name=f"failures-{tag}")["TopicArn"]
    url, queue_arn = queue(endpoint, f"sns-sub-{tag}")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    stream = stream_table(endpoint, f"snsfail-{tag}")
    aws(endpoint, "dynamodb").put_item(TableName=f"snsfail-{tag}", Item={
        "k": {"S": "x"}, "cmd": {"S": body(tag, 0, fail="always", how="raise")}})
    mappings(EventSourceArn=stream, StartingPosition="TRIM_HORIZON", MaximumRetryAttempts=0,
             DestinationConfig={"OnFailure": {"Destination": topic}})
    wait_until(lambda: depth(endpoint, url) == 1, timeout=30, what="the record through SNS")
    record = json.loads(aws(endpoint, "sqs").receive_message(QueueUrl=url)["Messages"][0]["Body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1
