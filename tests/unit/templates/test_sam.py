"""emulator.templates.sam: AWS's translator, offline, with local CodeUri folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.templates.sam import SamError, expand, is_sam

SAM = "AWS::Serverless-2016-10-31"


def _function(**properties: object) -> dict[str, object]:
    return {"Transform": SAM, "Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {
        "Runtime": "python3.11", "Handler": "app.handler", **properties}}}}


def test_a_local_folder_is_the_hot_reload_bucket_and_the_input_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    template = _function(CodeUri="src", AutoPublishAlias="live")
    out = expand(template, region="eu-west-1", account_id="111122223333", parameters={}, code_root=tmp_path)
    assert template["Resources"]["Fn"]["Properties"]["CodeUri"] == "src"  # type: ignore[index]
    assert "Transform" not in out
    fn = out["Resources"]["Fn"]
    assert fn["Type"] == "AWS::Lambda::Function"
    assert fn["Properties"]["Code"] == {"S3Bucket": "hot-reload", "S3Key": str((tmp_path / "src").resolve())}
    types = {r["Type"] for r in out["Resources"].values()}
    assert {"AWS::Lambda::Version", "AWS::Lambda::Alias", "AWS::IAM::Role"} <= types


def test_a_parameter_names_the_folder(tmp_path: Path) -> None:
    template = _function(CodeUri={"Ref": "Code"})
    template["Parameters"] = {"Code": {"Type": "String"}}
    out = expand(template, region="us-east-1", account_id="123456789012", parameters={"Code": str(tmp_path)})
    assert out["Resources"]["Fn"]["Properties"]["Code"]["S3Key"] == str(tmp_path.resolve())


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(SamError) as failed:
        expand(_function(CodeUri=str(tmp_path / "gone")), region="us-east-1", account_id="1", parameters={})
    assert str(tmp_path / "gone") in failed.value.message
    assert failed.value.message.startswith(f"Transform {SAM} failed with: ")


def test_the_translators_messages_are_the_error() -> None:
    template = _function(InlineCode="x", Events={"E": {"Type": "Carrier"}})
    with pytest.raises(SamError) as failed:
        expand(template, region="us-east-1", account_id="1", parameters={})
    assert "Number of errors found: 1." in failed.value.message
    assert any("Resource with id [Fn] is invalid" in error for error in failed.value.errors)


def test_is_sam() -> None:
    assert is_sam({"Transform": SAM}) and is_sam({"Transform": ["AWS::Include", SAM]})
    assert not is_sam({"Resources": {}})
