"""The ``cloudmicro`` command, run as a subprocess the way a developer runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from emulator.app.server import free_port
from tests.conftest import ROOT


def cloudmicro(*args: str, stdin: str | None = None, endpoint: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "CLOUDMICRO_ENDPOINT": endpoint or f"http://127.0.0.1:{free_port()}"}
    env.pop("CLOUDMICRO_FUNCTIONS_DIR", None)
    return subprocess.run([sys.executable, "-m", "emulator", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


def test_invoke_hello_on_its_own(docker_engine):
    done = cloudmicro("invoke", "hello")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"message": "Hello Umberto Boccioni!"}
    lines = done.stderr.splitlines()
    assert any(line.startswith("START RequestId: ") and line.endswith(" Version: $LATEST") for line in lines)
    assert any(line.startswith("END RequestId: ") for line in lines)
    report = [line for line in lines if line.startswith("REPORT RequestId: ")]
    assert report and "\tMax Memory Used: " in report[0] and "\tInit Duration: " in report[0]
    # the happy path prints nothing else: no error as its own control plane stops (the schedules,
    # pollers and queue stop before the endpoint does)
    assert [line for line in lines if not line.startswith(("START ", "END ", "REPORT "))] == [], done.stderr


def test_invoke_with_payload_and_stdin():
    done = cloudmicro("invoke", "hello", "--executor", "process", "--payload",
                      '{"first_name": "Ada", "last_name": "Lovelace"}')
    assert json.loads(done.stdout) == {"message": "Hello Ada Lovelace!"}, done.stderr
    done = cloudmicro("invoke", "hello", "--executor", "process", "--event", "-",
                      stdin='{"first_name": "Alan", "last_name": "Turing"}')
    assert json.loads(done.stdout) == {"message": "Hello Alan Turing!"}, done.stderr


def test_function_error_exits_non_zero_against_a_running_server(docker_endpoint):
    done = cloudmicro("invoke", "raiser", "--payload", '{"card": "1"}', endpoint=docker_endpoint)
    assert done.returncode == 1
    assert json.loads(done.stdout)["errorType"] == "PaymentDeclined"
    assert "[ERROR] PaymentDeclined: card 1 declined" in done.stderr


def test_unknown_function_and_bad_event_file_are_clear():
    done = cloudmicro("invoke", "nope", "--executor", "process")
    assert done.returncode == 2
    assert "ResourceNotFoundException: Function not found" in done.stderr
    done = cloudmicro("invoke", "hello", "--event", "missing.json")
    assert done.returncode == 2 and "event file missing.json does not exist" in done.stderr


def test_list_shows_functions():
    done = cloudmicro("list")
    assert done.returncode == 0, done.stderr
    assert any(line.split()[:2] == ["hello", "python3.11"] for line in done.stdout.splitlines())
