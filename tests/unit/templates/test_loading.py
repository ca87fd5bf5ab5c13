"""Templates for the dev loop: CloudFormation's YAML short tags read as their long forms, and
local code paths rewritten to hot-reload folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulator.templates.loading import TemplateError, load_template, template_body
from emulator.templates.local_code import rewrite_local_code
from emulator.templates.stacks import parse_overrides, stack_name_for

TAGS = """
AWSTemplateFormatVersion: 2010-09-09
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  Both: !And [!Condition IsProd, !Not [!Equals [!Ref Env, dev]]]
Resources:
  Thing:
    Type: AWS::SQS::Queue
    Properties:
      a: !GetAtt Queue.Arn
      b: !GetAtt [Queue, Arn]
      c: !Sub "${AWS::StackName}-x"
      d: !Sub
        - "${name}-y"
        - {name: !Ref Env}
      e: !Join ["-", [!Ref Env, !Select [0, !GetAZs ""]]]
      f: !If [IsProd, !Base64 "x", !Ref "AWS::NoValue"]
      g: !FindInMap [Sizes, !Ref "AWS::Region", Memory]
      h: !Split [",", !ImportValue shared-list]
      i: !GetAtt Api.Outputs.Url
      j: !Cidr [10.0.0.0/16, 4, 8]
      k: !Or [!Condition IsProd, !Condition Both]
