"""EventBridge -> Lambda with real moto and real Docker: what the recorder function receives.

Envelope: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html;
target input: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html.
"""

from __future__ import annotations

import json
import os
import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import aws_error, lambda_client
from tests.integration.probes import quiet
from tests.integration.recorded import aws, ensure_table, recorded, settle, wait_for

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:recorder"


@pytest.fixture(scope="module")
def endpoint(docker_endpoint) -> str:
    ensure_table(docker_endpoint)
    lambda_client(docker_endpoint).invoke(FunctionName="recorder", Payload=b'{"warm": true}')
    return docker_endpoint


@pytest.fixture
def tag() -> str:
    return "eb-" + os.urandom(4).hex()


def rule(endpoint: str, tag: str, pattern: dict, targets: list[dict], bus: str | None = None, **kwargs: Any) -> str:
    events = aws(endpoint, "events")
    name = f"r-{tag}-{os.urandom(2).hex()}"
    extra = {"EventBusName": bus} if bus else {}
    events.put_rule(Name=name, EventPattern=json.dumps(pattern), **extra, **kwargs)
    events.put_targets(Rule=name, Targets=targets, **extra)
    return name


def put(endpoint: str, *details: dict, source: str = "app.orders", **extra: Any) -> list[str]:
    reply = aws(endpoint, "events").put_events(Entries=[
        {"Source": source, "DetailType": "Order Placed", "Detail": json.dumps(detail), **extra}
        for detail in details])
    assert reply["FailedEntryCount"] == 0, reply
    return [entry["EventId"] for entry in reply["Entries"]]


def test_put_events_delivers_the_aws_envelope(endpoint, tag):
    rule(endpoint, tag, {"source": ["app.orders"], "detail": {"tag": [tag]}}, [{"Id": "f", "Arn": FUNCTION}])
    at = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    [event_id] = put(endpoint, {"tag": tag, "total": 12.5}, Time=at, Resources=["arn:aws:s3:::x"])
    [found] = wait_for(endpoint, tag)
    assert found.event == {
        "version": "0", "id": event_id, "detail-type": "Order Placed", "source": "app.orders",
        "account": "123456789012", "time": "2024-05-06T07:08:09Z", "region": "us-east-1",
        "resources": ["arn:aws:s3:::x"], "detail": {"tag": tag, "total": 12.5},
    }


