"""Tests of runtimes/python/bootstrap.py, run as a real process against a fake Runtime API: the
entry script and the cloudmicro_runtime package end to end (tests/unit/runtime/ tests the
package's parts in this process).

The fake Runtime API is a stdlib HTTP/1.1 server on an ephemeral 127.0.0.1 port.  Tests queue
events with ``api.invoke(...)`` and take what the bootstrap posts with ``api.next_post()``.
The bootstrap's stdout and stderr go to files, and each recorded POST carries a snapshot of
stdout taken when the POST arrived, which shows that output is flushed before results are sent.
Nothing waits by sleeping: queues, ``Popen.wait`` and timeouts only, and the server stops as
soon as it is told to (it is woken by a connection, not polled).
"""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

BOOTSTRAP = Path(__file__).resolve().parents[3] / "runtimes" / "python" / "bootstrap.py"
# The interpreter that runs the bootstrap; e.g. a Python 3.9 to check compatibility.
PYTHON = os.environ.get("CLOUDMICRO_TEST_PYTHON", sys.executable)
TIMEOUT = 15.0
NEXT_PATH = "/2018-06-01/runtime/invocation/next"
FUNCTION_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "my-fn",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/my-fn",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/23/[$LATEST]0123456789abcdef",
}
TEXT_LOG_LINE = r"\[{level}\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{request_id}\t{message}\n"
NBSP = "\u00a0"


# --------------------------------------------------------------------------- fake Runtime API


