"""cloudmicro_runtime.errors: error documents, the frames reported for user code, X-Ray causes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtimes.python.cloudmicro_runtime import errors
from runtimes.python.cloudmicro_runtime.errors import FaultException

PACKAGE_DIR = Path(errors.__file__).parent


def test_make_error_has_awslambdaric_keys_and_empty_defaults() -> None:
    assert errors.make_error(None, None, None) == {
        "errorMessage": "", "errorType": "", "requestId": "", "stackTrace": [],
    }
    assert errors.make_error("boom", "ValueError", ["  File ...\n"], "req-1") == {
        "errorMessage": "boom", "errorType": "ValueError", "requestId": "req-1", "stackTrace": ["  File ...\n"],
    }


def test_fault_exception_carries_type_message_and_trace() -> None:
    fault = FaultException(FaultException.IMPORT_MODULE_ERROR, "Unable to import module 'app'", ["t"])
    assert (fault.exception_type, fault.msg, fault.trace, str(fault)) == (
        "Runtime.ImportModuleError", "Unable to import module 'app'", ["t"], "Unable to import module 'app'",
    )
    assert FaultException("Runtime.MarshalError", "m").trace is None


def test_runtime_frames_are_the_entry_script_and_the_package() -> None:
    assert errors.is_runtime_frame("/var/runtime/bootstrap.py")
    assert errors.is_runtime_frame(str(PACKAGE_DIR / "loop.py"))
    assert not errors.is_runtime_frame("/var/task/app.py")
    assert not errors.is_runtime_frame(str(PACKAGE_DIR) + "_not_it/loop.py")


def _raise_through(*filenames: str) -> BaseException:
    """An exception raised through one frame per file of ``filenames``, called in that order
    (the frame of this helper left out of its traceback)."""
    call: object = None
    for depth, filename in reversed(list(enumerate(filenames))):
        body = "    raise ValueError('boom')\n" if call is None else "    return call()\n"
        namespace: dict[str, object] = {"call": call}
        exec(compile(f"def f{depth}():\n{body}", filename, "exec"), namespace)
        call = namespace[f"f{depth}"]
    try:
        call()  # type: ignore[operator]
    except ValueError as exc:
        exc.__traceback__ = exc.__traceback__.tb_next  # type: ignore[union-attr]
        return exc
    raise AssertionError("no exception")


def test_user_frames_drop_the_runtimes_leading_frames() -> None:
    exc = _raise_through("/var/runtime/bootstrap.py", str(PACKAGE_DIR / "loop.py"), "/var/task/app.py",
                         "/var/task/lib.py")
    assert errors.user_frames(exc) == [("/var/task/app.py", 2, "f2", ""), ("/var/task/lib.py", 2, "f3", "")]


def test_user_frames_keep_runtime_frames_after_the_first_user_frame() -> None:
    exc = _raise_through(str(PACKAGE_DIR / "loop.py"), "/usr/lib/python3/importlib/__init__.py",
                         str(PACKAGE_DIR / "loop.py"), "/var/task/app.py")
    assert [name for _path, _line, name, _code in errors.user_frames(exc)] == ["f1", "f2", "f3"]


def test_only_runtime_frames_are_all_kept() -> None:
    exc = _raise_through("/var/runtime/bootstrap.py", str(PACKAGE_DIR / "marshalling.py"))
    assert [frame[2] for frame in errors.user_frames(exc)] == ["f0", "f1"]


def test_error_from_exception_and_the_xray_cause() -> None:
    exc = _raise_through(str(PACKAGE_DIR / "loop.py"), "/var/task/app.py")
    error, xray = errors.error_from_exception(exc, "req-9")
    assert error == {
        "errorMessage": "boom",
        "errorType": "ValueError",
        "requestId": "req-9",
        "stackTrace": ['  File "/var/task/app.py", line 2, in f1\n'],  # no source line: the file does not exist
    }
    assert xray == {
        "working_directory": os.getcwd(),
        "exceptions": [{"message": "boom", "type": "ValueError",
                        "stack": [{"label": "f1", "path": "/var/task/app.py", "line": 2}]}],
        "paths": ["/var/task/app.py"],
    }


def test_xray_cause_without_a_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    def gone() -> str:
        raise FileNotFoundError("cwd removed")

    monkeypatch.setattr(os, "getcwd", gone)
    assert errors.make_xray_fault("LambdaValidationError", "m", []) == {
        "working_directory": "",
        "exceptions": [{"message": "m", "type": "LambdaValidationError", "stack": []}],
        "paths": [],
    }


def test_format_frames_is_traceback_format_list() -> None:
    assert errors.format_frames([("/var/task/app.py", 3, "h", "return 1")]) == [
        '  File "/var/task/app.py", line 3, in h\n    return 1\n'
    ]
