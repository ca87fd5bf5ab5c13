"""Resource-based policies (AddPermission, GetPolicy, RemovePermission) with boto3 and the AWS
CLI, and the answer to a Lambda API operation Cloudmicro does not emulate."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from tests.conftest import lambda_client
from tests.integration.test_control_api import zip_of


@pytest.fixture
def function(process_endpoint):
    client = lambda_client(process_endpoint)
    name = "perm-" + os.urandom(3).hex()
    client.create_function(FunctionName=name, Runtime="python3.11", Handler="app.handler", Role="any",
                           Code={"ZipFile": zip_of({"app.py": "def handler(e, c):\n    return e\n"})})
    yield client, name
    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
        client.delete_function(FunctionName=name)


def code_of(error: ClientError) -> tuple[str, int]:
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


def test_permissions_are_added_shown_and_removed_as_aws_shapes_them(function):
    client, name = function
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    added = client.add_permission(FunctionName=name, StatementId="s3", Action="lambda:InvokeFunction",
                                  Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::my-bucket",
                                  SourceAccount="123456789012")
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert json.loads(added["Statement"]) == {
        "Sid": "s3", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction", "Resource": arn,
        "Condition": {"StringEquals": {"AWS:SourceAccount": "123456789012"},
                      "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::my-bucket"}},
    }
    client.add_permission(FunctionName=arn, StatementId="xaccount", Action="lambda:InvokeFunction",
                          Principal="223456789012")
    got = client.get_policy(FunctionName=name)
    policy = json.loads(got["Policy"])
    assert (policy["Version"], policy["Id"]) == ("2012-10-17", "default")
    assert [s["Sid"] for s in policy["Statement"]] == ["s3", "xaccount"]
    assert policy["Statement"][1]["Principal"] == {"AWS": "arn:aws:iam::223456789012:root"}
    assert got["RevisionId"] == client.get_function(FunctionName=name)["Configuration"]["RevisionId"]

    with pytest.raises(ClientError) as taken:
        client.add_permission(FunctionName=name, StatementId="s3", Action="lambda:InvokeFunction",
                              Principal="sns.amazonaws.com")
    assert code_of(taken.value) == ("ResourceConflictException", 409)
    assert "The statement id (s3) provided already exists" in str(taken.value)

    client.remove_permission(FunctionName=name, StatementId="s3")
    assert [s["Sid"] for s in json.loads(client.get_policy(FunctionName=name)["Policy"])["Statement"]] == ["xaccount"]
    with pytest.raises(ClientError) as gone:
        client.remove_permission(FunctionName=name, StatementId="s3")
    assert code_of(gone.value) == ("ResourceNotFoundException", 404)
    assert "Statement s3 is not found in resource policy." in str(gone.value)
    client.remove_permission(FunctionName=name, StatementId="xaccount")
    with pytest.raises(ClientError) as none:
        client.get_policy(FunctionName=name)
    assert code_of(none.value) == ("ResourceNotFoundException", 404)


def test_bad_permission_requests_get_aws_errors(function):
    client, name = function
    with pytest.raises(ClientError) as bad_sid:
        client.add_permission(FunctionName=name, StatementId="has space", Action="lambda:InvokeFunction",
                              Principal="s3.amazonaws.com")
    assert code_of(bad_sid.value) == ("ValidationException", 400)
    assert "at 'statementId' failed to satisfy constraint" in str(bad_sid.value)
    with pytest.raises(ClientError) as bad_action:
        client.add_permission(FunctionName=name, StatementId="a", Action="s3:GetObject", Principal="*")
    assert code_of(bad_action.value) == ("ValidationException", 400)
    with pytest.raises(ClientError) as stale:
        client.add_permission(FunctionName=name, StatementId="a", Action="lambda:*", Principal="*",
                              RevisionId="not-the-current-one")
    assert code_of(stale.value) == ("PreconditionFailedException", 412)
    with pytest.raises(ClientError) as missing:
        client.add_permission(FunctionName="no-such-fn", StatementId="a", Action="lambda:*", Principal="*")
    assert code_of(missing.value) == ("ResourceNotFoundException", 404)
    # nothing was added by the failed calls
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_policy(FunctionName=name)


def test_a_deleted_function_takes_its_policy_along(function):
    client, name = function
    client.add_permission(FunctionName=name, StatementId="events", Action="lambda:InvokeFunction",
                          Principal="events.amazonaws.com")
    client.delete_function(FunctionName=name)
    client.create_function(FunctionName=name, Runtime="python3.11", Handler="app.handler", Role="any",
                           Code={"ZipFile": zip_of({"app.py": "def handler(e, c):\n    return e\n"})})
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_policy(FunctionName=name)


def test_the_aws_cli_adds_a_permission(function, process_endpoint):
    _, name = function
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
    cli = [sys.executable, "-m", "awscli", "--endpoint-url", process_endpoint, "lambda"]
    done = subprocess.run([*cli, "add-permission", "--function-name", name, "--statement-id", "sns",
                           "--action", "lambda:InvokeFunction", "--principal", "sns.amazonaws.com",
                           "--source-arn", "arn:aws:sns:us-east-1:123456789012:topic"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(json.loads(done.stdout)["Statement"])["Principal"] == {"Service": "sns.amazonaws.com"}


def test_an_operation_not_emulated_says_so(process_endpoint):
    client = lambda_client(process_endpoint)
    with pytest.raises(ClientError) as missing:
        client.get_provisioned_concurrency_config(FunctionName="shared", Qualifier="live")
    assert code_of(missing.value) == ("NotImplemented", 501)
    assert ("Cloudmicro does not emulate GET /2019-09-30/functions/shared/provisioned-concurrency"
            in str(missing.value))


def test_a_deleted_function_takes_its_event_invoke_config_along(function):
    client, name = function
    client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    client.delete_function(FunctionName=name)
    client.create_function(FunctionName=name, Runtime="python3.11", Handler="app.handler", Role="any",
                           Code={"ZipFile": zip_of({"app.py": "def handler(e, c):\n    return e\n"})})
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function_event_invoke_config(FunctionName=name)
