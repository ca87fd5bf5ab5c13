"""How a control plane answers while something heavy runs: :class:`HealthPoller` asks
``/_cloudmicro/health`` from a thread of its own, over and over, and keeps each answer's
latency (and, given the control plane's pid, its resident memory) for the test to assert on."""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from types import TracebackType


def rss_bytes(pid: int) -> int:
    """VmRSS of a process, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))]


class HealthPoller:
    """``with HealthPoller(endpoint, pid) as poll:`` ... ``poll.latencies`` (seconds, one per
    answer), ``poll.failures`` (requests that got no 200), ``poll.rss`` (VmRSS samples, bytes)."""

    def __init__(self, endpoint: str, pid: int | None = None, interval: float = 0.01, timeout: float = 10) -> None:
        parsed = urllib.parse.urlsplit(endpoint)
        self._host, self._port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self._pid = pid
        self._interval = interval
        self._timeout = timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-poller", daemon=True)
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.rss: list[int] = []

    def __enter__(self) -> HealthPoller:
        self._thread.start()
        while not self.latencies and not self.failures:  # the first answer: polling is under way
            time.sleep(0.005)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(self._timeout + 5)

    def _run(self) -> None:
        connection: http.client.HTTPConnection | None = None
        while not self._stop.is_set():
            if self._pid is not None:
                self.rss.append(rss_bytes(self._pid))
            if connection is None:
                connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            started = time.perf_counter()
            try:
                connection.request("GET", "/_cloudmicro/health")
                reply = connection.getresponse()
                reply.read()
                if reply.status != 200:
                    self.failures.append(f"HTTP {reply.status}")
                else:
                    self.latencies.append(time.perf_counter() - started)
            except (OSError, http.client.HTTPException) as error:
                self.failures.append(f"{type(error).__name__}: {error} after {time.perf_counter() - started:.3f} s")
                connection.close()
                connection = None
            self._stop.wait(self._interval)
        if connection is not None:
            connection.close()

    @property
    def worst(self) -> float:
        return max(self.latencies)

    def summary(self) -> str:
        ms = [latency * 1000 for latency in self.latencies]
        return (f"/health p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, max {max(ms):.1f} ms "
                f"(n={len(ms)}, failures={len(self.failures)})")