"""


def test_short_tags_become_long_forms() -> None:
    template = load_template(TAGS)
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"  # a string, not a date
    assert template["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Env"}, "prod"]}
    assert template["Conditions"]["Both"] == {
        "Fn::And": [{"Condition": "IsProd"}, {"Fn::Not": [{"Fn::Equals": [{"Ref": "Env"}, "dev"]}]}]}
    props = template["Resources"]["Thing"]["Properties"]
    assert props["a"] == props["b"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert props["c"] == {"Fn::Sub": "${AWS::StackName}-x"}
    assert props["d"] == {"Fn::Sub": ["${name}-y", {"name": {"Ref": "Env"}}]}
    assert props["e"] == {"Fn::Join": ["-", [{"Ref": "Env"}, {"Fn::Select": [0, {"Fn::GetAZs": ""}]}]]}
    assert props["f"] == {"Fn::If": ["IsProd", {"Fn::Base64": "x"}, {"Ref": "AWS::NoValue"}]}
    assert props["g"] == {"Fn::FindInMap": ["Sizes", {"Ref": "AWS::Region"}, "Memory"]}
    assert props["h"] == {"Fn::Split": [",", {"Fn::ImportValue": "shared-list"}]}
    assert props["i"] == {"Fn::GetAtt": ["Api", "Outputs.Url"]}  # split at the first dot
    assert props["j"] == {"Fn::Cidr": ["10.0.0.0/16", 4, 8]}
    assert props["k"] == {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "Both"}]}
    assert json.loads(template_body(template)) == template  # sent as JSON: long forms only


def test_json_templates_and_errors() -> None:
    assert load_template('{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}')["Resources"]["Q"]["Type"] \
        == "AWS::SQS::Queue"
    with pytest.raises(TemplateError, match=r"(?s)t\.yaml: not valid YAML: .*at line 4, column 1"):
        load_template("Resources:\n  Q:\n    Type: [\n", "t.yaml")
    with pytest.raises(TemplateError, match="At least one Resources member"):
        load_template("Outputs: {}\n")
    with pytest.raises(TemplateError, match="given twice"):
        load_template("Resources:\n  Q: {Type: AWS::SQS::Queue}\n  Q: {Type: AWS::SNS::Topic}\n")
    with pytest.raises(TemplateError, match=r"Resource\.Attribute"):
        load_template("Resources:\n  Q:\n    Type: X\n    Properties: {a: !GetAtt Queue}\n")
    with pytest.raises(TemplateError, match="not valid JSON"):
        load_template('{"Resources": ')


def test_local_code_paths_become_hot_reload_folders(tmp_path: Path) -> None:
    for folder in ("src/a", "src/b", "layer", "shared"):
        (tmp_path / folder).mkdir(parents=True)
    template = load_template(f"""
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {{Runtime: python3.11}}
Resources:
  Plain:
    Type: AWS::Lambda::Function
    Properties: {{Code: src/a, Handler: app.handler}}
  Inline:
    Type: AWS::Lambda::Function
    Properties: {{Code: {{ZipFile: "def handler(e, c): pass"}}}}
  Sam:
    Type: AWS::Serverless::Function
    Properties: {{CodeUri: ./src/b/, Handler: app.handler}}
  SamAbsolute:
    Type: AWS::Serverless::Function
    Properties: {{CodeUri: {tmp_path / "shared"}, Handler: app.handler}}
  SamDefault:
    Type: AWS::Serverless::Function
    Properties: {{Handler: app.handler}}
  SamInline:
    Type: AWS::Serverless::Function
    Properties: {{InlineCode: "x", Handler: index.handler}}
  SamS3:
    Type: AWS::Serverless::Function
    Properties: {{CodeUri: s3://bucket/code.zip, Handler: app.handler}}
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties: {{ContentUri: layer}}
  PlainLayer:
    Type: AWS::Lambda::LayerVersion
    Properties: {{Content: layer/}}
""")
    local = rewrite_local_code(template, tmp_path)
    resources = local.template["Resources"]
    root = tmp_path.resolve()
    assert resources["Plain"]["Properties"]["Code"] == {"S3Bucket": "hot-reload", "S3Key": str(root / "src/a")}
    assert resources["Inline"]["Properties"]["Code"] == {"ZipFile": "def handler(e, c): pass"}
    assert resources["Sam"]["Properties"]["CodeUri"] == {"Bucket": "hot-reload", "Key": str(root / "src/b")}
    assert resources["SamAbsolute"]["Properties"]["CodeUri"] == {"Bucket": "hot-reload", "Key": str(root / "shared")}
    assert resources["SamDefault"]["Properties"]["CodeUri"] == {"Bucket": "hot-reload", "Key": str(root)}
    assert "CodeUri" not in resources["SamInline"]["Properties"]
    assert resources["SamS3"]["Properties"]["CodeUri"] == "s3://bucket/code.zip"
    assert resources["Layer"]["Properties"]["ContentUri"] == {"Bucket": "hot-reload", "Key": str(root / "layer")}
    assert resources["PlainLayer"]["Properties"]["Content"] == {"S3Bucket": "hot-reload", "S3Key": str(root / "layer")}
    assert local.folders["Plain"] == root / "src/a"
    assert template["Resources"]["Plain"]["Properties"]["Code"] == "src/a"  # the original is untouched


def test_globals_code_uri_and_missing_folders(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "app.zip").write_bytes(b"PK")
    template = load_template("""
Globals:
  Function: {CodeUri: src}
Resources:
  Sam:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.handler}
""")
    local = rewrite_local_code(template, tmp_path)
    assert local.template["Globals"]["Function"]["CodeUri"] == {"Bucket": "hot-reload",
                                                                "Key": str(tmp_path.resolve() / "src")}
    assert "CodeUri" not in local.template["Resources"]["Sam"]["Properties"]  # Globals gives it
    with pytest.raises(TemplateError, match=r"Resource Fn: Code: 'nowhere' .* is not there"):
        rewrite_local_code(load_template("Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n"
                                         "    Properties: {Code: nowhere}\n"), tmp_path)
    with pytest.raises(TemplateError, match="is a file: give the folder"):
        rewrite_local_code(load_template("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                                         "    Properties: {CodeUri: app.zip}\n"), tmp_path)


def test_stack_names_and_overrides() -> None:
    assert stack_name_for("my_project") == "my-project"
    assert stack_name_for("2024 app") == "stack-2024-app"
    assert parse_overrides(["Stage=prod", "Empty=", "Url=a=b"]) == {"Stage": "prod", "Empty": "", "Url": "a=b"}
    with pytest.raises(ValueError, match="Key=Value"):
        parse_overrides(["Stage"])
