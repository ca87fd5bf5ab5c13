"""Step Functions with real moto and real Docker: state machines whose Task states invoke our
functions run to completion through the one endpoint, with results passed on, function errors
named as AWS names them, and Retry and Catch honoured."""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.conftest import ROOT, lambda_client
from tests.integration.recorded import aws, ensure_table, recorded

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/StepFunctions"
INVOKE = "arn:aws:states:::lambda:invoke"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"


@pytest.fixture(scope="module")
def endpoint(docker_endpoint) -> str:
    ensure_table(docker_endpoint)
    # warm environments, so no execution waits on a cold start
    for name, event in (("echo", {}), ("raiser", {}), ("flaky", {"tag": "warm", "fail_times": 0})):
        lambda_client(docker_endpoint).invoke(FunctionName=name, Payload=json.dumps(event))
    return docker_endpoint


@pytest.fixture
def tag() -> str:
    return "t" + os.urandom(4).hex()


@pytest.fixture
def sfn(endpoint):
    return aws(endpoint, "stepfunctions")


def state_machine(sfn, tag: str, states: dict[str, Any], start: str, kind: str = "STANDARD") -> str:
    definition = {"StartAt": start, "States": states}
    return sfn.create_state_machine(name=f"sm-{tag}-{os.urandom(2).hex()}", definition=json.dumps(definition),
                                    roleArn=ROLE, type=kind)["stateMachineArn"]


