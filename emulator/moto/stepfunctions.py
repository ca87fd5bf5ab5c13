"""Step Functions state machines that run locally, their Lambda tasks invoking our functions.

moto runs state machines (its port of LocalStack's ASL interpreter) when
``execute_state_machine`` is on: each execution in a thread of its own, each task calling AWS
with boto3. :func:`patch` points those clients at the Cloudmicro endpoint (where the newest
control plane of this process is, or the one ``CLOUDMICRO_ENDPOINT`` names for the separate
moto server), so Lambda tasks reach our functions and service integrations reach moto through
the gateway. It also makes what the tasks see match AWS (pinned to moto 5.2.5):

- ``arn:aws:states:::lambda:invoke`` gives the state the whole SDK response, as AWS does:
  ``{ExecutedVersion, Payload, SdkHttpMetadata: {AllHttpHeaders, HttpHeaders,
  HttpStatusCode}, SdkResponseMetadata: {RequestId}, StatusCode}`` (moto keeps only
  ExecutedVersion, Payload and StatusCode). ``InvocationType`` is accepted.
  https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html
- A function error fails the task with the function's ``errorType`` as the error name (a
  Python exception's class name) and the error payload as the cause. A timeout or an
  out-of-memory end fails it with ``Lambda.Unknown`` and AWS's cause text ("The cause could
  not be determined because Lambda did not return an error type. Returned payload: ...").
  https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
- ``StartExecution`` without a name gets a UUID, as on AWS (moto's interpreter names the
  execution "None", so two unnamed executions shared one ARN).
- ``StartSyncExecution`` (EXPRESS state machines only) runs the execution to its end and
  answers with its status, output or error, cause and billing details. botocore sends it to
  the host ``sync-<endpoint host>``: clients turn that off with
  ``AWS_DISABLE_HOST_PREFIX_INJECTION=true`` or ``Config(inject_host_prefix=False)``.
- moto logs every failure event at ERROR, with a dump of the state, even when a Retry or
  Catch handles it; those lines are dropped (the execution history has every failure).
"""

from __future__ import annotations

import copy
import datetime
import importlib
import json
import logging
import math
import os
import pkgutil
import threading
import time
import uuid
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any

import moto.stepfunctions.parser.asl as asl
from moto.core.config import default_user_config
from moto.core.exceptions import AWSError
from moto.core.responses import ActionResult
from moto.stepfunctions.exceptions import InvalidExecutionInput
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils import (
    LambdaFunctionErrorException,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_lambda
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.backend.execution import SyncExecution
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from emulator.domain import json_text
from emulator.moto import delivery as moto_delivery
from emulator.moto.patching import Patch, PatchSet, replace_with

#: errorType values of the platform's own failures, which Step Functions reports as Lambda.Unknown
UNKNOWN_ERROR_TYPES = frozenset({"Sandbox.Timedout", "Runtime.OutOfMemory"})
UNKNOWN_CAUSE = "The cause could not be determined because Lambda did not return an error type. Returned payload: "


class StateMachineTypeNotSupported(AWSError):
    TYPE = "StateMachineTypeNotSupported"
    STATUS = 400


_clients: dict[tuple[str, str, str], Any] = {}
_clients_lock = threading.Lock()


def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """A boto3 client for a task: the Cloudmicro endpoint, no retries (the state's Retry decides).

    One client per service, region and endpoint, made under a lock (boto3 clients are
    thread-safe; making them in many threads at once is not, and costs tens of ms each).
    """
    import boto3
    from botocore.config import Config
    from moto.settings import moto_server_port

    endpoint = moto_delivery.endpoint() or f"http://localhost:{moto_server_port()}"
    with _clients_lock:
        client = _clients.get((service, region, endpoint))
        if client is None:
            client = _clients[(service, region, endpoint)] = boto3.session.Session().client(
                service_name=service, region_name=region, endpoint_url=endpoint,
                aws_access_key_id="test", aws_secret_access_key="test",
                config=Config(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1},
                              connect_timeout=60, read_timeout=960, inject_host_prefix=False,
                              max_pool_connections=50),
            )
    return client


