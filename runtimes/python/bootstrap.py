"""Cloudmicro's in-container Python runtime: a stdlib-only twin of AWS's awslambdaric.

The container runs ``python3 /var/runtime/bootstrap.py [HANDLER]``. This file talks to the
Lambda Runtime API served by the Cloudmicro platform at ``$AWS_LAMBDA_RUNTIME_API`` and
behaves like awslambdaric 4.2.2 (``awslambdaric/bootstrap.py`` and its helper modules), the
runtime interface client inside AWS's managed Python runtimes:

* Start-up: wrap stdout/stderr so every write is flushed at once; install the root logging
  handler (text ``[LEVEL]\\t<UTC time>.mmmZ\\t<request id>\\t<message>`` on stdout, or JSON
  lines when ``AWS_LAMBDA_LOG_FORMAT=JSON``; root level from ``AWS_LAMBDA_LOG_LEVEL``, else
  Python's default WARNING, as in awslambdaric); set sys.path as AWS's Python runtimes do (their
  ``/var/runtime/bootstrap.py``): ``$LAMBDA_TASK_ROOT`` first, then, unless ``PYTHONPATH`` is
  set, the layer folders ``/opt/python/lib/pythonX.Y/site-packages`` and ``/opt/python``, with
  ``.pth`` files in them processed (``site.addsitedir``).  Cloudmicro's additions: the packages
  installed from the function's requirements.txt (``_CLOUDMICRO_PACKAGES``) come right after the
  task root, where ``pip install -t`` puts them in a deployment package, and ``_CLOUDMICRO_OPT``
  stands for ``/opt`` (the process executor's merged layers; empty: no layers).  Both variables
  are removed from the environment before the handler is imported.
* Init: import the handler named by argv[1] or ``$_HANDLER`` (``path/to/module.function``).
  On failure, as awslambdaric 4.2.2 does (no per-invoke fault handler): log a LAMBDA_WARNING
  and the ``[ERROR]`` record, POST ``/runtime/init/error`` once (header
  ``Lambda-Runtime-Function-Error-Type: <errorType>``, ``requestId`` ""), exit with status 1.
* Loop: long-poll ``GET /runtime/invocation/next``, build the context from the headers, decode
  the JSON event, call ``handler(event, context)``, then POST ``/response`` with the JSON result
  or ``/error`` with ``{"errorMessage", "errorType", "requestId", "stackTrace"}``.  Output is
  flushed before every POST because the platform reads the process's stdout/stderr pipes and
  relies on an invocation's output preceding its result.
* Only ``Exception`` is caught around the handler: ``SystemExit`` (``sys.exit(3)``),
  ``KeyboardInterrupt`` and ``os._exit`` end the process with their own status and nothing is
  posted, exactly like awslambdaric; the platform notices the exit.

Deliberate differences from awslambdaric (which uses a C++/libcurl client and simplejson):

* HTTP is a small keep-alive HTTP/1.1 client on one ``socket`` (Content-Length and chunked
  bodies).  ``http.client`` would cost about 17 ms of cold start because it imports ``ssl`` and
  ``email``.  A request that fails before any response byte on a reused connection (the server
  closed an idle keep-alive connection) is retried at once on a new one; connection failures are
  retried with a short backoff (about 0.75 s in all), then the runtime exits with status 1 and a
  one-line message on stderr.  A non-2xx answer to ``/next`` also exits with status 1; a non-2xx
  answer to a POST is reported on stderr and the loop goes on.
* ``/error`` posts also carry ``Lambda-Runtime-Function-Error-Type: <errorType>`` (awslambdaric
  sends it only on ``/init/error``; AWS's Node.js client sends it on ``/error`` too), next to
  awslambdaric's ``Lambda-Runtime-Function-XRay-Error-Cause`` header.
* JSON is stdlib ``json``, emulating awslambdaric's simplejson settings: ``decimal.Decimal`` is
  written as its literal text (``Decimal("1.10")`` -> ``1.10``, NaN -> ``NaN``), nested ``bytes``
  are decoded as UTF-8, ``ensure_ascii`` is off only for ``AWS_EXECUTION_ENV`` python3.12+ (as
  in awslambdaric), and a UTF-8 BOM before the event is ignored.  Unlike simplejson, named tuples
  become JSON arrays and ``bytes`` dict keys are rejected.
* A ``/next`` answer without ``Content-Type`` is decoded as JSON (awslambdaric would pass the
  raw bytes); any other type than ``application/json`` passes the raw bytes, as awslambdaric.
* Not implemented: the ``_LAMBDA_TELEMETRY_LOG_FD`` framed log sink, SnapStart hooks,
  multi-concurrency (``AWS_LAMBDA_MAX_CONCURRENCY``), the preview-runtime warning.

Cold start is kept short: only json, logging, os, socket, sys and time are imported up front;
traceback and importlib are imported when first needed, decimal never (a Decimal result means
the function imported it); an ASCII Runtime API host is resolved as bytes to skip the idna codec.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time; type checkers still see these names.
    from collections.abc import Iterable
    from typing import Any, BinaryIO, Callable, NoReturn, Optional, TextIO

    Handler = Callable[[Any, "LambdaContext"], Any]
    ErrorResult = dict[str, Any]
    FrameTuple = tuple[str, int, str, Optional[str]]
    Headers = dict[str, str]

RUNTIME_PATH = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
#: Cloudmicro's hot reload: a /next answered with this header asks the runtime to start afresh
#: (the same process image, the environment it started with) to load the function's new code
RESTART_HEADER = "lambda-runtime-cloudmicro-restart"
#: the environment the runtime started with (set_default_sys_path removes Cloudmicro's variables,
#: and a handler may change others): a restart runs with this one
START_ENVIRON = dict(os.environ)
XRAY_ERROR_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"
XRAY_ERROR_CAUSE_MAX_BYTES = 1024 * 1024  # awslambdaric drops larger X-Ray causes
ERROR_LOG_LINE_TERMINATE = "\r"
ERROR_LOG_INDENT = "\u00a0"  # NO-BREAK SPACE, as awslambdaric
TEXT_LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
TEXT_LOG_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
JSON_LOG_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # awslambdaric 4.2.2 _DATETIME_FORMAT
JSON_LOG_RESERVED_FIELDS = frozenset(
    {
        "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module",
        "exc_info", "exc_text", "stack_info", "lineno", "funcName", "created", "msecs",
        "relativeCreated", "thread", "threadName", "processName", "process",
        "aws_request_id", "tenant_id", "_frame_type",
    }
)
UNICODE_OUTPUT_EXECUTION_ENVS = frozenset(
    {"AWS_Lambda_python3.12", "AWS_Lambda_python3.13", "AWS_Lambda_python3.14", "AWS_Lambda_python3.15"}
)
UNHANDLED_INIT_WARNING = (
    "LAMBDA_WARNING: "
    "Unhandled exception. "
    "The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. "
    "To determine if the runtime has been updated, check the runtime version in the INIT_START log entry. "
    "If this error correlates with a change in the runtime version, you may be able to mitigate this error "
    "by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)
CONNECT_TIMEOUT_S = 2.0
CONNECT_ATTEMPTS = 5
CONNECT_BACKOFF_S = 0.05  # doubled after each failure: 0.05 + 0.1 + 0.2 + 0.4 s
MAX_HTTP_LINE = 65536
EXIT_INIT_ERROR = 1
EXIT_RUNTIME_API_ERROR = 1

# Request and tenant ids of the invocation in progress, read by the logging filter.
_current_request_id: str | None = None
_current_tenant_id: str | None = None


# --------------------------------------------------------------------------- errors


class FaultException(Exception):
    """A runtime-detected fault, reported with a ``Runtime.*`` error type (as awslambdaric)."""

    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

    def __init__(self, exception_type: str, msg: str, trace: list[str] | None = None) -> None:
        super().__init__(msg)
        self.exception_type = exception_type
        self.msg = msg
        self.trace = trace


class RestartRequested(Exception):
    """The platform asked for a fresh start (hot reload), in answer to /next."""


class RuntimeApiError(Exception):
    """The Runtime API is unreachable or answered something this runtime cannot go on with."""


def make_error(
    message: str | None, error_type: str | None, stack_trace: list[str] | None, request_id: str | None = None
) -> ErrorResult:
    """The error document posted to the Runtime API and logged, key for key as awslambdaric."""
    return {
        "errorMessage": message if message else "",
        "errorType": error_type if error_type else "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def user_frames(exc: BaseException) -> list[FrameTuple]:
    """The exception's traceback frames, minus the leading frames of this bootstrap file."""
    import traceback

    frames = [(f.filename, f.lineno or 0, f.name, f.line) for f in traceback.extract_tb(exc.__traceback__)]
    for index, frame in enumerate(frames):
        if "/bootstrap.py" not in frame[0]:
            return frames[index:]
    return frames


