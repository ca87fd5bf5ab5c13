"""cloudmicro_runtime.loop: the handler's import, one invocation, sys.path, the loop and the restart,
in this process with a fake Runtime API client (test_bootstrap.py runs the whole runtime)."""

from __future__ import annotations

import json
import os
import py_compile
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from runtimes.python.cloudmicro_runtime import logs, loop
from runtimes.python.cloudmicro_runtime.errors import FaultException, RestartRequested, RuntimeApiError
from runtimes.python.cloudmicro_runtime.runtime_api import Invocation


class FakeApi:
    """Serves ``invocations`` to next_invocation(), then raises RuntimeApiError; records the posts."""

    def __init__(self, *invocations: Invocation) -> None:
        self.invocations = list(invocations)
        self.responses: list[tuple[str, bytes, str]] = []
        self.errors: list[tuple[str, Any, Any, str]] = []
        self.init_errors: list[tuple[Any, str]] = []

    def next_invocation(self) -> Invocation:
        if not self.invocations:
            raise RuntimeApiError("no more events")
        return self.invocations.pop(0)

    def post_response(self, request_id: str, body: bytes, content_type: str) -> None:
        self.responses.append((request_id, body, content_type))

    def post_error(self, request_id: str, error_json: str, xray_json: str, error_type: str) -> None:
        self.errors.append((request_id, json.loads(error_json), json.loads(xray_json), error_type))

    def post_init_error(self, error_json: str, error_type: str) -> None:
        self.init_errors.append((json.loads(error_json), error_type))


def invocation(request_id: str = "req-1", body: bytes = b"{}", **headers: str) -> Invocation:
    return Invocation({"lambda-runtime-aws-request-id": request_id, "content-type": "application/json",
                       "lambda-runtime-deadline-ms": "1700000000000", **headers}, body)


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Writes a module of a fresh name into a folder on sys.path; returns its name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written: list[str] = []

    def write(source: str, package: str = "") -> str:
        name = f"app_{uuid.uuid4().hex[:12]}"
        folder = tmp_path / package
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
        written.append(name)
        return f"{package}/{name}" if package else name

    yield write
    for name in [key for key in sys.modules if any(key.endswith(written_name) for written_name in written)]:
        del sys.modules[name]


# --------------------------------------------------------------------------- the handler's import


def test_load_handler_imports_module_and_function(modules: Any) -> None:
    name = modules("def handler(event, context):\n    return 'ok'\n")
    assert loop.load_handler(f"{name}.handler")(None, None) == "ok"
    nested = modules("def handle(event, context):\n    return 'nested'\n", package="pkg_a/sub")
    assert loop.load_handler(f"{nested}.handle")(None, None) == "nested"


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [("app", "Runtime.MalformedHandlerName", "Bad handler 'app': not enough values to unpack (expected 2, got 1)"),
     ("sys.handler", "Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module"),
     ("not_a_module_here.handler", "Runtime.ImportModuleError",
      "Unable to import module 'not_a_module_here': No module named 'not_a_module_here'")],
)
def test_load_handler_faults(handler: str, error_type: str, message: str) -> None:
    with pytest.raises(FaultException) as fault:
        loop.load_handler(handler)
    assert (fault.value.exception_type, fault.value.msg, fault.value.trace) == (error_type, message, None)


def test_load_handler_names_a_missing_function_and_a_syntax_error(modules: Any, tmp_path: Path) -> None:
    name = modules("def handler(event, context):\n    return 1\n")
    with pytest.raises(FaultException) as fault:
        loop.load_handler(f"{name}.missing")
    assert (fault.value.exception_type, fault.value.msg) == (
        "Runtime.HandlerNotFound", f"Handler 'missing' missing on module '{name}'",
    )
    broken = modules("def handler(event, context)\n    return 1\n")
    with pytest.raises(FaultException) as fault:
        loop.load_handler(f"{broken}.handler")
    assert fault.value.exception_type == "Runtime.UserCodeSyntaxError"
    assert fault.value.msg.startswith(f"Syntax error in module '{broken}': ")
    assert fault.value.trace == [f'  File "{tmp_path / broken}.py" Line 1\n    def handler(event, context)\n']