class LambdaUnknownError(LambdaFunctionErrorException):
    """A platform failure (timeout, out of memory): the task fails with ``Lambda.Unknown``."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__("Unhandled", json.dumps({"errorType": "Lambda.Unknown"}))
        returned = {k: v for k, v in payload.items() if k != "errorType"}
        self.cause = UNKNOWN_CAUSE + json.dumps(returned, separators=(",", ":"))


def invoke_response(response: dict[str, Any], payload: Any, body_length: int) -> dict[str, Any]:
    """The result of a ``lambda:invoke`` task: the SDK response as Step Functions shapes it."""
    metadata = response.get("ResponseMetadata", {})
    headers = {k.lower(): v for k, v in metadata.get("HTTPHeaders", {}).items()}
    request_id = metadata.get("RequestId") or headers.get("x-amzn-requestid") or str(uuid.uuid4())
    version = response.get("ExecutedVersion") or headers.get("x-amz-executed-version") or "$LATEST"
    trace = headers.get("x-amzn-trace-id") or f"root=1-{int(time.time()):08x}-{os.urandom(12).hex()};sampled=0"
    status = response.get("StatusCode", metadata.get("HTTPStatusCode", 200))
    all_headers = {
        "X-Amz-Executed-Version": [version],
        "x-amzn-Remapped-Content-Length": ["0"],
        "Connection": ["keep-alive"],
        "x-amzn-RequestId": [request_id],
        "Content-Length": [str(body_length)],
        "Date": [headers.get("date") or formatdate(usegmt=True)],
        "X-Amzn-Trace-Id": [trace],
        "Content-Type": ["application/json"],
    }
    result: dict[str, Any] = {"ExecutedVersion": version}
    if "LogResult" in response:
        result["LogResult"] = response["LogResult"]
    result.update({
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": all_headers,
            "HttpHeaders": {k: v[0] for k, v in sorted(all_headers.items(), key=lambda kv: kv[0].lower())},
            "HttpStatusCode": status,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": status,
    })
    return result


_moto_integration = lambda_eval_utils.execute_lambda_function_integration


def execute_lambda_function_integration(env: Any, parameters: dict, region: str, state_credentials: Any) -> None:
    """moto's function of that name (both kinds of Lambda task call it), with AWS's result and errors."""
    if env.is_mocked_mode():
        _moto_integration(env=env, parameters=parameters, region=region, state_credentials=state_credentials)
        return
    client = boto_client_for(region=region, service="lambda", state_credentials=state_credentials)
    response = client.invoke(**parameters)
    body: bytes = response["Payload"].read()
    try:
        payload: Any = json_text.loads(body)
    except ValueError:
        payload = body.decode("utf-8", errors="replace")
    function_error = response.get("FunctionError")
    if function_error:
        if isinstance(payload, dict) and payload.get("errorType") in UNKNOWN_ERROR_TYPES:
            raise LambdaUnknownError(payload)
        raise LambdaFunctionErrorException(function_error, json.dumps(payload, separators=(",", ":")))
    env.stack.append(invoke_response(response, payload, len(body)))


def _with_unknown_cause(original: Any) -> Any:
    """Wrap a Lambda task's ``_from_error``: a :class:`LambdaUnknownError` gets AWS's cause text."""

    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        event = original(self, env, ex)
        if isinstance(ex, LambdaUnknownError):
            for details in (event.event_details or {}).values():
                details["cause"] = ex.cause
        return event

    return _from_error


class _DropFailureEventLogs(logging.Filter):
    """moto's interpreter logs each failure event at ERROR with a dump of the state."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (args and str(args[0]).startswith("Exception=FailureEventException"))


def _named(original: Any) -> Any:
    """Wrap the interpreter's ``start_execution``: an execution without a name gets a UUID."""

    def start_execution(self: Any, state_machine_arn: str, name: str | None = None,
                        execution_input: Any = None, trace_header: Any = None) -> Any:
        if name:
            self._validate_name(name)
        return original(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)

    return start_execution


