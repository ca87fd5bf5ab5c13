"""``cloudmicro dev`` run as a user runs it, in a subprocess: it starts, lists the functions it
found, streams each invocation's log as it happens (START, the function's own lines while it
still runs, END and REPORT), and a saved file reloads the function with a notice."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from emulator.app.server import free_port
from tests.conftest import ROOT, lambda_client
from tests.integration.test_hot_reload import Gate

pytestmark = pytest.mark.parametrize("executor", ["docker", "process"])

CHATTY = """import os
import urllib.request


def chatty_handler(event, context):
    print("said:", event["word"], flush=True)
    urllib.request.urlopen(os.environ["GATE"], timeout=30).read()  # held until the test has seen the line
    return "VALUE"
"""


class Dev:
    """A running ``cloudmicro dev``: its endpoint, and its stderr line by line."""

    def __init__(self, proc: subprocess.Popen[str], endpoint: str) -> None:
        self.proc = proc
        self.endpoint = endpoint
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def expect(self, text: str, timeout: float = 30) -> str:
        """The next line holding ``text`` (the lines before it are kept in :attr:`lines`)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self._queue.get(timeout=max(0.01, left))
            except queue.Empty:
                line = ""
            if line is None:
                raise AssertionError(f"cloudmicro dev ended before printing {text!r}; it printed {self.lines[-20:]}")
            if line:
                self.lines.append(line)
                if text in line:
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"cloudmicro dev did not print {text!r} within {timeout} s; "
                                     f"it printed {self.lines[-20:]}")

    def wait_until_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(self.endpoint + "/_cloudmicro/health", timeout=1).read()
                return
            except OSError:
                assert self.proc.poll() is None, f"cloudmicro dev exited: {self.lines[-20:]}"
                assert time.monotonic() < deadline, "cloudmicro dev did not answer"
                time.sleep(0.05)


@pytest.fixture
def start_dev(executor, tmp_path, request):
    """``start_dev(with_functions=True)``: ``cloudmicro dev`` in ``tmp_path`` (with the function
    ``chatty``, which prints its word and then waits at the gate, unless not ``with_functions``)."""
    if executor == "docker":
        request.getfixturevalue("docker_engine")
    gate = Gate()
    started: list[subprocess.Popen[str]] = []

    def start(with_functions: bool = True) -> Dev:
        functions = tmp_path / "functions"
        if with_functions:
            (functions / "chatty").mkdir(parents=True)
            (functions / "chatty" / "chatty.py").write_text(CHATTY.replace("VALUE", "v1"))
            (functions / "chatty" / "function.json").write_text(
                json.dumps({"Environment": {"Variables": {"GATE": gate.url}}}))
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDMICRO_")}
        env.update(CLOUDMICRO_STATE_DIR=str(tmp_path / "state"), CLOUDMICRO_SEED_ON_START="false",
                   PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            [sys.executable, "-m", "emulator", "dev", "--port", str(port), "--executor", executor,
             "--functions-dir", str(functions)],
            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        running = Dev(proc, f"http://127.0.0.1:{port}")
        running.functions = functions  # type: ignore[attr-defined]
        running.gate = gate  # type: ignore[attr-defined]
        return running

    try:
        yield start
    finally:
        gate.close()
        for proc in started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


def invoke(client, word: str) -> tuple[str, object]:
    response = client.invoke(FunctionName="chatty", Payload=json.dumps({"word": word}))
    return response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"], json.loads(response["Payload"].read())


def test_dev_lists_streams_live_and_reloads_on_save(start_dev):
    dev = start_dev()
    listed = dev.expect("cloudmicro: dev on ")
    assert dev.endpoint in listed and "1 function(s)" in listed and listed.endswith(": chatty")
    dev.expect(f"cloudmicro: watching {dev.functions.resolve()} for changes")
    dev.wait_until_serving()
    client = lambda_client(dev.endpoint)

    outcome: dict = {}
    caller = threading.Thread(target=lambda: outcome.update(answer=invoke(client, "first")))
    caller.start()
    start = dev.expect("[chatty] START RequestId: ")
    said = dev.expect("[chatty] said: first")
    assert caller.is_alive() and not outcome  # shown while the function still runs: live
    dev.gate.open()
    caller.join(60)
    request_id, result = outcome["answer"]
    assert result == "v1"
    assert start == f"[chatty] START RequestId: {request_id} Version: $LATEST"
    end = dev.expect(f"[chatty] END RequestId: {request_id}")
    report = dev.expect(f"[chatty] REPORT RequestId: {request_id}")
    assert "Duration: " in report and "Init Duration: " in report
    order = [dev.lines.index(line) for line in (start, said, end, report)]
    assert order == sorted(order)

    (dev.functions / "chatty" / "chatty.py").write_text(CHATTY.replace("VALUE", "v2"))
    request_id, result = invoke(client, "second")  # the very next invoke
    assert result == "v2"
    dev.expect("cloudmicro: reloaded chatty (chatty.py)")
    dev.expect("[chatty] said: second")
    dev.expect(f"[chatty] REPORT RequestId: {request_id}")

    fresh = dev.functions / "fresh"
    fresh.mkdir()
    (fresh / "fresh.py").write_text("def fresh_handler(event, context):\n    print('fresh here')\n    return 1\n")
    assert json.loads(client.invoke(FunctionName="fresh")["Payload"].read()) == 1
    dev.expect("cloudmicro: added fresh")
    dev.expect("[fresh] fresh here")


def test_dev_in_a_folder_without_functions_picks_them_up_when_made(start_dev):
    dev = start_dev(with_functions=False)
    assert "0 function(s)" in dev.expect("cloudmicro: dev on ")
    dev.expect("(it does not exist yet: it is picked up when it does)")
    dev.wait_until_serving()
    (dev.functions / "later").mkdir(parents=True)  # cloudmicro new function later, or by hand
    (dev.functions / "later" / "later.py").write_text("def later_handler(event, context):\n    return 'later'\n")
    client = lambda_client(dev.endpoint)
    assert json.loads(client.invoke(FunctionName="later")["Payload"].read()) == "later"
    dev.expect("cloudmicro: added later")
    dev.expect("[later] REPORT RequestId: ")