def format_frames(frames: list[FrameTuple]) -> list[str]:
    """``traceback.format_list`` of plain tuples: ``'  File "f.py", line 3, in h\\n    code\\n'``."""
    import traceback

    return traceback.format_list(frames)


def error_from_exception(exc: BaseException, request_id: str | None = None) -> tuple[ErrorResult, dict[str, Any]]:
    """Error document and X-Ray cause for an exception raised by user code."""
    frames = user_frames(exc)
    error = make_error(str(exc), type(exc).__name__, format_frames(frames), request_id)
    return error, make_xray_fault(type(exc).__name__, str(exc), frames)


def make_xray_fault(error_type: str, message: str, frames: list[FrameTuple]) -> dict[str, Any]:
    """The X-Ray error cause that awslambdaric sends in a header with every ``/error`` post."""
    try:
        working_directory = os.getcwd()
    except OSError:
        working_directory = ""
    stack = [{"label": name, "path": path, "line": line} for path, line, name, _code in frames]
    return {
        "working_directory": working_directory,
        "exceptions": [{"message": message, "type": error_type, "stack": stack}],
        "paths": list({path for path, _line, _name, _code in frames}),
    }


# --------------------------------------------------------------------------- JSON


def _ensure_ascii() -> bool:
    return os.environ.get("AWS_EXECUTION_ENV") not in UNICODE_OUTPUT_EXECUTION_ENVS


