"""cloudmicro_runtime.logs: unbuffered output, awslambdaric's log formats, the error records."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator

import pytest

from runtimes.python.cloudmicro_runtime import logs

TEXT_LINE = r"\[{level}\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{request_id}\t{message}\n"


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    """A logger of its own with the runtime's handler, as setup_logging installs it on the root."""
    logger = logging.getLogger("cloudmicro-runtime-test")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger
    logger.handlers.clear()
    logs.set_current_invocation(None, None)


def _install(logger: logging.Logger, formatter: logging.Formatter) -> None:
    handler = logs.LambdaLogHandler()
    handler.setFormatter(formatter)
    handler.addFilter(logs.LambdaLogFilter())
    logger.addHandler(handler)


def test_unbuffered_streams_flush_after_every_write(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = CountingStream(), CountingStream()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    logs.make_output_unbuffered()
    sys.stdout.write("a")
    sys.stderr.writelines(["b", "c"])
    assert (out.getvalue(), out.flushes) == ("a", 1)
    assert (err.getvalue(), err.flushes) == ("bc", 1)
    assert sys.stdout.getvalue() == "a"  # type: ignore[attr-defined]  # anything else goes to the stream
    with sys.stdout as same:
        assert same is sys.stdout


def test_flush_output_survives_odd_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def flush(self) -> None:
            raise ValueError("I/O operation on closed file")

    monkeypatch.setattr(sys, "stdout", Broken())
    monkeypatch.setattr(sys, "stderr", None)
    logs.flush_output()


def test_text_format_with_the_current_request_id(logger: logging.Logger, capsys: pytest.CaptureFixture[str]) -> None:
    _install(logger, logging.Formatter(logs.TEXT_LOG_FORMAT, logs.TEXT_LOG_DATE_FORMAT))
    logger.warning("before %s", "any invocation")
    logs.set_current_invocation("req-1", "tenant-1")
    logger.info("during %d", 1)
    lines = capsys.readouterr().out.splitlines(keepends=True)
    assert re.fullmatch(TEXT_LINE.format(level="WARNING", request_id="", message="before any invocation"), lines[0])
    assert re.fullmatch(TEXT_LINE.format(level="INFO", request_id="req-1", message="during 1"), lines[1])


def test_json_format(logger: logging.Logger, capsys: pytest.CaptureFixture[str]) -> None:
    _install(logger, logs.JsonLogFormatter())
    logs.set_current_invocation("req-2", "tenant-2")
    logger.warning("careful %s", "now", extra={"order": 7})
    logger.log(25, {"structured": True})  # a dict message stays a dict; level 25 counts as INFO
    try:
        raise KeyError("k")
    except KeyError:
        logger.exception("failed")
    first, second, third = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first.pop("timestamp"))
    assert first == {"level": "WARNING", "message": "careful now", "logger": "cloudmicro-runtime-test",
                     "requestId": "req-2", "tenantId": "tenant-2", "order": 7}
    assert (second["level"], second["message"]) == ("INFO", {"structured": True})
    assert (third["level"], third["errorType"], third["errorMessage"]) == ("ERROR", "KeyError", "'k'")
    assert third["stackTrace"][0].startswith(f'  File "{__file__}", line ')
    assert re.fullmatch(re.escape(__file__) + r":test_json_format:\d+", third["location"])


def test_error_records() -> None:
    error = {"errorMessage": "boom", "errorType": "ValueError", "requestId": "r",
             "stackTrace": ['  File "/var/task/app.py", line 3, in h\n    raise ValueError("boom")\n', ""]}
    assert logs.format_error_text(error) == (
        "[ERROR] ValueError: boom\rTraceback (most recent call last):\r"
        '\u00a0\u00a0File "/var/task/app.py", line 3, in h\r\u00a0\u00a0\u00a0\u00a0raise ValueError("boom")\r\n'
    )
    assert logs.format_error_text({"errorType": "T"}) == "[ERROR] T\n"  # no stackTrace key: no traceback header
    record = json.loads(logs.format_error_json(error))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record.pop("timestamp"))
    assert record == {"level": "ERROR", **error}


def test_log_error_writes_one_record(capsys: pytest.CaptureFixture[str]) -> None:
    logs.log_error({"errorMessage": "m", "errorType": "T", "stackTrace": []}, json_format=False)
    assert capsys.readouterr().out == "[ERROR] T: m\rTraceback (most recent call last):\n"


@pytest.mark.parametrize(("value", "level"), [(None, ""), ("TRACE", "DEBUG"), ("info", "INFO"), ("", "")])
def test_log_level_from_env(value: str | None, level: str) -> None:
    assert logs.log_level_from_env(value) == level


def test_setup_logging_installs_the_root_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", logging.WARNING)
    monkeypatch.setattr(logging.Formatter, "converter", logging.Formatter.converter)
    logs.setup_logging(json_format=True, log_level="NOT-A-LEVEL")  # unknown: the level stays
    assert root.level == logging.WARNING
    (handler,) = root.handlers
    assert isinstance(handler, logs.LambdaLogHandler) and isinstance(handler.formatter, logs.JsonLogFormatter)
    logs.setup_logging(json_format=False, log_level="DEBUG")
    assert root.level == logging.DEBUG
    assert root.handlers[1].formatter._fmt == logs.TEXT_LOG_FORMAT  # type: ignore[union-attr]