def test_time_defaults_to_now(endpoint, tag):
    rule(endpoint, tag, {"detail": {"tag": [tag]}}, [{"Id": "f", "Arn": FUNCTION}])
    before = time.time()
    put(endpoint, {"tag": tag})
    [found] = wait_for(endpoint, tag)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", found.event["time"])
    sent = datetime.strptime(found.event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    assert before - 1 <= sent <= time.time() + 1


def test_pattern_operators_through_put_events(endpoint, tag):
    pattern = {"detail": {
        "tag": [tag],
        "sku": [{"prefix": "SKU-"}],
        "file": [{"suffix": ".png"}],
        "state": [{"anything-but": ["cancelled", "refunded"]}],
        "total": [{"numeric": [">", 10, "<=", 100]}],
        "coupon": [{"exists": False}],
        "region": [{"wildcard": "us-*-1"}],
        "$or": [{"channel": ["web"]}, {"priority": [{"numeric": [">=", 5]}]}],
    }}
    rule(endpoint, tag, pattern, [{"Id": "f", "Arn": FUNCTION}])
    base = {"tag": tag, "sku": "SKU-1", "file": "a.png", "state": "new", "total": 50, "region": "us-east-1",
            "channel": "web"}
    cases = {
        "match": {},
        "match-or-priority": {"channel": "app", "priority": 7},
        "bad-prefix": {"sku": "X-1"},
        "bad-suffix": {"file": "a.jpg"},
        "excluded-state": {"state": "cancelled"},
        "total-too-high": {"total": 100.5},
        "total-as-string": {"total": "50"},
        "has-coupon": {"coupon": "C"},
        "bad-wildcard": {"region": "eu-west-1"},
        "neither-or-branch": {"channel": "app", "priority": 1},
    }
    put(endpoint, *[dict(base, case=name, **change) for name, change in list(cases.items())[:5]])
    put(endpoint, *[dict(base, case=name, **change) for name, change in list(cases.items())[5:]])
    wait_for(endpoint, tag, 2)
    assert sorted(r.event["detail"]["case"] for r in settle(endpoint, tag)) == ["match", "match-or-priority"]


def test_custom_bus_by_name_and_arn(endpoint, tag):
    events = aws(endpoint, "events")
    bus_arn = events.create_event_bus(Name=f"bus-{tag}")["EventBusArn"]
    rule(endpoint, tag, {"detail": {"tag": [tag]}}, [{"Id": "f", "Arn": FUNCTION}], bus=f"bus-{tag}")
    put(endpoint, {"tag": tag, "via": "name"}, EventBusName=f"bus-{tag}")
    put(endpoint, {"tag": tag, "via": "arn"}, EventBusName=bus_arn)
    put(endpoint, {"tag": tag, "via": "default-bus"})
    wait_for(endpoint, tag, 2)
    assert sorted(r.event["detail"]["via"] for r in settle(endpoint, tag)) == ["arn", "name"]


def test_each_input_mode(endpoint, tag):
    name = rule(endpoint, tag, {"detail": {"tag": [tag]}}, [
        {"Id": "constant", "Arn": FUNCTION, "Input": json.dumps({"constant": tag})},
        {"Id": "path", "Arn": FUNCTION, "InputPath": "$.detail"},
        {"Id": "string", "Arn": FUNCTION, "InputTransformer": {
            "InputPathsMap": {"tag": "$.detail.tag", "sku": "$.detail.items[0].sku"},
            "InputTemplate": '"order <tag> starts with <sku> (rule <aws.events.rule-name>)"'}},
        {"Id": "json", "Arn": FUNCTION, "InputTransformer": {
            "InputPathsMap": {"tag": "$.detail.tag", "skus": "$.detail.items[*].sku", "type": "$.detail-type",
                              "missing": "$.detail.nothing"},
            "InputTemplate": '{"tag": <tag>, "skus": <skus>, "text": "<type>: <skus>", "missing": <missing>, '
                             '"rule": <aws.events.rule-arn>, "event": <aws.events.event.json>}'}},
    ])
    [event_id] = put(endpoint, {"tag": tag, "items": [{"sku": "A1"}, {"sku": "B2"}]})
    found = [r.event for r in wait_for(endpoint, tag, 4)]
    assert {"constant": tag} in found
    assert {"tag": tag, "items": [{"sku": "A1"}, {"sku": "B2"}]} in found
    assert f"order {tag} starts with A1 (rule {name})" in found
    [shaped] = [e for e in found if isinstance(e, dict) and "skus" in e]
    assert shaped["tag"] == tag and shaped["skus"] == ["A1", "B2"] and shaped["text"] == "Order Placed: [A1,B2]"
    assert shaped["missing"] == "" and shaped["rule"] == f"arn:aws:events:us-east-1:123456789012:rule/{name}"
    assert shaped["event"]["id"] == event_id and shaped["event"]["detail"]["tag"] == tag
    assert len(settle(endpoint, tag)) == 4


def test_disabled_rules_do_not_fire(endpoint, tag):
    events = aws(endpoint, "events")
    rule(endpoint, tag, {"detail": {"tag": [tag]}}, [{"Id": "f", "Arn": FUNCTION}], State="DISABLED")
    enabled = rule(endpoint, tag, {"detail": {"tag": [tag], "n": [2]}}, [{"Id": "f", "Arn": FUNCTION}])
    put(endpoint, {"tag": tag, "n": 1})
    put(endpoint, {"tag": tag, "n": 2})
    wait_for(endpoint, tag, 1)
    events.disable_rule(Name=enabled)
    put(endpoint, {"tag": tag, "n": 2, "after": "disable"})
    assert [r.event["detail"] for r in settle(endpoint, tag)] == [{"tag": tag, "n": 2}]


def test_sqs_and_lambda_targets_of_one_rule(endpoint, tag):
    sqs = aws(endpoint, "sqs")
    url = sqs.create_queue(QueueName=f"q-{tag}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule(endpoint, tag, {"detail": {"tag": [tag]}}, [{"Id": "q", "Arn": queue_arn}, {"Id": "f", "Arn": FUNCTION}])
    [event_id] = put(endpoint, {"tag": tag})
    [found] = wait_for(endpoint, tag)
    assert found.event["id"] == event_id
    deadline, bodies = time.monotonic() + 10, []
    while not bodies and time.monotonic() < deadline:
        bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])]
    [body] = bodies
    assert body["id"] == event_id and body["detail"] == {"tag": tag}


