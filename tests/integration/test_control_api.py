"""The Lambda control API with boto3, its waiters and the AWS CLI."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import zipfile

import pytest


def zip_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


V1 = "def handler(event, context):\n    return {'version': 1, 'event': event}\n"
V2 = "def handler(event, context):\n    return {'version': 2}\n"


def test_create_invoke_update_delete_with_boto3_and_waiters(client):
    name = "zipfn-" + os.urandom(3).hex()
    created = client.create_function(
        FunctionName=name, Runtime="python3.11", Handler="app.handler",
        Role="arn:aws:iam::123456789012:role/lambda-role", Code={"ZipFile": zip_of({"app.py": V1})},
        Environment={"Variables": {"AB": "1"}}, Timeout=7,
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["State"] == "Pending"
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    got = client.get_function(FunctionName=name)
    config = got["Configuration"]
    assert (config["State"], config["LastUpdateStatus"], config["Timeout"]) == ("Active", "Successful", 7)
    assert config["Environment"] == {"Variables": {"AB": "1"}}
    assert config["CodeSha256"] == base64.b64encode(
        __import__("hashlib").sha256(zip_of({"app.py": V1})).digest()).decode()
    assert got["Code"]["RepositoryType"] == "S3"
    assert json.loads(client.invoke(FunctionName=name, Payload=b'{"k": 1}')["Payload"].read()) == {
        "version": 1, "event": {"k": 1}}

    updated = client.update_function_code(FunctionName=name, ZipFile=zip_of({"app.py": V2}))
    assert updated["LastUpdateStatus"] == "InProgress"
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    assert json.loads(client.invoke(FunctionName=name)["Payload"].read()) == {"version": 2}

    client.update_function_configuration(FunctionName=name, Handler="app.missing")
    response = client.invoke(FunctionName=name)
    assert json.loads(response["Payload"].read())["errorType"] == "Runtime.HandlerNotFound"

    names = [f["FunctionName"] for f in client.get_paginator("list_functions").paginate().build_full_result()["Functions"]]
    assert name in names and "echo" in names

    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=3)
    assert client.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 3
    assert client.get_function(FunctionName=name)["Concurrency"] == {"ReservedConcurrentExecutions": 3}

    client.delete_function(FunctionName=name)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function(FunctionName=name)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName=name)


def test_api_errors_are_aws_shaped(client):
    with pytest.raises(client.exceptions.ResourceConflictException) as err:
        client.create_function(FunctionName="echo", Runtime="python3.11", Handler="a.b", Role="r",
                               Code={"ZipFile": zip_of({"a.py": ""})})
    assert err.value.response["Error"]["Message"] == "Function already exist: echo"
    with pytest.raises(client.exceptions.InvalidParameterValueException) as err:
        client.update_function_configuration(FunctionName="echo", Environment={"Variables": {"AWS_REGION": "x"}})
    assert "Reserved keys used in this request: AWS_REGION" in err.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.InvalidParameterValueException) as err:
        client.create_function(FunctionName="badzip", Runtime="python3.11", Handler="a.b", Role="r",
                               Code={"ZipFile": b"not a zip"})
    assert "Could not unzip uploaded file" in err.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.ResourceNotFoundException) as err:
        client.invoke(FunctionName="echo", Qualifier="7")
    assert err.value.response["Error"]["Message"].endswith("function:echo:7")


def test_list_functions_paginates(client):
    first = client.list_functions(MaxItems=2)
    assert len(first["Functions"]) == 2 and "NextMarker" in first
    assert "State" not in first["Functions"][0]
    second = client.list_functions(MaxItems=2, Marker=first["NextMarker"])
    assert {f["FunctionName"] for f in first["Functions"]}.isdisjoint(f["FunctionName"] for f in second["Functions"])


def test_aws_cli_scripts_work(docker_endpoint, tmp_path):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1"}
    aws = [sys.executable, "-m", "awscli", "--endpoint-url", docker_endpoint]

    def run(*args: str) -> str:
        done = subprocess.run([*aws, *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    (tmp_path / "code.zip").write_bytes(zip_of({"app.py": V1}))
    run("lambda", "create-function", "--function-name", "clifn", "--runtime", "python3.11",
        "--handler", "app.handler", "--role", "arn:aws:iam::123456789012:role/r",
        "--zip-file", f"fileb://{tmp_path / 'code.zip'}")
    run("lambda", "wait", "function-active-v2", "--function-name", "clifn")
    out = tmp_path / "out.json"
    meta = json.loads(run("lambda", "invoke", "--function-name", "clifn", "--payload", '{"via": "cli"}',
                          "--log-type", "Tail", str(out)))
    assert meta["StatusCode"] == 200 and meta["ExecutedVersion"] == "$LATEST"
    assert "REPORT RequestId" in base64.b64decode(meta["LogResult"]).decode()
    assert json.loads(out.read_text()) == {"version": 1, "event": {"via": "cli"}}
    listed = json.loads(run("lambda", "list-functions"))
    assert "clifn" in [f["FunctionName"] for f in listed["Functions"]]
    run("lambda", "delete-function", "--function-name", "clifn")
