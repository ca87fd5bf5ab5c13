"""Versions and aliases against a real control plane, with boto3: a version is a snapshot of a
folder function's code (saving the folder afterwards changes $LATEST only) that runs in its own
warm environments; qualified invokes (``:1``, Qualifier, aliases) run that version and say so in
``X-Amz-Executed-Version``; an alias's routing weights are honoured per invoke; an SQS event source
mapping on ``fn:alias`` delivers to the alias's version; AWS's errors; versions and aliases survive
a restart and go with ``cloudmicro reset``.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.pytest_plugin import client as plugin_client

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"
CODE = '''
import json, os, uuid
CODE = "{code}"
TOKEN = str(uuid.uuid4())  # one per environment (module import)


def handler(event, context):
    answer = {{"code": CODE, "version": context.function_version, "arn": context.invoked_function_arn,
               "env": TOKEN}}
    for record in event.get("Records", []):
        import boto3
        boto3.client("sqs").send_message(QueueUrl=json.loads(record["body"])["reply"], MessageBody=json.dumps(answer))
    return answer
'''


def write_code(folder: Path, code: str) -> None:
    (folder / "app.py").write_text(CODE.format(code=code))


def error_of(call: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def invoke(lam: Any, name: str, **kwargs: Any) -> tuple[dict[str, Any], str]:
    reply = lam.invoke(FunctionName=name, Payload=b"{}", **kwargs)
    assert "FunctionError" not in reply, reply["Payload"].read()
    return json.loads(reply["Payload"].read()), reply["ExecutedVersion"]


def make_function(root: Path, name: str = "ver") -> Path:
    folder = root / "functions" / name
    folder.mkdir(parents=True)
    write_code(folder, "one")
    (folder / "function.json").write_text(json.dumps({"Handler": "app.handler", "Timeout": 30}))
    return folder


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory, cloudmicro_server: Any) -> tuple[str, Any, Path]:
    """A process-executor control plane with the folder function ``ver``, published twice: 1 ran
    "one", 2 runs "two", $LATEST runs "three"."""
    root = tmp_path_factory.mktemp("versions")
    folder = make_function(root)
    endpoint = str(cloudmicro_server(functions_dir=root / "functions", executor="process", state_dir=root / "state",
                                     deps_dir=None, seed_on_start=False, idle_timeout=600))
    lam = plugin_client(endpoint, "lambda")
    first = lam.publish_version(FunctionName="ver", Description="the first")
    assert (first["Version"], first["FunctionArn"], first["Description"]) == ("1", ARN + "ver:1", "the first")
    assert lam.publish_version(FunctionName="ver")["Version"] == "1"  # nothing changed: AWS publishes none
    write_code(folder, "two")  # saved: hot reload; PublishVersion sees the save at once
    second = lam.publish_version(FunctionName="ver")
    assert second["Version"] == "2" and second["CodeSha256"] != first["CodeSha256"]
    write_code(folder, "three")
    return endpoint, lam, folder


def test_each_version_runs_its_own_code_and_says_which_ran(plane: tuple[str, Any, Path]) -> None:
    _, lam, _ = plane
    assert invoke(lam, "ver")[0]["code"] == "three"
    for name, kwargs, code, version, arn in [
        ("ver:1", {}, "one", "1", ARN + "ver:1"),
        ("ver", {"Qualifier": "2"}, "two", "2", ARN + "ver:2"),
        (ARN + "ver:2", {}, "two", "2", ARN + "ver:2"),
        ("ver", {"Qualifier": "$LATEST"}, "three", "$LATEST", ARN + "ver"),
        ("ver", {}, "three", "$LATEST", ARN + "ver"),
    ]:
        answer, executed = invoke(lam, name, **kwargs)
        assert (answer["code"], answer["version"], executed) == (code, version, version), (name, kwargs)
        assert answer["arn"] == arn
    tail = lam.invoke(FunctionName="ver:1", Payload=b"{}", LogType="Tail")["LogResult"]
    assert "Version: 1" in __import__("base64").b64decode(tail).decode()

    config = lam.get_function_configuration(FunctionName="ver", Qualifier="1")
    assert (config["Version"], config["FunctionArn"], config["Description"]) == ("1", ARN + "ver:1", "the first")
    assert lam.get_function(FunctionName="ver:2")["Configuration"]["Version"] == "2"
    latest = lam.get_function_configuration(FunctionName="ver", Qualifier="$LATEST")
    assert (latest["Version"], latest["FunctionArn"]) == ("$LATEST", ARN + "ver:$LATEST")


def test_list_versions_by_function_pages_with_latest_first(plane: tuple[str, Any, Path]) -> None:
    _, lam, _ = plane
    listed = lam.list_versions_by_function(FunctionName="ver")
    assert [(v["Version"], v["FunctionArn"]) for v in listed["Versions"]] == [
        ("$LATEST", ARN + "ver:$LATEST"), ("1", ARN + "ver:1"), ("2", ARN + "ver:2")]
    page = lam.list_versions_by_function(FunctionName="ver", MaxItems=2)
    assert [v["Version"] for v in page["Versions"]] == ["$LATEST", "1"]
    rest = lam.list_versions_by_function(FunctionName="ver", MaxItems=2, Marker=page["NextMarker"])
    assert [v["Version"] for v in rest["Versions"]] == ["2"] and "NextMarker" not in rest
    paginated = lam.get_paginator("list_versions_by_function").paginate(FunctionName="ver", PaginationConfig={
        "PageSize": 1})
    assert [v["Version"] for page in paginated for v in page["Versions"]] == ["$LATEST", "1", "2"]


def test_an_alias_routes_each_invoke_by_its_weights(plane: tuple[str, Any, Path]) -> None:
    _, lam, _ = plane
    alias = lam.create_alias(FunctionName="ver", Name="canary", FunctionVersion="1", Description="d",
                             RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}})
    assert (alias["AliasArn"], alias["FunctionVersion"], alias["RoutingConfig"]) == (
        ARN + "ver:canary", "1", {"AdditionalVersionWeights": {"2": 0.3}})
    assert lam.get_alias(FunctionName="ver", Name="canary") == {**alias, "ResponseMetadata": lam.get_alias(
        FunctionName="ver", Name="canary")["ResponseMetadata"]}
    runs = [invoke(lam, "ver:canary") for _ in range(400)]
    twos = sum(executed == "2" for _, executed in runs)
    assert 0.225 <= twos / 400 <= 0.375, twos  # 0.3 ± 0.075: a fair split fails this far less than 1 in 1000
    assert all(answer["code"] == {"1": "one", "2": "two"}[executed] and answer["arn"] == ARN + "ver:canary"
               for answer, executed in runs)

    updated = lam.update_alias(FunctionName="ver", Name="canary", FunctionVersion="2",
                               RoutingConfig={"AdditionalVersionWeights": {}}, RevisionId=alias["RevisionId"])
    assert updated["FunctionVersion"] == "2" and "RoutingConfig" not in updated
    assert updated["RevisionId"] != alias["RevisionId"]
    assert {invoke(lam, "ver", Qualifier="canary")[1] for _ in range(5)} == {"2"}
    assert error_of(lam.update_alias, FunctionName="ver", Name="canary", RevisionId=alias["RevisionId"]) == (
        "PreconditionFailedException", 412, "The Revision Id provided does not match the latest Revision Id. "
        "Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
    assert [a["Name"] for a in lam.list_aliases(FunctionName="ver", FunctionVersion="2")["Aliases"]] == ["canary"]
    assert lam.list_aliases(FunctionName="ver", FunctionVersion="1")["Aliases"] == []
    lam.delete_alias(FunctionName="ver", Name="canary")
    assert error_of(lam.get_alias, FunctionName="ver", Name="canary") == (
        "ResourceNotFoundException", 404, f"Cannot find alias arn: {ARN}ver:canary")


def test_an_sqs_mapping_on_an_alias_delivers_to_the_alias_version(plane: tuple[str, Any, Path]) -> None:
    endpoint, lam, _ = plane
    sqs = plugin_client(endpoint, "sqs")
    source = sqs.create_queue(QueueName="versions-in")["QueueUrl"]
    reply = sqs.create_queue(QueueName="versions-out")["QueueUrl"]
    source_arn = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam.create_alias(FunctionName="ver", Name="live", FunctionVersion="1")
    mapping = lam.create_event_source_mapping(FunctionName="ver:live", EventSourceArn=source_arn, BatchSize=1)
    try:
        assert mapping["FunctionArn"] == ARN + "ver:live"
        sqs.send_message(QueueUrl=source, MessageBody=json.dumps({"reply": reply}))
        deadline = time.monotonic() + 30
        got: list[dict[str, Any]] = []
        while not got and time.monotonic() < deadline:
            got = sqs.receive_message(QueueUrl=reply, WaitTimeSeconds=1).get("Messages", [])
        assert got, "nothing delivered"
        answer = json.loads(got[0]["Body"])
        assert (answer["code"], answer["version"], answer["arn"]) == ("one", "1", ARN + "ver:live")
    finally:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])
        lam.delete_alias(FunctionName="ver", Name="live")


def test_awss_errors(plane: tuple[str, Any, Path]) -> None:
    _, lam, _ = plane
    assert error_of(lam.invoke, FunctionName="ver", Qualifier="9") == (
        "ResourceNotFoundException", 404, f"Function not found: {ARN}ver:9")
    assert error_of(lam.invoke, FunctionName="ver:nope") == (
        "ResourceNotFoundException", 404, f"Function not found: {ARN}ver:nope")
    assert error_of(lam.get_function, FunctionName="ver", Qualifier="9")[:2] == ("ResourceNotFoundException", 404)
    assert error_of(lam.create_alias, FunctionName="ver", Name="a", FunctionVersion="9") == (
        "ResourceNotFoundException", 404, f"Function not found: {ARN}ver:9")
    assert error_of(lam.create_alias, FunctionName="ver", Name="a", FunctionVersion="1",
                    RoutingConfig={"AdditionalVersionWeights": {"9": 0.5}})[:2] == ("ResourceNotFoundException", 404)
    assert error_of(lam.create_alias, FunctionName="ver", Name="123", FunctionVersion="1") == (
        "ValidationException", 400, "1 validation error detected: Value '123' at 'name' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)")
    assert error_of(lam.create_alias, FunctionName="ver", Name="no.dots", FunctionVersion="1")[:2] == (
        "ValidationException", 400)
    assert error_of(lam.create_alias, FunctionName="ver", Name="w", FunctionVersion="1",
                    RoutingConfig={"AdditionalVersionWeights": {"2": 1.5}})[:2] == ("ValidationException", 400)
    assert error_of(lam.create_alias, FunctionName="ver", Name="w", FunctionVersion="1",
                    RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}}) == (
        "InvalidParameterValueException", 400,
        "Invalid function version 1. Function version 1 is already included in routing configuration.")
    assert error_of(lam.create_alias, FunctionName="ver", Name="w", FunctionVersion="$LATEST",
                    RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}}) == (
        "InvalidParameterValueException", 400, "$LATEST is not supported for an alias pointing to more than 1 version")

    lam.create_alias(FunctionName="ver", Name="keep", FunctionVersion="1")
    try:
        assert error_of(lam.create_alias, FunctionName="ver", Name="keep", FunctionVersion="2") == (
            "ResourceConflictException", 409, f"Alias already exists: {ARN}ver:keep")
        assert error_of(lam.delete_function, FunctionName="ver", Qualifier="1") == (
            "ResourceConflictException", 409, "Unable to delete version because the following aliases reference it: "
            "[keep]")
        assert error_of(lam.delete_function, FunctionName="ver", Qualifier="$LATEST") == (
            "InvalidParameterValueException", 400, "$LATEST version cannot be deleted without deleting the function.")
    finally:
        lam.delete_alias(FunctionName="ver", Name="keep")
    sha = lam.get_function_configuration(FunctionName="ver")["CodeSha256"]
    assert error_of(lam.publish_version, FunctionName="ver", CodeSha256="abc") == (
        "InvalidParameterValueException", 400, f"CodeSHA256 (abc) is different from current CodeSHA256 in $LATEST "
        f"({sha}). Please try again with the CodeSHA256 in $LATEST.")
    assert error_of(lam.publish_version, FunctionName="ver", RevisionId="nope")[:2] == (
        "PreconditionFailedException", 412)


def test_restart_keeps_versions_and_aliases_and_reset_removes_them(cloudmicro_test_server: Any, tmp_path: Path
                                                                   ) -> None:
    folder = make_function(tmp_path)
    settings = {"functions_dir": tmp_path / "functions", "executor": "process", "state_dir": tmp_path / "state",
                "seed_on_start": False, "deps_dir": None, "idle_timeout": 600}
    cloud = cloudmicro_test_server(**settings)
    lam = plugin_client(cloud.endpoint, "lambda")
    lam.publish_version(FunctionName="ver")
    lam.create_alias(FunctionName="ver", Name="live", FunctionVersion="1")
    write_code(folder, "two")
    assert invoke(lam, "ver")[0]["code"] == "two"
    cloud.stop()

    again = cloudmicro_test_server(**settings)
    lam = plugin_client(again.endpoint, "lambda")
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="ver")["Versions"]] == ["$LATEST", "1"]
    assert lam.get_alias(FunctionName="ver", Name="live")["FunctionVersion"] == "1"
    answer, executed = invoke(lam, "ver:live")
    assert (answer["code"], answer["version"], answer["arn"], executed) == ("one", "1", ARN + "ver:live", "1")
    assert lam.publish_version(FunctionName="ver")["Version"] == "2"  # numbers go on from where they were

    done = subprocess.run([sys.executable, "-m", "emulator", "reset", "--endpoint", again.endpoint],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="ver")["Versions"]] == ["$LATEST"]
    assert error_of(lam.get_alias, FunctionName="ver", Name="live")[:2] == ("ResourceNotFoundException", 404)
    assert error_of(lam.invoke, FunctionName="ver:1")[:2] == ("ResourceNotFoundException", 404)
    assert lam.publish_version(FunctionName="ver")["Version"] == "1"


def test_docker_versions_have_their_own_warm_environments(tmp_path: Path, cloudmicro_test_server: Any,
                                                          docker_engine: Any) -> None:
    folder = make_function(tmp_path)
    cloud = cloudmicro_test_server(functions_dir=tmp_path / "functions", executor="docker",
                                   state_dir=tmp_path / "state", seed_on_start=False, deps_dir=None, idle_timeout=600)
    lam = plugin_client(cloud.endpoint, "lambda")
    assert lam.publish_version(FunctionName="ver")["Version"] == "1"
    write_code(folder, "two")  # the version's code is a copy: this save is $LATEST's only
    one, executed = invoke(lam, "ver:1")
    latest, _ = invoke(lam, "ver")
    assert (one["code"], one["version"], executed, latest["code"], latest["version"]) == (
        "one", "1", "1", "two", "$LATEST")
    assert one["env"] != latest["env"]  # a version's environments are not $LATEST's
    assert invoke(lam, "ver:1")[0]["env"] == one["env"]  # ... and they stay warm
    assert invoke(lam, "ver")[0]["env"] == latest["env"]
    lam.delete_function(FunctionName="ver", Qualifier="1")
    assert error_of(lam.invoke, FunctionName="ver:1")[:2] == ("ResourceNotFoundException", 404)
    assert invoke(lam, "ver")[0]["code"] == "two"


def test_a_function_url_on_an_alias_runs_the_alias_version(plane: tuple[str, Any, Path]) -> None:
    endpoint, lam, _ = plane
    lam.create_alias(FunctionName="ver", Name="web", FunctionVersion="2")
    try:
        config = lam.create_function_url_config(FunctionName="ver", Qualifier="web", AuthType="NONE")
        assert config["FunctionArn"] == ARN + "ver:web"
        url = urllib.parse.urlsplit(config["FunctionUrl"])
        connection = http.client.HTTPConnection("127.0.0.1", urllib.parse.urlsplit(endpoint).port, timeout=60)
        connection.request("GET", "/", headers={"Host": url.netloc})
        reply = connection.getresponse()
        answer = json.loads(reply.read())
        connection.close()
        assert reply.status == 200 and (answer["code"], answer["version"]) == ("two", "2")
    finally:
        lam.delete_alias(FunctionName="ver", Name="web")
    assert error_of(lam.get_function_url_config, FunctionName="ver", Qualifier="web")[:2] == (
        "ResourceNotFoundException", 404)