class _RawNumbers:
    """Writes ``Decimal`` values as their literal text, as simplejson's ``RawJSON`` does.

    The C encoder cannot emit raw text, so each Decimal is first encoded as a string holding a
    random per-process token and its index, and those strings are then replaced by the number.
    """

    _token = ""

    def __init__(self) -> None:
        self.values: list[str] = []

    def placeholder(self, text: str) -> str:
        if not _RawNumbers._token:
            _RawNumbers._token = "\x1fcloudmicro-raw-" + os.urandom(12).hex() + "-"
        self.values.append(text)
        return _RawNumbers._token + str(len(self.values) - 1)

    def substitute(self, encoded: str) -> str:
        if not self.values:
            return encoded
        import re

        quoted_token = json.dumps(_RawNumbers._token, ensure_ascii=True)[:-1]  # '"\\u001fcloudmicro-raw-...-'
        pattern = re.compile(re.escape(quoted_token) + r'(\d+)"')
        return pattern.sub(lambda match: self.values[int(match.group(1))], encoded)


def to_json(value: Any) -> str:
    """Serialize like awslambdaric's ``to_json`` (simplejson with its Decimal handling)."""
    raw = _RawNumbers()

    def default(obj: Any) -> Any:
        decimal = sys.modules.get("decimal")  # a Decimal exists only once decimal was imported
        if decimal is not None and isinstance(obj, decimal.Decimal):
            return float("nan") if obj.is_nan() else raw.placeholder(str(obj))
        if isinstance(obj, bytes):
            return obj.decode("utf-8")
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    encoder = json.JSONEncoder(ensure_ascii=_ensure_ascii(), allow_nan=True, default=default)
    return raw.substitute(encoder.encode(value))


def marshal_response(result: Any) -> tuple[bytes, str]:
    """Body and content type of a handler's result; bytes are passed through as awslambdaric."""
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        return to_json(result).encode("utf-8"), "application/json"
    except Exception as exc:
        raise FaultException(FaultException.MARSHAL_ERROR, f"Unable to marshal response: {exc}")


def unmarshal_event(body: bytes, content_type: str | None) -> Any:
    """The event: JSON-decoded (BOM tolerated, as simplejson), or raw bytes for other types."""
    if content_type is not None and content_type != "application/json":
        return body
    try:
        text = body.decode("utf-8")
        if text.startswith("\ufeff"):
            text = text[1:]
        return json.loads(text)
    except Exception as exc:
        raise FaultException(FaultException.UNMARSHAL_ERROR, f"Unable to unmarshal input: {exc}")


def parse_json_header(value: str, name: str) -> Any:
    try:
        return json.loads(value)
    except Exception as exc:
        raise FaultException(
            FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR, f"Unable to parse {name} JSON: {exc}"
        )


# --------------------------------------------------------------------------- output and logging


class _Unbuffered:
    """Flushes after every write, like awslambdaric's wrapper of sys.stdout and sys.stderr."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __enter__(self) -> _Unbuffered:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def write(self, text: str) -> int:
        written = self.stream.write(text)
        self.stream.flush()
        return written

    def writelines(self, lines: Iterable[str]) -> None:
        self.stream.writelines(lines)
        self.stream.flush()


def make_output_unbuffered() -> None:
    sys.stdout = _Unbuffered(sys.stdout)
    sys.stderr = _Unbuffered(sys.stderr)


def flush_output() -> None:
    """Push everything written so far into the pipes, before the result is posted."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # a closed or odd stream set by user code must not fail the invoke
            pass


