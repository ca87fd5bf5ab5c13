"""What CloudFormation refuses before making anything: missing references, cycles, intrinsic
functions with the wrong arguments; each with CloudFormation's message."""

from __future__ import annotations

import pytest

from emulator.templates.checks import TemplateError, check


def queue(**properties: object) -> dict:
    return {"Type": "AWS::SQS::Queue", "Properties": properties}


def refused(template: dict) -> str:
    with pytest.raises(TemplateError) as caught:
        check(template)
    return caught.value.message


def test_a_good_template_passes_with_parameters_pseudo_parameters_sub_variables_and_conditions():
    check({"Parameters": {"Stage": {"Type": "String"}},
           "Conditions": {"Prod": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
           "Resources": {
               "A": queue(QueueName={"Fn::Sub": "${AWS::StackName}-${Stage}-a"}),
               "B": queue(QueueName={"Fn::Sub": ["${X}-b-${!Literal}", {"X": {"Fn::GetAtt": "A.QueueName"}}]}),
               "C": {"Type": "AWS::SQS::Queue", "DependsOn": ["A", "B"], "Condition": "Prod", "Properties": {
                   "QueueName": {"Fn::If": ["Prod", {"Fn::Join": ["-", [{"Ref": "AWS::Region"}, "c"]]},
                                            {"Ref": "AWS::NoValue"}]}}}},
           "Outputs": {"Out": {"Value": {"Fn::GetAtt": ["B", "Arn"]}}}})


def test_references_to_nothing_are_named():
    message = refused({"Resources": {"A": queue(QueueName={"Ref": "Nowhere"}),
                                     "B": queue(QueueName={"Fn::GetAtt": ["Ghost", "QueueName"]})},
                       "Outputs": {"O": {"Value": {"Fn::Sub": "${Missing.Arn}"}}}})
    assert message == ("Template format error: Unresolved resource dependencies [Ghost, Missing, Nowhere] in the "
                       "Resources block of the template")


def test_a_cycle_is_named_whatever_its_length():
    assert refused({"Resources": {"A": queue(QueueName={"Fn::GetAtt": ["B", "QueueName"]}),
                                  "B": queue(QueueName={"Fn::GetAtt": ["A", "QueueName"]})}}) == (
        "Circular dependency between resources: [A, B]")
    assert refused({"Resources": {"A": {"Type": "AWS::SQS::Queue", "DependsOn": "C"}, "B": queue(x={"Ref": "A"}),
                                  "C": queue(x={"Fn::Sub": "${B}"}), "D": queue()}}) == (
        "Circular dependency between resources: [A, B, C]")


@pytest.mark.parametrize("function, value, start", [
    ("Fn::Select", ["x", "not a list"], "Template error: Fn::Select requires"),
    ("Fn::Join", ["-"], "Template error: every Fn::Join object requires two parameters"),
    ("Fn::Split", [",", ["a"]], "Template error: every Fn::Split object requires two parameters"),
    ("Fn::GetAtt", ["OnlyOne"], "Template error: every Fn::GetAtt object requires two non-empty parameters"),
    ("Fn::FindInMap", ["Map", "Key"], "Template error: every Fn::FindInMap object requires three parameters"),
    ("Fn::If", ["Cond", "a"], "Template error: Fn::If requires a list argument with three elements"),
    ("Fn::Equals", ["a"], "Template error: every Fn::Equals object requires a list of 2 string parameters."),
    ("Fn::Sub", ["${A}", "not a map"], "Template error: One or more Fn::Sub intrinsic functions"),
    ("Ref", ["A"], "Template format error: Every Ref object must have a single String value."),
])
def test_an_intrinsic_with_the_wrong_arguments(function: str, value: object, start: str):
    assert refused({"Resources": {"A": queue(QueueName={function: value})}}).startswith(start)


def test_a_template_without_resources():
    assert refused({"Resources": {}}) == "Template format error: At least one Resources member must be defined."
