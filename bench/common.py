"""Shared helpers for benchmarks: a control plane in its own process, clients, statistics."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
BENCH_FUNCTIONS = ROOT / "bench" / "functions"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(command: list[str], url: str, probe: str, what: str, env: dict[str, str] | None = None) -> Iterator[int]:
    """Run ``command`` until the block ends; yields its pid once ``url + probe`` answers."""
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    while True:
        try:
            urllib.request.urlopen(url + probe, timeout=0.5)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() - started > 30:
                proc.kill()
                raise SystemExit(f"{what} did not start") from None
            time.sleep(0.02)
    try:
        yield proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


@contextmanager
def moto_server() -> Iterator[str]:
    """An external moto server with Cloudmicro's patches (as the compose stack runs it); yields its URL.
    (Its deliveries to functions go to CLOUDMICRO_ENDPOINT: a bench that needs them sets it.)"""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serving([sys.executable, "-m", "emulator.moto.server", "-H", "127.0.0.1", "-p", str(port)], url,
                 "/moto-api/data.json", "the moto server"):
        yield url


@contextmanager
def control_plane(executor: str, functions_dir: Path = BENCH_FUNCTIONS, **env: str) -> Iterator[tuple[str, int]]:
    """``cloudmicro serve`` in a subprocess; yields (endpoint, pid)."""
    port = free_port()
    state = Path(os.environ.get("TMPDIR", "/tmp")) / f"cloudmicro-bench-{port}"
    endpoint = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "emulator", "serve", "--port", str(port), "--executor", executor,
               "--functions-dir", str(functions_dir)]
    with serving(command, endpoint, "/_cloudmicro/health", f"the control plane ({executor})",
                 {**os.environ, "CLOUDMICRO_STATE_DIR": str(state), **env}) as pid:
        yield endpoint, pid


def client(endpoint: str, service: str = "lambda") -> Any:
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="bench", aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=16, read_timeout=60),
    )


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> str:
    return f"p50 {statistics.median(values):7.2f} ms  p99 {percentile(values, 99):7.2f} ms  (n={len(values)})"