def write_log(text: str) -> None:
    """One write of a log record to stdout (awslambdaric's StandardLogSink)."""
    sys.stdout.write(text)


def replace_line_indentation(line: str, indent_char: str, new_indent_char: str) -> str:
    stripped = line.lstrip(indent_char)
    return new_indent_char * (len(line) - len(stripped)) + stripped


def format_error_text(error: ErrorResult) -> str:
    """``[ERROR] Type: message`` and the traceback, lines joined by CR, indents made NBSP."""
    description = "[ERROR]"
    if error.get("errorType"):
        description += " " + error["errorType"]
    if error.get("errorMessage"):
        if error.get("errorType"):
            description += ":"
        description += " " + error["errorMessage"]
    lines = [description]
    stack_trace = error.get("stackTrace")
    if stack_trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack_trace:
            if element == "":
                lines.append("")
            else:
                lines.extend(replace_line_indentation(line, " ", ERROR_LOG_INDENT) for line in element.splitlines())
    return ERROR_LOG_LINE_TERMINATE.join(lines) + "\n"


def format_error_json(error: ErrorResult) -> str:
    timestamp = time.strftime(JSON_LOG_DATE_FORMAT, time.gmtime(time.time()))
    return to_json({"timestamp": timestamp, "level": "ERROR", **error}) + "\n"


def log_error(error: ErrorResult, json_format: bool) -> None:
    write_log(format_error_json(error) if json_format else format_error_text(error))


class LambdaLogFilter(logging.Filter):
    """Adds the current request (and tenant) id to every record, as ``aws_request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _current_request_id or ""
        record.tenant_id = _current_tenant_id
        return True


class LambdaLogHandler(logging.Handler):
    """Writes formatted records to stdout; like awslambdaric, errors raised while formatting
    reach the caller."""

    def emit(self, record: logging.LogRecord) -> None:
        write_log(self.format(record))


def _normalized_level(record: logging.LogRecord) -> int:
    return min(50, max(0, record.levelno)) // 10 * 10


class JsonLogFormatter(logging.Formatter):
    """awslambdaric 4.2.2's ``JsonFormatter`` (``AWS_LAMBDA_LOG_FORMAT=JSON``)."""

    _encode = json.JSONEncoder(ensure_ascii=False, default=str).encode

    def __init__(self) -> None:
        super().__init__(datefmt=JSON_LOG_DATE_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.levelno = _normalized_level(record)
        record.levelname = logging.getLevelName(record.levelno)
        exc_info = record.exc_info
        message = record.msg if isinstance(record.msg, dict) and not record.args else record.getMessage()
        result: dict[str, Any] = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": record.levelname,
            "message": message,
            "logger": record.name,
            "stackTrace": _format_tb(exc_info[2]) if exc_info else None,
            "errorType": exc_info[0].__name__ if exc_info and exc_info[0] else None,
            "errorMessage": str(exc_info[1]) if exc_info else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": f"{record.pathname}:{record.funcName}:{record.lineno}" if exc_info else None,
        }
        tenant_id = getattr(record, "tenant_id", None)
        if tenant_id is not None:
            result["tenantId"] = tenant_id
        result.update(
            (key, value)
            for key, value in record.__dict__.items()
            if key not in JSON_LOG_RESERVED_FIELDS and key not in result
        )
        return self._encode({key: value for key, value in result.items() if value is not None}) + "\n"


def _format_tb(tb: Any) -> list[str]:
    import traceback

    return traceback.format_tb(tb)


def log_level_from_env(value: str | None) -> str:
    """awslambdaric's mapping of ``AWS_LAMBDA_LOG_LEVEL`` (TRACE means DEBUG)."""
    return {None: "", "TRACE": "DEBUG"}.get(value, value or "").upper()


def setup_logging(json_format: bool, log_level: str) -> None:
    """Install the root handler; the root level is only set when the level name is known."""
    logging.Formatter.converter = time.gmtime
    handler = LambdaLogHandler()
    if json_format:
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_LOG_FORMAT, TEXT_LOG_DATE_FORMAT))
    root = logging.getLogger()
    if log_level in logging._nameToLevel:
        root.setLevel(log_level)
    handler.addFilter(LambdaLogFilter())
    root.addHandler(handler)


