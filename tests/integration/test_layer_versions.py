"""Layer versions through the Lambda API, with boto3 against a real control plane: published
from a zip or live from a project folder (the hot-reload convention), numbered as AWS numbers
them, listed, fetched by ARN, downloaded from Content.Location, deleted; a function whose Layers
name a version runs with that version's files under /opt, and a live layer's edit shows in the
next invoke."""

from __future__ import annotations

import io
import json
import os
import subprocess
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import lambda_client
from tests.integration.test_control_api import zip_of

LAYER_ARN = "arn:aws:lambda:us-east-1:123456789012:layer:greeting"
CODE = "import greet\n\ndef main(event, context):\n    return {'greeting': greet.WORD}\n"


def _call(lam: Any, name: str) -> Any:
    reply = lam.invoke(FunctionName=name, Payload=b"{}")
    body = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, body
    return body


def _error(call: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


@pytest.mark.parametrize("executor", ["docker", "process"])
def test_published_versions_run_under_opt_and_are_numbered_listed_and_deleted_as_on_aws(executor, tmp_path,
                                                                                        make_server):
    (tmp_path / "functions").mkdir()
    lam = lambda_client(make_server(tmp_path / "functions", executor))
    one = lam.publish_layer_version(LayerName="greeting", Description="first", CompatibleRuntimes=["python3.11"],
                                    LicenseInfo="MIT", Content={"ZipFile": zip_of({"python/greet.py": "WORD = 'one'\n"})})
    assert (one["LayerArn"], one["LayerVersionArn"], one["Version"]) == (LAYER_ARN, f"{LAYER_ARN}:1", 1)
    assert (one["Description"], one["CompatibleRuntimes"], one["LicenseInfo"]) == ("first", ["python3.11"], "MIT")
    assert one["Content"]["CodeSize"] > 0 and len(one["Content"]["CodeSha256"]) == 44
    with zipfile.ZipFile(io.BytesIO(urllib.request.urlopen(one["Content"]["Location"], timeout=10).read())) as got:
        assert got.read("python/greet.py") == b"WORD = 'one'\n"
    two = lam.publish_layer_version(LayerName=LAYER_ARN, CompatibleRuntimes=["python3.12"],
                                    Content={"ZipFile": zip_of({"python/greet.py": "WORD = 'two'\n"})})
    assert two["Version"] == 2

    lam.create_function(FunctionName="greeter", Runtime="python3.11", Handler="app.main", Role="r",
                        Code={"ZipFile": zip_of({"app.py": CODE})}, Layers=[one["LayerVersionArn"]])
    assert _call(lam, "greeter") == {"greeting": "one"}
    location = lam.get_function(FunctionName="greeter")["Code"]["Location"]  # uploaded code, unpacked in state/
    with zipfile.ZipFile(io.BytesIO(urllib.request.urlopen(location, timeout=10).read())) as got:
        assert got.read("app.py").decode() == CODE
    lam.update_function_configuration(FunctionName="greeter", Layers=[two["LayerVersionArn"]])
    assert _call(lam, "greeter") == {"greeting": "two"}
    shown = lam.get_function(FunctionName="greeter")["Configuration"]["Layers"]
    assert [layer["Arn"] for layer in shown] == [two["LayerVersionArn"]] and shown[0]["CodeSize"] > 0

    assert [v["Version"] for v in lam.list_layer_versions(LayerName="greeting")["LayerVersions"]] == [2, 1]
    assert [v["Version"] for v in lam.list_layer_versions(LayerName="greeting",
                                                          CompatibleRuntime="python3.11")["LayerVersions"]] == [1]
    layers = lam.list_layers()["Layers"]
    assert [(layer["LayerName"], layer["LatestMatchingVersion"]["Version"]) for layer in layers] == [("greeting", 2)]
    assert lam.get_layer_version_by_arn(Arn=f"{LAYER_ARN}:1")["Description"] == "first"
    assert lam.get_layer_version(LayerName="greeting", VersionNumber=2)["LayerVersionArn"] == f"{LAYER_ARN}:2"

    lam.delete_layer_version(LayerName="greeting", VersionNumber=1)
    lam.delete_layer_version(LayerName="greeting", VersionNumber=1)  # deleting what is gone succeeds, as on AWS
    assert _error(lam.get_layer_version, LayerName="greeting", VersionNumber=1) == (
        "ResourceNotFoundException", 404, "The resource you requested does not exist.")
    code, status, message = _error(lam.create_function, FunctionName="late", Runtime="python3.11",
                                   Handler="app.main", Role="r", Code={"ZipFile": zip_of({"app.py": CODE})},
                                   Layers=[f"{LAYER_ARN}:1"])
    assert (code, status) == ("InvalidParameterValueException", 400) and "greeting" in message
    three = lam.publish_layer_version(LayerName="greeting", Content={"ZipFile": zip_of({"python/greet.py": "WORD = 3\n"})})
    assert three["Version"] == 3  # numbers are never given twice
    assert _call(lam, "greeter") == {"greeting": "two"}  # a function keeps the version it names

    assert _error(lam.publish_layer_version, LayerName="greeting", Content={"ZipFile": b"not a zip"})[:2] == (
        "InvalidParameterValueException", 400)
    assert _error(lam.publish_layer_version, LayerName="bad name!", Content={"ZipFile": zip_of({})})[:2] == (
        "ValidationException", 400)


def test_a_live_layer_folder_changes_what_the_next_invoke_sees_and_must_be_in_the_project(tmp_path, make_server):
    (tmp_path / "functions").mkdir()
    layer = tmp_path / "shared"
    (layer / "python").mkdir(parents=True)
    (layer / "python" / "greet.py").write_text("WORD = 'saved once'\n")
    lam = lambda_client(make_server(tmp_path / "functions", "docker"))
    live = lam.publish_layer_version(LayerName="shared", Content={"S3Bucket": "hot-reload", "S3Key": str(layer)})
    lam.create_function(FunctionName="reader", Runtime="python3.11", Handler="app.main", Role="r",
                        Code={"ZipFile": zip_of({"app.py": CODE})}, Layers=[live["LayerVersionArn"]])
    assert _call(lam, "reader") == {"greeting": "saved once"}
    (layer / "python" / "greet.py").write_text("WORD = 'saved twice'\n")
    assert _call(lam, "reader") == {"greeting": "saved twice"}

    outside = Path("/usr/lib")
    code, status, message = _error(lam.publish_layer_version, LayerName="evil",
                                   Content={"S3Bucket": "hot-reload", "S3Key": str(outside)})
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "Content.S3Key" in message and "is outside the project" in message


def test_a_versions_policy_is_added_read_and_removed_as_on_aws(tmp_path, make_server):
    """AddLayerVersionPermission / GetLayerVersionPolicy / RemoveLayerVersionPermission: AWS's
    statement shapes (an account, everyone, an organization), revision ids, and AWS's errors;
    the same calls through the AWS CLI v2."""
    from tests.integration.test_cloudwatch_logs import aws_cli_v2

    (tmp_path / "functions").mkdir()
    endpoint = make_server(tmp_path / "functions", "process")
    lam = lambda_client(endpoint)
    lam.publish_layer_version(LayerName="shared", Content={"ZipFile": zip_of({"python/shared.py": "X = 1\n"})})
    arn = "arn:aws:lambda:us-east-1:123456789012:layer:shared:1"
    assert _error(lam.get_layer_version_policy, LayerName="shared", VersionNumber=1)[:2] == (
        "ResourceNotFoundException", 404)
    added = lam.add_layer_version_permission(LayerName="shared", VersionNumber=1, StatementId="xaccount",
                                             Action="lambda:GetLayerVersion", Principal="210987654321")
    assert json.loads(added["Statement"]) == {
        "Sid": "xaccount", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
        "Action": "lambda:GetLayerVersion", "Resource": arn}
    org = lam.add_layer_version_permission(LayerName="shared", VersionNumber=1, StatementId="org",
                                           Action="lambda:GetLayerVersion", Principal="*",
                                           OrganizationId="o-t194hfs8cz", RevisionId=added["RevisionId"])
    assert json.loads(org["Statement"])["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-t194hfs8cz"}}
    assert json.loads(org["Statement"])["Principal"] == "*" and org["RevisionId"] != added["RevisionId"]
    policy = lam.get_layer_version_policy(LayerName=arn.rsplit(":", 1)[0], VersionNumber=1)
    document = json.loads(policy["Policy"])
    assert (document["Version"], document["Id"], [s["Sid"] for s in document["Statement"]]) == (
        "2012-10-17", "default", ["xaccount", "org"])
    assert policy["RevisionId"] == org["RevisionId"]

    code, status, message = _error(lam.add_layer_version_permission, LayerName="shared", VersionNumber=1,
                                   StatementId="xaccount", Action="lambda:GetLayerVersion", Principal="*")
    assert (code, status) == ("ResourceConflictException", 409) and "(xaccount) provided already exists" in message
    code, status, message = _error(lam.add_layer_version_permission, LayerName="shared", VersionNumber=1,
                                   StatementId="other", Action="lambda:GetLayerVersion", Principal="*",
                                   RevisionId=added["RevisionId"])  # stale
    assert (code, status) == ("PreconditionFailedException", 412) and "GetLayerVersionPolicy" in message
    code, status, message = _error(lam.add_layer_version_permission, LayerName="shared", VersionNumber=1,
                                   StatementId="bad", Action="lambda:InvokeFunction", Principal="*")
    assert (code, status) == ("ValidationException", 400) and "'action'" in message
    assert _error(lam.add_layer_version_permission, LayerName="shared", VersionNumber=9, StatementId="x",
                  Action="lambda:GetLayerVersion", Principal="*")[:2] == ("ResourceNotFoundException", 404)

    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": ""}
    done = subprocess.run([aws_cli_v2(), "--endpoint-url", endpoint, "lambda", "remove-layer-version-permission",
                           "--layer-name", "shared", "--version-number", "1", "--statement-id", "xaccount"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([aws_cli_v2(), "--endpoint-url", endpoint, "lambda", "get-layer-version-policy",
                           "--layer-name", "shared", "--version-number", "1"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [s["Sid"] for s in json.loads(json.loads(done.stdout)["Policy"])["Statement"]] == ["org"]
    assert _error(lam.remove_layer_version_permission, LayerName="shared", VersionNumber=1,
                  StatementId="xaccount")[:2] == ("ResourceNotFoundException", 404)
    lam.delete_layer_version(LayerName="shared", VersionNumber=1)  # its policy goes with it
    assert _error(lam.get_layer_version_policy, LayerName="shared", VersionNumber=1)[:2] == (
        "ResourceNotFoundException", 404)
