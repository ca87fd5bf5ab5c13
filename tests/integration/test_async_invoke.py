"""Asynchronous invocation with real moto and real Docker: retries, destinations, dead-letter
queues, the EventInvokeConfig API, and events queued across a restart."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import replace

import boto3
import pytest
from botocore.config import Config

from emulator.server import BackgroundServer
from tests.conftest import ROOT, _settings, lambda_client
from tests.integration.recorded import aws, ensure_table, recorded, settle, wait_for

ACCOUNT = "123456789012"
RECORDER = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:recorder"


@pytest.fixture(scope="module")
def endpoint(docker_endpoint) -> str:
    ensure_table(docker_endpoint)
    return docker_endpoint


@pytest.fixture
def tag() -> str:
    return "t" + os.urandom(4).hex()


@pytest.fixture
def lam(endpoint):
    client = lambda_client(endpoint)
    yield client
    for name in ("recorder", "echo"):
        try:
            client.delete_function_event_invoke_config(FunctionName=name)
        except client.exceptions.ResourceNotFoundException:
            pass
        client.update_function_configuration(FunctionName=name, DeadLetterConfig={"TargetArn": ""})


def queue(endpoint: str, name: str) -> tuple[str, str]:
    url = aws(endpoint, "sqs").create_queue(QueueName=name)["QueueUrl"]
    return url, f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"


def receive(endpoint: str, url: str, count: int = 1, timeout: float = 20) -> list[dict]:
    sqs = aws(endpoint, "sqs")
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                    MessageAttributeNames=["All"])
        for message in reply.get("Messages", []):
            got.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert len(got) >= count, f"{len(got)} message(s) in {url}, wanted {count}"
    return got


def test_a_failing_event_is_retried_then_reported_to_on_failure_and_the_dlq(endpoint, lam, tag):
    failures_url, failures_arn = queue(endpoint, f"failures-{tag}")
    dlq_url, dlq_arn = queue(endpoint, f"dlq-{tag}")
    lam.put_function_event_invoke_config(
        FunctionName="recorder", MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": failures_arn}})
    lam.update_function_configuration(FunctionName="recorder", DeadLetterConfig={"TargetArn": dlq_arn})

    reply = lam.invoke(FunctionName="recorder", InvocationType="Event",
                       Payload=json.dumps({"tag": tag, "please-fail": True}))
    assert reply["StatusCode"] == 202
    request_id = reply["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]

    [record] = [json.loads(m["Body"]) for m in receive(endpoint, failures_url)]
    attempts = wait_for(endpoint, tag, 2)
    assert [a.request_id for a in attempts] == [request_id, request_id]  # same id on every attempt
    assert attempts[1].at - attempts[0].at >= 0.9  # the retry waited (1 s by default)
    assert record["version"] == "1.0"
    assert record["requestContext"] == {
        "requestId": request_id, "functionArn": f"{RECORDER}:$LATEST",
        "condition": "RetriesExhausted", "approximateInvokeCount": 2,
    }
    assert record["requestPayload"] == {"tag": tag, "please-fail": True}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["responsePayload"]["errorMessage"] == "failing as asked"

    [dead] = receive(endpoint, dlq_url)
    assert json.loads(dead["Body"]) == {"tag": tag, "please-fail": True}
    attributes = {k: (v["DataType"], v["StringValue"]) for k, v in dead["MessageAttributes"].items()}
    assert attributes == {"RequestID": ("String", request_id), "ErrorCode": ("Number", "200"),
                          "ErrorMessage": ("String", "failing as asked")}
    assert len(settle(endpoint, tag, 1.5)) == 2  # no third attempt


def test_zero_retries_runs_once_and_success_records_reach_sns_eventbridge_and_lambda(endpoint, lam, tag):
    sns_url, sns_queue_arn = queue(endpoint, f"sns-sink-{tag}")
    sns = aws(endpoint, "sns")
    topic = sns.create_topic(Name=f"ok-{tag}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sns_queue_arn,
                  Attributes={"RawMessageDelivery": "true"})
    lam.put_function_event_invoke_config(FunctionName="recorder", MaximumRetryAttempts=0,
                                         DestinationConfig={"OnSuccess": {"Destination": topic}})
    lam.invoke(FunctionName="recorder", InvocationType="Event", Payload=json.dumps({"tag": tag}))
    [message] = receive(endpoint, sns_url)
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"]["ok"] is True
    assert "functionError" not in record["responseContext"]

    lam.invoke(FunctionName="recorder", InvocationType="Event",
               Payload=json.dumps({"tag": tag + "-f", "please-fail": True}))
    assert len(settle(endpoint, tag + "-f", 2.5)) == 1

    # EventBridge: a bus whose rule sends the record to SQS
    events = aws(endpoint, "events")
    bus = events.create_event_bus(Name=f"results-{tag}")["EventBusArn"]
    eb_url, eb_queue_arn = queue(endpoint, f"eb-sink-{tag}")
    events.put_rule(Name=f"all-{tag}", EventBusName=bus.rsplit("/", 1)[1],
                    EventPattern=json.dumps({"source": ["lambda"]}))
    events.put_targets(Rule=f"all-{tag}", EventBusName=bus.rsplit("/", 1)[1],
                       Targets=[{"Id": "q", "Arn": eb_queue_arn}])
    lam.put_function_event_invoke_config(FunctionName="echo",
                                         DestinationConfig={"OnSuccess": {"Destination": bus}})
    lam.invoke(FunctionName="echo", InvocationType="Event", Payload=json.dumps({"tag": tag}))
    [message] = receive(endpoint, eb_url)
    event = json.loads(message["Body"])
    echo_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:echo"
    assert event["source"] == "lambda"
    assert event["detail-type"] == "Lambda Function Invocation Result - Success"
    assert event["resources"] == [bus, f"{echo_arn}:$LATEST"]
    assert event["detail"]["requestPayload"] == {"tag": tag}
    assert event["detail"]["responsePayload"]["event"] == {"tag": tag}

    # Lambda: the record is the destination function's event
    lam.put_function_event_invoke_config(FunctionName="echo",
                                         DestinationConfig={"OnSuccess": {"Destination": RECORDER}})
    lam.invoke(FunctionName="echo", InvocationType="Event", Payload=json.dumps({"tag": tag + "-l"}))
    [got] = wait_for(endpoint, tag + "-l")
    assert got.event["requestContext"]["functionArn"] == f"{echo_arn}:$LATEST"
    assert got.event["responsePayload"]["event"] == {"tag": tag + "-l"}


def test_the_event_invoke_config_api(endpoint, lam):
    missing = "arn:aws:lambda:us-east-1:123456789012:function:echo doesn't have an EventInvokeConfig"
    with pytest.raises(lam.exceptions.ResourceNotFoundException, match=missing):
        lam.get_function_event_invoke_config(FunctionName="echo")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.update_function_event_invoke_config(FunctionName="echo", MaximumRetryAttempts=1)
    put = lam.put_function_event_invoke_config(FunctionName="echo", MaximumRetryAttempts=1)
    assert put["MaximumRetryAttempts"] == 1 and put["FunctionArn"].endswith(":function:echo")
    assert "MaximumEventAgeInSeconds" not in put
    updated = lam.update_function_event_invoke_config(
        FunctionName="echo", MaximumEventAgeInSeconds=120,
        DestinationConfig={"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:q"}})
    assert updated["MaximumRetryAttempts"] == 1 and updated["MaximumEventAgeInSeconds"] == 120
    assert updated["DestinationConfig"]["OnFailure"]["Destination"].endswith(":q")
    got = lam.get_function_event_invoke_config(FunctionName="echo")
    assert got["MaximumEventAgeInSeconds"] == 120 and got["LastModified"]
    put_again = lam.put_function_event_invoke_config(FunctionName="echo", MaximumEventAgeInSeconds=60)
    assert "MaximumRetryAttempts" not in put_again  # Put replaces the whole configuration
    listed = lam.list_function_event_invoke_configs(FunctionName="echo")["FunctionEventInvokeConfigs"]
    assert [c["MaximumEventAgeInSeconds"] for c in listed] == [60]
    lam.delete_function_event_invoke_config(FunctionName="echo")
    assert lam.list_function_event_invoke_configs(FunctionName="echo")["FunctionEventInvokeConfigs"] == []

    raw = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t",
                       aws_secret_access_key="t", config=Config(parameter_validation=False))
    with pytest.raises(raw.exceptions.ClientError, match="less than or equal to 2") as err:
        raw.put_function_event_invoke_config(FunctionName="echo", MaximumRetryAttempts=3)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(raw.exceptions.InvalidParameterValueException, match="destination ARN"):
        raw.put_function_event_invoke_config(
            FunctionName="echo", DestinationConfig={"OnSuccess": {"Destination": "arn:aws:s4:x:y:z:w"}})
    with pytest.raises(raw.exceptions.InvalidParameterValueException, match="Only Amazon SQS"):
        raw.update_function_configuration(FunctionName="echo",
                                          DeadLetterConfig={"TargetArn": "arn:aws:lambda:us-east-1:1:function:x"})
    with pytest.raises(raw.exceptions.ResourceNotFoundException):
        raw.put_function_event_invoke_config(FunctionName="nope", MaximumRetryAttempts=1)


def test_events_queued_when_the_emulator_stops_run_after_it_restarts(tmp_path, tag):
    functions = tmp_path / "functions"
    shutil.copytree(ROOT / "tests" / "functions" / "recorder", functions / "recorder")
    # one at a time, each slow: most events are still queued when the server stops
    (functions / "recorder" / "function.json").write_text(
        json.dumps({"ReservedConcurrentExecutions": 1, "Timeout": 10}))
    handler = functions / "recorder" / "recorder.py"
    handler.write_text(handler.read_text().replace(
        '    if "please-fail" in text:', '    time.sleep(0.5)\n    if "please-fail" in text:'))
    settings = replace(_settings(tmp_path, "process", functions), state_dir=tmp_path / "state")
    queued = settings.state_dir / "async-events"

    with BackgroundServer(settings) as first:
        ensure_table(first)
        client = lambda_client(first)
        for n in range(5):
            assert client.invoke(FunctionName="recorder", InvocationType="Event",
                                 Payload=json.dumps({"tag": f"{tag}-{n}"}))["StatusCode"] == 202
        wait_for(first, f"{tag}-0")
    assert len(list(queued.glob("*.json"))) >= 3  # still queued after the stop

    with BackgroundServer(settings) as second:
        for n in range(5):
            wait_for(second, f"{tag}-{n}", 1, timeout=30)
        deadline = time.monotonic() + 10
        while list(queued.glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(queued.glob("*.json")) == []
        assert len(recorded(second, tag)) <= 6  # each once (the one cut off by the stop may run twice)


def test_many_event_invokes_are_accepted_fast_and_all_run(endpoint, tag):
    client = lambda_client(endpoint)
    started = time.monotonic()
    for n in range(200):
        client.invoke(FunctionName="recorder", InvocationType="Event", Payload=json.dumps({"tag": tag, "n": n}))
    accepted = time.monotonic() - started
    assert accepted < 10
    got = wait_for(endpoint, tag, 200, timeout=60)
    assert sorted(r.event["n"] for r in got) == list(range(200))