@dataclass
class Post:
    """One POST the bootstrap sent, with the bootstrap's stdout as it was when it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes
    stdout: str

    @property
    def kind(self) -> str:
        return "init-error" if self.path.endswith("/init/error") else self.path.rsplit("/", 1)[1]

    @property
    def request_id(self) -> str:
        return self.path.split("/")[-2]

    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class QueuedEvent:
    request_id: str
    body: bytes
    headers: dict[str, str]


@dataclass
class FakeRuntimeApi:
    """A Runtime API that serves queued events to ``/next`` and records every POST."""

    chunked_events: bool = False  # send /next bodies with Transfer-Encoding: chunked
    drop_connection_after_post: bool = False  # close silently, as an idle keep-alive timeout does
    stdout_probe: Callable[[], str] = lambda: ""
    events: queue.Queue[QueuedEvent] = field(default_factory=queue.Queue)
    posts: queue.Queue[Post] = field(default_factory=queue.Queue)
    next_calls: list[int] = field(default_factory=list)  # client port of each GET /next
    closed: threading.Event = field(default_factory=threading.Event)
    _counter: int = 0

    def __post_init__(self) -> None:
        self.server = _QuietServer(("127.0.0.1", 0), _make_request_handler(self))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        # handle_request() waits for the next connection with no timeout (serve_forever would
        # poll every 0.5 s, and shutdown() wait for that poll): close() wakes it with one
        while not self.closed.is_set():
            self.server.handle_request()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def invoke(
        self,
        event: object = None,
        *,
        body: bytes | None = None,
        deadline_ms: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> str:
        """Queue one event for ``/next`` and return its request id."""
        self._counter += 1
        request_id = f"req-{self._counter:04d}-8f0e-4bda-b1b6"
        all_headers = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms or int(time.time() * 1000) + 30_000),
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:000000000000:function:my-fn",
            "Content-Type": "application/json",
        }
        all_headers.update(headers or {})
        payload = body if body is not None else json.dumps(event).encode()
        self.events.put(QueuedEvent(request_id, payload, all_headers))
        return request_id

    def next_post(self, timeout: float = TIMEOUT) -> Post:
        try:
            return self.posts.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the bootstrap posted nothing within {timeout}s") from None

    def close(self) -> None:
        self.closed.set()
        with socket.create_connection(self.server.server_address[:2], timeout=TIMEOUT):
            pass  # the accept loop wakes up, sees closed and ends
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), "the fake Runtime API did not stop"
        self.server.server_close()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a killed bootstrap resets its connection; that is expected


def _make_request_handler(api: FakeRuntimeApi) -> type[BaseHTTPRequestHandler]:
    class RuntimeApiHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like the real Runtime API

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path != NEXT_PATH:
                self._reply(404, b"{}")
                return
            api.next_calls.append(self.client_address[1])
            while True:  # long poll until an event is queued or the server closes
                try:
                    event = api.events.get(timeout=0.2)
                    break
                except queue.Empty:
                    if api.closed.is_set():
                        self._reply(503, b"{}")
                        return
            self._reply(200, event.body, event.headers, chunked=api.chunked_events)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            api.posts.put(Post(self.path, headers, body, api.stdout_probe()))
            self._reply(202, b'{"status":"OK"}')
            if api.drop_connection_after_post:
                self.close_connection = True

        def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None, chunked: bool = False) -> None:
            self.send_response(status)
            for name, value in (headers or {"Content-Type": "application/json"}).items():
                self.send_header(name, value)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                half = len(body) // 2
                for chunk in (body[:half], body[half:]):
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

    return RuntimeApiHandler


# --------------------------------------------------------------------------- bootstrap process


@dataclass
class Bootstrap:
    """A running bootstrap process whose output goes to files."""

    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    task_root: Path

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_bytes().decode("utf-8")  # keeps the CRs of error records

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_bytes().decode("utf-8")

    def wait(self, timeout: float = TIMEOUT) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)


Launcher = Callable[..., Bootstrap]


@pytest.fixture
def api() -> Iterator[FakeRuntimeApi]:
    fake = FakeRuntimeApi()
    yield fake
    fake.close()


@pytest.fixture
def launch(api: FakeRuntimeApi, tmp_path: Path) -> Iterator[Launcher]:
    """Start the bootstrap on a task root holding ``files``; env is only what is passed here."""
    started: list[Bootstrap] = []

    def start(
        files: dict[str, str],
        handler: str = "app.handler",
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
        python_args: tuple[str, ...] = ("-S",),  # no site-packages: the bootstrap is stdlib only
    ) -> Bootstrap:
        task_root = tmp_path / "task"
        for name, source in files.items():
            path = task_root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
        task_root.mkdir(exist_ok=True)
        full_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": str(task_root),
            **FUNCTION_ENV,
            **(env or {}),
        }
        out_path, err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            process = subprocess.Popen(
                command or [PYTHON, *python_args, str(BOOTSTRAP)],
                env=full_env,
                cwd=task_root,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        bootstrap = Bootstrap(process, out_path, err_path, task_root)
        api.stdout_probe = lambda: bootstrap.stdout
        started.append(bootstrap)
        return bootstrap

    yield start
    for bootstrap in started:
        bootstrap.stop()


ECHO_CONTEXT = """
    import os

    def handler(event, context):
        return {
            "event": event,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "tenant_id": context.tenant_id,
            "client_context": context.client_context,
            "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
            "remaining": context.get_remaining_time_in_millis(),
            "trace_env": os.environ.get("_X_AMZN_TRACE_ID"),
        }
"""


def error_log(error_type: str, message: str, trace: list[str]) -> str:
    """awslambdaric's text error record: CR-separated lines, leading spaces made NBSP."""
    lines = [f"[ERROR] {error_type}: {message}", "Traceback (most recent call last):"]
    for element in trace:
        for line in element.splitlines():
            stripped = line.lstrip(" ")
            lines.append(NBSP * (len(line) - len(stripped)) + stripped)
    return "\r".join(lines) + "\n"


# --------------------------------------------------------------------------- invocations


