"""Function URL configurations (CreateFunctionUrlConfig, Get, Update, Delete, List) with boto3
and the AWS CLI v2 against a real control plane (process executor), and URLs declared in
function.json: there from the start, the same after a restart, following hot reload."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from tests.conftest import lambda_client
from tests.integration.test_control_api import zip_of

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"
URL = re.compile(r"http://([a-z0-9]{32})\.lambda-url\.us-east-1\.localhost:(\d+)/")


@pytest.fixture
def function(process_endpoint):
    client = lambda_client(process_endpoint)
    name = "url-" + os.urandom(3).hex()
    client.create_function(FunctionName=name, Runtime="python3.11", Handler="app.handler", Role="any",
                           Code={"ZipFile": zip_of({"app.py": "def handler(e, c):\n    return e\n"})})
    yield client, name
    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
        client.delete_function(FunctionName=name)


def error_of(call, **kwargs) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def port_of(endpoint: str) -> str:
    return endpoint.rsplit(":", 1)[1]


def test_lifecycle_create_get_update_list_delete(function, process_endpoint):
    client, name = function
    created = client.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    match = URL.fullmatch(created["FunctionUrl"])
    assert match and match[2] == port_of(process_endpoint), created["FunctionUrl"]
    assert (created["FunctionArn"], created["AuthType"], created["InvokeMode"]) == (ARN + name, "NONE", "BUFFERED")
    assert "LastModifiedTime" not in created and "Cors" not in created

    got = client.get_function_url_config(FunctionName=ARN + name)
    assert got["FunctionUrl"] == created["FunctionUrl"]
    assert got["CreationTime"] == created["CreationTime"] == got["LastModifiedTime"]

    cors = {"AllowOrigins": ["http://localhost:3000"], "AllowMethods": ["GET", "POST"],
            "AllowHeaders": ["content-type"], "ExposeHeaders": ["x-id"], "AllowCredentials": True, "MaxAge": 300}
    updated = client.update_function_url_config(FunctionName=name, Cors=cors, InvokeMode="RESPONSE_STREAM")
    assert (updated["FunctionUrl"], updated["Cors"], updated["InvokeMode"]) == (created["FunctionUrl"], cors,
                                                                                "RESPONSE_STREAM")
    assert updated["AuthType"] == "NONE" and updated["CreationTime"] == created["CreationTime"]
    assert updated["LastModifiedTime"] >= created["CreationTime"]
    assert client.get_function_url_config(FunctionName=name)["Cors"] == cors

    listed = client.list_function_url_configs(FunctionName=name)
    assert [c["FunctionUrl"] for c in listed["FunctionUrlConfigs"]] == [created["FunctionUrl"]]
    assert listed["FunctionUrlConfigs"][0]["InvokeMode"] == "RESPONSE_STREAM"
    assert "NextMarker" not in listed
    one = client.list_function_url_configs(FunctionName=name, MaxItems=1)
    assert len(one["FunctionUrlConfigs"]) == 1 and "NextMarker" not in one
    paged = client.get_paginator("list_function_url_configs").paginate(FunctionName=name, PaginationConfig={
        "PageSize": 1})
    assert [c["FunctionUrl"] for page in paged for c in page["FunctionUrlConfigs"]] == [created["FunctionUrl"]]

    client.delete_function_url_config(FunctionName=name)
    assert error_of(client.get_function_url_config, FunctionName=name) == (
        "ResourceNotFoundException", 404, "The resource you requested does not exist.")
    assert error_of(client.delete_function_url_config, FunctionName=name)[:2] == ("ResourceNotFoundException", 404)
    assert error_of(client.update_function_url_config, FunctionName=name, AuthType="NONE")[:2] == (
        "ResourceNotFoundException", 404)
    assert client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"] == []
    again = client.create_function_url_config(FunctionName=name, AuthType="AWS_IAM")
    assert again["FunctionUrl"] != created["FunctionUrl"]  # a new URL is a new address, as on AWS


def test_paging_with_marker_across_functions_urls(process_endpoint):
    """MaxItems and Marker over a function's URLs (one per function until aliases exist: the
    marker of a one-item page is the last page's end)."""
    client = lambda_client(process_endpoint)
    name = "url-page-" + os.urandom(3).hex()
    client.create_function(FunctionName=name, Runtime="python3.11", Handler="app.handler", Role="any",
                           Code={"ZipFile": zip_of({"app.py": "def handler(e, c):\n    return e\n"})})
    try:
        client.create_function_url_config(FunctionName=name, AuthType="NONE")
        first = client.list_function_url_configs(FunctionName=name, MaxItems=1)
        assert len(first["FunctionUrlConfigs"]) == 1
        rest = client.list_function_url_configs(FunctionName=name, MaxItems=1,
                                                Marker=first["FunctionUrlConfigs"][0]["FunctionArn"])
        assert rest["FunctionUrlConfigs"] == []
        code, status, message = error_of(client.list_function_url_configs, FunctionName=name, MaxItems=51)
        assert (code, status) == ("ValidationException", 400)
        assert message == ("1 validation error detected: Value '51' at 'maxItems' failed to satisfy constraint: "
                           "Member must have value less than or equal to 50")
    finally:
        client.delete_function(FunctionName=name)


