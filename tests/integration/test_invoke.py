"""Invoke through boto3 against a real control plane, in Docker and in local processes."""

from __future__ import annotations

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from tests.conftest import lambda_client


def _invoke(client, name, payload=None, **kwargs):
    response = client.invoke(FunctionName=name, Payload=json.dumps(payload or {}), **kwargs)
    body = response["Payload"].read()
    return response, body


def _log(response) -> str:
    return base64.b64decode(response["LogResult"]).decode()


def test_sync_invoke_returns_result_and_aws_headers(client):
    response, body = _invoke(client, "echo", {"a": 1})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    result = json.loads(body)
    assert result["event"] == {"a": 1}
    assert result["function_name"] == "echo"
    assert result["function_version"] == "$LATEST"
    assert result["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:echo"
    assert str(result["memory_limit_in_mb"]) == "256"
    assert result["aws_request_id"] == response["ResponseMetadata"]["RequestId"]
    assert result["log_group_name"] == "/aws/lambda/echo"
    assert 0 < result["remaining_ms"] <= 5000


def test_environment_variables_are_aws_ones_and_the_functions(client, endpoint):
    _, body = _invoke(client, "echo")
    result = json.loads(body)
    env = result["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "echo"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["_HANDLER"] == "echo.echo_handler"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert env["GREETING"] == "ciao"
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    assert "HOME_OF_THE_HOST_SHOULD_NOT_LEAK" not in env
    for key in ("PYTEST_CURRENT_TEST", "VIRTUAL_ENV", "HOSTNAME_OF_HOST"):
        assert key not in env


def test_docker_environment_is_sandboxed(docker_lambda):
    _, body = _invoke(docker_lambda, "echo")
    result = json.loads(body)
    assert result["env"]["LAMBDA_TASK_ROOT"] == "/var/task"
    assert result["cwd"] == "/var/task"
    assert result["uid"] != 0
    assert result["tmp_writable"] is True
    assert result["task_writable"] is False  # the code folder is mounted read-only


def test_dry_run_and_event_invocations(client):
    response = client.invoke(FunctionName="echo", InvocationType="DryRun")
    assert response["StatusCode"] == 204
    response = client.invoke(FunctionName="logger", InvocationType="Event", Payload=b'{"n": 7}')
    assert response["StatusCode"] == 202
    assert response["ResponseMetadata"]["RequestId"]


def test_tail_log_has_start_end_report_and_output(client):
    response, body = _invoke(client, "logger", {"n": 42}, LogType="Tail")
    assert json.loads(body) == "logged"
    log = _log(response)
    request_id = response["ResponseMetadata"]["RequestId"]
    lines = log.splitlines()
    start = lines.index(f"START RequestId: {request_id} Version: $LATEST")
    assert "hello from print" in lines[start + 1:]
    assert any(
        line.startswith("[INFO]\t") and line.endswith(f"\t{request_id}\thello from logging 42") for line in lines
    )
    assert f"END RequestId: {request_id}" in lines
    report = next(line for line in lines if line.startswith("REPORT"))
    fields = report.split("\t")
    assert fields[0] == f"REPORT RequestId: {request_id}"
    assert fields[1].startswith("Duration: ") and fields[1].endswith(" ms")
    assert fields[2].startswith("Billed Duration: ")
    assert fields[3] == "Memory Size: 128 MB"
    used = int(fields[4].removeprefix("Max Memory Used: ").removesuffix(" MB"))
    assert 5 <= used <= 128


@pytest.mark.parametrize("executor", ["docker", "process"])
def test_cold_start_has_init_duration_and_init_output(executor, make_server, tmp_path, request):
    if executor == "docker":
        request.getfixturevalue("docker_engine")
    folder = tmp_path / "functions" / "fresh"
    folder.mkdir(parents=True)
    (folder / "fresh.py").write_text("print('initialising')\ndef fresh_handler(e, c):\n    return 1\n")
    client = lambda_client(make_server(tmp_path / "functions", executor))
    first, _ = _invoke(client, "fresh", LogType="Tail")
    second, _ = _invoke(client, "fresh", LogType="Tail")
    assert "Init Duration: " in _log(first)
    assert _log(first).index("initialising") < _log(first).index("START RequestId")
    assert "Init Duration" not in _log(second)


IMPORTS = """
import importlib, sys


def probe_handler(event, context):
    found = {}
    for name in ("boto3", "botocore", "json", "sqlite3", "fastapi", "moto", "docker", "uvicorn", "pytest"):
        try:
            importlib.import_module(name)
            found[name] = True
        except ImportError:
            found[name] = False
    return {"found": found}
"""


@pytest.mark.parametrize("executor", ["docker", "process"])
def test_a_function_can_import_the_sdk_and_the_standard_library_and_nothing_else(executor, make_server, tmp_path,
                                                                               request):
    """As on AWS: a package the function does not bundle (or list in requirements.txt) is
    missing in both executors, even though the control plane itself has it."""
    if executor == "docker":
        request.getfixturevalue("docker_engine")
    folder = tmp_path / "functions" / "probe"
    folder.mkdir(parents=True)
    (folder / "probe.py").write_text(IMPORTS)
    client = lambda_client(make_server(tmp_path / "functions", executor, seed_on_start=False))
    response, body = _invoke(client, "probe")
    result = json.loads(body)
    assert "FunctionError" not in response, result
    assert result["found"] == {"boto3": True, "botocore": True, "json": True, "sqlite3": True, "fastapi": False,
                               "moto": False, "docker": False, "uvicorn": False, "pytest": False}
    assert not (folder / "__pycache__").exists()  # nothing written in the function's folder


def test_handler_error_is_unhandled_with_aws_body(client):
    response, body = _invoke(client, "raiser", {"card": "4242"}, LogType="Tail")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(body)
    assert error["errorType"] == "PaymentDeclined"
    assert error["errorMessage"] == "card 4242 declined"
    assert isinstance(error["stackTrace"], list) and "raiser.py" in "".join(error["stackTrace"])
    log = _log(response)
    assert "about to fail" in log
    assert "[ERROR] PaymentDeclined: card 4242 declined" in log


@pytest.mark.parametrize(
    "name, error_type, message",
    [
        ("import_error", "Runtime.ImportModuleError",
         "Unable to import module 'import_error': No module named 'module_that_does_not_exist'"),
        ("syntax_error", "Runtime.UserCodeSyntaxError", "Syntax error in module 'syntax_error'"),
    ],
)
def test_init_errors(client, name, error_type, message):
    response, body = _invoke(client, name)
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(body)
    assert error["errorType"] == error_type
    assert error["errorMessage"].startswith(message)
    # and the emulator keeps serving
    assert json.loads(_invoke(client, "echo", {"ok": True})[1])["event"] == {"ok": True}


def test_unknown_handler_function(client, endpoint):
    client.update_function_configuration(FunctionName="logger", Handler="logger.nope")
    try:
        response, body = _invoke(client, "logger")
        assert response["FunctionError"] == "Unhandled"
        assert json.loads(body)["errorType"] == "Runtime.HandlerNotFound"
    finally:
        client.update_function_configuration(FunctionName="logger", Handler="logger.logger_handler")
    assert json.loads(_invoke(client, "logger")[1]) == "logged"


def test_timeout_answers_at_the_deadline_and_replaces_the_environment(client):
    started = time.monotonic()
    response, body = _invoke(client, "sleeper", {"seconds": 5}, LogType="Tail")
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 3.0
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(body)
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert "Task timed out after 1.00 seconds" in _log(response)
    assert "Status: timeout" in _log(response)
    # the next invoke gets a fresh environment and works
    response, body = _invoke(client, "sleeper", {"seconds": 0}, LogType="Tail")
    assert json.loads(body) == {"slept": 0}
    assert "Init Duration" in _log(response)


def test_process_exit_is_runtime_exit_error(client):
    response, body = _invoke(client, "exiter", {"code": 3}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(body)
    assert error == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {response['ResponseMetadata']['RequestId']} "
                        "Error: Runtime exited with error: exit status 3",
    }
    assert "exiting with 3" in _log(response)
    assert json.loads(_invoke(client, "echo")[1])["function_name"] == "echo"


def test_memory_limit_kills_the_container(docker_lambda):
    response, body = _invoke(docker_lambda, "memhog", {"megabytes": 400}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(body)
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith("Runtime exited with error: signal: killed")
    assert "Max Memory Used: 128 MB" in _log(response)
    assert json.loads(_invoke(docker_lambda, "memhog", {"megabytes": 10})[1]) == {"allocated": 10}


def test_warm_environment_is_reused(client):
    _first, _ = _invoke(client, "echo", LogType="Tail")
    _second, body = _invoke(client, "echo", LogType="Tail")
    third, body3 = _invoke(client, "echo", LogType="Tail")
    assert "Init Duration" not in _log(third)
    assert json.loads(body)["log_stream_name"] == json.loads(body3)["log_stream_name"]


def test_parallel_invokes_run_in_parallel_environments(client):
    def call(_):
        _response, body = _invoke(client, "slow", {"seconds": 1})
        return json.loads(body)

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(8)))
    elapsed = time.monotonic() - started
    assert results == [{"slept": 1}] * 8
    assert elapsed < 3.5, f"8 parallel 1 s invokes took {elapsed:.2f} s"


def test_reserved_concurrency_throttles_with_429(client):
    def call(_):
        try:
            _invoke(client, "reserved", {"seconds": 1.5})
            return "ok"
        except ClientError as err:
            assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 429
            assert err.response["Error"]["Code"] == "TooManyRequestsException"
            assert err.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
            return "throttled"

    _invoke(client, "reserved", {"seconds": 0})  # warm up, so the race below is about concurrency
    with ThreadPoolExecutor(3) as pool:
        outcomes = sorted(pool.map(call, range(3)))
    assert outcomes == ["ok", "throttled", "throttled"]


def test_reserved_concurrency_zero_throttles_everything(client):
    client.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=0)
    try:
        with pytest.raises(ClientError) as err:
            _invoke(client, "slow", {"seconds": 0})
        assert err.value.response["Error"]["Code"] == "TooManyRequestsException"
    finally:
        client.delete_function_concurrency(FunctionName="slow")
    assert json.loads(_invoke(client, "slow", {"seconds": 0})[1]) == {"slept": 0}


