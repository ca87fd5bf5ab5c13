"""A CDK app's cdk.out made deployable: folder assets as hot-reload folders, .zip assets and
nested templates as uploads, the bootstrap version parameter and rule dropped, Docker image
assets refused; cdk.out itself names its one stack's template and the stack's name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from emulator.templates.cdk import ASSETS_BUCKET, is_cdk, rewrite_cdk
from emulator.templates.loading import TemplateError
from emulator.templates.prepare import default_stack_name, prepare, template_file

BOOTSTRAP = {
    "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>",
                                        "Default": "/cdk-bootstrap/hnb659fds/version"}},
    "Rules": {"CheckBootstrapVersion": {"Assertions": [{"Assert": {"Fn::Not": [{"Fn::Contains": [
        ["1"], {"Ref": "BootstrapVersion"}]}]}}]}},
}


def function(asset: str, prop: str = "Code", **metadata: Any) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Function",
            "Properties": {"Code": {"S3Bucket": "cdk-hnb659fds-assets-1-us-east-1", "S3Key": "h.zip"},
                           "Handler": "index.handler", "Runtime": "python3.11"},
            "Metadata": {"aws:asset:path": asset, "aws:asset:property": prop, **metadata}}


def cdk_out(tmp_path: Path) -> Path:
    out = tmp_path / "cdk.out"
    (out / "asset.aaa").mkdir(parents=True)
    (out / "asset.aaa" / "index.py").write_text("def handler(e, c): return 1\n")
    (out / "asset.bbb.zip").write_bytes(b"PK zip bytes")
    nested = {"Parameters": {"Bus": {"Type": "String"}}, "Resources": {"Inner": function("asset.aaa")},
              "Outputs": {"Name": {"Value": {"Ref": "Inner"}}}}
    (out / "AppInner1234.nested.template.json").write_text(json.dumps(nested))
    top = {**BOOTSTRAP, "Resources": {
        "Fn": function("asset.aaa"),
        "Zipped": function("asset.bbb.zip"),
        "Meta": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:x"}},
        "Inner": {"Type": "AWS::CloudFormation::Stack",
                  "Properties": {"TemplateURL": {"Fn::Join": ["", ["https://s3.", "x/y.json"]]},
                                 "Parameters": {"Bus": "b"}},
                  "Metadata": {"aws:asset:path": "AppInner1234.nested.template.json",
                               "aws:asset:property": "TemplateURL"}}}}
    (out / "App.template.json").write_text(json.dumps(top))
    (out / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": {
        "App": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "App.template.json",
                                                                   "stackName": "my-app"}},
        "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}}}}))
    return out


def test_assets_become_hot_reload_folders_uploads_and_nested_templates(tmp_path: Path) -> None:
    out = cdk_out(tmp_path)
    template = json.loads((out / "App.template.json").read_text())
    assert is_cdk(template)
    done = rewrite_cdk(template, out)
    resources = done.template["Resources"]
    assert "Parameters" not in done.template and "Rules" not in done.template and "Meta" not in resources
    assert resources["Fn"]["Properties"]["Code"] == {"S3Bucket": "hot-reload", "S3Key": str(out / "asset.aaa")}
    zipped, nested = done.uploads
    assert resources["Zipped"]["Properties"]["Code"] == {"S3Bucket": ASSETS_BUCKET, "S3Key": zipped.key}
    assert zipped.body == b"PK zip bytes" and zipped.key.endswith(".zip")
    url = resources["Inner"]["Properties"]["TemplateURL"]
    assert url == f"https://s3.amazonaws.com/{ASSETS_BUCKET}/{nested.key}"
    inner = json.loads(nested.body)
    assert inner["Resources"]["Inner"]["Properties"]["Code"]["S3Key"] == str(out / "asset.aaa")
    assert inner["Outputs"] == {"Name": {"Value": {"Ref": "Inner"}}}
    assert set(done.folders) == {"Fn", "Inner/Inner"}
    assert template["Resources"]["Fn"]["Properties"]["Code"]["S3Key"] == "h.zip"  # the input is untouched


def test_cdk_out_names_its_stack_and_template(tmp_path: Path) -> None:
    out = cdk_out(tmp_path)
    path = template_file(out)
    assert path == out / "App.template.json"
    assert default_stack_name(path) == "my-app"
    ready = prepare(path.read_text(), path)
    assert len(ready.uploads) == 2 and "BootstrapVersion" not in json.dumps(ready.template)


def test_docker_image_assets_and_missing_assets_are_clear_errors(tmp_path: Path) -> None:
    out = cdk_out(tmp_path)
    image = {"Resources": {"Img": function("asset.ccc", "Code.ImageUri", **{"aws:asset:dockerfile-path": "Dockerfile"})}}
    with pytest.raises(TemplateError, match=r"Img: asset\.ccc is a Docker image asset"):
        rewrite_cdk(image, out)
    with pytest.raises(TemplateError, match=r"asset\.gone is not in .*run cdk synth again"):
        rewrite_cdk({"Resources": {"Fn": function("asset.gone")}}, out)


def test_a_folder_with_several_stacks_asks_for_one(tmp_path: Path) -> None:
    out = cdk_out(tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["artifacts"]["Other"] = {"type": "aws:cloudformation:stack", "properties": {"templateFile": "O.json"}}
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(TemplateError, match="holds 2 stacks"):
        template_file(out)
    with pytest.raises(TemplateError, match=r"no manifest\.json"):
        template_file(tmp_path)
