"""UpdateStack's order: what a resource refers to is updated (or made) first."""

from __future__ import annotations

from emulator.moto.cloudformation_updates import _after_modified, dependency_order, references

RESOURCES = {
    "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Layers": [{"Ref": "Layer"}]}},
    "Layer": {"Type": "AWS::Lambda::LayerVersion", "Properties": {}},
    "Version": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}},
    "Alias": {"Type": "AWS::Lambda::Alias", "Properties": {
        "FunctionName": {"Fn::Sub": "${Fn}"}, "FunctionVersion": {"Fn::GetAtt": ["Version", "Version"]}}},
    "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
    "Late": {"Type": "AWS::SQS::Queue", "DependsOn": "Table", "Properties": {}},
}


def test_references_are_refs_getatts_subs_in_any_depth():
    assert references({"a": [{"Ref": "X"}, {"Fn::GetAtt": "Y.Arn"}, {"Fn::Sub": ["${Z.Arn}-${AWS::Region}", {}]}],
                       "b": {"Fn::Join": ["", [{"Fn::GetAtt": ["W", "Arn"]}]]}}) == {"X", "Y", "Z", "W"}
    assert references("plain") == set()


def test_what_a_resource_refers_to_comes_first_and_the_rest_keeps_its_order():
    assert dependency_order(["Alias", "Version", "Fn", "Layer"], RESOURCES) == ["Layer", "Fn", "Version", "Alias"]
    assert dependency_order(["Late", "Table", "Fn"], RESOURCES) == ["Table", "Late", "Fn"]
    assert dependency_order(["Table", "Late"], RESOURCES) == ["Table", "Late"]


def test_a_cycle_does_not_loop():
    cyclic = {"A": {"Properties": {"x": {"Ref": "B"}}}, "B": {"Properties": {"x": {"Ref": "A"}}}}
    assert sorted(dependency_order(["A", "B"], cyclic)) == ["A", "B"]


def test_new_resources_that_refer_to_modified_ones_are_made_after_them():
    assert _after_modified(["Version", "Alias", "Table"], ["Fn"], RESOURCES) == ["Version", "Alias"]
    assert _after_modified(["Version", "Table"], [], RESOURCES) == []