def run(sfn, machine: str, event: Any, timeout: float = 60) -> dict[str, Any]:
    """Start an execution and wait until it stops; its DescribeExecution."""
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(event))["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, f"execution {arn} still running after {timeout} s"
        time.sleep(0.1)


def history(sfn, execution_arn: str) -> list[dict[str, Any]]:
    return sfn.get_execution_history(executionArn=execution_arn)["events"]


def test_two_tasks_pass_results_on(sfn, tag):
    machine = state_machine(sfn, tag, {
        "First": {"Type": "Task", "Resource": function_arn("echo"),
                  "ResultSelector": {"got.$": "$.event", "by.$": "$.function_name"}, "Next": "Second"},
        "Second": {"Type": "Task", "Resource": INVOKE,
                   "Parameters": {"FunctionName": "echo", "Payload.$": "$"}, "End": True},
    }, "First")
    done = run(sfn, machine, {"order": tag})
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    # the second function got the first one's result, shaped by ResultSelector
    assert output["Payload"]["event"] == {"got": {"order": tag}, "by": "echo"}
    assert output["Payload"]["function_name"] == "echo"
    # lambda:invoke hands on the whole SDK response, as AWS's optimized integration does
    assert list(output) == ["ExecutedVersion", "Payload", "SdkHttpMetadata", "SdkResponseMetadata", "StatusCode"]
    assert output["ExecutedVersion"] == "$LATEST" and output["StatusCode"] == 200
    request_id = output["Payload"]["aws_request_id"]
    assert output["SdkResponseMetadata"] == {"RequestId": request_id}
    meta = output["SdkHttpMetadata"]
    assert meta["HttpStatusCode"] == 200
    assert meta["HttpHeaders"]["x-amzn-RequestId"] == request_id
    assert meta["HttpHeaders"]["X-Amz-Executed-Version"] == "$LATEST"
    assert meta["AllHttpHeaders"]["Content-Type"] == ["application/json"]
    assert {k: [v] for k, v in meta["HttpHeaders"].items()} == meta["AllHttpHeaders"]

    events = history(sfn, done["executionArn"])
    kinds = [e["type"] for e in events]
    assert kinds == ["ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted",
                     "LambdaFunctionSucceeded", "TaskStateExited", "TaskStateEntered", "TaskScheduled",
                     "TaskStarted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]
    scheduled = events[2]["lambdaFunctionScheduledEventDetails"]
    assert scheduled["resource"] == function_arn("echo")
    assert json.loads(scheduled["input"]) == {"order": tag}


def test_executions_without_a_name_are_distinct(sfn, tag):
    machine = state_machine(sfn, tag, {"P": {"Type": "Pass", "End": True}}, "P")
    first = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    second = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    assert first != second
    listed = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert sorted(e["executionArn"] for e in listed) == sorted([first, second])


def test_retry_runs_the_function_again_until_it_succeeds(endpoint, sfn, tag):
    machine = state_machine(sfn, tag, {
        "Flaky": {"Type": "Task", "Resource": function_arn("flaky"), "End": True,
                  "Retry": [{"ErrorEquals": ["TransientError"], "IntervalSeconds": 1, "MaxAttempts": 3,
                             "BackoffRate": 1.0}]},
    }, "Flaky")
    done = run(sfn, machine, {"tag": tag, "fail_times": 2})
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"tag": tag, "attempt": 3}
    assert len(recorded(endpoint, tag, function="flaky")) == 3

    events = history(sfn, done["executionArn"])
    failures = [e["lambdaFunctionFailedEventDetails"] for e in events if e["type"] == "LambdaFunctionFailed"]
    assert [f["error"] for f in failures] == ["TransientError", "TransientError"]
    cause = json.loads(failures[0]["cause"])
    assert cause["errorType"] == "TransientError" and cause["errorMessage"] == "attempt 1 fails"
    assert [e["type"] for e in events].count("LambdaFunctionScheduled") == 3


def test_retries_run_out_and_the_execution_fails(endpoint, sfn, tag):
    machine = state_machine(sfn, tag, {
        "Flaky": {"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": "flaky", "Payload.$": "$"},
                  "End": True, "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}]},
    }, "Flaky")
    done = run(sfn, machine, {"tag": tag, "fail_times": 5})
    assert done["status"] == "FAILED"
    assert done["error"] == "TransientError"
    assert json.loads(done["cause"])["errorMessage"] == "attempt 2 fails"
    assert len(recorded(endpoint, tag, function="flaky")) == 2


def test_catch_routes_a_function_error_to_the_fallback(sfn, tag):
    machine = state_machine(sfn, tag, {
        "Charge": {"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": "raiser", "Payload.$": "$"},
                   "Catch": [{"ErrorEquals": ["SomethingElse"], "Next": "Wrong"},
                             {"ErrorEquals": ["PaymentDeclined"], "ResultPath": "$.failure", "Next": "Fallback"}],
                   "Next": "Wrong"},
        "Wrong": {"Type": "Fail", "Error": "WrongBranch"},
        "Fallback": {"Type": "Pass", "Result": "declined", "ResultPath": "$.outcome", "End": True},
    }, "Charge")
    done = run(sfn, machine, {"card": tag})
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["card"] == tag and output["outcome"] == "declined"
    assert output["failure"]["Error"] == "PaymentDeclined"
    cause = json.loads(output["failure"]["Cause"])
    assert cause["errorType"] == "PaymentDeclined" and cause["errorMessage"] == f"card {tag} declined"
    failed = [e for e in history(sfn, done["executionArn"]) if e["type"] == "TaskFailed"]
    assert failed[0]["taskFailedEventDetails"]["error"] == "PaymentDeclined"
    assert failed[0]["taskFailedEventDetails"]["resourceType"] == "lambda"


def test_an_uncaught_function_error_fails_the_execution(sfn, tag):
    machine = state_machine(sfn, tag, {"Charge": {"Type": "Task", "Resource": function_arn("raiser"), "End": True}},
                            "Charge")
    done = run(sfn, machine, {"card": tag})
    assert done["status"] == "FAILED"
    assert done["error"] == "PaymentDeclined"
    assert json.loads(done["cause"])["errorMessage"] == f"card {tag} declined"
    assert history(sfn, done["executionArn"])[-1]["type"] == "ExecutionFailed"


