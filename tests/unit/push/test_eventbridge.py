"""EventBridge targets: the envelope, Input / InputPath / InputTransformer, PutTargets checks, and
the moto patch driven in-process (moto's events backend, ``deliver`` replaced by a recorder).

Transformer cases are the examples of "Amazon EventBridge input transformation"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html) and
what LocalStack recorded against AWS (tests/aws/services/events/test_events_inputs.snapshot.json).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from emulator.moto import events as events_glue
from emulator.patterns.engine import PatternError
from emulator.push import eventbridge
from emulator.push.target_input import (
    TargetInputError,
    json_path,
    render_template,
    target_payload,
    validate_target,
)

# The doc's example EC2 event.
EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING", "tags": [{"k": "a"}, {"k": "b"}], "n": 3},
}
PATHS = {"timestamp": "$.time", "instance": "$.detail.instance-id", "state": "$.detail.state"}
RULE_ARN = "arn:aws:events:us-east-2:123456789012:rule/example"


def transform(template: str, paths: dict[str, str] | None = None) -> Any:
    target = {"Id": "t", "Arn": "x", "InputTransformer": {"InputPathsMap": PATHS if paths is None else paths,
                                                          "InputTemplate": template}}
    return target_payload(EVENT, target, "example", rule_arn=RULE_ARN).decode()


def test_no_input_settings_sends_the_event():
    assert json.loads(target_payload(EVENT, {"Id": "t", "Arn": "x"}, "r")) == EVENT


def test_input_is_sent_as_given():
    assert target_payload(EVENT, {"Id": "t", "Arn": "x", "Input": '{"constant": [1, 2]}'}, "r") == \
        b'{"constant": [1, 2]}'


def test_input_path_sends_the_json_value_there():
    assert json.loads(target_payload(EVENT, {"Id": "t", "Arn": "x", "InputPath": "$.detail"}, "r")) == EVENT["detail"]
    # a string value arrives as a JSON string (LocalStack's AWS snapshot: Body "\"baz\"")
    assert target_payload(EVENT, {"Id": "t", "Arn": "x", "InputPath": "$.detail.state"}, "r") == b'"RUNNING"'
    with pytest.raises(TargetInputError):
        target_payload(EVENT, {"Id": "t", "Arn": "x", "InputPath": "$.detail.nothing"}, "r")


def test_json_path_supports_dashes_indices_and_wildcards():
    assert json_path(EVENT, "$.detail-type") == "EC2 Instance State-change Notification"
    assert json_path(EVENT, "$.detail.tags[1].k") == "b"
    assert json_path(EVENT, "$.detail.tags[*].k") == ["a", "b"]
    assert json_path(EVENT, "$.resources[0]") == EVENT["resources"][0]
    assert json_path(EVENT, "$") == EVENT
    assert json_path(EVENT, "$.detail['instance-id']") == "i-0123456789"


def test_doc_example_simple_string():
    assert transform('"instance <instance> is in <state>"') == '"instance i-0123456789 is in RUNNING"'


def test_doc_example_string_with_escaped_quotes():
    assert transform('"instance \\"<instance>\\" is in <state>"') == '"instance \\"i-0123456789\\" is in RUNNING"'


def test_doc_example_simple_json():
    assert json.loads(transform('{\n  "instance" : <instance>,\n  "state": <state>\n}')) == {
        "instance": "i-0123456789", "state": "RUNNING"}


def test_doc_example_json_with_strings_and_variables():
    out = transform('{"instance" : <instance>, "state": "<state>", '
                    '"instanceStatus": "instance \\"<instance>\\" is in <state>"}')
    assert json.loads(out) == {"instance": "i-0123456789", "state": "RUNNING",
                               "instanceStatus": 'instance "i-0123456789" is in RUNNING'}


def test_doc_example_json_with_static_information_is_minified():
    out = transform('{\n  "instance" : <instance>,\n  "state": [ 9, <state>, true ],\n  "Transformed" : "Yes"\n}')
    assert out == '{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}'


def test_doc_example_reserved_variables_in_json():
    out = json.loads(transform('{"instance": <instance>, "ruleArn": <aws.events.rule-arn>, '
                               '"ruleName": <aws.events.rule-name>, "originalEvent": <aws.events.event>, '
                               '"full": <aws.events.event.json>, "at": <aws.events.event.ingestion-time>}'))
    assert out["ruleArn"] == RULE_ARN and out["ruleName"] == "example"
    assert out["full"] == EVENT
    assert "detail" not in out["originalEvent"] and out["originalEvent"]["detailType"] == EVENT["detail-type"]
    assert out["originalEvent"]["id"] == EVENT["id"] and out["at"] == EVENT["time"]


def test_doc_example_reserved_variables_in_a_string():
    assert transform('"<aws.events.rule-name> triggered"') == '"example triggered"'


def test_missing_paths_render_empty():
    paths = {"command": "$.detail.notinmessage", "state": "$.detail.state"}
    assert transform('"state <state>, command <command>"', paths) == '"state RUNNING, command "'
    assert json.loads(transform('{"state": <state>, "command": <command>}', paths)) == {"state": "RUNNING",
                                                                                         "command": ""}


def test_objects_in_a_string_lose_their_quotes_and_keep_them_as_json_values():
    paths = {"detail": "$.detail", "tags": "$.detail.tags[*].k", "n": "$.detail.n"}
    assert transform('"Detail <tags> <n>"', paths) == '"Detail [a,b] 3"'
    assert json.loads(transform('{"d": <detail>, "s": "<n>", "n": <n>}', paths)) == {
        "d": EVENT["detail"], "s": "3", "n": 3}


def test_a_template_of_one_placeholder_is_that_value_as_json():
    assert json.loads(transform("<aws.events.event.json>")) == EVENT
    assert transform(" <instance> ") == '"i-0123456789"'


def test_a_template_that_does_not_make_json_is_an_error():
    with pytest.raises(TargetInputError, match="invalid JSON"):
        transform('{"broken": "<instance>}')


def test_values_are_not_escaped_in_strings():
    event = dict(EVENT, detail={"msg": 'say "hi"'})
    target = {"Id": "t", "Arn": "x", "InputTransformer": {"InputPathsMap": {"m": "$.detail.msg"},
                                                          "InputTemplate": '"<m>"'}}
    assert target_payload(event, target, "r") == b'"say "hi""'


def test_unknown_placeholders_stay():
    assert render_template('"a <b> c"', {}) == '"a <b> c"'


def test_put_targets_checks():
    assert validate_target({"Id": "t1", "Arn": "a", "InputPath": "$.detail",
                            "InputTransformer": {"InputTemplate": "x"}}) == (
        "Only one of Input, InputPath, or InputTransformer must be provided for target t1.")
    assert validate_target({"Id": "t1", "Arn": "a", "InputTransformer": {
        "InputPathsMap": {"a": "$.a"}, "InputTemplate": '"<a> <notdefinedkey>"'}}) == (
        "InputTemplate for target t1 contains invalid placeholder notdefinedkey.")
    assert validate_target({"Id": "t1", "Arn": "a", "InputTransformer": {
        "InputTemplate": '"<aws.events.rule-name> <aws.events.rule-arn>"'}}) is None
    assert validate_target({"Id": "t1", "Arn": "a", "InputTransformer": {
        "InputTemplate": '{"event": <aws.events.event.json>}'}}) is None


def transformer(paths: dict[str, str] | None = None, template: str = '"x"') -> dict[str, Any]:
    return {"Id": "t1", "Arn": "a", "InputTransformer": {"InputPathsMap": paths or {}, "InputTemplate": template}}


def test_input_must_be_json():
    assert validate_target({"Id": "t1", "Arn": "a", "Input": '{"a": [1, "b"]}'}) is None
    assert validate_target({"Id": "t1", "Arn": "a", "Input": '"just a string"'}) is None
    assert validate_target({"Id": "t1", "Arn": "a", "Input": "not json"}) == (
        'JSON syntax error in input for target t1: [Source: (String)"not json"; line: 1, column: 1]')
    assert validate_target({"Id": "t1", "Arn": "a", "Input": '{"a": 1,\n}'}).startswith(
        "JSON syntax error in input for target t1: ")


@pytest.mark.parametrize("path", ["$", "$.detail", "$.detail-type", "$.detail.items[0].sku", "$.detail.*",
                                  "$.detail.a_b.c9"])
def test_json_paths_eventbridge_takes(path):
    assert validate_target({"Id": "t1", "Arn": "a", "InputPath": path}) is None
    assert validate_target(transformer({"v": path}, '"<v>"')) is None


@pytest.mark.parametrize("path", ["detail", "detail.a", "$detail", "$.detail['a']", '$.detail["a"]', "$..a",
                                  "", "$.a[", 5])
def test_other_paths_are_refused(path):
    assert validate_target({"Id": "t1", "Arn": "a", "InputPath": path}) == "InputPath for target t1 is invalid."
    assert validate_target(transformer({"v": path}, '"<v>"')) == "InputPath for target t1 is invalid."


@pytest.mark.parametrize("key", ["AWS.custom", "aws.events.rule-name", "has space", "a.b", "", "k" * 257])
def test_input_paths_map_keys_follow_the_model_pattern(key):
    problem = validate_target(transformer({key: "$.a"}), index=2)
    assert problem.startswith(f"1 validation error detected: Value '{{{key}=$.a}}' at "
                              "'targets.2.member.inputTransformer.inputPathsMap' failed to satisfy constraint: "
                              "Map keys must satisfy constraint: [")
    assert validate_target(transformer({"AWSish_key-1": "$.a"})) is None  # merely starting with AWS is fine


def test_at_most_100_input_paths():
    assert validate_target(transformer({f"k{i}": "$.a" for i in range(100)})) is None
    problem = validate_target(transformer({f"k{i}": "$.a" for i in range(101)}))
    assert problem.startswith("1 validation error detected: Value '{k0=$.a, k1=$.a")
    assert problem.endswith("at 'targets.1.member.inputTransformer.inputPathsMap' failed to satisfy constraint: "
                            "Member must have length less than or equal to 100")


def test_event_json_only_in_a_json_object_template():
    for template in ('[<aws.events.event.json>]', '"event: <aws.events.event.json>"', "<aws.events.event.json>"):
        assert validate_target(transformer(template=template)) == (
            "InputTemplate for target t1 contains placeholder aws.events.event.json valid only for JSON template.")


def test_placeholders_cannot_be_object_keys():
    assert validate_target(transformer({"k": "$.a"}, '{<k>: 1}')) == (
        "InputTemplate for target t1 uses placeholder k as an object key.")
    assert validate_target(transformer({"k": "$.a"}, '{"a": 1, <k> : 2}')).endswith("as an object key.")
    assert validate_target(transformer({"k": "$.a"}, '{"<k>": <k>, "t": "{<k>: x"}')) is None  # in strings: text


def test_a_json_template_that_renders_invalid_json_is_accepted_and_fails_at_delivery():
    target = transformer({"a": "$.detail.state"}, '{"a": <a>, }')
    assert validate_target(target) is None
    with pytest.raises(TargetInputError) as caught:
        target_payload(EVENT, target, "r")
    assert caught.value.code == "INVALID_JSON"


def test_envelope_from_moto_event_drops_internal_keys():
    moto_event = {"version": "0", "id": "i", "detail-type": "dt", "source": "s", "account": "1", "time": 0,
                  "region": "r", "resources": [], "detail": {"a": 1}, "ingestion-time": 12.5}
    shaped = eventbridge.envelope(moto_event)
    assert list(shaped) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources",
                            "detail"]
    assert shaped["time"] == "1970-01-01T00:00:00Z"
    assert eventbridge.envelope(dict(moto_event, time="2015-11-11T21:29:54Z"))["time"] == "2015-11-11T21:29:54Z"


# --------------------------------------------------------------------------- the moto patch, in process

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:recorder"


@pytest.fixture
def delivered(monkeypatch) -> list[tuple[str, Any, str]]:
    from emulator.moto import delivery as moto_delivery

    events_glue.PATCHES.apply()
    got: list[tuple[str, Any, str]] = []
    monkeypatch.setattr(moto_delivery, "invoke_async",
                        lambda arn, payload, source: got.append((arn, json.loads(payload), source)))
    return got


@pytest.fixture
def backend():
    from moto.events.models import events_backends

    return events_backends["123456789012"]["us-east-1"]


def rule(backend, pattern: dict, targets: list[dict], **kwargs: Any) -> str:
    name = f"unit-{uuid.uuid4().hex[:8]}"
    backend.put_rule(name, event_pattern=json.dumps(pattern), **kwargs)
    backend.put_targets(name, kwargs.get("event_bus_arn"), targets)
    return name


def put(backend, detail: dict, source: str = "unit.test", **extra: Any) -> list[dict]:
    return backend.put_events([{"Source": source, "DetailType": "t", "Detail": json.dumps(detail), **extra}])


def test_put_events_reaches_a_lambda_target_with_the_aws_envelope(backend, delivered):
    tag = uuid.uuid4().hex
    name = rule(backend, {"detail": {"tag": [tag]}}, [{"Id": "f", "Arn": FUNCTION}])
    [entry] = put(backend, {"tag": tag}, Time=1700000000, Resources=["arn:aws:x"])
    [(arn, event, source)] = delivered
    assert arn == FUNCTION and source == f"EventBridge rule {name}"
    assert event == {"version": "0", "id": entry["EventId"], "detail-type": "t", "source": "unit.test",
                     "account": "123456789012", "time": "2023-11-14T22:13:20Z", "region": "us-east-1",
                     "resources": ["arn:aws:x"], "detail": {"tag": tag}}


def test_rules_match_with_our_engine(backend, delivered):
    tag = uuid.uuid4().hex
    rule(backend, {"detail": {"tag": [tag], "name": [{"wildcard": "a*z"}], "n": [{"numeric": [">", 1]}]}},
         [{"Id": "f", "Arn": FUNCTION}])
    put(backend, {"tag": tag, "name": "abcz", "n": 2})
    put(backend, {"tag": tag, "name": "abc", "n": 2})
    put(backend, {"tag": tag, "name": "az", "n": 1})
    assert [e["detail"]["name"] for _, e, _ in delivered] == ["abcz"]


def test_disabled_rules_do_not_fire(backend, delivered):
    tag = uuid.uuid4().hex
    rule(backend, {"detail": {"tag": [tag]}}, [{"Id": "f", "Arn": FUNCTION}], state="DISABLED")
    put(backend, {"tag": tag})
    assert delivered == []


def test_put_targets_refuses_undefined_placeholders(backend, delivered):
    from moto.events.exceptions import ValidationException

    with pytest.raises(ValidationException, match="contains invalid placeholder nope"):
        rule(backend, {"source": ["x"]}, [{"Id": "f", "Arn": FUNCTION, "InputTransformer": {
            "InputTemplate": '"<nope>"'}}])


def test_unsupported_targets_do_not_fail_put_events(backend, delivered):
    tag = uuid.uuid4().hex
    rule(backend, {"detail": {"tag": [tag]}}, [
        {"Id": "k", "Arn": "arn:aws:kinesis:us-east-1:123456789012:stream/nope"},
        {"Id": "f", "Arn": FUNCTION, "InputPath": "$.detail"}])
    [entry] = put(backend, {"tag": tag})
    assert "EventId" in entry
    assert [e for _, e, _ in delivered] == [{"tag": tag}]


# --------------------------------------------------------------------------- PutRule and TestEventPattern


@pytest.mark.parametrize("pattern", [
    '{"detail": {"a": [{"nope": 1}]}}', '{"a": [{"prefix": 5}]}', '{"a": [{"numeric": [">", "x"]}]}',
    '{"a": []}', '{"a": "b"}', "[1]", '"text"', "{not json"])
def test_invalid_event_patterns_have_a_reason(pattern):
    reason = eventbridge.event_pattern_problem(pattern)
    assert isinstance(reason, str) and reason


def test_valid_event_patterns_have_no_problem():
    assert eventbridge.event_pattern_problem('{"source": ["a"], "detail": {"n": [{"numeric": [">", 1]}]}}') is None
    assert eventbridge.event_pattern_problem(None) is None


def test_pattern_result_matches_with_our_engine():
    event = json.dumps(dict(EVENT, detail={"name": "abcz"}))
    assert eventbridge.pattern_result('{"detail": {"name": [{"wildcard": "a*z"}]}}', event) is True
    assert eventbridge.pattern_result('{"detail": {"name": [{"wildcard": "x*"}]}}', event) is False
    with pytest.raises(PatternError):
        eventbridge.pattern_result("[1]", event)
    for bad in ("not json", "[]", json.dumps({k: v for k, v in EVENT.items() if k != "account"})):
        with pytest.raises(eventbridge.EventNotValid, match=r"^Parameter Event is not valid\.$"):
            eventbridge.pattern_result('{"source": ["x"]}', bad)


def test_put_rule_refuses_invalid_patterns_in_process(backend, delivered):
    from moto.events.exceptions import InvalidEventPatternException

    events_glue.PATCHES.apply()
    with pytest.raises(InvalidEventPatternException, match=r"Event pattern is not valid\. Reason: "):
        backend.put_rule(f"unit-{uuid.uuid4().hex[:8]}", event_pattern="[1]")
    name = f"unit-{uuid.uuid4().hex[:8]}"
    with pytest.raises(InvalidEventPatternException):
        backend.put_rule(name, event_pattern='{"a": [{"prefix": 5}]}')
    assert name not in backend.event_buses["default"].rules


# --------------------------------------------------------------------------- undelivered events, PutEvents


def dlq(name: str):
    from moto.sqs.models import sqs_backends

    backend = sqs_backends["123456789012"]["us-east-1"]
    queue = backend.create_queue(name)
    return backend, queue


def dead_letters(backend, queue) -> list[tuple[dict, dict]]:
    messages = backend.receive_message(queue.name, 10, 0, 0, message_attribute_names=["All"])
    return [(json.loads(m.body), {k: v["StringValue"] for k, v in m.message_attributes.items()}) for m in messages]


def test_a_refused_invoke_goes_to_the_targets_dead_letter_queue(backend, monkeypatch):
    from emulator.moto import delivery as moto_delivery

    events_glue.PATCHES.apply()
    monkeypatch.setattr(moto_delivery, "invoke_async", lambda arn, payload, source: moto_delivery.Refusal(
        404, "ResourceNotFoundException", f"Function not found: {arn}"))
    sqs, queue = dlq(f"unit-dlq-{uuid.uuid4().hex[:8]}")
    tag = uuid.uuid4().hex
    missing = "arn:aws:lambda:us-east-1:123456789012:function:missing"
    name = rule(backend, {"detail": {"tag": [tag]}}, [
        {"Id": "f", "Arn": missing, "DeadLetterConfig": {"Arn": queue.queue_arn}}])
    [entry] = put(backend, {"tag": tag})
    [(event, attributes)] = dead_letters(sqs, queue)
    assert event["id"] == entry["EventId"] and event["detail"] == {"tag": tag}
    assert attributes == {"RULE_ARN": f"arn:aws:events:us-east-1:123456789012:rule/{name}", "TARGET_ARN": missing,
                          "ERROR_CODE": "NO_RESOURCE", "ERROR_MESSAGE": f"Function not found: {missing}"}


def test_a_template_that_renders_invalid_json_is_dead_lettered(backend, delivered):
    sqs, queue = dlq(f"unit-dlq-{uuid.uuid4().hex[:8]}")
    tag = uuid.uuid4().hex
    rule(backend, {"detail": {"tag": [tag]}}, [
        {"Id": "f", "Arn": FUNCTION, "DeadLetterConfig": {"Arn": queue.queue_arn},
         "InputTransformer": {"InputPathsMap": {"t": "$.detail.text"}, "InputTemplate": '{"text": "<t>"}'}}])
    put(backend, {"tag": tag, "text": 'say "hi"'})  # values are not escaped: {"text": "say "hi""}
    assert delivered == []
    [(event, attributes)] = dead_letters(sqs, queue)
    assert event["detail"]["tag"] == tag and attributes["ERROR_CODE"] == "INVALID_JSON"


def test_error_codes_for_refused_invokes():
    assert eventbridge.error_code(404, "ResourceNotFoundException") == "NO_RESOURCE"
    assert eventbridge.error_code(400, "InvalidRequestContentException") == "INVALID_JSON"
    assert eventbridge.error_code(429, "TooManyRequestsException") == "THROTTLING"
    assert eventbridge.error_code(None, "ConnectError") == "CONNECTION_FAILURE"
    assert eventbridge.error_code(500, "ServiceException") == "SDK_CLIENT_ERROR"


def test_put_events_refuses_a_detail_that_is_not_an_object(backend, delivered):
    tag = uuid.uuid4().hex
    rule(backend, {"source": [tag]}, [{"Id": "f", "Arn": FUNCTION}])
    entries = backend.put_events([
        {"Source": tag, "DetailType": "t", "Detail": "[1, 2]"},
        {"Source": tag, "DetailType": "t", "Detail": json.dumps({"n": 1})},
        {"Source": tag, "DetailType": "t", "Detail": "5"},
        {"Source": tag, "DetailType": "t", "Detail": "{not json"},
        {"DetailType": "t", "Detail": "[1]"},
    ])
    assert entries[0] == entries[2] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert "EventId" in entries[1]
    assert entries[3] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}  # moto's own
    assert entries[4]["ErrorCode"] == "InvalidArgument"  # no Source: moto's check comes first
    assert [e["detail"] for _, e, _ in delivered] == [{"n": 1}]