def test_duplicate_create_is_a_conflict(function):
    client, name = function
    client.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert error_of(client.create_function_url_config, FunctionName=name, AuthType="NONE") == (
        "ResourceConflictException", 409,
        f"Failed to create function url config for [functionArn = {ARN}{name}]. Error message:  "
        "FunctionUrlConfig exists for this Lambda function")


def test_missing_function_and_qualifiers(process_endpoint, function):
    client = lambda_client(process_endpoint)
    missing = "url-missing-" + os.urandom(3).hex()
    assert error_of(client.create_function_url_config, FunctionName=missing, AuthType="NONE") == (
        "ResourceNotFoundException", 404, "Function does not exist")
    assert error_of(client.get_function_url_config, FunctionName=missing) == (
        "ResourceNotFoundException", 404, "The resource you requested does not exist.")
    assert error_of(client.list_function_url_configs, FunctionName=missing) == (
        "ResourceNotFoundException", 404, "Function does not exist")
    _, name = function
    assert error_of(client.create_function_url_config, FunctionName=name, Qualifier="$LATEST", AuthType="NONE") == (
        "ValidationException", 400,
        "1 validation error detected: Value '$LATEST' at 'qualifier' failed to satisfy constraint: Member must "
        r"satisfy regular expression pattern: ((?!^\d+$)^[0-9a-zA-Z-_]+$)")
    assert error_of(client.get_function_url_config, FunctionName=name, Qualifier="1")[:2] == (
        "ValidationException", 400)
    assert error_of(client.create_function_url_config, FunctionName=name, Qualifier="live", AuthType="NONE") == (
        "ResourceNotFoundException", 404, "Function does not exist")  # no such alias


def test_bad_auth_type_invoke_mode_and_cors(function):
    client, name = function
    assert error_of(client.create_function_url_config, FunctionName=name, AuthType="PUBLIC") == (
        "ValidationException", 400,
        "1 validation error detected: Value 'PUBLIC' at 'authType' failed to satisfy constraint: Member must "
        "satisfy enum value set: [AWS_IAM, NONE]")
    assert error_of(client.create_function_url_config, FunctionName=name, AuthType="NONE", InvokeMode="FAST") == (
        "ValidationException", 400,
        "1 validation error detected: Value 'FAST' at 'invokeMode' failed to satisfy constraint: Member must "
        "satisfy enum value set: [RESPONSE_STREAM, BUFFERED]")
    code, status, message = error_of(client.create_function_url_config, FunctionName=name, AuthType="NONE",
                                     Cors={"MaxAge": 86401, "AllowMethods": ["GET", "PATCHES"]})
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("2 validation errors detected: ")
    assert "Value 'PATCHES' at 'cors.allowMethods.2.member' failed to satisfy constraint: Member must have " \
           "length less than or equal to 6" in message
    assert "Value '86401' at 'cors.maxAge' failed to satisfy constraint: Member must have value less than or " \
           "equal to 86400" in message
    client.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert error_of(client.update_function_url_config, FunctionName=name, AuthType="nope")[0] == "ValidationException"


def test_delete_function_removes_its_url(process_endpoint):
    client = lambda_client(process_endpoint)
    name = "url-gone-" + os.urandom(3).hex()
    code = {"ZipFile": zip_of({"app.py": "def handler(e, c):\n    return e\n"})}
    client.create_function(FunctionName=name, Runtime="python3.11", Handler="app.handler", Role="any", Code=code)
    client.create_function_url_config(FunctionName=name, AuthType="NONE")
    client.delete_function(FunctionName=name)
    client.create_function(FunctionName=name, Runtime="python3.11", Handler="app.handler", Role="any", Code=code)
    try:
        assert error_of(client.get_function_url_config, FunctionName=name)[:2] == ("ResourceNotFoundException", 404)
    finally:
        client.delete_function(FunctionName=name)


