"""Safety benchmark (issue 12, "Safe by default"): a function that prints without end must not
take the control plane down, and a function cannot reach another environment or the admin
routes. Prints, for each executor, the flood figures:

* the time limit: an endless flood with Timeout 2 s, how late its ``Sandbox.Timedout`` answer
  comes (client-side, and the REPORT line's Duration) (target: within 100 ms);
* ``/_cloudmicro/health`` latency (p50, p99, max) polled from another thread while a function
  prints 1 GiB (target: max < 100 ms), and how fast the control plane takes that output;
* the control plane's RSS before, at its peak during, and after the 1 GiB flood (target: peak
  growth < 200 MB);

and the isolation checks, each ``refused`` (as it must be) or ``REACHED``: a spy function aims at
a warm victim environment's Runtime API, the admin routes without the token, and a file only the
control plane's user may read; the bench process itself (another user) tries the Runtime API too;
and what a function may do (call another function, call AWS) must still work.

    .venv/bin/python bench/safety_bench.py [--gigabytes 1] [--executors docker,process]

About 30 s in all; each part is bounded (the flood function has a 60 s Timeout).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import re
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the isolation probe, shared with the tests

from common import client, control_plane, percentile, rss_mib

from emulator.domain.admin_token import HEADER, read_token
from tests.integration.isolation_probe import forge, write_probe_functions

FLOOD = """
import sys

LINE = "x" * 1023 + "\\n"
CHUNK = LINE * 1024


def handler(event, context):
    if event.get("warm"):
        return "warm"
    megabytes = event.get("megabytes")  # none: without end
    printed = 0
    while megabytes is None or printed < megabytes:
        sys.stdout.write(CHUNK)
        printed += 1
    sys.stdout.flush()
    return {"megabytes": printed}
"""


class Poller:
    """``/_cloudmicro/health`` every 10 ms on one connection, and the control plane's RSS."""

    def __init__(self, endpoint: str, pid: int) -> None:
        host, port = endpoint.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=10)
        self.pid = pid
        self.latencies: list[float] = []
        self.rss: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)
        self.connection.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.rss.append(rss_mib(self.pid))
            started = time.perf_counter()
            try:
                self.connection.request("GET", "/_cloudmicro/health")
                reply = self.connection.getresponse()
                reply.read()
                self.latencies.append((time.perf_counter() - started) * 1000)
            except (OSError, http.client.HTTPException):
                self.failures += 1
                self.connection.close()
            self._stop.wait(0.01)

    def health(self) -> str:
        ms = self.latencies
        return (f"p50 {percentile(ms, 50):6.1f} ms  p99 {percentile(ms, 99):6.1f} ms  max {max(ms):6.1f} ms  "
                f"(n={len(ms)}, failures={self.failures})")


def invoke(lam: Any, name: str, event: dict[str, Any]) -> tuple[dict[str, Any], Any, str, float]:
    started = time.monotonic()
    reply = lam.invoke(FunctionName=name, Payload=json.dumps(event), LogType="Tail")
    body = json.loads(reply["Payload"].read())
    return reply, body, base64.b64decode(reply["LogResult"]).decode(), time.monotonic() - started


def report_duration(log: str) -> float:
    found = re.search(r"\tDuration: ([\d.]+) ms", log)
    return float(found[1]) if found else float("nan")