def test_topic_target_reaches_a_lambda_subscriber(endpoint, tag):
    sns = aws(endpoint, "sns")
    topic = sns.create_topic(Name=f"t-{tag}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=FUNCTION)
    rule(endpoint, tag, {"detail": {"tag": [tag]}}, [{"Id": "t", "Arn": topic}])
    [event_id] = put(endpoint, {"tag": tag})
    [found] = wait_for(endpoint, tag)
    message = json.loads(found.event["Records"][0]["Sns"]["Message"])
    assert message["id"] == event_id and message["detail"] == {"tag": tag}


def test_put_targets_checks_the_input_settings(endpoint, tag):
    events = aws(endpoint, "events")
    name = f"r-{tag}"
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["x"]}))
    with pytest.raises(events.exceptions.ClientError) as err:
        events.put_targets(Rule=name, Targets=[{"Id": "t1", "Arn": FUNCTION, "InputTransformer": {
            "InputPathsMap": {"a": "$.detail.a"}, "InputTemplate": '"<a> <notdefinedkey>"'}}])
    assert err.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "InputTemplate for target t1 contains invalid placeholder notdefinedkey."}
    with pytest.raises(events.exceptions.ClientError) as err:
        events.put_targets(Rule=name, Targets=[{"Id": "t2", "Arn": FUNCTION, "InputPath": "$.detail",
                                                 "Input": "{}"}])
    assert "Only one of Input, InputPath, or InputTransformer" in err.value.response["Error"]["Message"]
    assert recorded(endpoint, tag) == []


def test_s3_events_sent_to_eventbridge_reach_the_function(endpoint, tag):
    rule(endpoint, tag, {"source": ["aws.s3"], "detail-type": ["Object Created"],
                         "detail": {"bucket": {"name": [tag]}}}, [{"Id": "f", "Arn": FUNCTION}])
    s3 = aws(endpoint, "s3")
    s3.create_bucket(Bucket=tag)
    s3.put_bucket_notification_configuration(Bucket=tag, NotificationConfiguration={"EventBridgeConfiguration": {}})
    s3.put_object(Bucket=tag, Key="file.txt", Body=b"data")
    [found] = wait_for(endpoint, tag)
    assert found.event["source"] == "aws.s3" and found.event["detail-type"] == "Object Created"
    assert found.event["resources"] == [f"arn:aws:s3:::{tag}"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", found.event["time"]) and "ingestion-time" not in found.event
    # the documented detail, with this request's facts (moto's had the documentation's sample values)
    detail = found.event["detail"]
    assert detail.pop("request-id") != "N4N7GDK58NMKJ12R" and detail["object"].pop("sequencer") != "617f08299329d189"
    assert detail == {"version": "0", "bucket": {"name": tag},
                      "object": {"key": "file.txt", "size": 4, "etag": "8d777f385d3dfec8815d20f7496026dc"},
                      "requester": "123456789012", "source-ip-address": "127.0.0.1", "reason": "PutObject"}

    s3.put_object(Bucket=tag, Key="other.txt", Body=b"data")
    second = [r.event for r in wait_for(endpoint, tag, 2)]
    assert len({e["id"] for e in second}) == 2  # moto gave every S3 event the same id


@pytest.mark.parametrize("pattern", [
    {"detail": {"a": [{"nope": 1}]}}, {"a": [{"prefix": 5}]}, {"a": [{"numeric": [">", "x"]}]}, [1], "text"])
def test_put_rule_refuses_an_invalid_pattern(endpoint, tag, pattern):
    events = aws(endpoint, "events")
    name = f"r-{tag}"
    error = aws_error(events.put_rule, Name=name, EventPattern=json.dumps(pattern))
    assert error["Code"] == "InvalidEventPatternException"
    assert error["Message"].startswith("Event pattern is not valid. Reason: ")
    assert name not in [r["Name"] for r in events.list_rules(NamePrefix=name)["Rules"]]


def test_test_event_pattern_answers_with_our_matcher(endpoint):
    events = aws(endpoint, "events")
    event = {"id": "1", "account": "123456789012", "source": "app.orders", "time": "2024-05-06T07:08:09Z",
             "region": "us-east-1", "detail-type": "Order Placed", "resources": [],
             "detail": {"sku": "SKU-1", "total": 50, "region": "us-west-1"}}
    matching = {"source": ["app.orders"], "detail": {"sku": [{"prefix": "SKU-"}], "total": [{"numeric": [">", 10]}],
                                                     "region": [{"wildcard": "us-*-1"}]}}
    assert events.test_event_pattern(EventPattern=json.dumps(matching), Event=json.dumps(event))["Result"] is True
    other = {"detail": {"total": [{"numeric": [">", 100]}]}}
    assert events.test_event_pattern(EventPattern=json.dumps(other), Event=json.dumps(event))["Result"] is False

    error = aws_error(events.test_event_pattern, EventPattern="[1]", Event=json.dumps(event))
    assert error["Code"] == "InvalidEventPatternException"
    no_account = {k: v for k, v in event.items() if k != "account"}
    error = aws_error(events.test_event_pattern, EventPattern=json.dumps(matching), Event=json.dumps(no_account))
    assert (error["Code"], error["Message"]) == ("ValidationException", "Parameter Event is not valid.")


@pytest.mark.parametrize(("target", "message"), [
    ({"Input": "not json"}, 'JSON syntax error in input for target t1: [Source: (String)"not json"; line: 1, column: 1]'),
    ({"InputPath": "detail.a"}, "InputPath for target t1 is invalid."),
    ({"InputTransformer": {"InputPathsMap": {"a": "detail.a"}, "InputTemplate": '"<a>"'}},
     "InputPath for target t1 is invalid."),
    ({"InputTransformer": {"InputPathsMap": {"k": "$.a"}, "InputTemplate": "{<k>: 1}"}},
     "InputTemplate for target t1 uses placeholder k as an object key."),
    ({"InputTransformer": {"InputTemplate": '"<aws.events.event.json>"'}},
     "InputTemplate for target t1 contains placeholder aws.events.event.json valid only for JSON template."),
])
def test_put_targets_refuses_bad_input_settings(endpoint, tag, target, message):
    events = aws(endpoint, "events")
    name = f"r-{tag}"
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["x"]}))
    error = aws_error(events.put_targets, Rule=name, Targets=[{"Id": "t1", "Arn": FUNCTION, **target}])
    assert (error["Code"], error["Message"]) == ("ValidationException", message)
    assert events.list_targets_by_rule(Rule=name)["Targets"] == []