def test_success_round_trip_posts_result_and_exposes_context(api: FakeRuntimeApi, launch: Launcher) -> None:
    bootstrap = launch({"app.py": ECHO_CONTEXT})
    deadline = int(time.time() * 1000) + 60_000
    request_id = api.invoke(
        {"key": "value", "n": [1, 2.5]},
        deadline_ms=deadline,
        headers={"Lambda-Runtime-Trace-Id": "Root=1-5e0f-abc;Parent=1;Sampled=1", "Lambda-Runtime-Aws-Tenant-Id": "t-1"},
    )

    post = api.next_post()

    assert post.path == f"/2018-06-01/runtime/invocation/{request_id}/response"
    assert post.headers["content-type"] == "application/json"
    result = post.json()
    assert isinstance(result, dict)
    assert 50_000 < result.pop("remaining") <= 60_000
    assert result == {
        "event": {"key": "value", "n": [1, 2.5]},
        "function_name": "my-fn",
        "function_version": "$LATEST",
        "invoked_function_arn": "arn:aws:lambda:us-east-1:000000000000:function:my-fn",
        "memory_limit_in_mb": "256",  # a string, straight from the environment, as awslambdaric
        "aws_request_id": request_id,
        "log_group_name": "/aws/lambda/my-fn",
        "log_stream_name": "2026/11/23/[$LATEST]0123456789abcdef",
        "tenant_id": "t-1",
        "client_context": None,
        "identity": [None, None],
        "trace_env": "Root=1-5e0f-abc;Parent=1;Sampled=1",
    }

    api.invoke({})  # no trace header this time: _X_AMZN_TRACE_ID is removed
    second = api.next_post().json()
    assert isinstance(second, dict) and second["trace_env"] is None and second["tenant_id"] is None
    assert bootstrap.process.poll() is None


def test_remaining_time_counts_down_to_the_deadline(api: FakeRuntimeApi, launch: Launcher) -> None:
    launch(
        {
            "app.py": """
                import time

                def handler(event, context):
                    first = context.get_remaining_time_in_millis()
                    time.sleep(0.05)
                    return [first, context.get_remaining_time_in_millis()]
            """
        }
    )
    api.invoke({}, deadline_ms=int(time.time() * 1000) + 10_000)
    remaining = api.next_post().json()
    assert isinstance(remaining, list) and all(isinstance(ms, int) for ms in remaining)
    first, second = remaining
    assert 8_000 < first <= 10_000
    assert 40 <= first - second < 2_000

    api.invoke({}, deadline_ms=int(time.time() * 1000) - 5_000)  # already past: never negative
    assert api.next_post().json() == [0, 0]


def test_client_context_and_cognito_identity_become_objects(api: FakeRuntimeApi, launch: Launcher) -> None:
    launch(
        {
            "app.py": """
                def handler(event, context):
                    cc, client = context.client_context, context.client_context.client
                    return {
                        "custom": cc.custom,
                        "env": cc.env,
                        "client": [client.installation_id, client.app_title, client.app_version_name,
                                   client.app_version_code, client.app_package_name],
                        "identity": [context.identity.cognito_identity_id,
                                     context.identity.cognito_identity_pool_id],
                        "w3c": context.w3c(),
                    }
            """
        }
    )
    client_context = {
        "client": {"installation_id": "inst-1", "app_title": "App", "app_package_name": "com.example"},
        "custom": {"tenant": "acme"},
        "env": {"platform": "Android"},
        "w3c": {"traceparent": "00-abc-def-01", "baggage": 7},
    }
    identity = {"cognitoIdentityId": "us-east-1:id-1", "cognitoIdentityPoolId": "us-east-1:pool-1"}
    api.invoke(
        {},
        headers={
            "Lambda-Runtime-Client-Context": json.dumps(client_context),
            "Lambda-Runtime-Cognito-Identity": json.dumps(identity),
        },
    )
    assert api.next_post().json() == {
        "custom": {"tenant": "acme"},
        "env": {"platform": "Android"},
        "client": ["inst-1", "App", None, None, "com.example"],
        "identity": ["us-east-1:id-1", "us-east-1:pool-1"],
        "w3c": {"traceparent": "00-abc-def-01"},  # only allowlisted string fields
    }