def test_unknown_function_is_404(client):
    with pytest.raises(client.exceptions.ResourceNotFoundException) as err:
        _invoke(client, "nope")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert err.value.response["Error"]["Message"] == (
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"
    )


def test_malformed_json_payload_is_400(client):
    with pytest.raises(client.exceptions.InvalidRequestContentException) as err:
        client.invoke(FunctionName="echo", Payload=b"{not json")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err.value.response["Error"]["Message"].startswith(
        "Could not parse request body into json: Could not parse payload into json:"
    )


def test_oversized_payloads_are_413(client):
    big = json.dumps({"data": "x" * (6 * 1024 * 1024)}).encode()
    with pytest.raises(client.exceptions.RequestTooLargeException) as err:
        client.invoke(FunctionName="echo", Payload=big)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert "6291456 bytes" in err.value.response["Error"]["Message"]
    medium = json.dumps({"data": "x" * (1024 * 1024)}).encode()
    with pytest.raises(client.exceptions.RequestTooLargeException):
        client.invoke(FunctionName="echo", Payload=medium, InvocationType="Event")
    # a payload just under the sync limit is fine
    _response, body = _invoke(client, "echo", {"data": "y" * (5 * 1024 * 1024)})
    assert len(json.loads(body)["event"]["data"]) == 5 * 1024 * 1024


def test_names_partial_and_full_arns_are_accepted(client):
    for name in ("echo", "echo:$LATEST", "123456789012:function:echo",
                 "arn:aws:lambda:us-east-1:123456789012:function:echo"):
        _response, body = _invoke(client, name)
        assert json.loads(body)["function_name"] == "echo", name


def test_client_context_reaches_the_function(client):
    context = base64.b64encode(json.dumps({"custom": {"tenant": "acme"}}).encode()).decode()
    _, body = _invoke(client, "echo", ClientContext=context)
    assert json.loads(body)["client_context"] == {"tenant": "acme"}