def test_an_init_error_is_logged_posted_once_and_ends_the_process(modules: Any,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    name = modules("raise RuntimeError('no config')\n")
    api = FakeApi()
    with pytest.raises(SystemExit) as exited:
        loop.initialize(f"{name}.handler", api, json_format=False)  # type: ignore[arg-type]
    assert exited.value.code == 1
    ((error, error_type),) = api.init_errors
    assert (error_type, error["errorType"], error["errorMessage"], error["requestId"]) == (
        "RuntimeError", "RuntimeError", "no config", "",
    )
    assert "importlib" in error["stackTrace"][0]  # the runtime's own frames are left out
    assert capsys.readouterr().out.startswith("[ERROR] RuntimeError: no config\rTraceback (most recent call last):")


def test_an_init_fault_is_posted_with_its_type() -> None:
    api = FakeApi()
    with pytest.raises(SystemExit):
        loop.initialize("app", api, json_format=True)  # type: ignore[arg-type]
    assert api.init_errors == [({"errorMessage": "Bad handler 'app': not enough values to unpack (expected 2, got 1)",
                                 "errorType": "Runtime.MalformedHandlerName", "requestId": "", "stackTrace": []},
                                "Runtime.MalformedHandlerName")]


# --------------------------------------------------------------------------- one invocation


def test_the_context_comes_from_the_headers() -> None:
    context = loop.create_context(invocation(
        "req-7", **{"lambda-runtime-invoked-function-arn": "arn:f", "lambda-runtime-aws-tenant-id": "t",
                    "lambda-runtime-client-context": '{"custom": {"a": 1}}',
                    "lambda-runtime-cognito-identity": '{"cognitoIdentityId": "id-1"}'},
    ))
    assert (context.aws_request_id, context.invoked_function_arn, context.tenant_id,
            context.client_context.custom, context.identity.cognito_identity_id) == ("req-7", "arn:f", "t", {"a": 1},
                                                                                     "id-1")
    with pytest.raises(FaultException, match="Unable to parse Cognito Identity JSON"):
        loop.create_context(invocation(**{"lambda-runtime-cognito-identity": "{"}))


def test_a_result_is_posted_as_json() -> None:
    api = FakeApi()
    loop.handle_invocation(api, lambda event, context: {"echo": event, "id": context.aws_request_id},  # type: ignore[arg-type]
                           invocation("req-1", b'{"a": 1}'), json_format=False)
    assert api.responses == [("req-1", b'{"echo": {"a": 1}, "id": "req-1"}', "application/json")]
    assert api.errors == []


def test_a_fault_is_posted_as_a_validation_error(capsys: pytest.CaptureFixture[str]) -> None:
    api = FakeApi()
    loop.handle_invocation(api, lambda event, context: None, invocation("req-2", b"{bad"),  # type: ignore[arg-type]
                           json_format=False)
    ((request_id, error, xray, error_type),) = api.errors
    assert (request_id, error_type, error["errorType"], error["requestId"], error["stackTrace"]) == (
        "req-2", "Runtime.UnmarshalError", "Runtime.UnmarshalError", "req-2", [],
    )
    assert xray["exceptions"] == [{"message": error["errorMessage"], "type": "LambdaValidationError", "stack": []}]
    assert capsys.readouterr().out.startswith("[ERROR] Runtime.UnmarshalError: Unable to unmarshal input: ")


def test_a_handler_exception_is_posted_and_logged_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(event: Any, context: Any) -> None:
        raise KeyError("k")

    api = FakeApi()
    loop.handle_invocation(api, handler, invocation("req-3"), json_format=True)  # type: ignore[arg-type]
    ((_, error, xray, error_type),) = api.errors
    assert (error_type, error["errorMessage"], xray["exceptions"][0]["type"]) == ("KeyError", "'k'", "KeyError")
    assert error["stackTrace"][-1].endswith('raise KeyError("k")\n')
    record = json.loads(capsys.readouterr().out)
    assert record.pop("timestamp") and record == {"level": "ERROR", **error}


def test_base_exceptions_end_the_process_and_nothing_is_posted() -> None:
    def handler(event: Any, context: Any) -> None:
        sys.exit(3)

    api = FakeApi()
    with pytest.raises(SystemExit):
        loop.handle_invocation(api, handler, invocation(), json_format=False)  # type: ignore[arg-type]
    assert api.responses == api.errors == []


def test_the_loop_sets_the_ids_and_the_trace_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "from before")  # restored afterwards
    monkeypatch.setattr(logs, "_current_request_id", None)
    monkeypatch.setattr(logs, "_current_tenant_id", None)
    seen = []

    def handler(event: Any, context: Any) -> str:
        seen.append((logs._current_request_id, logs._current_tenant_id, os.environ.get("_X_AMZN_TRACE_ID")))
        return "ok"

    api = FakeApi(invocation("req-1", **{"lambda-runtime-trace-id": "Root=1", "lambda-runtime-aws-tenant-id": "t"}),
                  invocation("req-2"))
    with pytest.raises(RuntimeApiError):
        loop.run_loop(api, handler, json_format=False)  # type: ignore[arg-type]
    assert seen == [("req-1", "t", "Root=1"), ("req-2", None, None)]
    assert [request_id for request_id, _body, _type in api.responses] == ["req-1", "req-2"]


