"""Output and logging: unbuffered stdout/stderr, awslambdaric's text and JSON log formats, the
root logging handler with its request-id filter, and the ``[ERROR]`` records of failures."""

from __future__ import annotations

import json
import logging
import sys
import time

from .marshalling import to_json

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time; type checkers still see these names.
    from collections.abc import Iterable
    from typing import Any, TextIO

    from .errors import ErrorResult

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

# Request and tenant ids of the invocation in progress, read by the logging filter.
_current_request_id: str | None = None
_current_tenant_id: str | None = None


def set_current_invocation(request_id: str | None, tenant_id: str | None) -> None:
    """The ids every log record carries from now on (the loop sets them per invocation)."""
    global _current_request_id, _current_tenant_id
    _current_request_id = request_id
    _current_tenant_id = tenant_id


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