def test_unparsable_client_context_is_a_context_unmarshal_error(api: FakeRuntimeApi, launch: Launcher) -> None:
    launch({"app.py": ECHO_CONTEXT})
    request_id = api.invoke({}, headers={"Lambda-Runtime-Client-Context": "{not json"})
    post = api.next_post()
    assert post.kind == "error"
    assert post.json() == {
        "errorMessage": "Unable to parse Client Context JSON: "
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        "errorType": "Runtime.LambdaContextUnmarshalError",
        "requestId": request_id,
        "stackTrace": [],
    }


HANDLER_RAISES = """
    def inner(event):
        raise ValueError("boom: " + event["why"])

    def handler(event, context):
        return inner(event)
"""


def test_handler_exception_posts_error_and_logs_error_record(api: FakeRuntimeApi, launch: Launcher) -> None:
    bootstrap = launch({"app.py": HANDLER_RAISES})
    request_id = api.invoke({"why": "bad input"})

    post = api.next_post()

    app = str(bootstrap.task_root / "app.py")
    trace = [
        f'  File "{app}", line 6, in handler\n    return inner(event)\n',
        f'  File "{app}", line 3, in inner\n    raise ValueError("boom: " + event["why"])\n',
    ]
    assert post.path == f"/2018-06-01/runtime/invocation/{request_id}/error"
    assert post.headers["content-type"] == "application/json"
    assert post.headers["lambda-runtime-function-error-type"] == "ValueError"
    assert post.json() == {
        "errorMessage": "boom: bad input",
        "errorType": "ValueError",
        "requestId": request_id,
        "stackTrace": trace,
    }
    xray = json.loads(post.headers["lambda-runtime-function-xray-error-cause"])
    assert xray["exceptions"] == [
        {
            "message": "boom: bad input",
            "type": "ValueError",
            "stack": [{"label": "handler", "path": app, "line": 6}, {"label": "inner", "path": app, "line": 3}],
        }
    ]
    assert post.stdout == error_log("ValueError", "boom: bad input", trace)  # one record, before the POST

    api.invoke({"why": "again"})  # the runtime keeps serving after a handler error
    assert api.next_post().kind == "error"
    assert bootstrap.process.poll() is None


def test_unmarshal_error_for_an_empty_body(api: FakeRuntimeApi, launch: Launcher) -> None:
    launch({"app.py": ECHO_CONTEXT})
    request_id = api.invoke(body=b"")
    post = api.next_post()
    assert post.headers["lambda-runtime-function-error-type"] == "Runtime.UnmarshalError"
    assert post.json() == {
        "errorMessage": "Unable to unmarshal input: Expecting value: line 1 column 1 (char 0)",
        "errorType": "Runtime.UnmarshalError",
        "requestId": request_id,
        "stackTrace": [],
    }


def test_non_serializable_result_is_a_marshal_error(api: FakeRuntimeApi, launch: Launcher) -> None:
    bootstrap = launch({"app.py": "def handler(event, context):\n    return {'s': {1, 2}}\n"})
    request_id = api.invoke({})
    post = api.next_post()
    message = "Unable to marshal response: Object of type set is not JSON serializable"
    assert post.kind == "error"
    assert post.headers["lambda-runtime-function-error-type"] == "Runtime.MarshalError"
    assert post.json() == {
        "errorMessage": message,
        "errorType": "Runtime.MarshalError",
        "requestId": request_id,
        "stackTrace": [],
    }
    xray = json.loads(post.headers["lambda-runtime-function-xray-error-cause"])
    assert xray["exceptions"] == [{"message": message, "type": "LambdaValidationError", "stack": []}]
    assert bootstrap.stdout == error_log("Runtime.MarshalError", message, [])