def test_put_targets_checks_input_paths_map_keys_and_size(endpoint, tag):
    events = aws(endpoint, "events")
    name = f"r-{tag}"
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["x"]}))
    ok = {"Id": "ok", "Arn": FUNCTION}
    for paths in ({"AWS.name": "$.a"}, {f"k{i}": "$.a" for i in range(101)}):
        error = aws_error(events.put_targets, Rule=name, Targets=[ok, {"Id": "t2", "Arn": FUNCTION, "InputTransformer": {
            "InputPathsMap": paths, "InputTemplate": '"x"'}}])
        assert error["Code"] == "ValidationException"
        assert error["Message"].startswith("1 validation error detected: Value '{")
        assert "at 'targets.2.member.inputTransformer.inputPathsMap' failed to satisfy constraint: " in error["Message"]
    events.put_targets(Rule=name, Targets=[{"Id": "t", "Arn": FUNCTION, "InputTransformer": {
        "InputPathsMap": {f"k{i}": "$.a" for i in range(100)}, "InputTemplate": '"x"'}}])


def test_put_events_refuses_a_detail_that_is_not_an_object(endpoint, tag):
    rule(endpoint, tag, {"source": [tag]}, [{"Id": "f", "Arn": FUNCTION}])
    reply = aws(endpoint, "events").put_events(Entries=[
        {"Source": tag, "DetailType": "t", "Detail": json.dumps([tag])},
        {"Source": tag, "DetailType": "t", "Detail": json.dumps({"tag": tag})},
        {"Source": tag, "DetailType": "t", "Detail": json.dumps(tag)}])
    assert reply["FailedEntryCount"] == 2
    malformed = {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert reply["Entries"][0] == reply["Entries"][2] == malformed
    [found] = wait_for(endpoint, tag)
    assert found.event["id"] == reply["Entries"][1]["EventId"]
    assert len(settle(endpoint, tag)) == 1


def dead_letter_queue(endpoint: str, tag: str) -> tuple[str, str]:
    sqs = aws(endpoint, "sqs")
    url = sqs.create_queue(QueueName=f"dlq-{tag}")["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def dead_letters(endpoint: str, url: str, count: int) -> list[tuple[dict, dict]]:
    sqs = aws(endpoint, "sqs")
    got: list[tuple[dict, dict]] = []
    deadline = time.monotonic() + 20
    while len(got) < count and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                           MessageAttributeNames=["All"]).get("Messages", []):
            got.append((json.loads(message["Body"]),
                        {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}))
    return got


def test_a_target_whose_function_does_not_exist(endpoint, tag):
    url, dlq_arn = dead_letter_queue(endpoint, tag)
    missing = f"arn:aws:lambda:us-east-1:123456789012:function:missing-{tag}"
    name = rule(endpoint, tag, {"detail": {"tag": [tag]}}, [
        {"Id": "gone", "Arn": missing, "DeadLetterConfig": {"Arn": dlq_arn}},
        {"Id": "also-gone", "Arn": missing + "-too"},  # no DLQ: logged only
        {"Id": "f", "Arn": FUNCTION}])
    [event_id] = put(endpoint, {"tag": tag})  # PutEvents succeeds
    [found] = wait_for(endpoint, tag)  # the other targets still get it
    assert found.event["id"] == event_id
    [(event, attributes)] = dead_letters(endpoint, url, 1)
    assert event["id"] == event_id and event["detail"] == {"tag": tag}
    assert attributes["RULE_ARN"] == f"arn:aws:events:us-east-1:123456789012:rule/{name}"
    assert attributes["TARGET_ARN"] == missing and attributes["ERROR_CODE"] == "NO_RESOURCE"
    assert f"missing-{tag}" in attributes["ERROR_MESSAGE"]
    put(endpoint, {"tag": tag, "n": 2})  # and nothing broke
    assert len(wait_for(endpoint, tag, 2)) == 2


def test_a_json_template_that_renders_invalid_json_fails_at_delivery(endpoint, tag):
    url, dlq_arn = dead_letter_queue(endpoint, tag)
    rule(endpoint, tag, {"detail": {"tag": [tag]}}, [{
        "Id": "f", "Arn": FUNCTION, "DeadLetterConfig": {"Arn": dlq_arn},
        "InputTransformer": {"InputPathsMap": {"text": "$.detail.text", "tag": "$.detail.tag"},
                             "InputTemplate": '{"tag": "<tag>", "text": "<text>"}'}}])  # accepted, as by AWS
    [event_id] = put(endpoint, {"tag": tag, "text": 'say "hi"'})  # values are not escaped: invalid JSON
    [(event, attributes)] = dead_letters(endpoint, url, 1)
    assert event["id"] == event_id and attributes["ERROR_CODE"] == "INVALID_JSON"
    put(endpoint, {"tag": tag, "text": "plain"})
    [found] = wait_for(endpoint, tag)
    assert found.event == {"tag": tag, "text": "plain"}


def test_delivery_is_asynchronous_and_retried_as_an_event_invoke(endpoint, tag):
    """A slow function does not slow PutEvents; a failing attempt (a timeout) is retried with the
    same request id, as an InvocationType Event invoke is."""
    rule(endpoint, tag, {"detail": {"tag": [tag]}}, [{"Id": "f", "Arn": FUNCTION}])
    started = time.monotonic()
    [event_id] = put(endpoint, {"tag": tag, "then": "please-timeout"})  # the recorder sleeps past its 3 s
    assert time.monotonic() - started < 1.5
    first, second = wait_for(endpoint, tag, 2, timeout=40)[:2]
    assert first.request_id == second.request_id and first.event["id"] == second.event["id"] == event_id
    assert second.at - first.at >= 3
    quiet(endpoint)  # the last retry runs here, not into the next test's drain probe


def test_rules_on_a_custom_bus_given_by_arn(endpoint, tag):
    events = aws(endpoint, "events")
    bus_arn = events.create_event_bus(Name=f"arn-bus-{tag}")["EventBusArn"]
    name = rule(endpoint, tag, {"detail": {"tag": [tag]}}, [{"Id": "f", "Arn": FUNCTION}], bus=bus_arn)
    assert [r["Name"] for r in events.list_rules(EventBusName=bus_arn)["Rules"]] == [name]
    assert events.describe_rule(Name=name, EventBusName=bus_arn)["EventBusName"] == f"arn-bus-{tag}"
    assert [t["Id"] for t in events.list_targets_by_rule(Rule=name, EventBusName=bus_arn)["Targets"]] == ["f"]
    put(endpoint, {"tag": tag, "via": "name"}, EventBusName=f"arn-bus-{tag}")
    put(endpoint, {"tag": tag, "via": "arn"}, EventBusName=bus_arn)
    put(endpoint, {"tag": tag, "via": "default"})
    wait_for(endpoint, tag, 2)
    assert sorted(r.event["detail"]["via"] for r in settle(endpoint, tag)) == ["arn", "name"]
