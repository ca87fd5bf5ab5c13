"""Function logs in CloudWatch Logs with real moto and real Docker: each invocation's START /
END / REPORT lines and output land in /aws/lambda/<name>, one stream per environment, where
FilterLogEvents and `aws logs tail` find them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from emulator.app.server import BackgroundServer, free_port
from emulator.config import Settings
from tests.conftest import lambda_client
from tests.integration.recorded import aws

STREAM_NAME = re.compile(r"^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$")


@pytest.fixture(scope="module")
def endpoint(docker_endpoint) -> str:
    return docker_endpoint


@pytest.fixture
def tag() -> str:
    return "t" + os.urandom(4).hex()


def group_events(endpoint: str, group: str) -> list[dict[str, Any]]:
    logs = aws(endpoint, "logs")
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        return []
    events: list[dict[str, Any]] = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, interleaved=True):
        events += page["events"]
    return events


def invocation_events(endpoint: str, function: str, request_id: str, timeout: float = 10) -> list[dict[str, Any]]:
    """The events of one invocation (START to REPORT), once they are all written."""
    deadline = time.monotonic() + timeout
    while True:
        events = group_events(endpoint, f"/aws/lambda/{function}")
        starts = [i for i, e in enumerate(events) if e["message"].startswith(f"START RequestId: {request_id} ")]
        reports = [i for i, e in enumerate(events) if e["message"].startswith(f"REPORT RequestId: {request_id}\t")]
        if starts and reports:
            stream = events[starts[0]]["logStreamName"]
            return [e for e in events[starts[0]:reports[0] + 1] if e["logStreamName"] == stream]
        assert time.monotonic() < deadline, f"the log of {request_id} was not in CloudWatch Logs after {timeout} s"
        time.sleep(0.1)


def quiet_function(root: Path, name: str, sleep: float = 0) -> Path:
    """A functions folder (under ``root``) with one function that prints a line (and sleeps)."""
    folder = root / "functions" / name
    folder.mkdir(parents=True)
    (folder / f"{name}.py").write_text(
        f"import time\n\n\ndef {name}_handler(event, context):\n    print('quietly')\n    time.sleep({sleep})\n"
        "    return 1\n")
    return folder.parent


def test_an_invocation_log_is_in_the_function_log_group(endpoint, tag):
    before = int(time.time() * 1000)
    reply = lambda_client(endpoint).invoke(FunctionName="logger", Payload=json.dumps({"n": tag}))
    after = int(time.time() * 1000)
    request_id = reply["ResponseMetadata"]["RequestId"]
    events = invocation_events(endpoint, "logger", request_id)
    messages = [e["message"] for e in events]
    assert messages[0] == f"START RequestId: {request_id} Version: $LATEST\n"
    assert messages[1] == "hello from print\n"
    assert re.fullmatch(rf"\[INFO\]\t\S+Z\t{request_id}\thello from logging {tag}\n", messages[2])
    assert messages[3] == f"END RequestId: {request_id}\n"
    assert messages[4].startswith(f"REPORT RequestId: {request_id}\tDuration: ") and messages[4].endswith("\t\n")
    assert len(messages) == 5
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps) and before - 1 <= stamps[0] and stamps[-1] <= after + 1
    assert STREAM_NAME.match(events[0]["logStreamName"])


def test_the_stream_is_the_one_the_function_is_told(endpoint):
    client = lambda_client(endpoint)
    replies = [client.invoke(FunctionName="echo", Payload=b"{}") for _ in range(2)]
    for reply in replies:
        told = json.loads(reply["Payload"].read())["log_stream_name"]
        events = invocation_events(endpoint, "echo", reply["ResponseMetadata"]["RequestId"])
        assert {e["logStreamName"] for e in events} == {told}
        streams = aws(endpoint, "logs").describe_log_streams(logGroupName="/aws/lambda/echo")["logStreams"]
        assert told in [s["logStreamName"] for s in streams]


def test_parallel_environments_write_to_their_own_streams(make_server, tmp_path, tag):
    name = f"par{tag[1:]}"
    extra = make_server(quiet_function(tmp_path, name, sleep=0.5), "process")
    client = lambda_client(extra)
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda _: client.invoke(FunctionName=name), range(2)))
    streams = {invocation_events(extra, name, r["ResponseMetadata"]["RequestId"])[0]["logStreamName"] for r in replies}
    assert len(streams) == 2 and all(STREAM_NAME.match(s) for s in streams)


def test_a_failing_invocation_logs_its_error(endpoint, tag):
    reply = lambda_client(endpoint).invoke(FunctionName="raiser", Payload=json.dumps({"card": tag}))
    assert reply["FunctionError"] == "Unhandled"
    events = invocation_events(endpoint, "raiser", reply["ResponseMetadata"]["RequestId"])
    text = "".join(e["message"] for e in events)
    assert "about to fail\n" in text and f"card {tag} declined" in text and "PaymentDeclined" in text


def aws_cli_v2() -> str:
    """`aws logs tail` is in AWS CLI v2 only (scripts/setup installs Debian's awscli package)."""
    for candidate in ("/usr/bin/aws", shutil.which("aws")):
        if candidate and os.path.exists(candidate):
            version = subprocess.run([candidate, "--version"], capture_output=True, text=True, timeout=60)
            if (version.stdout + version.stderr).startswith("aws-cli/2"):
                return candidate
    pytest.fail("no AWS CLI v2 found for `aws logs tail` (scripts/setup installs it: apt-get install awscli)")


def test_aws_logs_tail_prints_the_lines(endpoint, tag):
    reply = lambda_client(endpoint).invoke(FunctionName="logger", Payload=json.dumps({"n": tag}))
    request_id = reply["ResponseMetadata"]["RequestId"]
    [report] = [e for e in invocation_events(endpoint, "logger", request_id) if e["message"].startswith("REPORT")]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": ""}
    done = subprocess.run([aws_cli_v2(), "--endpoint-url", endpoint, "logs", "tail", "/aws/lambda/logger",
                           "--since", "5m", "--format", "short"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.endswith(f"START RequestId: {request_id} Version: $LATEST") for line in lines), done.stdout
    assert any(line.endswith(f"hello from logging {tag}") for line in lines)
    assert any(line.endswith(f"END RequestId: {request_id}") for line in lines)
    assert any(report["message"].rstrip() in line for line in lines)




def test_lines_still_pending_are_written_when_the_control_plane_stops(endpoint, tmp_path, tag):
    """Stop right after the invoke (before a 200 ms flush): the shutdown writes the lines (to the
    session control plane's moto, which the extra control plane uses, and which reads them back)."""
    name = f"last{tag[1:]}"
    settings = replace(Settings.from_env(), port=free_port(), executor="process", moto_url=endpoint,
                       functions_dir=quiet_function(tmp_path, name), state_dir=tmp_path / "state", seed_on_start=False)
    with BackgroundServer(settings) as extra:
        aws(extra, "logs").describe_log_groups()  # the Logs API is in use: lines are written from now on
        request_id = lambda_client(extra).invoke(FunctionName=name)["ResponseMetadata"]["RequestId"]
    messages = [e["message"] for e in group_events(endpoint, f"/aws/lambda/{name}")]
    assert messages[:2] == [f"START RequestId: {request_id} Version: $LATEST\n", "quietly\n"]
    assert messages[-1].startswith(f"REPORT RequestId: {request_id}\t")


def test_a_read_right_after_an_invoke_finds_its_lines(endpoint, make_server, tmp_path, tag):
    """Lines are held until the Logs API is first used, and every Logs request first writes
    what is pending: no waiting for the background flush."""
    name = f"ryw{tag[1:]}"
    extra = make_server(quiet_function(tmp_path, name), "process")
    request_ids = [lambda_client(extra).invoke(FunctionName=name)["ResponseMetadata"]["RequestId"] for _ in range(2)]
    messages = [e["message"] for e in group_events(extra, f"/aws/lambda/{name}")]
    assert [m for m in messages if m.startswith("START")] == [
        f"START RequestId: {r} Version: $LATEST\n" for r in request_ids]
    request_id = lambda_client(extra).invoke(FunctionName=name)["ResponseMetadata"]["RequestId"]
    assert group_events(extra, f"/aws/lambda/{name}")[-1]["message"].startswith(f"REPORT RequestId: {request_id}\t")


def test_the_setting_turns_it_off(endpoint, make_server, tmp_path, tag):
    name = f"off{tag[1:]}"
    extra = make_server(quiet_function(tmp_path, name), "process", cloudwatch_logs=False)
    lambda_client(extra).invoke(FunctionName=name)
    # no waiting for a flush: every Logs request first writes what is pending (see the test above)
    assert group_events(extra, f"/aws/lambda/{name}") == []
    assert group_events(endpoint, f"/aws/lambda/{name}") == []