def test_decimals_are_written_as_their_literal_text(api: FakeRuntimeApi, launch: Launcher) -> None:
    launch(
        {
            "app.py": """
                from decimal import Decimal

                def handler(event, context):
                    return {"price": Decimal("1.10"), "big": Decimal("1E+2"), "n": Decimal(3),
                            "odd": [Decimal("NaN"), Decimal("-0"), Decimal("-Infinity")],
                            "raw": b"bytes", "float": 0.5}
            """
        }
    )
    api.invoke({})
    post = api.next_post()
    assert post.body == (
        b'{"price": 1.10, "big": 1E+2, "n": 3, "odd": [NaN, -0, -Infinity], "raw": "bytes", "float": 0.5}'
    )


def test_decimal_encoding_matches_awslambdaric(api: FakeRuntimeApi, launch: Launcher) -> None:
    marshaller = pytest.importorskip("awslambdaric.lambda_runtime_marshaller").LambdaMarshaller()
    launch(
        {
            "app.py": """
                from decimal import Decimal

                def value():
                    return {"a": [Decimal("0.000001"), Decimal("-12.3400"), Decimal("7E-10"), Decimal("sNaN")],
                            "é": "ü", "nested": {"b": b"x", "t": (1, Decimal("2.5"))}}

                def handler(event, context):
                    return value()
            """
        }
    )
    api.invoke({})
    expected = {
        "a": [Decimal("0.000001"), Decimal("-12.3400"), Decimal("7E-10"), Decimal("sNaN")],
        "é": "ü",
        "nested": {"b": b"x", "t": (1, Decimal("2.5"))},
    }
    assert api.next_post().body.decode() == marshaller.marshal_response(expected)[0]


@pytest.mark.parametrize(
    ("execution_env", "expected"),
    [("AWS_Lambda_python3.11", b'"caf\\u00e9"'), ("AWS_Lambda_python3.12", '"café"'.encode())],
)
def test_non_ascii_output_follows_awslambdaric_per_runtime(
    api: FakeRuntimeApi, launch: Launcher, execution_env: str, expected: bytes
) -> None:
    launch({"app.py": "def handler(event, context):\n    return 'caf\\u00e9'\n"}, env={"AWS_EXECUTION_ENV": execution_env})
    api.invoke({})
    assert api.next_post().body == expected


def test_bytes_result_is_posted_raw(api: FakeRuntimeApi, launch: Launcher) -> None:
    launch({"app.py": "def handler(event, context):\n    return b'\\x00raw'\n"})
    api.invoke({})
    post = api.next_post()
    assert post.kind == "response"
    assert (post.headers["content-type"], post.body) == ("application/unknown", b"\x00raw")


def test_module_is_imported_once_and_state_survives_invocations(api: FakeRuntimeApi, launch: Launcher) -> None:
    bootstrap = launch(
        {
            "app.py": """
                print("importing app")
                calls = []

                def handler(event, context):
                    calls.append(event)
                    return len(calls)
            """
        }
    )
    results = []
    for n in range(3):
        api.invoke({"n": n})
        results.append(api.next_post().json())
    assert results == [1, 2, 3]
    assert bootstrap.stdout.count("importing app") == 1
    assert len(set(api.next_calls)) == 1  # one keep-alive connection for every request


def test_print_and_stderr_are_written_before_the_result_is_posted(api: FakeRuntimeApi, launch: Launcher) -> None:
    bootstrap = launch(
        {
            "app.py": """
                import sys

                def handler(event, context):
                    print("hello", "from print")
                    print("partial line", end="")
                    sys.stderr.write("to stderr\\n")
                    return "ok"
            """
        }
    )
    api.invoke({})
    post = api.next_post()
    assert post.json() == "ok"
    assert post.stdout == "hello from print\npartial line"  # unchanged, flushed before the POST
    assert bootstrap.stderr == "to stderr\n"


