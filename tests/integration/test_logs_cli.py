"""``cloudmicro logs NAME [-f]``, run as a subprocess against a running control plane: recent
invocations, then new ones; plain when piped, coloured on a terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
import uuid

import pytest

from tests.conftest import ROOT, lambda_client

HANDLER = """import json
def chatty_handler(event, context):
    print("said:", event["word"])
    if event.get("fail"):
        raise ValueError("no good")
    return event["word"]
"""


@pytest.fixture
def plane(make_server, tmp_path):
    """A control plane with the function ``chatty`` (prints its event's word); (endpoint, client)."""
    folder = tmp_path / "functions" / "chatty"
    folder.mkdir(parents=True)
    (folder / "chatty.py").write_text(HANDLER)
    endpoint = make_server(tmp_path / "functions", "process", seed_on_start=False)
    return endpoint, lambda_client(endpoint)


def say(client, word: str, fail: bool = False) -> None:
    client.invoke(FunctionName="chatty", Payload=json.dumps({"word": word, "fail": fail}))["Payload"].read()


def command(endpoint: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "emulator", "logs", *args, "--endpoint", endpoint]


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "NO_COLOR"}


def test_logs_shows_recent_invocations_plain_when_piped(plane):
    endpoint, client = plane
    words = [f"w{uuid.uuid4().hex[:8]}" for _ in range(3)]
    for word in words:
        say(client, word)
    done = subprocess.run(command(endpoint, "chatty"), cwd=ROOT, env=env(), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "\x1b[" not in out
    assert [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("said:")] == words
    assert out.count("START RequestId: ") == out.count("END RequestId: ") == out.count("REPORT RequestId: ") == 3
    fewer = subprocess.run(command(endpoint, "chatty", "-n", "1"), cwd=ROOT, env=env(), capture_output=True,
                           text=True, timeout=60)
    assert [line for line in fewer.stdout.splitlines() if line.startswith("said:")] == [f"said: {words[-1]}"]


def test_logs_of_an_unknown_function_is_an_error(plane):
    endpoint, _ = plane
    done = subprocess.run(command(endpoint, "nope"), cwd=ROOT, env=env(), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert "ResourceNotFoundException: Function not found" in done.stderr


def test_logs_follow_prints_new_invocations_until_interrupted(plane):
    endpoint, client = plane
    say(client, "before")
    follower = subprocess.Popen(command(endpoint, "chatty", "-f", "-n", "0"), cwd=ROOT, env=env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        word = f"live{uuid.uuid4().hex[:8]}"
        deadline = time.monotonic() + 30
        seen: list[str] = []
        while f"said: {word}" not in seen:
            assert time.monotonic() < deadline, f"the follower did not show {word}; it showed {seen}"
            say(client, word)  # again until the follower, which may still be starting, shows it
            ready, _, _ = select.select([follower.stdout], [], [], 0.5)
            while ready:
                line = follower.stdout.readline()
                if not line:
                    break
                seen.append(line.rstrip("\n"))
                ready, _, _ = select.select([follower.stdout], [], [], 0.05)
        assert "said: before" not in seen  # -n 0: only what came after
        follower.send_signal(signal.SIGINT)
        assert follower.wait(10) == 0
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait(10)


def test_logs_are_coloured_on_a_terminal(plane):
    endpoint, client = plane
    say(client, "fine")
    say(client, "broken", fail=True)
    main, secondary = pty.openpty()
    try:
        done = subprocess.run(command(endpoint, "chatty"), cwd=ROOT, env=env(), stdout=secondary,
                              stderr=subprocess.PIPE, text=True, timeout=60)
        os.close(secondary)
        secondary = -1
        assert done.returncode == 0, done.stderr
        out = b""
        while select.select([main], [], [], 0.5)[0]:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal's other end is closed: all was read
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(main)
        if secondary != -1:
            os.close(secondary)
    text = out.decode()
    assert "\x1b[2mSTART RequestId: " in text  # platform lines dim
    assert "\x1b[31m[ERROR] ValueError: no good" in text  # errors red
    assert "said: fine\r\n" in text  # the function's own lines as printed
