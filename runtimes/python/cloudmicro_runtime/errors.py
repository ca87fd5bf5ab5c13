"""Errors: the runtime's fault types, the error documents it posts and logs, X-Ray causes."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time; type checkers still see these names.
    from typing import Any, Optional

    ErrorResult = dict[str, Any]
    FrameTuple = tuple[str, int, str, Optional[str]]

#: the folder of this package: its frames (and the entry script's) are not the function's
_PACKAGE_PREFIX = os.path.dirname(__file__) + os.sep


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


def is_runtime_frame(filename: str) -> bool:
    """Whether a frame's file is the runtime's own: the entry script or a module of this package."""
    return "/bootstrap.py" in filename or filename.startswith(_PACKAGE_PREFIX)


def user_frames(exc: BaseException) -> list[FrameTuple]:
    """The exception's traceback frames, minus the runtime's leading frames (see is_runtime_frame)."""
    import traceback

    frames = [(f.filename, f.lineno or 0, f.name, f.line) for f in traceback.extract_tb(exc.__traceback__)]
    for index, frame in enumerate(frames):
        if not is_runtime_frame(frame[0]):
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
