"""Event pattern matching: EventBridge patterns, Lambda FilterCriteria, SNS filter policies.

Cases come from the AWS documentation pages cited next to them (most with their own example
events and patterns) and from aws/event-ruler's README, the engine behind all three.
"""

from __future__ import annotations

import base64
import copy
import json
import time

import pytest

from emulator.patterns.engine import (
    CompiledPattern,
    PatternError,
    compile_pattern,
    lambda_filter_matches,
    matches,
    sns_filter_matches,
    validate_filter_criteria,
    validate_pattern,
    validate_sns_filter_policy,
)

EB_PATTERNS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html"
EB_OPERATORS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html"
EB_CONTENT = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html"
EB_ARRAYS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html"
EB_NULLS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html"
EVENT_RULER = "https://github.com/aws/event-ruler/blob/main/README.md"

# The sample event of event-ruler's README ("Ruler by Example") and EventBridge's content filtering page.
EC2_EVENT = {
    "version": "0",
    "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "012345679012",
    "time": "2017-10-02T16:24:49Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.33",
        "instance-id": "i-000000aaaaaa00000",
        "state": "running",
    },
}

# EB_PATTERNS, "Value matching": a (truncated) Macie alert.
MACIE_EVENT = {
    "detail-type": "Macie Alert",
    "source": "aws.macie",
    "resources": [
        "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id/alert/alert_id",
        "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id",
    ],
    "detail": {
        "notification-type": "ALERT_CREATED",
        "tags": ["Custom_Alert", "Insider"],
        "risk-score": 80,
        "trigger": {"alert-type": "basic", "risk": 8},
    },
}

# EB_NULLS: an Auto Scaling event with an empty string, a null and an empty array.
AUTOSCALING_EVENT = {
    "detail-type": "EC2 Instance Launch Successful",
    "source": "aws.autoscaling",
    "resources": [],
    "detail": {"eventVersion": "", "responseElements": None},
}

# EVENT_RULER "JSON Array Matching".
EMPLOYEES = {"employees": [
    {"firstName": "John", "lastName": "Doe"},
    {"firstName": "Anna", "lastName": "Smith"},
    {"firstName": "Peter", "lastName": "Jones"},
]}


def case(pattern, event, expected, id):
    return pytest.param(pattern, event, expected, id=id)