def bench(executor: str, megabytes: int, functions: Path, state: Path) -> None:
    with control_plane(executor, functions, CLOUDMICRO_STATE_DIR=str(state), CLOUDMICRO_SEED_ON_START="false"
                       ) as (endpoint, pid):
        lam = client(endpoint)
        lam.meta.config.read_timeout = 120
        for name in ("endless", "flood"):
            invoke(lam, name, {"warm": True})  # warm environments: what is measured is the flood alone
        rss_before = rss_mib(pid)

        with Poller(endpoint, pid) as during_timeout:
            reply, body, log, elapsed = invoke(lam, "endless", {})
        timed_out = body.get("errorType") == "Sandbox.Timedout"
        print(f"{executor:7} time limit      Timeout 2 s, endless flood: answered after {elapsed * 1000:7.1f} ms "
              f"(overshoot {(elapsed - 2) * 1000:+.1f} ms; REPORT Duration {report_duration(log):.1f} ms; "
              f"{'Sandbox.Timedout' if timed_out else 'NOT timed out: ' + json.dumps(body)[:80]})  (target < 100 ms)")
        print(f"{executor:7} /health         during the endless flood: {during_timeout.health()}"
              "  (target max < 100 ms)")

        with Poller(endpoint, pid) as during_flood:
            reply, body, log, elapsed = invoke(lam, "flood", {"megabytes": megabytes})
        time.sleep(0.5)
        rss_after = rss_mib(pid)
        ok = body == {"megabytes": megabytes} and "FunctionError" not in reply
        print(f"{executor:7} {megabytes / 1024:.0f} GiB flood     printed and taken in {elapsed:.2f} s "
              f"({megabytes / elapsed:.0f} MiB/s){'' if ok else '  FAILED: ' + json.dumps(body)[:80]}")
        print(f"{executor:7} /health         during the {megabytes / 1024:.0f} GiB flood: {during_flood.health()}"
              "  (target max < 100 ms)")
        peak = max(during_flood.rss + during_timeout.rss)
        print(f"{executor:7} RSS             before {rss_before:.1f} MiB, peak {peak:.1f} MiB "
              f"(+{peak - rss_before:.1f}), after {rss_after:.1f} MiB (+{rss_after - rss_before:.1f})  "
              "(target peak growth < 200 MB)")
        spilled = sum(p.stat().st_size for p in (state / "logs").glob("flood-*.log"))
        print(f"{executor:7} spill files     {spilled / 2**20:.1f} MiB of the flood's output in {state / 'logs'}")


def isolation(executor: str, functions: Path, state: Path) -> int:
    """Print the isolation checks; the number of them that failed."""
    with control_plane(executor, functions, CLOUDMICRO_STATE_DIR=str(state), CLOUDMICRO_SEED_ON_START="false"
                       ) as (endpoint, _pid):
        lam = client(endpoint)
        lam.invoke(FunctionName="victim")  # a warm victim, waiting on its Runtime API's /next
        request = urllib.request.Request(endpoint + "/_cloudmicro/environments",
                                         headers={HEADER: read_token(state) or ""})
        with urllib.request.urlopen(request, timeout=10) as reply:
            [victim] = [e for e in json.loads(reply.read()) if e["function"] == "victim"]
        reply = lam.invoke(FunctionName="spy", Payload=json.dumps({"ports": [victim["port"]]}))
        out = json.loads(reply["Payload"].read())
        if "FunctionError" in reply:
            print(f"{executor:7} isolation       the spy failed: {json.dumps(out)[:200]}")
            return 1
        checks = [(f"spy (uid {out['uid']}) -> victim's Runtime API", out["runtime_api"][0],
                   out["runtime_api"][0].startswith("closed")),
                  ("bench process -> victim's Runtime API", forge(victim["port"]),
                   forge(victim["port"]).startswith("closed")),
                  *((f"spy -> {route} without the token", f"HTTP {status}", status == 403)
                    for route, status in out["admin"].items()),
                  ("spy -> a 0600 file of the control plane's user", out["secret"], out["secret"] == "PermissionError"),
                  ("spy -> victim through the Lambda API (allowed)", json.dumps(out["victim"]),
                   set(out["victim"]) == {"victim"}),
                  ("spy -> DynamoDB through the endpoint (allowed)", "ListTables answered" if out["tables"] else "no",
                   out["tables"] is True)]
        failed = 0
        for what, result, ok in checks:
            allowed = "(allowed)" in what
            verdict = ("works" if ok else "BROKEN") if allowed else ("refused" if ok else "REACHED")
            failed += not ok
            print(f"{executor:7} isolation       {what:62} {verdict:8} ({result[:60]})")
        return failed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gigabytes", type=float, default=1)
    parser.add_argument("--executors", default="docker,process")
    args = parser.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory(prefix="cloudmicro-safety-") as tmp:
        functions = Path(tmp) / "functions"
        for name, timeout in (("endless", 2), ("flood", 60)):
            (functions / name).mkdir(parents=True)
            (functions / name / "app.py").write_text(FLOOD)
            (functions / name / "function.json").write_text(json.dumps({"Handler": "app.handler",
                                                                         "Timeout": timeout}))
        functions.parent.chmod(0o755)  # the process executor's functions may run as a user of their own
        probes = Path(tmp) / "probes"
        probes.mkdir()
        write_probe_functions(probes)
        for executor in args.executors.split(","):
            bench(executor, int(args.gigabytes * 1024), functions, Path(tmp) / f"state-{executor}")
            failed += isolation(executor, probes, Path(tmp) / f"isolation-state-{executor}")
    if failed:
        raise SystemExit(f"{failed} isolation check(s) failed")


if __name__ == "__main__":
    main()
