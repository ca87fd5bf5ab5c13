"""Asynchronous invocation with real moto and real Docker: retries, destinations, dead-letter
queues, the EventInvokeConfig API, and events queued across a restart."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import replace

import boto3
import pytest
from botocore.config import Config

from emulator.app.server import BackgroundServer
from emulator.invocation.async_queue import EventStore, QueuedEvent
from emulator.testing.pytest_plugin import admin_request
from tests.conftest import ROOT, _settings, lambda_client
from tests.integration.recorded import aws, ensure_table, recorded, settle, wait_for


def health(endpoint: str) -> dict:
    return json.loads(urllib.request.urlopen(endpoint + "/_cloudmicro/health", timeout=10).read())

ACCOUNT = "123456789012"
RECORDER = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:recorder"
RAISER = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:raiser"
FUNCTIONS_CONFIGURED = ("recorder", "echo", "raiser", "reserved")


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
    for name in FUNCTIONS_CONFIGURED:
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            client.delete_function_event_invoke_config(FunctionName=name)
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
    assert len(settle(endpoint, tag)) == 2  # no third attempt


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
    assert len(settle(endpoint, tag + "-f")) == 1

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
    echo_latest = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:echo:$LATEST"  # as in AWS's examples
    assert put["MaximumRetryAttempts"] == 1 and put["FunctionArn"] == echo_latest
    assert "MaximumEventAgeInSeconds" not in put
    updated = lam.update_function_event_invoke_config(
        FunctionName="echo", MaximumEventAgeInSeconds=120,
        DestinationConfig={"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:q"}})
    assert updated["MaximumRetryAttempts"] == 1 and updated["MaximumEventAgeInSeconds"] == 120
    assert updated["DestinationConfig"]["OnFailure"]["Destination"].endswith(":q")
    assert updated["FunctionArn"] == echo_latest
    got = lam.get_function_event_invoke_config(FunctionName="echo")
    assert got["MaximumEventAgeInSeconds"] == 120 and got["LastModified"] and got["FunctionArn"] == echo_latest
    assert lam.get_function_event_invoke_config(FunctionName="echo")["LastModified"] == got["LastModified"]
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
    for age, bound in ((59, "greater than or equal to 60"), (21601, "less than or equal to 21600")):
        with pytest.raises(raw.exceptions.ClientError, match=bound) as err:
            raw.put_function_event_invoke_config(FunctionName="echo", MaximumEventAgeInSeconds=age)
        assert err.value.response["Error"]["Code"] == "ValidationException"
        assert f"Value '{age}' at 'maximumEventAgeInSeconds' failed to satisfy constraint" in str(err.value)
    with pytest.raises(raw.exceptions.InvalidParameterValueException, match="destination ARN"):
        raw.put_function_event_invoke_config(
            FunctionName="echo", DestinationConfig={"OnSuccess": {"Destination": "arn:aws:s4:x:y:z:w"}})
    for itself in (f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:echo", echo_latest):
        with pytest.raises(raw.exceptions.InvalidParameterValueException, match="destination for itself"):
            raw.put_function_event_invoke_config(
                FunctionName="echo", DestinationConfig={"OnFailure": {"Destination": itself}})
    with pytest.raises(raw.exceptions.InvalidParameterValueException, match="S3 bucket can only be an OnFailure"):
        raw.put_function_event_invoke_config(
            FunctionName="echo", DestinationConfig={"OnSuccess": {"Destination": "arn:aws:s3:::records"}})
    assert lam.list_function_event_invoke_configs(FunctionName="echo")["FunctionEventInvokeConfigs"] == []
    with pytest.raises(raw.exceptions.InvalidParameterValueException, match="Only Amazon SQS"):
        raw.update_function_configuration(FunctionName="echo",
                                          DeadLetterConfig={"TargetArn": "arn:aws:lambda:us-east-1:1:function:x"})
    with pytest.raises(raw.exceptions.ResourceNotFoundException):
        raw.put_function_event_invoke_config(FunctionName="nope", MaximumRetryAttempts=1)


def test_events_queued_when_the_emulator_stops_run_once_after_it_restarts(tmp_path, tag):
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

    sent: set[str] = set()
    with BackgroundServer(settings) as first:
        ensure_table(first)
        client = lambda_client(first)
        for n in range(5):
            reply = client.invoke(FunctionName="recorder", InvocationType="Event",
                                  Payload=json.dumps({"tag": f"{tag}-{n}"}))
            assert reply["StatusCode"] == 202
            sent.add(reply["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"])
        wait_for(first, f"{tag}-0")
    left = {path.stem for path in queued.glob("*.json")}
    assert len(left) >= 3 and left <= sent  # still queued after the stop

    restarted_at = time.time()
    with BackgroundServer(settings) as second:
        # an Event accepted while the queue resumes what is on disk runs once, as the others do
        # (tests/unit/test_async_queue.py pins the case where it comes before start())
        fresh_id = invoke_event(lambda_client(second), "recorder", {"tag": f"{tag}-new"})
        deadline = time.monotonic() + 60
        while (status := health(second)["lambda"]["async_events"])["queued"]:
            assert time.monotonic() < deadline, status
            time.sleep(0.1)
        assert status["succeeded"] == len(left) + 1 and "failed" not in status, status
        assert list(queued.glob("*.json")) == []
        records = recorded(second, tag)
    before = [r.request_id for r in records if r.at < restarted_at]
    after = [r.request_id for r in records if r.at >= restarted_at]
    assert sorted(after) == sorted(left | {fresh_id})  # each queued event exactly once, and the new one once
    assert len(before) == len(set(before)) and set(before) | left == sent  # none lost, none run twice before
    assert len(set(before) & left) <= 1  # only the attempt cut off by the stop ran in both (concurrency 1)


def test_many_event_invokes_are_accepted_fast_and_all_run(endpoint, tag):
    client = lambda_client(endpoint)
    started = time.monotonic()
    for n in range(200):
        client.invoke(FunctionName="recorder", InvocationType="Event", Payload=json.dumps({"tag": tag, "n": n}))
    accepted = time.monotonic() - started
    assert accepted < 10
    got = wait_for(endpoint, tag, 200, timeout=60)
    assert sorted(r.event["n"] for r in got) == list(range(200))


# --------------------------------------------------------------------------- destinations of every kind


def topic_to_queue(endpoint: str, name: str, raw: bool) -> tuple[str, str]:
    """An SNS topic delivering to a new SQS queue; returns (topic ARN, queue URL)."""
    url, queue_arn = queue(endpoint, f"{name}-sink")
    sns = aws(endpoint, "sns")
    topic = sns.create_topic(Name=name)["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                  Attributes={"RawMessageDelivery": "true" if raw else "false"})
    return topic, url


def failure_record_checks(record: dict, request_id: str, card: str) -> None:
    assert record["requestContext"] == {"requestId": request_id, "functionArn": f"{RAISER}:$LATEST",
                                        "condition": "RetriesExhausted", "approximateInvokeCount": 1}
    assert record["requestPayload"] == {"card": card}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "PaymentDeclined"
    assert record["responsePayload"]["errorMessage"] == f"card {card} declined"


def invoke_event(lam, name: str, payload: dict) -> str:
    reply = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(payload))
    assert reply["StatusCode"] == 202
    return reply["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]


def test_failure_records_reach_sns_lambda_eventbridge_and_s3(endpoint, lam, tag):
    # SNS: the record is the message
    topic, sns_url = topic_to_queue(endpoint, f"failed-{tag}", raw=True)
    lam.put_function_event_invoke_config(FunctionName="raiser", MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": topic}})
    request_id = invoke_event(lam, "raiser", {"card": f"{tag}-sns"})
    [message] = receive(endpoint, sns_url)
    failure_record_checks(json.loads(message["Body"]), request_id, f"{tag}-sns")

    # Lambda: the record is the event of the destination function (invoked asynchronously)
    lam.put_function_event_invoke_config(FunctionName="raiser", MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": RECORDER}})
    request_id = invoke_event(lam, "raiser", {"card": f"{tag}-lambda"})
    [got] = wait_for(endpoint, f"{tag}-lambda")
    failure_record_checks(got.event, request_id, f"{tag}-lambda")
    assert got.request_id != request_id

    # EventBridge: "Lambda Function Invocation Result - Failure", the record as detail
    events = aws(endpoint, "events")
    bus_name = f"failures-{tag}"
    bus = events.create_event_bus(Name=bus_name)["EventBusArn"]
    eb_url, eb_queue_arn = queue(endpoint, f"eb-failures-{tag}")
    events.put_rule(Name=f"failures-{tag}", EventBusName=bus_name, EventPattern=json.dumps(
        {"source": ["lambda"], "detail-type": ["Lambda Function Invocation Result - Failure"]}))
    events.put_targets(Rule=f"failures-{tag}", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": eb_queue_arn}])
    lam.put_function_event_invoke_config(FunctionName="raiser", MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": bus}})
    request_id = invoke_event(lam, "raiser", {"card": f"{tag}-eb"})
    [message] = receive(endpoint, eb_url)
    event = json.loads(message["Body"])
    assert event["source"] == "lambda"
    assert event["detail-type"] == "Lambda Function Invocation Result - Failure"
    assert event["resources"] == [bus, f"{RAISER}:$LATEST"]
    failure_record_checks(event["detail"], request_id, f"{tag}-eb")

    # S3 (on failure only): one JSON object, aws/lambda/async/<function>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<UUID>
    s3 = aws(endpoint, "s3")
    bucket = f"failures-{tag}"
    s3.create_bucket(Bucket=bucket)
    lam.put_function_event_invoke_config(FunctionName="raiser", MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": f"arn:aws:s3:::{bucket}"}})
    request_id = invoke_event(lam, "raiser", {"card": f"{tag}-s3"})
    deadline = time.monotonic() + 20
    while not (listed := s3.list_objects_v2(Bucket=bucket).get("Contents", [])):
        assert time.monotonic() < deadline, "no record in the S3 destination"
        time.sleep(0.1)
    [obj] = listed
    record = json.loads(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
    failure_record_checks(record, request_id, f"{tag}-s3")
    stamp = record["timestamp"]  # 2024-05-06T10:00:30.123Z
    day, clock = stamp[:10], stamp[11:19].replace(":", ".")
    assert re.fullmatch(rf"aws/lambda/async/raiser/{day.replace('-', '/')}/{day}T{clock}-"
                        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", obj["Key"]), obj["Key"]


def test_success_records_reach_sqs_and_dead_letters_reach_an_sns_topic(endpoint, lam, tag):
    ok_url, ok_arn = queue(endpoint, f"ok-{tag}")
    lam.put_function_event_invoke_config(FunctionName="echo", DestinationConfig={"OnSuccess": {"Destination": ok_arn}})
    request_id = invoke_event(lam, "echo", {"tag": tag})
    [message] = receive(endpoint, ok_url)
    record = json.loads(message["Body"])
    assert record["requestContext"] == {"requestId": request_id, "functionArn": f"{RECORDER[:-8]}echo:$LATEST",
                                        "condition": "Success", "approximateInvokeCount": 1}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"]["event"] == {"tag": tag}

    topic, dead_url = topic_to_queue(endpoint, f"dead-{tag}", raw=False)
    lam.put_function_event_invoke_config(FunctionName="raiser", MaximumRetryAttempts=0)
    lam.update_function_configuration(FunctionName="raiser", DeadLetterConfig={"TargetArn": topic})
    request_id = invoke_event(lam, "raiser", {"card": tag})
    [message] = receive(endpoint, dead_url)
    notification = json.loads(message["Body"])  # the SNS envelope: the event, the attributes
    assert notification["TopicArn"] == topic and json.loads(notification["Message"]) == {"card": tag}
    attributes = {k: (v["Type"], v["Value"]) for k, v in notification["MessageAttributes"].items()}
    assert attributes == {"RequestID": ("String", request_id), "ErrorCode": ("Number", "200"),
                          "ErrorMessage": ("String", f"card {tag} declined")}


def test_throttled_events_wait_without_using_up_attempts(endpoint, lam, tag):
    """reserved (ReservedConcurrentExecutions 1) is kept busy by a synchronous invoke: the
    asynchronous event is throttled, waits, and then runs, with 0 retries allowed."""
    ok_url, ok_arn = queue(endpoint, f"throttled-ok-{tag}")
    lam.put_function_event_invoke_config(FunctionName="reserved", MaximumRetryAttempts=0,
                                         DestinationConfig={"OnSuccess": {"Destination": ok_arn}})
    lam.invoke(FunctionName="reserved", Payload=json.dumps({"seconds": 0}))  # warm: the hold below starts at once
    holding = threading.Thread(target=lambda: lam.invoke(FunctionName="reserved", Payload=json.dumps({"seconds": 3})))
    throttled = health(endpoint)["lambda"]["async_events"].get("throttled", 0)
    holding.start()
    try:
        deadline = time.monotonic() + 5
        while not _busy(endpoint, "reserved"):
            assert time.monotonic() < deadline, "the synchronous invoke did not start"
            time.sleep(0.02)
        request_id = invoke_event(lam, "reserved", {"seconds": 0, "tag": tag})
        deadline = time.monotonic() + 5
        while health(endpoint)["lambda"]["async_events"].get("throttled", 0) <= throttled:
            assert time.monotonic() < deadline, "the event was never throttled"
            time.sleep(0.05)
    finally:
        holding.join(30)
    [message] = receive(endpoint, ok_url, timeout=30)
    record = json.loads(message["Body"])
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 1  # throttles are not attempts


def _busy(endpoint: str, function: str) -> bool:
    """Whether an environment of ``function`` is running an invocation (the status API)."""
    environments = json.loads(urllib.request.urlopen(admin_request(endpoint + "/_cloudmicro/environments"), timeout=10).read())
    return any(e["function"] == function and e["request_id"] for e in environments)


def test_an_event_older_than_its_maximum_age_is_reported_with_its_last_response(tmp_path, tag, docker_engine):
    """MaximumEventAgeInSeconds 60: the event fails once; its retry comes 5 s later, when the
    queue's clock has been moved two minutes on. It is not run again: EventAgeExceeded."""
    settings = replace(_settings(tmp_path, "docker"), seed_on_start=False, async_retry_delay=5.0)
    server = BackgroundServer(settings)
    with server as endpoint:
        ensure_table(endpoint)
        lam = lambda_client(endpoint)
        failed_url, failed_arn = queue(endpoint, f"expired-{tag}")
        dlq_url, dlq_arn = queue(endpoint, f"expired-dlq-{tag}")
        lam.put_function_event_invoke_config(FunctionName="recorder", MaximumEventAgeInSeconds=60,
                                             DestinationConfig={"OnFailure": {"Destination": failed_arn}})
        lam.update_function_configuration(FunctionName="recorder", DeadLetterConfig={"TargetArn": dlq_arn})
        request_id = invoke_event(lam, "recorder", {"tag": tag, "please-fail": True})
        wait_for(endpoint, tag, 1, timeout=30)  # the first attempt runs (and fails) ...
        server.plane.async_queue.set_offset(120)  # ... then two minutes pass
        [message] = receive(endpoint, failed_url, timeout=30)
        record = json.loads(message["Body"])
        assert record["requestContext"] == {"requestId": request_id, "functionArn": f"{RECORDER}:$LATEST",
                                            "condition": "EventAgeExceeded", "approximateInvokeCount": 1}
        assert record["requestPayload"] == {"tag": tag, "please-fail": True}
        assert record["responseContext"]["functionError"] == "Unhandled"  # the last attempt's
        assert record["responsePayload"]["errorMessage"] == "failing as asked"
        [dead] = receive(endpoint, dlq_url)
        assert json.loads(dead["Body"]) == {"tag": tag, "please-fail": True}
        assert dead["MessageAttributes"]["ErrorMessage"]["StringValue"] == "failing as asked"
        assert health(endpoint)["lambda"]["async_events"]["queued"] == 0
        assert len(recorded(endpoint, tag)) == 1  # the retry never ran