# --------------------------------------------------------------------------- context


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")
    cognito_identity_id: str | None
    cognito_identity_pool_id: str | None

    def __repr__(self) -> str:
        return (f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
                f"cognito_identity_pool_id={self.cognito_identity_pool_id}])")


class Client:
    __slots__ = ("app_package_name", "app_title", "app_version_code", "app_version_name", "installation_id")
    installation_id: str | None
    app_title: str | None
    app_version_name: str | None
    app_version_code: str | None
    app_package_name: str | None

    def __repr__(self) -> str:
        return (
            f"Client([installation_id={self.installation_id},app_title={self.app_title},app_version_name={self.app_version_name},app_version_code={self.app_version_code},"
            f"app_package_name={self.app_package_name}])"
        )


class ClientContext:
    __slots__ = ("client", "custom", "env")
    custom: dict[str, Any] | None
    env: dict[str, Any] | None
    client: Any  # a Client once built from the dict

    def __repr__(self) -> str:
        return f"ClientContext([custom={self.custom},env={self.env},client={self.client}])"


def make_obj_from_dict(cls: Any, data: dict[str, Any] | None) -> Any:
    """An instance of ``cls`` with each slot taken from ``data`` (None when absent)."""
    if data is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, data.get(field, None))
    return obj


W3C_ALLOWED_FIELDS = ("traceparent", "tracestate", "baggage")


class LambdaContext:
    """The handler's ``context``, attribute for attribute as awslambdaric's ``LambdaContext``."""

    def __init__(
        self,
        invoke_id: str | None,
        client_context: dict[str, Any] | None,
        cognito_identity: dict[str, Any] | None,
        epoch_deadline_time_in_ms: int,
        invoked_function_arn: str | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.aws_request_id = invoke_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self._w3c_fields = self._extract_and_strip_w3c(client_context)
        self.client_context = make_obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = make_obj_from_dict(Client, self.client_context.client)
        self.identity = make_obj_from_dict(CognitoIdentity, {})
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self) -> int:
        delta_ms = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return delta_ms if delta_ms > 0 else 0

    def w3c(self) -> dict[str, str]:
        """The W3C trace-context fields that came in ``clientContext.w3c``."""
        return dict(self._w3c_fields)

    @staticmethod
    def _extract_and_strip_w3c(client_context: Any) -> dict[str, str]:
        if not isinstance(client_context, dict) or "w3c" not in client_context:
            return {}
        raw = client_context.pop("w3c")
        if not isinstance(raw, dict):
            return {}
        return {key: raw[key] for key in W3C_ALLOWED_FIELDS if isinstance(raw.get(key), str)}

    def log(self, msg: Any) -> None:
        write_log(str(msg))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},invoked_function_arn={self.invoked_function_arn},client_context={self.client_context},"
            f"identity={self.identity},tenant_id={self.tenant_id}])"
        )


# --------------------------------------------------------------------------- Runtime API client


class Invocation:
    """One event from ``GET /invocation/next``."""

    __slots__ = (
        "body",
        "client_context",
        "cognito_identity",
        "content_type",
        "deadline_ms",
        "function_arn",
        "request_id",
        "tenant_id",
        "trace_id",
    )

    def __init__(self, headers: Headers, body: bytes) -> None:
        self.request_id = headers["lambda-runtime-aws-request-id"]
        self.body = body
        self.content_type = headers.get("content-type") or None
        self.deadline_ms = _parse_int(headers.get("lambda-runtime-deadline-ms"))
        self.function_arn = headers.get("lambda-runtime-invoked-function-arn", "")
        self.trace_id = headers.get("lambda-runtime-trace-id") or None
        self.client_context = headers.get("lambda-runtime-client-context") or None
        self.cognito_identity = headers.get("lambda-runtime-cognito-identity") or None
        self.tenant_id = headers.get("lambda-runtime-aws-tenant-id") or None