LOGGING_APP = """
    import logging

    logger = logging.getLogger("app")

    def handler(event, context):
        logger.debug("debug %s", 1)
        logger.info("info %s", 2)
        logger.warning("warning %s", 3)
        return "ok"
"""


def test_logging_uses_the_lambda_text_format_with_the_request_id(api: FakeRuntimeApi, launch: Launcher) -> None:
    launch({"app.py": LOGGING_APP})
    request_id = api.invoke({})
    stdout = api.next_post().stdout
    # The root level stays Python's WARNING unless AWS_LAMBDA_LOG_LEVEL says otherwise (awslambdaric).
    assert re.fullmatch(TEXT_LOG_LINE.format(level="WARNING", request_id=request_id, message="warning 3"), stdout)
    stamp = time.strptime(stdout.split("\t")[1][:19], "%Y-%m-%dT%H:%M:%S")
    assert abs(time.mktime(stamp) - time.mktime(time.gmtime())) < 120  # UTC


def test_log_level_comes_from_aws_lambda_log_level(api: FakeRuntimeApi, launch: Launcher) -> None:
    launch({"app.py": LOGGING_APP}, env={"AWS_LAMBDA_LOG_LEVEL": "INFO"})
    request_id = api.invoke({})
    stdout = api.next_post().stdout
    expected = "".join(
        TEXT_LOG_LINE.format(level=level, request_id=request_id, message=message)
        for level, message in (("INFO", "info 2"), ("WARNING", "warning 3"))
    )
    assert re.fullmatch(expected, stdout)


def test_json_log_format(api: FakeRuntimeApi, launch: Launcher) -> None:
    launch(
        {
            "app.py": """
                import logging

                def handler(event, context):
                    logging.getLogger("app").warning("careful %s", "now", extra={"order": 7})
                    raise KeyError("k")
            """
        },
        env={"AWS_LAMBDA_LOG_FORMAT": "JSON"},
    )
    request_id = api.invoke({})
    post = api.next_post()
    log_line, error_line = post.stdout.splitlines()
    record = json.loads(log_line)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record.pop("timestamp"))
    assert record == {"level": "WARNING", "message": "careful now", "logger": "app", "requestId": request_id, "order": 7}
    error = json.loads(error_line)
    assert error.pop("timestamp")
    assert error == {"level": "ERROR", **post.json()}  # type: ignore[dict-item]
    assert error["errorType"] == "KeyError" and error["errorMessage"] == "'k'"


def test_sys_exit_in_the_handler_ends_the_process_with_its_status(api: FakeRuntimeApi, launch: Launcher) -> None:
    # awslambdaric only catches Exception: SystemExit propagates and nothing is posted.
    bootstrap = launch({"app.py": "import sys\n\ndef handler(event, context):\n    sys.exit(3)\n"})
    api.invoke({})
    assert bootstrap.wait() == 3
    assert api.posts.empty()


# --------------------------------------------------------------------------- init errors