# --------------------------------------------------------------------------- sys.path


@pytest.fixture
def import_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """sys.path and the import hooks as they are, restored after the test."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "path_hooks", list(sys.path_hooks))
    monkeypatch.setattr(sys, "path_importer_cache", dict(sys.path_importer_cache))


@pytest.mark.usefixtures("import_state")
def test_sys_path_task_root_packages_layers_then_the_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    task, opt, runtime = tmp_path / "task", tmp_path / "opt", tmp_path / "runtime"
    task.mkdir()
    (task / "extra.pth").write_text(str(tmp_path / "from-pth") + "\n")
    (tmp_path / "from-pth").mkdir()
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(task))
    monkeypatch.setenv("_CLOUDMICRO_PACKAGES", f"{tmp_path / 'p1'}{os.pathsep}{tmp_path / 'p2'}")
    monkeypatch.setenv("_CLOUDMICRO_OPT", str(opt))
    monkeypatch.setenv("LAMBDA_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    loop.set_default_sys_path()
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert sys.path[:6] == [str(task), str(tmp_path / "p1"), str(tmp_path / "p2"),
                            f"{opt}/python/lib/python{version}/site-packages", f"{opt}/python", str(runtime)]
    assert str(tmp_path / "from-pth") in sys.path  # .pth files of the task root are processed
    assert "_CLOUDMICRO_PACKAGES" not in os.environ and "_CLOUDMICRO_OPT" not in os.environ


@pytest.mark.usefixtures("import_state")
def test_no_layers_without_opt_or_with_pythonpath(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    monkeypatch.setenv("_CLOUDMICRO_OPT", "")
    monkeypatch.delenv("_CLOUDMICRO_PACKAGES", raising=False)
    monkeypatch.delenv("LAMBDA_RUNTIME_DIR", raising=False)
    before = list(sys.path)
    loop.set_default_sys_path()
    runtime = [] if loop.RUNTIME_DIR in before else [loop.RUNTIME_DIR]  # the entry script's folder
    assert sys.path[: 1 + len(runtime)] == [str(tmp_path), *runtime]

    monkeypatch.setattr(sys, "path", list(before))
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    monkeypatch.delenv("_CLOUDMICRO_OPT", raising=False)  # /opt, but PYTHONPATH leaves the layers out (as on AWS)
    loop.set_default_sys_path()
    assert not any(path.startswith("/opt/") for path in sys.path)


@pytest.mark.usefixtures("import_state")
def test_function_code_uses_only_bytecode_clearly_newer_than_its_source(tmp_path: Path) -> None:
    name = f"fresh_{uuid.uuid4().hex[:12]}"
    source = tmp_path / f"{name}.py"
    source.write_text("VALUE = 1\n")
    compiled = Path(py_compile.compile(str(source)))
    stamp = source.stat().st_mtime_ns
    source.write_text("VALUE = 2\n")  # a save in the same second, the same size: the .pyc looks valid
    os.utime(source, ns=(stamp, stamp))
    loop.trust_fresh_bytecode_only([str(tmp_path)])
    sys.path.insert(0, str(tmp_path))
    try:
        assert __import__(name).VALUE == 2
        del sys.modules[name]
        os.utime(compiled, ns=(stamp + 5_000_000_000, stamp + 5_000_000_000))  # written well after the save
        assert __import__(name).VALUE == 1
    finally:
        sys.modules.pop(name, None)


# --------------------------------------------------------------------------- start and restart


def test_restart_runs_the_same_command_with_the_environment_it_started_with(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def execve(path: str, args: list[str], environ: dict[str, str]) -> None:
        calls.append((path, args, environ))
        raise SystemExit(0)  # execve does not return

    monkeypatch.setattr(os, "execve", execve)
    monkeypatch.setattr(sys, "orig_argv", ["/usr/bin/python3", "-I", "/var/runtime/bootstrap.py", "app.handler"],
                        raising=False)
    with pytest.raises(SystemExit):
        loop.restart({"A": "1"})
    assert calls == [(sys.executable, [sys.executable, "-I", "/var/runtime/bootstrap.py", "app.handler"], {"A": "1"})]


@pytest.fixture
def quiet_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() without its process-wide set-up (output, logging, sys.path), which test_bootstrap.py covers."""
    monkeypatch.setattr(loop, "make_output_unbuffered", lambda: None)
    monkeypatch.setattr(loop, "setup_logging", lambda json_format, level: None)
    monkeypatch.setattr(loop, "set_default_sys_path", lambda: os.environ.pop("_CLOUDMICRO_PACKAGES", None))


