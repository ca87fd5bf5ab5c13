"""A function that prints without end cannot take the control plane down (issue 12, "Safe by
default"): against a real control plane, in Docker and in local processes,

* an endless flood still times out on time (``Sandbox.Timedout`` at the configured Timeout);
* ``/_cloudmicro/health`` answers within 100 ms while it floods;
* printing a gigabyte costs the control plane far less than 200 MB of memory;
* ``LogType: Tail`` holds the last 4 KB of the log, and the output beyond what is kept in
  memory is written to ``<state>/logs`` (all of it, up to the spill limit).
"""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from emulator.invocation.output import MAX_SPILL
from emulator.testing.local_cloud import LocalCloud
from emulator.testing.pytest_plugin import admin_request
from tests.conftest import lambda_client
from tests.integration.responsiveness import HealthPoller, rss_bytes

MiB = 1024 * 1024
#: a 1 MiB chunk of output, in 1 KiB lines
FLOOD = """
import sys

LINE = "x" * 1023 + "\\n"
CHUNK = LINE * 1024


def handler(event, context):
    if event.get("warm"):
        return "warm"
    megabytes = event.get("megabytes")  # none: without end
    print("FLOOD-START", flush=True)
    printed = 0
    while megabytes is None or printed < megabytes:
        sys.stdout.write(CHUNK)
        printed += 1
    sys.stdout.flush()
    print("FLOOD-END", flush=True)
    return {"megabytes": printed}
"""
START, END = b"FLOOD-START\n", b"FLOOD-END\n"


class Flood:
    def __init__(self, cloud: LocalCloud, state: Path) -> None:
        self.cloud = cloud
        self.state = state
        self.lam = lambda_client(cloud.endpoint, timeout=120)
        assert cloud._process is not None
        self.pid = cloud._process.pid  # the control plane's own process (python -m emulator serve)

    def invoke(self, name: str, event: dict[str, Any]) -> tuple[dict[str, Any], Any, str, float]:
        started = time.monotonic()
        reply = self.lam.invoke(FunctionName=name, Payload=json.dumps(event), LogType="Tail")
        body = json.loads(reply["Payload"].read())
        elapsed = time.monotonic() - started
        return reply, body, base64.b64decode(reply["LogResult"]).decode(), elapsed

    def kept_log(self, request_id: str) -> str:
        import urllib.request

        url = f"{self.cloud.endpoint}/_cloudmicro/invocations/{request_id}/log"
        with urllib.request.urlopen(admin_request(url), timeout=10) as reply:
            return str(reply.read().decode())

    def spills(self, name: str) -> list[Path]:
        folder = self.state / "logs"
        return sorted(folder.glob(f"{name}-*.log")) if folder.is_dir() else []


@pytest.fixture(params=["docker", "process"])
def flood(request: pytest.FixtureRequest, cloudmicro_test_server: Any, tmp_path: Path) -> Flood:
    if request.param == "docker":
        request.getfixturevalue("docker_engine")
    functions = tmp_path / "functions"
    for name, timeout in (("endless", 2), ("gigabyte", 60)):
        (functions / name).mkdir(parents=True)
        (functions / name / "app.py").write_text(FLOOD)
        (functions / name / "function.json").write_text(json.dumps({"Handler": "app.handler", "Timeout": timeout}))
    cloud = cloudmicro_test_server(functions_dir=functions, executor=request.param, state_dir=tmp_path / "state",
                                   deps_dir=None, seed_on_start=False, idle_timeout=600)
    return Flood(cloud, tmp_path / "state")


def report_duration(log: str) -> float:
    """The REPORT line's Duration, in ms."""
    return float(re.search(r"REPORT RequestId: \S+\tDuration: ([\d.]+) ms", log)[1])  # type: ignore[index]


def test_an_endless_flood_times_out_on_time_while_health_answers(flood: Flood, request: pytest.FixtureRequest
                                                                  ) -> None:
    assert flood.invoke("endless", {"warm": True})[1] == "warm"  # the environment is up: what follows is the flood
    rss_before = rss_bytes(flood.pid)

    with HealthPoller(flood.cloud.endpoint, flood.pid) as poll:
        reply, body, tail, elapsed = flood.invoke("endless", {})

    duration = report_duration(tail)
    growth = (max(poll.rss) - rss_before) / MiB
    print(f"\n{request.node.callspec.id}: endless flood answered in {elapsed:.3f} s (REPORT Duration {duration:.1f} ms,"
          f" Timeout 2 s); {poll.summary()}; RSS {rss_before / MiB:.0f} MiB, peak +{growth:.1f} MiB")
    assert reply["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 2.00 seconds")
    assert 2.0 <= elapsed < 2.5, elapsed
    assert 2000 <= duration < 2100, duration  # the time limit holds within 100 ms
    assert not poll.failures, poll.failures
    assert len(poll.latencies) >= 50  # polled all along
    assert poll.worst < 0.1, poll.summary()
    assert growth < 200, growth
    # the Tail is the last 4 KB of the log: the flood's last lines, the timeout, END and REPORT
    assert len(tail.encode()) <= 4096
    assert "Task timed out after 2.00 seconds" in tail and tail.rstrip("\n").splitlines()[-1].startswith("REPORT")
    assert "x" * 1023 in tail
    # a fresh environment takes the next invoke
    assert flood.invoke("endless", {"warm": True})[1] == "warm"


def test_a_gigabyte_flood_costs_little_memory_and_goes_to_disk(flood: Flood, request: pytest.FixtureRequest) -> None:
    assert flood.invoke("gigabyte", {"warm": True})[1] == "warm"
    rss_before = rss_bytes(flood.pid)

    with HealthPoller(flood.cloud.endpoint, flood.pid) as poll:
        reply, body, tail, elapsed = flood.invoke("gigabyte", {"megabytes": 1024})

    rss_after = rss_bytes(flood.pid)
    growth = (max(poll.rss) - rss_before) / MiB
    print(f"\n{request.node.callspec.id}: 1 GiB printed in {elapsed:.2f} s; {poll.summary()}; RSS before "
          f"{rss_before / MiB:.0f} MiB, peak +{growth:.1f} MiB, after +{(rss_after - rss_before) / MiB:.1f} MiB")
    assert "FunctionError" not in reply, body
    assert body == {"megabytes": 1024}
    assert growth < 200, growth
    assert not poll.failures, poll.failures
    assert poll.worst < 0.1, poll.summary()
    # the Tail: the last 4 KB, ending with the function's last line, END and REPORT
    assert len(tail.encode()) <= 4096
    lines = tail.rstrip("\n").splitlines()
    assert lines[-3] == "FLOOD-END" and lines[-2].startswith("END RequestId") and lines[-1].startswith("REPORT")
    # in memory: the head and the tail, and a line saying where the rest is
    request_id = reply["ResponseMetadata"]["RequestId"]
    kept = flood.kept_log(request_id)
    assert len(kept.encode()) < 1 * MiB
    note = re.search(r"\[cloudmicro: ([\d,]+) bytes of output left out here; the whole output is in (\S+)\]", kept)
    assert note is not None, kept[:300]
    [spill] = flood.spills("gigabyte")
    assert Path(note[2]) == spill
    printed = len(START) + 1024 * MiB + len(END)
    assert printed - MAX_SPILL < int(note[1].replace(",", "")) < printed
    # on disk: the output as printed, from its start, up to the spill limit (256 MiB)
    line = b"x" * 1023 + b"\n"
    with open(spill, "rb") as whole:
        assert whole.read(len(START)) == START
        for _ in range((MAX_SPILL - len(START)) // MiB):
            assert whole.read(MiB) == line * 1024