def start_sync_execution(backend: Any, state_machine_arn: str, name: str | None,
                         execution_input: str | None, trace_header: str | None) -> SyncExecution:
    """Run an execution of an EXPRESS state machine to its end, in the calling thread."""
    if name:
        backend._validate_name(name)
    state_machine = backend.describe_state_machine(state_machine_arn)
    if state_machine.type != "EXPRESS":
        raise StateMachineTypeNotSupported("This operation is not supported by this type of state machine")
    input_data = execution_input or "{}"
    try:
        json_text.loads(input_data)
    except ValueError as exc:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{exc}'") from None
    name = name or str(uuid.uuid4())
    # a snapshot of the definition, as moto's start_execution takes (executions and backend not copied)
    clone = copy.deepcopy(state_machine, {id(state_machine.executions): [],
                                          id(state_machine.backend): state_machine.backend})
    execution = SyncExecution(
        name=name, sm_type=state_machine.type, role_arn=state_machine.roleArn,
        exec_arn=(f"arn:{backend.partition}:states:{backend.region_name}:{backend.account_id}:express:"
                  f"{state_machine.name}:{name}:{uuid.uuid4()}"),
        account_id=backend.account_id, region_name=backend.region_name, state_machine=clone,
        start_date=datetime.datetime.now(tz=datetime.UTC), cloud_watch_logging_session=None,
        input_data=input_data, trace_header=trace_header, activity_store={},
    )
    execution.start()
    return execution


def _start_sync_execution_action(self: StepFunctionResponse) -> ActionResult:
    """``StartSyncExecution`` among moto's Step Functions actions."""
    execution = start_sync_execution(
        self.stepfunction_backend, self._get_param("stateMachineArn"), self._get_param("name"),
        self._get_param("input"), self._get_param("traceHeader"),
    )
    output: dict[str, Any] = {k: v for k, v in execution.to_start_sync_execution_output().items() if v is not None}
    output["status"] = getattr(output["status"], "value", output["status"])
    if "output" not in output:
        output.pop("outputDetails", None)
    # Express workflows are billed in 64 MB steps of memory and 100 ms steps of duration
    ended = execution.stop_date or execution.start_date
    elapsed_ms = (ended - execution.start_date).total_seconds() * 1000
    output["billingDetails"] = {"billedMemoryUsedInMB": 64,
                                "billedDurationInMilliseconds": max(100, math.ceil(elapsed_ms / 100) * 100)}
    return ActionResult(output)


def _asl_modules() -> Iterator[Any]:
    """The modules of moto's ASL interpreter that make AWS clients (``boto_client_for``)."""
    for info in pkgutil.walk_packages(asl.__path__, asl.__name__ + "."):
        try:
            module = importlib.import_module(info.name)
        except Exception:  # noqa: BLE001 - a module we cannot import cannot call AWS either
            continue
        if getattr(module, "boto_client_for", None) is not None:
            yield module


def _with_invocation_type(original: set[str]) -> set[str]:
    return {*original, "InvocationType"}


def _patches() -> Iterator[Patch]:
    yield Patch(default_user_config["stepfunctions"], "execute_state_machine", replace_with(True))
    for module in _asl_modules():
        yield Patch(module, "boto_client_for", replace_with(boto_client_for))
    yield Patch(lambda_eval_utils, "execute_lambda_function_integration",
                replace_with(execute_lambda_function_integration))
    for task in (StateTaskLambda, state_task_service_lambda.StateTaskServiceLambda):
        yield Patch(task, "_from_error", _with_unknown_cause)
    yield Patch(state_task_service_lambda._SUPPORTED_API_PARAM_BINDINGS, "invoke", _with_invocation_type)
    yield Patch(StepFunctionsParserBackend, "start_execution", _named)
    yield Patch(StepFunctionResponse, "start_sync_execution", replace_with(_start_sync_execution_action), new=True)
    logger = logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component")
    yield Patch(logger, "filters", lambda filters: [*filters, _DropFailureEventLogs()])


#: state machines run, their tasks calling the Cloudmicro endpoint as AWS's would
PATCHES = PatchSet("states", _patches)