def test_queued_events_resume_even_when_the_health_check_fails(tmp_path, tag, monkeypatch, caplog):
    """The queue, pollers and schedules start once the control plane answers its health check;
    when it does not (here: never), that is logged as an error and they start anyway."""
    async def unanswered(endpoint: str, timeout: float = 30) -> None:
        raise urllib.error.URLError("connection refused (simulated)")

    monkeypatch.setattr("emulator.app.plane.endpoint_answers", unanswered)
    settings = replace(_settings(tmp_path, "process"), seed_on_start=False)
    left_by_a_previous_run = QueuedEvent(str(uuid.uuid4()), "recorder", json.dumps({"tag": tag}), time.time())
    EventStore(settings.state_dir / "async-events").save(left_by_a_previous_run)
    with caplog.at_level(logging.ERROR, logger="emulator.app"), BackgroundServer(settings) as endpoint:
        ensure_table(endpoint)
        [got] = wait_for(endpoint, tag, 1, timeout=30)
        assert got.request_id == left_by_a_previous_run.request_id
    [error] = [r.getMessage() for r in caplog.records if r.name == "emulator.app.plane"]
    assert "did not answer its health check" in error and "simulated" in error


def test_a_function_json_event_invoke_config_is_the_one_the_api_reads_changes_and_deletes(tmp_path):
    functions = tmp_path / "functions"
    shutil.copytree(ROOT / "tests" / "functions" / "recorder", functions / "recorder")
    declared = functions / "recorder" / "function.json"
    declared.write_text(json.dumps({"Timeout": 3, "EventInvokeConfig": {"MaximumRetryAttempts": 1}}))
    settings = replace(_settings(tmp_path, "process", functions), state_dir=tmp_path / "state", watch="off")

    with BackgroundServer(settings) as endpoint:
        lam = lambda_client(endpoint)
        got = lam.get_function_event_invoke_config(FunctionName="recorder")
        assert got["MaximumRetryAttempts"] == 1 and got["FunctionArn"] == f"{RECORDER}:$LATEST"
        assert "MaximumEventAgeInSeconds" not in got
        time.sleep(0.01)
        again = lam.get_function_event_invoke_config(FunctionName="recorder")
        assert again["LastModified"] == got["LastModified"]  # it did not change since
        [listed] = lam.list_function_event_invoke_configs(FunctionName="recorder")["FunctionEventInvokeConfigs"]
        assert listed["MaximumRetryAttempts"] == 1
        updated = lam.update_function_event_invoke_config(FunctionName="recorder", MaximumEventAgeInSeconds=120)
        assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (1, 120)
        lam.delete_function_event_invoke_config(FunctionName="recorder")  # what Get returns, it removes
        with pytest.raises(lam.exceptions.ResourceNotFoundException, match="doesn't have an EventInvokeConfig"):
            lam.get_function_event_invoke_config(FunctionName="recorder")
        assert lam.list_function_event_invoke_configs(FunctionName="recorder")["FunctionEventInvokeConfigs"] == []
        with pytest.raises(lam.exceptions.ResourceNotFoundException):
            lam.delete_function_event_invoke_config(FunctionName="recorder")

    # deleted it stays, across a restart ...
    with BackgroundServer(settings) as endpoint, pytest.raises(lam.exceptions.ResourceNotFoundException):
        lambda_client(endpoint).get_function_event_invoke_config(FunctionName="recorder")

    declared.write_text(json.dumps({"Timeout": 3, "EventInvokeConfig": {"MaximumRetryAttempts": 0}}))
    with BackgroundServer(settings) as endpoint:  # ... until function.json's configuration changes
        got = lambda_client(endpoint).get_function_event_invoke_config(FunctionName="recorder")
        assert got["MaximumRetryAttempts"] == 0