def test_aws_cli_v2_creates_and_gets_one(function, process_endpoint):
    _, name = function
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_PAGER": ""}
    cli = ["/usr/bin/aws", "lambda", "--endpoint-url", process_endpoint, "--output", "json"]
    made = subprocess.run([*cli, "create-function-url-config", "--function-name", name, "--auth-type", "NONE",
                           "--cors", "AllowOrigins=*,MaxAge=60"], env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert URL.fullmatch(created["FunctionUrl"]) and created["Cors"] == {"AllowOrigins": ["*"], "MaxAge": 60}
    got = subprocess.run([*cli, "get-function-url-config", "--function-name", name], env=env, capture_output=True,
                         text=True, timeout=60)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["FunctionUrl"] == created["FunctionUrl"]


def write_site(folder, declaration: dict | None) -> None:
    config: dict = {"Handler": "app.handler", "Runtime": "python3.11"}
    if declaration is not None:
        config["FunctionUrl"] = declaration
    (folder / "function.json").write_text(json.dumps(config))


def test_function_json_url_is_there_from_the_start_and_after_a_restart(cloudmicro_test_server, tmp_path):
    functions = tmp_path / "functions"
    site = functions / "site"
    site.mkdir(parents=True)
    (site / "app.py").write_text("def handler(e, c):\n    return e\n")
    write_site(site, {"AuthType": "NONE", "Cors": {"AllowOrigins": ["*"]}})
    settings = {"functions_dir": functions, "executor": "process", "state_dir": tmp_path / "state",
                "seed_on_start": False, "deps_dir": None, "idle_timeout": 600}

    cloud = cloudmicro_test_server(**settings)
    client = lambda_client(cloud.endpoint)
    first = client.get_function_url_config(FunctionName="site")
    match = URL.fullmatch(first["FunctionUrl"])
    assert match and match[2] == port_of(cloud.endpoint)
    assert (first["AuthType"], first["Cors"], first["FunctionArn"]) == ("NONE", {"AllowOrigins": ["*"]}, ARN + "site")
    assert error_of(client.create_function_url_config, FunctionName="site", AuthType="NONE")[0] == (
        "ResourceConflictException")
    cloud.stop()

    again = cloudmicro_test_server(**settings)
    client = lambda_client(again.endpoint)
    second = client.get_function_url_config(FunctionName="site")
    assert URL.fullmatch(second["FunctionUrl"])[1] == match[1]  # type: ignore[index]  # the same url-id
    assert second["CreationTime"] == first["CreationTime"]

    # hot reload: a changed function.json changes the URL, a removed declaration removes it
    write_site(site, {"AuthType": "AWS_IAM", "InvokeMode": "RESPONSE_STREAM"})
    changed = wait_for(lambda: client.get_function_url_config(FunctionName="site"),
                       lambda got: got["AuthType"] == "AWS_IAM", client)
    assert changed["InvokeMode"] == "RESPONSE_STREAM" and "Cors" not in changed
    assert URL.fullmatch(changed["FunctionUrl"])[1] == match[1]  # type: ignore[index]
    write_site(site, None)
    wait_for(lambda: client.list_function_url_configs(FunctionName="site"),
             lambda got: got["FunctionUrlConfigs"] == [], client)

    client.delete_function(FunctionName="site")
    assert error_of(client.get_function_url_config, FunctionName="site")[:2] == ("ResourceNotFoundException", 404)


def wait_for(read, done, client, timeout: float = 20):
    """``read()`` until ``done`` says yes (hot reload may wait for the next use: invoke meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        got = read()
        if done(got):
            return got
        assert time.monotonic() < deadline, f"not reloaded within {timeout} s: {got}"
        with contextlib.suppress(ClientError):
            client.invoke(FunctionName="site", Payload=b"{}")
        time.sleep(0.2)


def test_reset_drops_what_the_api_did_and_keeps_declared_urls(cloudmicro_test_server, tmp_path):
    import sys

    site = tmp_path / "functions" / "site"
    site.mkdir(parents=True)
    (site / "app.py").write_text("def handler(e, c):\n    return e\n")
    write_site(site, {"AuthType": "NONE"})
    cloud = cloudmicro_test_server(functions_dir=tmp_path / "functions", executor="process",
                                   state_dir=tmp_path / "state", seed_on_start=False, deps_dir=None)
    client = lambda_client(cloud.endpoint)
    declared = client.get_function_url_config(FunctionName="site")
    client.update_function_url_config(FunctionName="site", AuthType="AWS_IAM")
    done = subprocess.run([sys.executable, "-m", "emulator", "reset", "--endpoint", cloud.endpoint],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    after = client.get_function_url_config(FunctionName="site")
    assert (after["AuthType"], after["FunctionUrl"]) == ("NONE", declared["FunctionUrl"])

    # cloudmicro list shows it, from the running control plane and from the folders alone
    listed = subprocess.run([sys.executable, "-m", "emulator", "list", "--endpoint", cloud.endpoint],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[-1] for line in listed.stdout.splitlines() if line.startswith("site ")] == [
        declared["FunctionUrl"]]
    cloud.stop()
    env = {**os.environ, "CLOUDMICRO_FUNCTIONS_DIR": str(tmp_path / "functions"), "CLOUDMICRO_PORT": port_of(
        cloud.endpoint), "CLOUDMICRO_STATE_DIR": str(tmp_path / "state")}
    offline = subprocess.run([sys.executable, "-m", "emulator", "list", "--endpoint", cloud.endpoint],
                             capture_output=True, text=True, timeout=60, env=env)
    assert offline.returncode == 0, offline.stderr
    assert [line.split()[-1] for line in offline.stdout.splitlines() if line.startswith("site ")] == [
        declared["FunctionUrl"]]