def _parse_int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` -> (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise RuntimeApiError(f"AWS_LAMBDA_RUNTIME_API must be host:port, got {address!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


class _NoResponse(Exception):
    """The server closed the connection or sent something that is not an HTTP response."""


class RuntimeApiClient:
    """Blocking HTTP/1.1 client of the Runtime API over one persistent keep-alive connection."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._endpoint = parse_address(address)
        self._sock: socket.socket | None = None
        self._reader: BinaryIO | None = None
        self._user_agent = "aws-lambda-python/{}.{}.{}-cloudmicro".format(*sys.version_info[:3])

    def next_invocation(self) -> Invocation:
        status, headers, body = self.request("GET", RUNTIME_PATH + "/invocation/next")
        if status != 200:
            raise RuntimeApiError(f"GET /invocation/next answered HTTP {status}: {body[:300]!r}")
        if headers.get(RESTART_HEADER):
            raise RestartRequested()
        if not headers.get("lambda-runtime-aws-request-id"):
            raise RuntimeApiError("GET /invocation/next answered without Lambda-Runtime-Aws-Request-Id")
        return Invocation(headers, body)

    def post_response(self, request_id: str, body: bytes, content_type: str) -> None:
        path = f"{RUNTIME_PATH}/invocation/{request_id}/response"
        self.post(path, body, [("Content-Type", content_type)])

    def post_error(self, request_id: str, error_json: str, xray_json: str, error_type: str) -> None:
        path = f"{RUNTIME_PATH}/invocation/{request_id}/error"
        if len(xray_json.encode("utf-8")) >= XRAY_ERROR_CAUSE_MAX_BYTES:
            xray_json = ""
        headers = [("Content-Type", "application/json"), (ERROR_TYPE_HEADER, error_type)]
        self.post(path, error_json.encode("utf-8"), [*headers, (XRAY_ERROR_CAUSE_HEADER, xray_json)])

    def post_init_error(self, error_json: str, error_type: str) -> None:
        # No Content-Type, as awslambdaric's http.client request.
        self.post(RUNTIME_PATH + "/init/error", error_json.encode("utf-8"), [(ERROR_TYPE_HEADER, error_type)])

    def post(self, path: str, body: bytes, headers: list[tuple[str, str]]) -> None:
        status, _headers, answer = self.request("POST", path, body, headers)
        if not 200 <= status < 300:
            sys.stderr.write(f"cloudmicro runtime: POST {path} answered HTTP {status}: {answer[:300]!r}\n")

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Iterable[tuple[str, str]] = ()
    ) -> tuple[int, Headers, bytes]:
        """Send one request and read its response, reconnecting when the connection fails."""
        message = self._encode_request(method, path, body, headers)
        failures = 0
        while True:
            reused = self._sock is not None
            try:
                sock = self._sock if self._sock is not None else self._connect()
                sock.sendall(message)
                return self._read_response()
            except (OSError, _NoResponse) as exc:
                self._close()
                if reused:
                    continue  # an idle keep-alive connection was closed by the server: retry at once
                failures += 1
                if failures >= CONNECT_ATTEMPTS:
                    raise RuntimeApiError(
                        f"cannot reach the Runtime API at {self.address} after {failures} attempts: {exc}"
                    ) from exc
                time.sleep(CONNECT_BACKOFF_S * 2 ** (failures - 1))

    def _encode_request(
        self, method: str, path: str, body: bytes | None, headers: Iterable[tuple[str, str]]
    ) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", "Host: " + self.address, "User-Agent: " + self._user_agent]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        lines.extend(f"{name}: {value}" for name, value in headers)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + (body or b"")

    def _connect(self) -> socket.socket:
        host, port = self._endpoint
        # A bytes host spares getaddrinfo the idna codec (and unicodedata): ~2 ms of cold start.
        address = (host.encode("ascii") if host.isascii() else host, port)
        sock = socket.create_connection(address, timeout=CONNECT_TIMEOUT_S)  # type: ignore[arg-type]
        sock.settimeout(None)  # /invocation/next is a long poll
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._reader = sock.makefile("rb")
        return sock

    def _close(self) -> None:
        for closable in (self._reader, self._sock):
            try:
                if closable is not None:
                    closable.close()
            except OSError:
                pass
        self._sock = None
        self._reader = None

    def _readline(self) -> bytes:
        assert self._reader is not None
        line = self._reader.readline(MAX_HTTP_LINE + 1)
        if not line.endswith(b"\n"):
            raise _NoResponse("connection closed mid-response" if len(line) <= MAX_HTTP_LINE else "line too long")
        return line

    def _read_response(self) -> tuple[int, Headers, bytes]:
        version, status = self._read_status_line()
        headers = self._read_headers()
        while status == 100:  # interim response; the final one follows
            version, status = self._read_status_line()
            headers = self._read_headers()
        body = self._read_body(status, headers)
        connection = headers.get("connection", "").lower()
        if connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive"):
            self._close()
        return status, headers, body

    def _read_status_line(self) -> tuple[str, int]:
        parts = self._readline().decode("latin-1").split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise _NoResponse("not an HTTP response: {!r}".format(" ".join(parts)[:100]))
        return parts[0], int(parts[1])

    def _read_headers(self) -> Headers:
        headers: Headers = {}
        while True:
            line = self._readline()
            if line in (b"\r\n", b"\n"):
                return headers
            name, _sep, value = line.decode("utf-8", "replace").partition(":")
            headers[name.strip().lower()] = value.strip()

    def _read_body(self, status: int, headers: Headers) -> bytes:
        assert self._reader is not None
        if status in (204, 304) or 100 <= status < 200:
            return b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        length = headers.get("content-length")
        if length is None:
            body = self._reader.read()  # delimited by the end of the connection
            self._close()
            return body
        body = self._reader.read(int(length))
        if len(body) != int(length):
            raise _NoResponse("connection closed mid-body")
        return body

    def _read_chunked(self) -> bytes:
        assert self._reader is not None
        chunks: list[bytes] = []
        while True:
            size = int(self._readline().split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self._readline() not in (b"\r\n", b"\n"):  # trailers
                    pass
                return b"".join(chunks)
            chunk = self._reader.read(size)
            if len(chunk) != size:
                raise _NoResponse("connection closed mid-chunk")
            chunks.append(chunk)
            self._readline()


# --------------------------------------------------------------------------- handler and loop


def load_handler(handler_name: str) -> Handler:
    """Import ``path/to/module.function`` exactly as awslambdaric's ``_get_handler``."""
    try:
        module_name, function_name = handler_name.rsplit(".", 1)
    except ValueError as exc:
        raise FaultException(FaultException.MALFORMED_HANDLER_NAME, f"Bad handler '{handler_name}': {exc}")
    import importlib

    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                FaultException.BUILT_IN_MODULE_CONFLICT,
                f"Cannot use built-in module {module_name} as a handler module",
            )
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise FaultException(
            FaultException.IMPORT_MODULE_ERROR, f"Unable to import module '{module_name}': {exc}"
        )
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise FaultException(
            FaultException.USER_CODE_SYNTAX_ERROR, f"Syntax error in module '{module_name}': {exc}", trace
        )
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise FaultException(
            FaultException.HANDLER_NOT_FOUND, f"Handler '{function_name}' missing on module '{module_name}'"
        )


def initialize(handler_name: str, api: RuntimeApiClient, json_format: bool) -> Handler:
    """Load the handler, or report the init error to the Runtime API and exit with status 1."""
    try:
        return load_handler(handler_name)
    except FaultException as fault:
        error = make_error(fault.msg, fault.exception_type, fault.trace)
    except Exception as exc:
        error = error_from_exception(exc)[0]
    logging.warning(UNHANDLED_INIT_WARNING)
    log_error(error, json_format)
    flush_output()
    api.post_init_error(to_json(error), error["errorType"])
    sys.exit(EXIT_INIT_ERROR)


def create_context(invocation: Invocation) -> LambdaContext:
    client_context = None
    if invocation.client_context:
        client_context = parse_json_header(invocation.client_context, "Client Context")
    cognito_identity = None
    if invocation.cognito_identity:
        cognito_identity = parse_json_header(invocation.cognito_identity, "Cognito Identity")
    return LambdaContext(
        invocation.request_id,
        client_context,
        cognito_identity,
        invocation.deadline_ms,
        invocation.function_arn,
        invocation.tenant_id,
    )


def update_xray_env(trace_id: str | None) -> None:
    if trace_id is not None:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)


def handle_invocation(api: RuntimeApiClient, handler: Handler, invocation: Invocation, json_format: bool) -> None:
    """Run the handler on one event and post its result or its error."""
    request_id = invocation.request_id
    try:
        context = create_context(invocation)
        event = unmarshal_event(invocation.body, invocation.content_type)
        result = handler(event, context)
        payload, content_type = marshal_response(result)
    except FaultException as fault:
        error = make_error(fault.msg, fault.exception_type, fault.trace, request_id)
        xray_fault = make_xray_fault("LambdaValidationError", fault.msg, [])
    except Exception as exc:  # BaseException (sys.exit, KeyboardInterrupt) ends the process
        error, xray_fault = error_from_exception(exc, request_id)
    else:
        flush_output()
        api.post_response(request_id, payload, content_type)
        return
    log_error(error, json_format)
    flush_output()
    api.post_error(request_id, to_json(error), to_json(xray_fault), error["errorType"])


def set_default_sys_path() -> None:
    """Task root, installed requirements, then the layers' python folders (see the docstring)."""
    import site  # already imported at start-up: free

    task_root = os.environ.get("LAMBDA_TASK_ROOT") or "/var/task"
    packages = [p for p in os.environ.pop("_CLOUDMICRO_PACKAGES", "").split(os.pathsep) if p]
    opt = os.environ.pop("_CLOUDMICRO_OPT", "/opt")
    layers: list[str] = []
    if opt and "PYTHONPATH" not in os.environ:
        version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        layers = [opt + "/python/lib/python" + version + "/site-packages", opt + "/python"]
    # the runtime's own folder (the AWS SDK) follows, as /var/runtime does on AWS; python -I
    # (the process executor) does not put the script's folder on sys.path by itself
    runtime_dir = os.environ.get("LAMBDA_RUNTIME_DIR") or os.path.dirname(os.path.abspath(__file__))
    runtime = [] if runtime_dir in sys.path else [runtime_dir]
    sys.path[0:0] = [task_root, *packages, *layers, *runtime]
    for folder in [task_root, *packages, *layers]:
        site.addsitedir(folder)
    trust_fresh_bytecode_only([task_root, opt] if opt else [task_root])


def trust_fresh_bytecode_only(folders: list[str]) -> None:
    """Cloudmicro's addition, for hot reload: modules under ``folders`` (the function's code and
    its layers, which the developer edits) use a ``__pycache__`` .pyc only when it was written
    more than a second after its source; otherwise they are compiled from source.

    Python trusts a .pyc whose recorded source mtime (whole seconds) and size match the file.
    One that host tooling (a unit test run, an IDE) compiled just before a save made within the
    same second at the same size would run the old code. The standard library, the SDK and
    installed requirements keep their .pyc files as usual (they are not edited), so cold starts
    stay fast.
    """
    import importlib.machinery as machinery
    import importlib.util

    roots = tuple(os.path.realpath(f) + os.sep for f in folders if f)

    class FreshBytecodeLoader(machinery.SourceFileLoader):
        def get_code(self, fullname):  # type: ignore[no-untyped-def]
            try:
                cached = importlib.util.cache_from_source(self.path)
                if os.stat(cached).st_mtime_ns > os.stat(self.path).st_mtime_ns + 1000000000:
                    return super().get_code(fullname)
            except (OSError, NotImplementedError, ValueError):
                pass
            return self.source_to_code(self.get_data(self.path), self.path)

    default_hook = machinery.FileFinder.path_hook(
        (machinery.ExtensionFileLoader, machinery.EXTENSION_SUFFIXES),
        (FreshBytecodeLoader, machinery.SOURCE_SUFFIXES),
        (machinery.SourcelessFileLoader, machinery.BYTECODE_SUFFIXES),
    )

    def hook(path):  # type: ignore[no-untyped-def]
        if not (os.path.realpath(path or ".") + os.sep).startswith(roots):
            raise ImportError("not a folder of the function's code")
        return default_hook(path)

    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()


def restart() -> NoReturn:
    """Start this runtime again in this process (hot reload: the function's code changed, and
    nothing else its container or process was made for): the interpreter with its original
    arguments, and the environment the runtime started with."""
    flush_output()
    args = list(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))[1:]
    os.execve(sys.executable, [sys.executable, *args], START_ENVIRON)


def run_loop(api: RuntimeApiClient, handler: Handler, json_format: bool) -> NoReturn:
    global _current_request_id, _current_tenant_id
    while True:
        invocation = api.next_invocation()
        _current_request_id = invocation.request_id
        _current_tenant_id = invocation.tenant_id
        update_xray_env(invocation.trace_id)
        handle_invocation(api, handler, invocation, json_format)


def main() -> None:
    make_output_unbuffered()
    json_format = (os.environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
    setup_logging(json_format, log_level_from_env(os.environ.get("AWS_LAMBDA_LOG_LEVEL")))
    handler_name = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else os.environ.get("_HANDLER", "")
    set_default_sys_path()
    try:
        address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
        if not address:
            raise RuntimeApiError("AWS_LAMBDA_RUNTIME_API is not set")
        api = RuntimeApiClient(address)
        handler = initialize(handler_name, api, json_format)
        run_loop(api, handler, json_format)
    except RestartRequested:
        restart()
    except RuntimeApiError as exc:
        flush_output()
        sys.stderr.write(f"cloudmicro runtime: {exc}\n")
        sys.exit(EXIT_RUNTIME_API_ERROR)


if __name__ == "__main__":
    main()