def assert_init_error(api: FakeRuntimeApi, bootstrap: Bootstrap, error_type: str, message: str, trace: list[str]) -> None:
    """The init error is posted once to /init/error, logged, and the process exits with 1."""
    post = api.next_post()
    assert post.path == "/2018-06-01/runtime/init/error"
    assert post.headers["lambda-runtime-function-error-type"] == error_type
    assert post.json() == {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": trace}
    warning, error = post.stdout.split("\r\n", 1)
    assert re.fullmatch(TEXT_LOG_LINE.format(level="WARNING", request_id="", message="LAMBDA_WARNING: .*")[:-2], warning)
    assert "Unhandled exception. The most likely cause is an issue in the function code." in warning
    assert error == error_log(error_type, message, trace)
    assert bootstrap.wait() == 1
    assert api.next_calls == []


def test_import_error(api: FakeRuntimeApi, launch: Launcher) -> None:
    bootstrap = launch({"app.py": "import not_installed_dependency\n"})
    assert_init_error(
        api,
        bootstrap,
        "Runtime.ImportModuleError",
        "Unable to import module 'app': No module named 'not_installed_dependency'",
        [],
    )


def syntax_error_of(source: str, path: str) -> tuple[str, int, str]:
    """str(), lineno and text of the SyntaxError that the bootstrap's interpreter raises for source."""
    probe = "import json,sys\ntry: compile(sys.argv[1], sys.argv[2], 'exec')\nexcept SyntaxError as e: print(json.dumps([str(e), e.lineno, e.text]))"
    output = subprocess.run([PYTHON, "-S", "-c", probe, source, path], capture_output=True, check=True, text=True)
    message, lineno, text = json.loads(output.stdout)
    return message, lineno, text


def test_syntax_error(api: FakeRuntimeApi, launch: Launcher) -> None:
    source = "def handler(event, context)\n    return 1\n"
    bootstrap = launch({"app.py": source})
    path = str(bootstrap.task_root / "app.py")
    message, lineno, text = syntax_error_of(source, path)
    assert_init_error(
        api,
        bootstrap,
        "Runtime.UserCodeSyntaxError",
        f"Syntax error in module 'app': {message}",
        [f'  File "{path}" Line {lineno}\n    {text}'],
    )


def test_handler_not_found(api: FakeRuntimeApi, launch: Launcher) -> None:
    bootstrap = launch({"app.py": "def handler(event, context):\n    return 1\n"}, handler="app.missing")
    assert_init_error(api, bootstrap, "Runtime.HandlerNotFound", "Handler 'missing' missing on module 'app'", [])


def test_malformed_handler_name(api: FakeRuntimeApi, launch: Launcher) -> None:
    bootstrap = launch({"app.py": ""}, handler="app")
    assert_init_error(
        api,
        bootstrap,
        "Runtime.MalformedHandlerName",
        "Bad handler 'app': not enough values to unpack (expected 2, got 1)",
        [],
    )


def test_exception_at_import_reports_its_own_type(api: FakeRuntimeApi, launch: Launcher) -> None:
    bootstrap = launch({"app.py": "\nraise RuntimeError('no config')\n"})
    post = api.next_post()
    body = post.json()
    assert isinstance(body, dict)
    assert (post.kind, body["errorType"], body["errorMessage"]) == ("init-error", "RuntimeError", "no config")
    # The bootstrap's own frames are dropped; importlib's and the module's remain, as on AWS.
    assert "importlib" in body["stackTrace"][0]
    assert body["stackTrace"][-1] == '  File "{}", line 2, in <module>\n    raise RuntimeError(\'no config\')\n'.format(
        bootstrap.task_root / "app.py"
    )
    assert bootstrap.wait() == 1


def test_handler_in_a_nested_path_and_argv_handler(api: FakeRuntimeApi, launch: Launcher) -> None:
    files = {"src/pkg/mod.py": "def handle(event, context):\n    return 'nested'\n"}
    launch(files, handler="ignored.when_argv_is_given", command=[PYTHON, "-S", str(BOOTSTRAP), "src/pkg/mod.handle"])
    api.invoke({})
    assert api.next_post().json() == "nested"


# --------------------------------------------------------------------------- Runtime API connection


def test_reconnects_when_the_server_drops_an_idle_keep_alive_connection(api: FakeRuntimeApi, launch: Launcher) -> None:
    api.drop_connection_after_post = True
    launch({"app.py": "def handler(event, context):\n    return event\n"})
    for n in range(3):
        api.invoke(n)
        assert api.next_post().json() == n
    # a fresh connection after each drop: every /next came on its own connection (the fourth
    # /next, for the invocation after these, may or may not have arrived yet)
    calls = list(api.next_calls)
    assert len(calls) >= 3 and len(set(calls)) == len(calls), calls


def test_chunked_event_body(api: FakeRuntimeApi, launch: Launcher) -> None:
    api.chunked_events = True
    launch({"app.py": "def handler(event, context):\n    return event\n"})
    api.invoke({"chunked": "x" * 5000})
    assert api.next_post().json() == {"chunked": "x" * 5000}


def test_exits_non_zero_when_the_runtime_api_is_unreachable(launch: Launcher) -> None:
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bootstrap = launch({"app.py": "def handler(event, context):\n    return 1\n"}, env={"AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}"})
    assert bootstrap.wait() == 1
    assert bootstrap.stderr.startswith(f"cloudmicro runtime: cannot reach the Runtime API at 127.0.0.1:{port}")


# --------------------------------------------------------------------------- parity with awslambdaric

PARITY_SCENARIOS = {
    "handler-exception": (
        {"app.py": textwrap.dedent(HANDLER_RAISES) + "import logging\nlogging.getLogger().warning('at %s', 'import')\n"},
        "app.handler",
        {},
        {"why": "parity"},
    ),
    "success-with-output": (
        {
            "app.py": """
                import logging
                from decimal import Decimal

                def handler(event, context):
                    print("printed")
                    logging.getLogger("x").info("info %d", 1)
                    logging.getLogger().error("error")
                    return {"d": Decimal("1.50"), "l": [1, None, True], "s": "caf\u00e9"}
            """
        },
        "app.handler",
        {"AWS_LAMBDA_LOG_LEVEL": "debug"},
        {},
    ),
    "json-log-format": (
        {"app.py": "import logging\ndef handler(e, c):\n    logging.warning('w', extra={'k': 1})\n    raise KeyError('k')\n"},
        "app.handler",
        {"AWS_LAMBDA_LOG_FORMAT": "JSON"},
        {},
    ),
    "marshal-error": ({"app.py": "def handler(e, c):\n    return object()\n"}, "app.handler", {}, {}),
    "unmarshal-error": ({"app.py": "def handler(e, c):\n    return e\n"}, "app.handler", {}, b"[1,"),
    "import-error": ({"app.py": "import not_installed_dependency\n"}, "app.handler", {}, {}),
    "syntax-error": ({"app.py": "def handler(e, c)\n    return 1\n"}, "app.handler", {}, {}),
    "exception-at-import": ({"app.py": "x = {}\nx['missing']\n"}, "app.handler", {}, {}),
    "handler-not-found": ({"app.py": ""}, "app.nope", {}, {}),
    "malformed-handler": ({"app.py": ""}, "app", {}, {}),
    "nested-module": ({"a/b.py": "def h(e, c):\n    return 'ok'\n"}, "a/b.h", {}, {}),
}


@pytest.mark.parametrize("scenario", sorted(PARITY_SCENARIOS))
def test_behaves_like_awslambdaric(api: FakeRuntimeApi, launch: Launcher, scenario: str) -> None:
    """The same function under awslambdaric and under the bootstrap: same post, body and stdout."""
    pytest.importorskip("awslambdaric")
    files, handler, env, event = PARITY_SCENARIOS[scenario]
    outputs = []
    for command in ([sys.executable, "-m", "awslambdaric", handler], None):
        bootstrap = launch(files, handler=handler, env=env, command=command)
        request_id = api.invoke(body=event) if isinstance(event, bytes) else api.invoke(event)
        post = api.next_post()
        bootstrap.stop()
        while not api.events.empty():  # an init error leaves the event unread
            api.events.get()
        body = post.json() if post.body[:1] == b"{" else post.body
        if isinstance(body, dict) and body.get("requestId"):
            assert body.pop("requestId") == request_id
        stdout = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", "TIME", post.stdout)
        outputs.append((post.kind, post.headers.get("content-type"), body, stdout.replace(request_id, "REQUEST")))
    awslambdaric_output, bootstrap_output = outputs
    assert bootstrap_output == awslambdaric_output