@pytest.mark.usefixtures("quiet_start")
def test_main_restarts_with_the_starting_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    monkeypatch.setenv("_CLOUDMICRO_PACKAGES", "/deps")
    monkeypatch.setattr(sys, "argv", ["bootstrap.py", "app.handler"])
    handlers = []

    class RestartingApi(FakeApi):
        def __init__(self, address: str) -> None:
            super().__init__()
            assert address == "127.0.0.1:9001"

        def next_invocation(self) -> Invocation:
            raise RestartRequested()

    monkeypatch.setattr(loop, "RuntimeApiClient", RestartingApi)
    monkeypatch.setattr(loop, "load_handler", lambda name: handlers.append(name) or (lambda event, context: None))
    restarted = []
    monkeypatch.setattr(loop, "restart", restarted.append)
    loop.main()
    assert handlers == ["app.handler"]
    (environ,) = restarted
    assert environ["_CLOUDMICRO_PACKAGES"] == "/deps"  # as it started, before sys.path set-up took it out
    assert "_CLOUDMICRO_PACKAGES" not in os.environ


@pytest.mark.usefixtures("quiet_start")
def test_main_without_a_runtime_api_exits_with_status_1(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API", raising=False)
    with pytest.raises(SystemExit) as exited:
        loop.main()
    assert exited.value.code == 1
    assert capsys.readouterr().err == "cloudmicro runtime: AWS_LAMBDA_RUNTIME_API is not set\n"
