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

from emulator.event_sources import eventbridge
from emulator.event_sources.filtering import PatternError
from emulator.event_sources.target_input import (
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
        "InputTemplate": '"<aws.events.rule-name> <aws.events.event.json>"'}}) is None


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
    from emulator.aws import moto_integrations

    eventbridge.patch_moto()
    got: list[tuple[str, Any, str]] = []
    monkeypatch.setattr(moto_integrations, "deliver",
                        lambda arn, payload, source: got.append((arn, json.loads(payload), source)) or True)
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

    from emulator.event_sources import schedule_checks

    schedule_checks.patch_moto_rules()
    with pytest.raises(InvalidEventPatternException, match="Event pattern is not valid. Reason: "):
        backend.put_rule(f"unit-{uuid.uuid4().hex[:8]}", event_pattern="[1]")
    name = f"unit-{uuid.uuid4().hex[:8]}"
    with pytest.raises(InvalidEventPatternException):
        backend.put_rule(name, event_pattern='{"a": [{"prefix": 5}]}')
    assert name not in backend.event_buses["default"].rules