def test_a_missing_function_is_a_lambda_error(sfn, tag):
    machine = state_machine(sfn, tag, {"Call": {"Type": "Task", "Resource": INVOKE,
                                                "Parameters": {"FunctionName": f"missing-{tag}"}, "End": True}}, "Call")
    done = run(sfn, machine, {})
    assert done["status"] == "FAILED"
    assert done["error"] == "Lambda.ResourceNotFoundException"
    assert "Status Code: 404" in done["cause"]


def sync_client(endpoint: str):
    # StartSyncExecution goes to the host "sync-<endpoint host>" unless host prefixes are off
    return boto3.client("stepfunctions", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(inject_host_prefix=False))


def test_start_sync_execution_runs_an_express_workflow(endpoint, sfn, tag):
    machine = state_machine(sfn, tag, {
        "Echo": {"Type": "Task", "Resource": function_arn("echo"), "OutputPath": "$.event", "End": True},
    }, "Echo", kind="EXPRESS")
    done = sync_client(endpoint).start_sync_execution(stateMachineArn=machine, name=f"run-{tag}",
                                                      input=json.dumps({"n": tag}))
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"n": tag}
    assert done["name"] == f"run-{tag}" and done["stateMachineArn"] == machine
    assert done["executionArn"].startswith(f"arn:aws:states:us-east-1:{ACCOUNT}:express:")
    assert done["billingDetails"]["billedMemoryUsedInMB"] == 64
    assert done["billingDetails"]["billedDurationInMilliseconds"] % 100 == 0

    standard = state_machine(sfn, tag, {"P": {"Type": "Pass", "End": True}}, "P")
    with pytest.raises(sync_client(endpoint).exceptions.StateMachineTypeNotSupported):
        sync_client(endpoint).start_sync_execution(stateMachineArn=standard, input="{}")


def test_a_function_timeout_is_lambda_unknown(endpoint, sfn, tag):
    """AWS reports a timeout (and running out of memory) as Lambda.Unknown, whatever the function."""
    machine = state_machine(sfn, tag, {
        "Sleep": {"Type": "Task", "Resource": function_arn("sleeper"),
                  "Catch": [{"ErrorEquals": ["Lambda.Unknown"], "Next": "TimedOut"}], "End": True},
        "TimedOut": {"Type": "Pass", "End": True},
    }, "Sleep", kind="EXPRESS")
    done = sync_client(endpoint).start_sync_execution(stateMachineArn=machine, input=json.dumps({"seconds": 3}))
    assert done["status"] == "SUCCEEDED", done
    caught = json.loads(done["output"])
    assert caught["Error"] == "Lambda.Unknown"
    prefix = "The cause could not be determined because Lambda did not return an error type. Returned payload: "
    assert caught["Cause"].startswith(prefix)
    assert "Task timed out after 1.00 seconds" in json.loads(caught["Cause"][len(prefix):])["errorMessage"]


def test_the_aws_cli_runs_a_workflow(endpoint, tag, tmp_path):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}

    def cli(*args: str) -> dict[str, Any]:
        done = subprocess.run([str(ROOT / ".venv" / "bin" / "aws"), "--endpoint-url", endpoint, "--output", "json",
                               "stepfunctions", *args], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    definition = tmp_path / "definition.json"
    definition.write_text(json.dumps({"StartAt": "Echo", "States": {
        "Echo": {"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": "echo", "Payload.$": "$"},
                 "OutputPath": "$.Payload.event", "End": True}}}))
    machine = cli("create-state-machine", "--name", f"cli-{tag}", "--role-arn", ROLE,
                  "--definition", f"file://{definition}")["stateMachineArn"]
    execution = cli("start-execution", "--state-machine-arn", machine, "--input", json.dumps({"from": "cli"}))
    deadline = time.monotonic() + 60
    while (described := cli("describe-execution", "--execution-arn", execution["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not finish"
        time.sleep(0.2)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"from": "cli"}
