"""Bad input gets AWS's answer (or a 4xx that says what is wrong), never a 500, and the control
plane keeps serving: malformed bodies and paths, fields AWS refuses, an old SDK's paths. With real
clients: boto3, Debian's AWS CLI v2 (2.9, which lists functions with a trailing slash) and raw HTTP.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.testing.pytest_plugin import admin_request
from tests.conftest import lambda_client

ROLE = "arn:aws:iam::123456789012:role/lambda-role"


def _raw(url: str, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None,
         ) -> tuple[int, dict[str, str], bytes]:
    req = url if isinstance(url, urllib.request.Request) else urllib.request.Request(
        url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:
            return reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _create_error(client, **fields) -> dict:
    base = {"FunctionName": f"bad-{os.urandom(3).hex()}", "Runtime": "python3.11", "Handler": "app.handler",
            "Role": ROLE, "Code": {"ZipFile": _zip()}}
    with pytest.raises(ClientError) as caught:
        client.create_function(**{**base, **fields})
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response
    return response["Error"]


def test_aws_cli_v2_from_debian_lists_functions(process_endpoint):
    cli = "/usr/bin/aws"
    if not os.path.exists(cli) or shutil.which(cli) is None:
        pytest.fail("Debian's AWS CLI v2 is needed at /usr/bin/aws (scripts/setup installs awscli)")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": ""}
    version = subprocess.run([cli, "--version"], capture_output=True, text=True, env=env, timeout=60)
    assert version.stdout.startswith("aws-cli/2"), version.stdout + version.stderr
    for command in (["lambda", "list-functions"], ["lambda", "list-event-source-mappings"]):
        done = subprocess.run([cli, "--endpoint-url", process_endpoint, *command, "--output", "json"],
                              capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)
    listed = json.loads(subprocess.run([cli, "--endpoint-url", process_endpoint, "lambda", "list-functions"],
                                       capture_output=True, text=True, env=env, timeout=60).stdout)
    assert "echo" in {f["FunctionName"] for f in listed["Functions"]}
    # and the trailing slash it sends is served, not redirected
    status, _, body = _raw(process_endpoint + "/2015-03-31/functions/")
    assert status == 200 and b"FunctionName" in body


def test_create_function_refuses_what_aws_refuses(process_endpoint):
    client = lambda_client(process_endpoint)
    too_big = {f"VAR_{i:04d}": "x" * 100 for i in range(45)}  # over 4 KB
    error = _create_error(client, Environment={"Variables": too_big})
    assert error["Code"] == "InvalidParameterValueException"
    assert "Lambda was unable to configure your environment variables because the environment variables " \
           "you have provided exceeded the 4KB limit" in error["Message"]
    error = _create_error(client, Environment={"Variables": {"1BAD": "x"}})
    assert error["Code"] == "ValidationException"
    assert "Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+" in error["Message"]
    error = _create_error(client, Environment={"Variables": {"GOOD": "a\x00b"}})
    assert error["Code"] in ("InvalidParameterValueException", "ValidationException"), error
    error = _create_error(client, Handler="app handler")
    assert error["Code"] == "ValidationException" and "handler" in error["Message"]
    error = _create_error(client, Handler="h" * 129)
    assert error["Code"] == "ValidationException" and "length less than or equal to 128" in error["Message"]
    error = _create_error(client, Description="d" * (1024 * 1024))
    assert error["Code"] == "ValidationException" and "length less than or equal to 256" in error["Message"]
    assert "d" * 300 not in error["Message"]  # the value is not echoed back whole


def test_an_sqs_mapping_needs_a_visibility_timeout_no_shorter_than_the_function_timeout(process_endpoint):
    sqs = boto3.client("sqs", endpoint_url=process_endpoint, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    url = sqs.create_queue(QueueName=f"short-{os.urandom(3).hex()}", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client = lambda_client(process_endpoint)
    with pytest.raises(ClientError) as caught:
        client.create_event_source_mapping(EventSourceArn=arn, FunctionName="slow")
    error = caught.value.response["Error"]
    timeout = client.get_function_configuration(FunctionName="slow")["Timeout"]
    assert error["Code"] == "InvalidParameterValueException"
    assert error["Message"] == f"Queue visibility timeout: 1 seconds is less than Function timeout: {timeout} seconds"


def test_malformed_requests_get_a_4xx_and_the_control_plane_keeps_serving(process_endpoint):
    endpoint = process_endpoint
    invoke = endpoint + "/2015-03-31/functions/echo/invocations"
    json_type = {"Content-Type": "application/json"}
    deep = b"[" * 100_000 + b"]" * 100_000
    cases = [
        # 100k-deep JSON, as an Invoke payload and as a CreateFunction body
        ("POST", invoke, deep, json_type, 400, "InvalidRequestContentException"),
        ("POST", endpoint + "/2015-03-31/functions", deep, json_type, 400, "InvalidRequestContentException"),
        # not JSON at all
        ("POST", endpoint + "/2015-03-31/functions", b"{nope", json_type, 400, "InvalidRequestContentException"),
        # ..%2F in a path
        ("GET", endpoint + "/2015-03-31/functions/..%2F..%2Fetc%2Fpasswd", None, {}, 400, "ValidationException"),
        ("POST", endpoint + "/2015-03-31/functions/..%2Fecho/invocations", b"{}", json_type, 400, None),
        # a method the path does not take
        ("DELETE", endpoint + "/2015-03-31/functions", None, {}, 405, "MethodNotAllowedException"),
        ("PATCH", endpoint + "/2015-03-31/functions/echo", b"{}", json_type, 405, "MethodNotAllowedException"),
        # an unsigned form POST to a queue's path (what moto's S3 took for an object POST)
        ("POST", endpoint + "/123456789012/some-queue", b"Action=SendMessage&MessageBody=x",
         {"Content-Type": "application/x-www-form-urlencoded"}, 405, None),
        # a missing function, an oversized payload
        ("POST", endpoint + "/2015-03-31/functions/nosuch/invocations", b"{}", json_type, 404,
         "ResourceNotFoundException"),
        ("POST", invoke, b'"' + b"x" * (6 * 1024 * 1024 + 10) + b'"', json_type, 413, "RequestTooLargeException"),
    ]
    for method, url, data, headers, status, code in cases:
        got, reply_headers, body = _raw(url, method, data, headers)
        assert got == status, (method, url, got, body[:300])
        if code is not None:
            assert reply_headers.get("x-amzn-errortype") == code, (method, url, reply_headers, body[:300])
    # the schedules' clock: NaN, infinities and 1e308 are refused (they broke the schedules until a reset)
    clock = endpoint + "/_cloudmicro/schedules/clock"
    assert _raw(admin_request(clock, "PUT", b'{"Offset": 0}'))[0] == 200
    for offset in (b"NaN", b"Infinity", b"1e308", b"-1e12"):
        got, _, body = _raw(admin_request(clock, "PUT", b'{"Offset": ' + offset + b"}"))
        assert got == 400, (offset, body)
    got, _, body = _raw(admin_request(clock))
    assert got == 200 and json.loads(body)["Offset"] == 0
    # and everything still works
    reply = lambda_client(endpoint).invoke(FunctionName="echo", Payload=b'{"still": "here"}')
    assert json.loads(reply["Payload"].read())["event"] == {"still": "here"}