MATCH_CASES = [
    # ---- exact values, And/Or (EB_PATTERNS, EB_OPERATORS "Equals", "And", "Or") ----
    case({"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
          "detail": {"state": ["running"]}}, EC2_EVENT, True, "eb-doc-ec2-state"),
    case({"source": ["aws.ec2", "aws.fargate"]}, EC2_EVENT, True, "eb-doc-or-values"),
    case({"source": ["aws.s3"]}, EC2_EVENT, False, "exact-no-match"),
    case({"source": ["AWS.EC2"]}, EC2_EVENT, False, "exact-is-case-sensitive"),
    case({"source": ["aws.ec2"], "region": ["eu-west-1"]}, EC2_EVENT, False, "and-all-fields-must-match"),
    case({"source": ["aws.macie"], "detail-type": ["Macie Alert"],
          "detail": {"risk-score": [80], "trigger": {"risk": [8]}}}, MACIE_EVENT, True, "eb-doc-macie-numbers"),
    case({"detail": {"trigger": {"risk": [9]}}}, MACIE_EVENT, False, "nested-number-mismatch"),
    case({"detail": {"no-such": ["x"]}}, EC2_EVENT, False, "missing-leaf"),
    case({"nothere": {"state": ["running"]}}, EC2_EVENT, False, "missing-intermediate"),
    case({"detail": {"state": {"inner": ["x"]}}}, EC2_EVENT, False, "nested-pattern-on-scalar"),
    case({"detail": ["x"]}, EC2_EVENT, False, "leaf-pattern-on-object"),
    case({"n": [300]}, {"n": 300.0}, True, "numbers-compare-by-value"),
    case({"n": [3.0e2]}, {"n": 300}, True, "numbers-compare-by-value-exponent"),
    case({"n": ["300"]}, {"n": 300}, False, "string-never-equals-number"),
    case({"n": [300]}, {"n": "300"}, False, "number-never-equals-string"),
    case({"b": [True]}, {"b": True}, True, "boolean"),
    case({"b": [True]}, {"b": 1}, False, "true-is-not-1"),
    case({"b": [1]}, {"b": True}, False, "1-is-not-true"),
    case({"b": ["true"]}, {"b": True}, False, "string-true-is-not-true"),
    case({"b": [False]}, {"b": False}, True, "false"),
    # ---- null and empty (EB_NULLS) ----
    case({"detail": {"eventVersion": [""]}}, AUTOSCALING_EVENT, True, "eb-doc-empty-string"),
    case({"detail": {"responseElements": [None]}}, AUTOSCALING_EVENT, True, "eb-doc-null"),
    case({"detail": {"responseElements": [""]}}, AUTOSCALING_EVENT, False, "eb-doc-empty-does-not-match-null"),
    case({"detail": {"eventVersion": [None]}}, AUTOSCALING_EVENT, False, "eb-doc-null-does-not-match-empty"),
    case({"detail": {"missing": [None]}}, AUTOSCALING_EVENT, False, "null-does-not-match-missing"),
    case({"resources": [None]}, AUTOSCALING_EVENT, False, "null-does-not-match-empty-array"),
    # ---- arrays in events (EB_ARRAYS, EVENT_RULER "JSON Array Matching") ----
    case({"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
                        "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f"]},
         {"resources": ["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b:"
                        "autoScalingGroupName/ASGTerminate",
                        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}, True, "eb-doc-array-intersection"),
    case({"detail": {"tags": ["Insider"]}}, MACIE_EVENT, True, "array-any-element"),
    case({"detail": {"tags": ["Outsider"]}}, MACIE_EVENT, False, "array-no-element"),
    case({"detail": {"tags": [{"prefix": "Cust"}]}}, MACIE_EVENT, True, "array-any-element-prefix"),
    case({"employees": {"firstName": ["Anna"]}}, EMPLOYEES, True, "ruler-array-of-objects"),
    case({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}, EMPLOYEES, True,
         "ruler-array-same-element"),
    case({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}, EMPLOYEES, False,
         "ruler-array-consistency"),
    case({"employees": {"firstName": ["Peter"]}},
         {"employees": [[{"firstName": "John"}, {"firstName": "Anna"}], [{"firstName": "Peter"}]]}, True,
         "ruler-multi-level-arrays"),
    case({"a": [1]}, {"a": [[0, [1]]]}, True, "nested-scalar-arrays"),
    # ---- prefix / suffix (EB_CONTENT "Prefix matching", "Suffix matching") ----
    case({"time": [{"prefix": "2017-10-02"}]}, EC2_EVENT, True, "eb-doc-prefix"),
    case({"time": [{"prefix": "2018"}]}, EC2_EVENT, False, "prefix-no-match"),
    case({"n": [{"prefix": "1"}]}, {"n": 12}, False, "prefix-only-strings"),
    case({"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}, {"service": "EventBridge"}, True,
         "eb-doc-prefix-ignore-case"),
    case({"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}, {"service": "Lambda"}, False,
         "prefix-ignore-case-no-match"),
    case({"FileName": [{"suffix": ".png"}]}, {"FileName": "image.png"}, True, "eb-doc-suffix"),
    case({"FileName": [{"suffix": ".png"}]}, {"FileName": "image.PNG"}, False, "suffix-is-case-sensitive"),
    case({"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}, {"FileName": "image.PNG"}, True,
         "eb-doc-suffix-ignore-case"),
    case({"source": [{"suffix": "ec2"}]}, EC2_EVENT, True, "ruler-suffix"),
    # ---- equals-ignore-case (EB_OPERATORS "Equals (ignore case)") ----
    case({"Name": [{"equals-ignore-case": "alice"}]}, {"Name": "ALICE"}, True, "eb-doc-equals-ignore-case"),
    case({"Name": [{"equals-ignore-case": "alice"}]}, {"Name": "alicia"}, False, "equals-ignore-case-no-match"),
    case({"v": [{"equals-ignore-case": ""}]}, {"v": ""}, True, "equals-ignore-case-empty"),
    case({"v": [{"equals-ignore-case": "1"}]}, {"v": 1}, False, "equals-ignore-case-only-strings"),
    # ---- wildcard (EB_OPERATORS "Wildcard", EVENT_RULER "Wildcard matching") ----
    case({"FilePath": [{"wildcard": "dir/*.png"}]}, {"FilePath": "dir/one.png"}, True, "wildcard"),
    case({"FilePath": [{"wildcard": "dir/*.png"}]}, {"FilePath": "dir/one.jpg"}, False, "wildcard-no-match"),
    case({"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]},
         {"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/myEventBus"}, True,
         "eb-doc-wildcard-arn"),
    case({"source": [{"wildcard": "Simple*Service"}]}, {"source": "SimpleQueueService"}, True, "ruler-wildcard"),
    case({"v": [{"wildcard": "a*"}]}, {"v": "a"}, True, "wildcard-star-matches-nothing"),
    case({"v": [{"wildcard": ""}]}, {"v": "x"}, False, "wildcard-empty-matches-only-empty"),
    case({"v": [{"wildcard": "a\\*b"}]}, {"v": "a*b"}, True, "wildcard-escaped-star"),
    case({"v": [{"wildcard": "a\\*b"}]}, {"v": "axb"}, False, "wildcard-escaped-star-is-literal"),
    case({"v": [{"wildcard": "a\\\\b"}]}, {"v": "a\\b"}, True, "wildcard-escaped-backslash"),
    case({"v": [{"wildcard": "a.c"}]}, {"v": "abc"}, False, "wildcard-dot-is-literal"),
    case({"v": [{"wildcard": "*"}]}, {"v": 5}, False, "wildcard-only-strings"),
    # ---- anything-but (EB_CONTENT "Anything-but matching", EB_OPERATORS) ----
    case({"detail": {"state": [{"anything-but": "initializing"}]}}, EC2_EVENT, True, "eb-doc-anything-but"),
    case({"detail": {"state": [{"anything-but": "running"}]}}, EC2_EVENT, False, "anything-but-excluded"),
    case({"detail": {"state": [{"anything-but": "initializing"}]}}, {"detail": {}}, False,
         "anything-but-needs-the-field"),
    case({"detail": {"state": [{"anything-but": "initializing"}]}}, {"detail": {"state": None}}, True,
         "anything-but-null-is-anything-but"),
    case({"detail": {"x-limit": [{"anything-but": 123}]}}, EC2_EVENT, True, "eb-doc-anything-but-number"),
    case({"detail": {"x-limit": [{"anything-but": 301.8}]}}, EC2_EVENT, False, "anything-but-number-excluded"),
    case({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}, EC2_EVENT, True,
         "eb-doc-anything-but-list"),
    case({"detail": {"state": [{"anything-but": ["stopped", "running"]}]}}, EC2_EVENT, False,
         "anything-but-list-excluded"),
    case({"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}, EC2_EVENT, True,
         "eb-doc-anything-but-number-list"),
    case({"x": [{"anything-but": [100, 200, 300]}]}, {"x": 200.0}, False, "anything-but-numbers-by-value"),
    case({"x": [{"anything-but": 0}]}, {"x": 789}, True, "anything-but-zero"),
    case({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, EC2_EVENT, True,
         "eb-doc-anything-but-prefix"),
    case({"state": [{"anything-but": {"prefix": "init"}}]}, {"state": "initializing"}, False,
         "anything-but-prefix-excluded"),
    case({"state": [{"anything-but": {"prefix": "init"}}]}, {"state": 12}, True,
         "anything-but-prefix-number-is-not-a-prefix"),
    case({"state": [{"anything-but": {"prefix": ["init", "test"]}}]}, {"state": "post-init"}, True,
         "anything-but-prefix-list"),
    case({"state": [{"anything-but": {"prefix": ["init", "test"]}}]}, {"state": "test-1"}, False,
         "anything-but-prefix-list-excluded"),
    case({"FileName": [{"anything-but": {"suffix": ".png"}}]}, {"FileName": "a.jpg"}, True,
         "eb-doc-anything-but-suffix"),
    case({"FileName": [{"anything-but": {"suffix": ".png"}}]}, {"FileName": "a.png"}, False,
         "anything-but-suffix-excluded"),
    case({"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}, {"state": "INITIALIZING"},
         False, "eb-doc-anything-but-ignore-case"),
    case({"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}, {"state": "running"},
         True, "anything-but-ignore-case-other"),
    case({"state": [{"anything-but": {"equals-ignore-case": ["a", "b"]}}]}, {"state": "B"}, False,
         "anything-but-ignore-case-list"),
    case({"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}, {"FilePath": "/usr/lib/x.so"}, False,
         "eb-doc-anything-but-wildcard"),
    case({"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}, {"FilePath": "/usr/bin/x"}, True,
         "anything-but-wildcard-other"),
    case({"FilePath": [{"anything-but": {"wildcard": ""}}]}, {"FilePath": "dir/init/file"}, True,
         "anything-but-empty-wildcard"),
    case({"i": [{"anything-but": ["rugby", "tennis"]}]}, {"i": ["rugby", "baseball"]}, True,
         "anything-but-any-array-element"),
    case({"i": [{"anything-but": ["rugby", "tennis"]}]}, {"i": ["rugby", "tennis"]}, False,
         "anything-but-every-element-excluded"),
    # ---- numeric (EB_CONTENT "Numeric matching", Lambda filter rule syntax) ----
    case({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}],
                     "x-limit": [{"numeric": ["=", 3.018e2]}]}}, EC2_EVENT, True, "eb-doc-numeric"),
    case({"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 5}, True, "numeric-closed-top"),
    case({"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 0}, False, "numeric-open-bottom"),
    case({"n": [{"numeric": [">=", 0, "<", 5]}]}, {"n": 0}, True, "numeric-closed-bottom"),
    case({"n": [{"numeric": [">=", 0, "<", 5]}]}, {"n": 5}, False, "numeric-open-top"),
    case({"n": [{"numeric": [">=", 0, "<", 5]}]}, {"n": -0.5}, False, "numeric-below"),
    case({"Price": [{"numeric": ["=", 100]}]}, {"Price": 100.0}, True, "lambda-doc-numeric-equals"),
    case({"Price": [{"numeric": [">", 10, "<=", 20]}]}, {"Price": 15}, True, "lambda-doc-numeric-range"),
    case({"n": [{"numeric": ["<", 0]}]}, {"n": -1e-6}, True, "numeric-negative"),
    case({"n": [{"numeric": [">", 0]}]}, {"n": "5"}, False, "numeric-only-json-numbers"),
    case({"n": [{"numeric": [">", 0]}]}, {"n": True}, False, "numeric-not-booleans"),
    case({"n": [{"numeric": [">", 10]}]}, {"n": [1, 20]}, True, "numeric-any-array-element"),
    case({"n": [{"numeric": [">", 10]}]}, {}, False, "numeric-missing"),
    # ---- exists (EB_CONTENT "Exists matching") ----
    case({"detail": {"c-count": [{"exists": True}]}}, EC2_EVENT, True, "ruler-exists-true"),
    case({"detail": {"c-count": [{"exists": False}]}}, EC2_EVENT, False, "ruler-exists-false-present"),
    case({"detail": {"c-count": [{"exists": False}]}},
         {"detail-type": "EC2 Instance State-change Notification", "detail": {"state": "running"}}, True,
         "eb-doc-exists-false"),
    case({"detail": {"c-count": [{"exists": False}]}}, {"detail": {"c-count": {"c1": 100}}}, True,
         "eb-doc-exists-false-not-a-leaf"),
    case({"detail": {"c-count": [{"exists": True}]}}, {"detail": {"c-count": {"c1": 100}}}, False,
         "exists-true-not-a-leaf"),
    case({"detail": {"a": {"b": [{"exists": False}]}}}, {"detail": {}}, True, "exists-false-missing-parent"),
    case({"detail": {"a": {"b": [{"exists": False}]}}}, {"detail": {"a": "scalar"}}, True,
         "exists-false-scalar-parent"),
    case({"detail": {"a": {"b": [{"exists": False}]}}}, {}, True, "exists-false-missing-grandparent"),
    case({"x": [{"exists": True}]}, {"x": None}, True, "exists-true-null-is-present"),
    case({"x": [{"exists": True}]}, {"x": []}, False, "exists-true-empty-array-is-absent"),
    case({"x": [{"exists": False}]}, {"x": []}, True, "exists-false-empty-array"),
    case({"ProductName": [{"exists": False}], "Price": [{"numeric": [">", 1]}]}, {"Price": 2}, True,
         "lambda-doc-does-not-exist"),
    case({"x": [{"exists": False}, "a"]}, {"x": "a"}, True, "exists-false-or-value"),
    # ---- cidr (EB_CONTENT "IP address matching", SNS string-value-matching) ----
    case({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, EC2_EVENT, True, "eb-doc-cidr"),
    case({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.0.255"}, True, "cidr-top"),
    case({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.1.1.0"}, False, "cidr-outside"),
    case({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "not-an-ip"}, False, "cidr-not-an-ip"),
    case({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": 167772161}, False, "cidr-only-strings"),
    case({"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db8::1"}, True, "cidr-ipv6"),
    case({"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": "2001:db8::1"}, False, "cidr-v4-network-v6-address"),
    # ---- $or (EB_OPERATORS "Or (multiple fields)", EVENT_RULER "$or") ----
    case({"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]},
                                                {"namespace": ["AWS/EC2", "AWS/ES"]}]},
         {"source": "aws.cloudwatch", "metricName": "ReadLatency"}, True, "ruler-or-first"),
    case({"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]},
                                                {"namespace": ["AWS/EC2", "AWS/ES"]}]},
         {"source": "aws.cloudwatch", "namespace": "AWS/ES"}, True, "ruler-or-second"),
    case({"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]},
                                                {"namespace": ["AWS/EC2", "AWS/ES"]}]},
         {"source": "aws.cloudwatch", "namespace": "AWS/S3"}, False, "ruler-or-neither"),
    case({"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]},
         {"source": "aws.ec2", "metricName": "CPUUtilization"}, False, "ruler-or-and-sibling"),
    case({"$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
          "detail": {"$or": [{"source": ["aws.cloudwatch"]}, {"detail-type": ["CloudWatch Alarm State Change"]}]}},
         {"namespace": "AWS/EC2", "detail": {"detail-type": "CloudWatch Alarm State Change"}}, True,
         "ruler-parallel-or"),
    case({"source": ["aws.cloudwatch"],
          "$or": [{"metricName": ["CPUUtilization"]},
                  {"metricType": ["MetricType"], "namespace": ["AWS/EC2"],
                   "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]},
                  {"scope": ["Service"]}]},
         {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/EC2", "spaceId": 1000}, True,
         "ruler-nested-or"),
    case({"source": ["aws.cloudwatch"],
          "$or": [{"metricName": ["CPUUtilization"]},
                  {"metricType": ["MetricType"], "namespace": ["AWS/EC2"],
                   "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]}]},
         {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/EC2", "spaceId": 1}, False,
         "ruler-nested-or-inner-fails"),
    case({"$or": [{"a": [{"exists": False}]}, {"a": ["x"]}]}, {"b": 1}, True, "or-with-exists-false"),
    case({"Location": ["New York"], "Day": ["Monday"]}, {"Location": "New York", "Day": "Monday"}, True,
         "eb-doc-and"),
    # ---- the complex example (EB_CONTENT "Complex example with multiple matching") ----
    case({"time": [{"prefix": "2017-10-02"}],
          "detail": {"state": [{"anything-but": "initializing"}], "c-count": [{"numeric": [">", 0, "<=", 5]}],
                     "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"anything-but": [100, 200, 300]}],
                     "source-ip": [{"cidr": "10.0.0.0/8"}]}}, EC2_EVENT, True, "eb-doc-complex"),
    case({}, EC2_EVENT, True, "empty-pattern-matches-everything"),
]


@pytest.mark.parametrize("pattern, event, expected", MATCH_CASES)
def test_matches(pattern, event, expected):
    assert matches(pattern, event) is expected
    # The same answer from JSON text and from a compiled pattern.
    assert matches(json.dumps(pattern), event) is expected
    assert compile_pattern(pattern).matches(event) is expected


def test_matching_does_not_change_the_event():
    event = copy.deepcopy(EC2_EVENT)
    for param in MATCH_CASES:
        matches(param.values[0], event)
    assert event == EC2_EVENT


INVALID_PATTERNS = [
    ("not json", "Filter is not valid JSON"),
    ('{"a": [NaN]}', "Filter is not valid JSON"),
    ("[1]", "Filter is not an object"),
    ('"text"', "Filter is not an object"),
    ({"a": "x"}, '"a" must be an object or an array'),
    ({"a": 5}, '"a" must be an object or an array'),
    ({"a": None}, '"a" must be an object or an array'),
    ({"a": []}, "Empty arrays are not allowed"),
    ({"a": {}}, "Empty objects are not allowed"),
    ({"a": [[1]]}, "Match value must be String, number, true, false, or null"),
    ({"a": [{}]}, "Match expression name not found"),
    ({"a": [{"prefix": "x", "suffix": "y"}]}, "Only one key allowed in match expression"),
    ({"a": [{"contains": "x"}]}, "Unrecognized match type contains"),
    ({"a": [{"prefix": 1}]}, "prefix match pattern must be a string"),
    ({"a": [{"suffix": None}]}, "suffix match pattern must be a string"),
    ({"a": [{"prefix": {"equals-ignore-case": 1}}]}, "prefix/equals-ignore-case match pattern must be a string"),
    ({"a": [{"prefix": {"wildcard": "x"}}]}, "Unsupported prefix pattern: wildcard"),
    ({"a": [{"equals-ignore-case": ["x"]}]}, "equals-ignore-case match pattern must be a string"),
    ({"a": [{"exists": "yes"}]}, "exists match pattern must be either true or false."),
    ({"a": [{"exists": None}]}, "exists match pattern must be either true or false."),
    ({"a": [{"numeric": 5}]}, "Value of numeric must be an array."),
    ({"a": [{"numeric": []}]}, "Invalid member in numeric match: ]"),
    ({"a": [{"numeric": [5, ">"]}]}, "Invalid member in numeric match: 5"),
    ({"a": [{"numeric": ["!=", 1]}]}, "Unrecognized numeric range operator: !="),
    ({"a": [{"numeric": [">", "1"]}]}, "Value of > must be numeric"),
    ({"a": [{"numeric": ["=", True]}]}, "Value of equals must be numeric"),
    ({"a": [{"numeric": [">"]}]}, "Value of > must be numeric"),
    ({"a": [{"numeric": ["=", 1, "<", 2]}]}, "Too many elements in numeric expression"),
    ({"a": [{"numeric": ["<", 1, ">", 0]}]}, "Too many elements in numeric expression"),
    ({"a": [{"numeric": [">", 1, ">", 2]}]}, "Bad numeric range operator: >"),
    ({"a": [{"numeric": [">", 1, 2, 3]}]}, "Bad value in numeric range: 2"),
    ({"a": [{"numeric": [">", 1, "<", "2"]}]}, "Value of < must be numeric"),
    ({"a": [{"numeric": [">", 5, "<", 1]}]}, "Bottom must be less than top"),
    ({"a": [{"numeric": [">", 1, "<", 1]}]}, "Bottom must be less than top"),
    ({"a": [{"numeric": [">", 1, "<", 5, "<", 6]}]}, "Too many terms in numeric range expression"),
    ({"a": [{"anything-but": None}]}, "Value of anything-but must be an array or single string/number value."),
    ({"a": [{"anything-but": True}]}, "Value of anything-but must be an array or single string/number value."),
    ({"a": [{"anything-but": [1, "a"]}]}, "mixed type is not supported"),
    ({"a": [{"anything-but": []}]}, "mixed type is not supported"),
    ({"a": [{"anything-but": [None]}]}, "Inside anything but list, start|null|boolean is not supported."),
    ({"a": [{"anything-but": {"exists": True}}]}, "Unsupported anything-but pattern: exists"),
    ({"a": [{"anything-but": {"prefix": "a", "suffix": "b"}}]}, "Only one key allowed in match expression"),
    ({"a": [{"anything-but": {"prefix": ""}}]}, "Null prefix/suffix not allowed"),
    ({"a": [{"anything-but": {"suffix": 1}}]}, "prefix/suffix match pattern must be a string"),
    ({"a": [{"anything-but": {"prefix": {"equals-ignore-case": "x"}}}]},
     "Value of anything-but must be an array or single string/number value."),
    ({"a": [{"anything-but": {"equals-ignore-case": 1}}]},
     "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."),
    ({"a": [{"anything-but": {"wildcard": "a**"}}]}, "Consecutive wildcard characters at pos 2"),
    ({"a": [{"wildcard": "a**b"}]}, "Consecutive wildcard characters at pos 2"),
    ({"a": [{"wildcard": "a\\b"}]}, "Invalid escape character at pos 2"),
    ({"a": [{"wildcard": 1}]}, "wildcard match pattern must be a string"),
    ({"a": [{"cidr": 10}]}, "cidr match pattern must be a string"),
    ({"a": [{"cidr": "10.0.0.0"}]}, "Malformed CIDR, one '/' required"),
    ({"a": [{"cidr": "10.0.0.0/8/8"}]}, "Malformed CIDR, one '/' required"),
    ({"a": [{"cidr": "10.0.0.0/x"}]}, "Malformed CIDR, mask bits must be an integer"),
    ({"a": [{"cidr": "300.0.0.0/8"}]}, "Nonstandard IP address: 300.0.0.0"),
    ({"a": [{"cidr": "10.0.0.0/33"}]}, "Nonstandard IP address: 10.0.0.0"),
    ({"$or": {"a": ["x"]}}, "It must be an Array followed with $or."),
    ({"$or": [{"a": ["x"]}]}, "There must have at least 2 Objects in $or relationship."),
    ({"$or": [{"a": ["x"]}, "b"]}, "Only JSON object is allowed in array of $or relationship."),
    ({"$or": [{"a": ["x"]}, {}]}, "Empty objects are not allowed"),
    ({"$or": [{"numeric": [1]}, {"b": ["y"]}]}, "numeric is Ruler reserved fieldName which cannot be used inside $or."),
    ({"detail": {"$or": [{"a": []}, {"b": ["y"]}]}}, "Empty arrays are not allowed"),
]


@pytest.mark.parametrize("pattern, reason", INVALID_PATTERNS, ids=[r for _, r in INVALID_PATTERNS])
def test_invalid_patterns(pattern, reason):
    with pytest.raises(PatternError) as caught:
        validate_pattern(pattern)
    assert reason in str(caught.value)
    assert reason in caught.value.reason
    assert caught.value.eventbridge_message.startswith("Event pattern is not valid. Reason: ")
    with pytest.raises(PatternError):
        matches(pattern, {"a": "x"})


def test_pattern_error_messages_per_service():
    with pytest.raises(PatternError) as caught:
        validate_pattern({"a": []})
    err = caught.value
    assert isinstance(err, ValueError)
    assert err.eventbridge_message == "Event pattern is not valid. Reason: Empty arrays are not allowed"
    assert err.lambda_message == "Invalid filter pattern definition. Empty arrays are not allowed"
    assert err.sns_message == "Invalid parameter: FilterPolicy: Empty arrays are not allowed"


def test_validate_pattern_returns_the_dict():
    text = '{"source": ["aws.ec2"], "detail": {"n": [{"numeric": [">", 0]}]}}'
    assert validate_pattern(text) == json.loads(text)
    assert validate_pattern({"a": ["x"]}) == {"a": ["x"]}
    assert validate_pattern("{}") == {}  # SNS's "no filter policy"


def test_compiled_patterns_are_cached():
    text = '{"source": ["aws.ec2"]}'
    assert compile_pattern(text) is compile_pattern(text)
    assert compile_pattern({"b": [1], "a": [2]}) is compile_pattern({"a": [2], "b": [1]})
    compiled = compile_pattern(text)
    assert isinstance(compiled, CompiledPattern) and compile_pattern(compiled) is compiled


def test_matching_is_fast():
    pattern = compile_pattern({
        "source": ["aws.ec2"], "time": [{"prefix": "2017-10-02"}],
        "detail": {"state": [{"anything-but": "initializing"}], "c-count": [{"numeric": [">", 0, "<=", 5]}],
                   "source-ip": [{"cidr": "10.0.0.0/8"}]},
    })
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        assert pattern.matches(EC2_EVENT)
    per_match = (time.perf_counter() - started) / rounds
    assert per_match < 200e-6, f"{per_match * 1e6:.1f} µs per match"


# =========================================================================== Lambda
# https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html


def criteria(*patterns):
    return {"Filters": [{"Pattern": p if isinstance(p, str) else json.dumps(p)} for p in patterns]}


def sqs_record(body):
    # The record shape of https://docs.aws.amazon.com/lambda/latest/dg/with-sqs-filtering.html
    return {
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183",
                       "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1545082649185"},
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-west-2:123456789012:my-queue",
        "awsRegion": "us-west-2",
    }


SQS_JSON_BODY = '{\n "RecordNumber": 1234,\n "TimeStamp": "yyyy-mm-ddThh:mm:ss",\n "RequestCode": "AAAA"\n}'


@pytest.mark.parametrize("filter_criteria", [None, {}, {"Filters": []}])
def test_no_filter_criteria_passes_everything(filter_criteria):
    for source, record in [("aws:sqs", sqs_record("x")), ("aws:dynamodb", {"eventName": "INSERT"}),
                           ("aws:kinesis", {"kinesis": {"data": "!!"}})]:
        assert lambda_filter_matches(filter_criteria, record, source)


@pytest.mark.parametrize("pattern, body, expected", [
    # with-sqs-filtering: "process only those records where the RequestCode is BBBB"
    pytest.param({"body": {"RequestCode": ["BBBB"]}}, SQS_JSON_BODY, False, id="sqs-doc-json-no-match"),
    pytest.param({"body": {"RequestCode": ["AAAA"]}}, SQS_JSON_BODY, True, id="sqs-doc-json-match"),
    pytest.param({"body": {"RecordNumber": [{"numeric": [">", 1000]}]}}, SQS_JSON_BODY, True,
                 id="sqs-json-numeric"),
    pytest.param({"body": {"Missing": [{"exists": False}]}}, SQS_JSON_BODY, True, id="sqs-json-exists-false"),
    # invocation-eventfiltering, "Properly filtering Amazon SQS messages": plain/plain filters ...
    pytest.param({"body": ["hello world"]}, "hello world", True, id="sqs-plain-exact"),
    pytest.param({"body": [{"prefix": "hello"}]}, "hello world", True, id="sqs-plain-prefix"),
    pytest.param({"body": [{"anything-but": "hello world"}]}, "hello world", False, id="sqs-plain-anything-but"),
    # ... plain body with a JSON pattern, or JSON body with a plain pattern: Lambda drops the message.
    pytest.param({"body": {"RequestCode": ["AAAA"]}}, "RequestCode AAAA", False, id="sqs-plain-body-json-pattern"),
    pytest.param({"body": {"Missing": [{"exists": False}]}}, "plain", False,
                 id="sqs-plain-body-json-exists-false-dropped"),
    pytest.param({"body": [{"prefix": "{"}]}, SQS_JSON_BODY, False, id="sqs-json-body-plain-pattern"),
    pytest.param({"body": [{"exists": True}]}, SQS_JSON_BODY, False, id="sqs-json-body-plain-exists"),
    # A JSON array is not a JSON object: plain string comparison.
    pytest.param({"body": ["[1, 2]"]}, "[1, 2]", True, id="sqs-array-body-is-plain"),
    # "If you don't include body as part of your FilterCriteria, Lambda skips this check."
    pytest.param({"attributes": {"ApproximateReceiveCount": ["1"]}}, SQS_JSON_BODY, True, id="sqs-metadata-json"),
    pytest.param({"attributes": {"ApproximateReceiveCount": ["1"]}}, "plain", True, id="sqs-metadata-plain"),
    pytest.param({"eventSource": ["aws:sqs"], "body": {"RequestCode": ["AAAA"]}}, SQS_JSON_BODY, True,
                 id="sqs-metadata-and-body"),
])
def test_lambda_sqs(pattern, body, expected):
    record = sqs_record(body)
    before = copy.deepcopy(record)
    assert lambda_filter_matches(criteria(pattern), record, "aws:sqs") is expected
    assert record == before  # the body was parsed on a copy


def test_lambda_sqs_or_across_body_kinds():
    either = {"$or": [{"body": {"kind": ["json"]}}, {"body": ["plain"]}]}
    assert lambda_filter_matches(criteria(either), sqs_record('{"kind": "json"}'), "aws:sqs")
    assert lambda_filter_matches(criteria(either), sqs_record("plain"), "aws:sqs")
    assert not lambda_filter_matches(criteria(either), sqs_record("other"), "aws:sqs")


def test_lambda_any_filter_passes():
    both = criteria({"body": {"RequestCode": ["BBBB"]}}, {"body": {"RequestCode": ["AAAA"]}})
    assert lambda_filter_matches(both, sqs_record(SQS_JSON_BODY), "aws:sqs")
    neither = criteria({"body": {"RequestCode": ["BBBB"]}}, {"body": {"RequestCode": ["CCCC"]}})
    assert not lambda_filter_matches(neither, sqs_record(SQS_JSON_BODY), "aws:sqs")


def kinesis_record(data: bytes | str, partition_key="1"):
    # The record shape of https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis-filtering.html
    raw = data if isinstance(data, bytes) else data.encode()
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
            "data": base64.b64encode(raw).decode(),
            "approximateArrivalTimestamp": 1545084650.987,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
        "awsRegion": "us-east-2",
        "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream",
    }


ORDER = json.dumps({"record": 12345, "order": {"type": "buy", "stock": "ANYCO", "quantity": 1000}})
WEATHER = json.dumps({"City": "Los Angeles", "Location": "Los Angeles", "Temperature": 55})


@pytest.mark.parametrize("pattern, data, expected", [
    # with-kinesis-filtering: "process only those records where the order type is buy"
    pytest.param({"data": {"order": {"type": ["buy"]}}}, ORDER, True, id="kinesis-doc-buy"),
    pytest.param({"data": {"order": {"type": ["sell"]}}}, ORDER, False, id="kinesis-doc-sell"),
    pytest.param({"data": {"order": {"quantity": [{"numeric": [">=", 1000]}]}}}, ORDER, True,
                 id="kinesis-numeric"),
    # invocation-eventfiltering "Filtering examples": partitionKey (metadata) and Location (data)
    pytest.param({"partitionKey": ["1"], "data": {"Location": ["Los Angeles"]}}, WEATHER, True,
                 id="lambda-doc-metadata-and-data"),
    pytest.param({"partitionKey": ["2"], "data": {"Location": ["Los Angeles"]}}, WEATHER, False,
                 id="lambda-doc-metadata-mismatch"),
    pytest.param({"data": {"Temperature": [{"numeric": [">", 50, "<=", 60]}]}}, WEATHER, True,
                 id="lambda-doc-temperature-range"),
    pytest.param({"eventName": ["aws:kinesis:record"]}, WEATHER, True, id="kinesis-record-metadata"),
    # "Non-JSON data, valid JSON pattern: Lambda drops the record" / "no pattern for data: metadata only"
    pytest.param({"data": {"order": {"type": ["buy"]}}}, "ABC:AAAA", False, id="kinesis-non-json-data-dropped"),
    pytest.param({"data": {"x": [{"exists": False}]}}, "ABC:AAAA", False, id="kinesis-non-json-exists-false"),
    pytest.param({"partitionKey": ["1"]}, "ABC:AAAA", True, id="kinesis-non-json-metadata-only"),
    pytest.param({"data": {"order": {"type": ["buy"]}}}, b"\xff\xfe not utf-8", False, id="kinesis-binary-data"),
])
def test_lambda_kinesis(pattern, data, expected):
    record = kinesis_record(data)
    before = copy.deepcopy(record)
    assert lambda_filter_matches(criteria(pattern), record, "aws:kinesis") is expected
    assert record == before  # data is still base64 for the function


def test_lambda_kinesis_flattened_record():
    # A record already flattened (kinesis fields at the top level) works too.
    record = kinesis_record(ORDER)["kinesis"]
    assert lambda_filter_matches(criteria({"data": {"order": {"type": ["buy"]}}}), record, "aws:kinesis")


def ddb_record(event_name="INSERT", new_image=None, old_image=None):
    # Stream record shape as in https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html
    dynamodb = {
        "Keys": {"Id": {"N": "101"}},
        "SequenceNumber": "111",
        "SizeBytes": 26,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new_image is not None:
        dynamodb["NewImage"] = new_image
    if old_image is not None:
        dynamodb["OldImage"] = old_image
    return {"eventID": "1", "eventName": event_name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1", "dynamodb": dynamodb,
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024"}


NEW_IMAGE = {"Message": {"S": "New item!"}, "Id": {"N": "101"}, "Active": {"BOOL": True},
             "Tags": {"SS": ["red", "blue"]}}


@pytest.mark.parametrize("pattern, record, expected", [
    # invocation-eventfiltering "Multi-level filtering": Keys.Id.N is 101
    pytest.param({"dynamodb": {"Keys": {"Id": {"N": ["101"]}}}}, ddb_record(new_image=NEW_IMAGE), True,
                 id="lambda-doc-ddb-keys"),
    pytest.param({"dynamodb": {"Keys": {"Id": {"N": ["102"]}}}}, ddb_record(new_image=NEW_IMAGE), False,
                 id="ddb-keys-mismatch"),
    pytest.param({"eventName": ["INSERT"], "dynamodb": {"NewImage": {"Message": {"S": ["New item!"]}}}},
                 ddb_record(new_image=NEW_IMAGE), True, id="ddb-new-image-string"),
    pytest.param({"eventName": ["INSERT"]}, ddb_record("MODIFY", new_image=NEW_IMAGE), False,
                 id="ddb-event-name"),
    # aws-cdk FilterRule example: NewImage.id.BOOL is true
    pytest.param({"dynamodb": {"NewImage": {"Active": {"BOOL": [True]}}}}, ddb_record(new_image=NEW_IMAGE), True,
                 id="ddb-new-image-bool"),
    pytest.param({"dynamodb": {"NewImage": {"Tags": {"SS": ["blue"]}}}}, ddb_record(new_image=NEW_IMAGE), True,
                 id="ddb-string-set-any-element"),
    pytest.param({"dynamodb": {"NewImage": {"Message": {"S": [{"prefix": "New"}]}}}},
                 ddb_record(new_image=NEW_IMAGE), True, id="ddb-prefix"),
    # DynamoDB numbers are strings in stream records: numeric does not apply to them.
    pytest.param({"dynamodb": {"NewImage": {"Id": {"N": [{"numeric": [">", 100]}]}}}},
                 ddb_record(new_image=NEW_IMAGE), False, id="ddb-number-is-a-string"),
    pytest.param({"dynamodb": {"OldImage": {"Message": {"S": [{"exists": False}]}}}},
                 ddb_record(new_image=NEW_IMAGE), True, id="ddb-no-old-image"),
    pytest.param({"dynamodb": {"OldImage": {"Message": {"S": [{"exists": False}]}}}},
                 ddb_record("MODIFY", new_image=NEW_IMAGE, old_image=NEW_IMAGE), False, id="ddb-old-image"),
    pytest.param({"dynamodb": {"NewImage": {"Message": {"S": [{"anything-but": "New item!"}]}}}},
                 ddb_record("REMOVE", old_image=NEW_IMAGE), False, id="ddb-anything-but-needs-new-image"),
])
def test_lambda_dynamodb(pattern, record, expected):
    before = copy.deepcopy(record)
    assert lambda_filter_matches(criteria(pattern), record, "aws:dynamodb") is expected
    assert record == before


def test_lambda_invalid_pattern_raises():
    with pytest.raises(PatternError, match="Empty arrays are not allowed"):
        lambda_filter_matches(criteria({"body": {"a": []}}), sqs_record("{}"), "aws:sqs")
    with pytest.raises(PatternError, match="not valid JSON"):
        lambda_filter_matches({"Filters": [{"Pattern": "{"}]}, sqs_record("{}"), "aws:sqs")


def test_validate_filter_criteria():
    assert validate_filter_criteria(None) is None
    assert validate_filter_criteria({}) is None
    assert validate_filter_criteria({"Filters": []}) is None
    text = '{"body": {"a": ["x"]}}'
    assert validate_filter_criteria({"Filters": [{"Pattern": text}]}) == {"Filters": [{"Pattern": text}]}
    assert validate_filter_criteria({"Filters": [{"Pattern": {"a": ["x"]}}]}) == {
        "Filters": [{"Pattern": '{"a": ["x"]}'}]}
    with pytest.raises(PatternError, match="Empty arrays"):
        validate_filter_criteria({"Filters": [{"Pattern": '{"a": []}'}]})
    with pytest.raises(PatternError, match="Pattern"):
        validate_filter_criteria({"Filters": [{"NotPattern": "{}"}]})
    with pytest.raises(PatternError, match="4096"):
        validate_filter_criteria({"Filters": [{"Pattern": json.dumps({"a": ["x" * 5000]})}]})


# =========================================================================== SNS

SNS_SUBSCRIPTION = "https://docs.aws.amazon.com/sns/latest/dg/example-filter-policies.html"

# SNS_SUBSCRIPTION: the example message's attributes.
TRANSACTION = {
    "customer_interests": {"Type": "String.Array", "Value": '["soccer", "rugby", "hockey"]'},
    "store": {"Type": "String", "Value": "example_corp"},
    "event": {"Type": "String", "Value": "order_placed"},
    "price_usd": {"Type": "Number", "Value": "210.75"},
}


def attrs(**values):
    out = {}
    for name, (kind, value) in values.items():
        out[name] = {"Type": kind, "Value": value}
    return out


SNS_ATTRIBUTE_CASES = [
    # example-filter-policies: "A policy that accepts the example message"
    case({"store": ["example_corp"], "event": [{"anything-but": "order_cancelled"}],
          "customer_interests": ["rugby", "football", "baseball"], "price_usd": [{"numeric": [">=", 100]}]},
         TRANSACTION, True, "sns-doc-accepts"),
    # ... and "A policy that rejects the example message" (encrypted is missing, event differs)
    case({"store": ["example_corp"], "event": ["order_cancelled"], "encrypted": [False],
          "customer_interests": ["basketball", "baseball"]}, TRANSACTION, False, "sns-doc-rejects"),
    case({"encrypted": [False]}, TRANSACTION, False, "sns-missing-attribute"),
    case({"encrypted": [{"anything-but": "yes"}]}, TRANSACTION, False, "sns-missing-attribute-anything-but"),
    case({"encrypted": [{"exists": False}]}, TRANSACTION, True, "sns-missing-attribute-exists-false"),
    # and-or-logic
    case({"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]}, TRANSACTION, True,
         "sns-doc-and"),
    case({"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 300]}]}, TRANSACTION, False,
         "sns-doc-and-fails"),
    case({"$or": [{"store": ["other"]}, {"price_usd": [{"numeric": ["<", 300]}]}]}, TRANSACTION, True,
         "sns-or-operator"),
    # string-value-matching
    case({"customer_interests": ["rugby", "tennis"]}, attrs(customer_interests=("String", "rugby")), True,
         "sns-doc-string-exact"),
    case({"customer_interests": ["rugby", "tennis"]}, attrs(customer_interests=("String", "baseball")), False,
         "sns-doc-string-exact-no"),
    case({"customer_interests": [{"prefix": "bas"}]}, attrs(customer_interests=("String", "basketball")), True,
         "sns-doc-prefix"),
    case({"customer_interests": [{"prefix": "bas"}]}, attrs(customer_interests=("String", "rugby")), False,
         "sns-doc-prefix-no"),
    case({"customer_interests": [{"anything-but": ["rugby", "tennis"]}]},
         attrs(customer_interests=("String", "football")), True, "sns-doc-anything-but"),
    case({"customer_interests": [{"anything-but": ["rugby", "tennis"]}]},
         attrs(customer_interests=("String.Array", '["rugby", "baseball"]')), True,
         "sns-doc-anything-but-string-array"),
    case({"customer_interests": [{"anything-but": ["rugby", "tennis"]}]},
         attrs(customer_interests=("String", "rugby")), False, "sns-doc-anything-but-no"),
    case({"event": [{"anything-but": {"prefix": "order-"}}]}, attrs(event=("String", "order_number")), True,
         "sns-doc-anything-but-prefix"),
    case({"event": [{"anything-but": {"prefix": "order-"}}]}, attrs(event=("String", "order-cancelled")), False,
         "sns-doc-anything-but-prefix-no"),
    case({"source_ip": [{"cidr": "10.0.0.0/24"}]}, attrs(source_ip=("String", "10.0.0.255")), True,
         "sns-doc-cidr"),
    case({"source_ip": [{"cidr": "10.0.0.0/24"}]}, attrs(source_ip=("String", "10.1.1.0")), False,
         "sns-doc-cidr-no"),
    case({"s": [{"suffix": "ball"}]}, attrs(s=("String", "football")), True, "sns-suffix"),
    case({"s": [{"equals-ignore-case": "RUGBY"}]}, attrs(s=("String", "rugby")), True, "sns-equals-ignore-case"),
    # numeric-value-matching
    case({"price_usd": [{"numeric": ["=", 301.5]}]}, attrs(price_usd=("Number", "301.5")), True,
         "sns-doc-numeric-equals"),
    case({"price_usd": [{"numeric": ["=", 301.5]}]}, attrs(price_usd=("Number", "3.015e2")), True,
         "sns-doc-numeric-equals-exponent"),
    case({"price": [{"anything-but": [100, 500]}]}, attrs(price=("Number", "101")), True,
         "sns-doc-numeric-anything-but"),
    case({"price": [{"anything-but": [100, 500]}]}, attrs(price=("Number", "100.1")), True,
         "sns-doc-numeric-anything-but-fraction"),
    case({"price": [{"anything-but": [100, 500]}]}, attrs(price=("Number", "100")), False,
         "sns-doc-numeric-anything-but-no"),
    case({"price": [{"anything-but": [100, 500]}]}, attrs(price=("Number.Array", "[100, 50]")), True,
         "sns-doc-numeric-anything-but-array"),
    case({"price_usd": [{"numeric": ["<", 0]}]}, attrs(price_usd=("Number", "-3")), True, "sns-doc-negative"),
    case({"price_usd": [{"numeric": [">", 0, "<=", 150]}]}, attrs(price_usd=("Number", "150")), True,
         "sns-doc-range-top"),
    case({"price_usd": [{"numeric": [">", 0, "<=", 150]}]}, attrs(price_usd=("Number", "150.5")), False,
         "sns-doc-range-above"),
    case({"price": [100]}, attrs(price=("Number", "100.0")), True, "sns-number-exact-by-value"),
    case({"price": [{"numeric": [">", 0]}]}, attrs(price=("String", "5")), False, "sns-string-is-not-numeric"),
    case({"price": ["5"]}, attrs(price=("Number", "5")), False, "sns-number-is-not-a-string"),
    case({"price": [{"numeric": [">", 0]}]}, attrs(price=("Number.float", "2.5")), True, "sns-custom-number-type"),
    case({"sizes": [{"numeric": [">", 10]}]}, attrs(sizes=("String.Array", '["a", 20]')), True,
         "sns-string-array-numbers"),
    case({"flags": [True]}, attrs(flags=("String.Array", "[true, null]")), True, "sns-string-array-boolean"),
    # attribute-key-matching
    case({"store": [{"exists": True}]}, attrs(store=("String", "fans")), True, "sns-doc-exists-true"),
    case({"store": [{"exists": True}]},
         attrs(customer_interests=("String.Array", '["baseball", "basketball"]')), False, "sns-doc-exists-true-no"),
    case({"store": [{"exists": False}]}, attrs(store=("String", "fans")), False, "sns-doc-exists-false-no"),
    case({"store": [{"exists": False}]},
         attrs(customer_interests=("String.Array", '["baseball", "basketball"]')), True, "sns-doc-exists-false"),
    # subscription-filter-policy-constraints: Binary attributes are ignored
    case({"blob": [{"exists": True}]}, attrs(blob=("Binary", "AAEC")), False, "sns-binary-ignored"),
    case({"blob": [{"exists": False}]}, attrs(blob=("Binary", "AAEC")), True, "sns-binary-absent"),
    case({}, TRANSACTION, True, "sns-empty-policy"),
]


@pytest.mark.parametrize("policy, attributes, expected", SNS_ATTRIBUTE_CASES)
def test_sns_attribute_scope(policy, attributes, expected):
    before = copy.deepcopy(attributes)
    assert sns_filter_matches(policy, attributes, "message-body-with-transaction-details") is expected
    assert sns_filter_matches(json.dumps(policy), attributes, "ignored", scope="MessageAttributes") is expected
    assert attributes == before


def test_sns_publish_api_attribute_shape():
    attributes = {"store": {"DataType": "String", "StringValue": "example_corp"},
                  "price_usd": {"DataType": "Number", "StringValue": "210.75"},
                  "blob": {"DataType": "Binary", "BinaryValue": b"\x00"}}
    assert sns_filter_matches({"store": ["example_corp"], "price_usd": [{"numeric": [">", 200]}]}, attributes, "")
    assert not sns_filter_matches({"blob": [{"exists": True}]}, attributes, "")


def test_sns_no_attributes():
    assert not sns_filter_matches({"store": ["x"]}, None, "body")
    assert sns_filter_matches({"store": [{"exists": False}]}, {}, "body")
    assert sns_filter_matches(None, None, "body")


@pytest.mark.parametrize("policy, body, expected", [
    # attribute-key-matching, message body examples
    pytest.param({"store": [{"exists": True}]}, {"store": "fans", "customer_interests": ["baseball"]}, True,
                 id="sns-doc-body-exists"),
    pytest.param({"store": [{"exists": False}]}, {"customer_interests": ["baseball", "basketball"]}, True,
                 id="sns-doc-body-exists-false"),
    # numeric-value-matching, message body examples
    pytest.param({"price_usd": [{"numeric": ["=", 301.5]}]}, {"price_usd": 3.015e2}, True,
                 id="sns-doc-body-numeric"),
    pytest.param({"price": [{"anything-but": [100, 500]}]}, {"price": [100, 50]}, True,
                 id="sns-doc-body-anything-but-array"),
    pytest.param({"price": [{"anything-but": [100, 500]}]}, {"price": 100}, False,
                 id="sns-doc-body-anything-but-no"),
    # Payload-based policies nest (unlike attribute-based ones).
    pytest.param({"order": {"customer": {"tier": ["gold"]}}}, {"order": {"customer": {"tier": "gold"}}}, True,
                 id="sns-body-nested"),
    pytest.param({"order": {"items": {"sku": [{"prefix": "A-"}]}}},
                 {"order": {"items": [{"sku": "B-1"}, {"sku": "A-2"}]}}, True, id="sns-body-array-of-objects"),
    pytest.param({"store": ["fans"]}, {"store": "other"}, False, id="sns-body-mismatch"),
    pytest.param({"store": [{"exists": False}]}, "not json at all", False, id="sns-body-not-json"),
    pytest.param({"store": [{"exists": False}]}, "[1, 2]", False, id="sns-body-not-an-object"),
])
def test_sns_body_scope(policy, body, expected):
    text = body if isinstance(body, str) else json.dumps(body)
    assert sns_filter_matches(policy, {}, text, scope="MessageBody") is expected


def test_sns_body_scope_ignores_attributes():
    assert not sns_filter_matches({"store": ["x"]}, attrs(store=("String", "x")), '{"store": "y"}', "MessageBody")
    assert sns_filter_matches({"store": ["x"]}, attrs(store=("String", "y")), '{"store": "x"}', "MessageBody")


def test_validate_sns_filter_policy():
    nested = {"order": {"tier": ["gold"]}}
    assert validate_sns_filter_policy(nested, "MessageBody") == nested
    assert validate_sns_filter_policy('{"a": ["x"]}') == {"a": ["x"]}
    assert validate_sns_filter_policy("{}") == {}
    with pytest.raises(PatternError, match="does not support nested") as caught:
        validate_sns_filter_policy(nested, "MessageAttributes")
    assert caught.value.sns_message.startswith("Invalid parameter: FilterPolicy: ")
    with pytest.raises(PatternError, match="does not support nested"):
        validate_sns_filter_policy({"$or": [{"a": ["x"]}, {"b": {"c": ["y"]}}]})
    with pytest.raises(PatternError, match="FilterPolicyScope"):
        validate_sns_filter_policy({"a": ["x"]}, "Body")
    with pytest.raises(PatternError, match="Empty arrays"):
        validate_sns_filter_policy({"a": []})
