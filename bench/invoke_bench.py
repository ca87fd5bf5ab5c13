"""Invoke benchmark (issue: core). Prints its figures; the machine is noisy, so the latency
figure that matters is the ratio to a bare echo route served by the same server in the same run.

    .venv/bin/python bench/invoke_bench.py [--seconds 10] [--samples 500]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import client, control_plane, rss_mib, summary


def echo_client(endpoint: str) -> Any:
    """A boto3 Lambda client whose Invoke is routed to the bare echo route."""
    lam = client(endpoint)

    def to_echo(request: Any, **_: Any) -> None:
        request.url = endpoint + "/_cloudmicro/echo"

    lam.meta.events.register("request-created.lambda.Invoke", to_echo)
    return lam


def timed_invokes(lam: Any, name: str, samples: int) -> list[float]:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        response = lam.invoke(FunctionName=name, Payload=b'{"x": 1}')
        response["Payload"].read()
        times.append((time.perf_counter() - started) * 1000)
        assert "FunctionError" not in response
    return times


def throughput(endpoint: str, seconds: float, threads: int = 8) -> tuple[float, int, int]:
    stop = time.monotonic() + seconds
    counts = [0] * threads
    errors = [0] * threads
    local = threading.local()

    def worker(i: int) -> None:
        local.lam = client(endpoint)
        while time.monotonic() < stop:
            try:
                response = local.lam.invoke(FunctionName="noop", Payload=b"{}")
                response["Payload"].read()
                if "FunctionError" in response:
                    errors[i] += 1
                else:
                    counts[i] += 1
            except Exception:  # noqa: BLE001 - counted
                errors[i] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    elapsed = time.monotonic() - started
    return sum(counts) / elapsed, sum(counts), sum(errors)


def cold_starts(endpoint: str, samples: int) -> list[float]:
    """Invoke after a configuration change, so no warm environment fits."""
    lam = client(endpoint)
    times = []
    for i in range(samples):
        lam.update_function_configuration(FunctionName="noop", Description=f"cold {i} {time.time()}")
        started = time.perf_counter()
        response = lam.invoke(FunctionName="noop", Payload=b"{}", LogType="Tail")
        response["Payload"].read()
        times.append((time.perf_counter() - started) * 1000)
    return times


def parallel_naps(endpoint: str) -> float:
    lam = client(endpoint)
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: lam.invoke(FunctionName="nap")["Payload"].read(), range(8)))
    assert all(json.loads(r) == "rested" for r in results), results
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--cold", type=int, default=10)
    args = parser.parse_args()

    # The Lambda control plane alone: no db_gen tables seeded into the embedded moto
    # (bench/aws_bench.py measures RSS with moto in use).
    with control_plane("docker", CLOUDMICRO_SEED_ON_START="false") as (endpoint, pid):
        time.sleep(1)
        idle_rss = rss_mib(pid)
        lam = client(endpoint)
        timed_invokes(lam, "noop", 20)  # warm up the environment and the connection
        echo = echo_client(endpoint)
        timed_invokes(echo, "noop", 20)
        # interleave the two so machine noise hits both alike
        warm, bare = [], []
        for _ in range(args.samples // 50):
            bare += timed_invokes(echo, "noop", 50)
            warm += timed_invokes(lam, "noop", 50)
        ratio = statistics.median(warm) / statistics.median(bare)
        print(f"docker  warm invoke       {summary(warm)}")
        print(f"        bare echo route   {summary(bare)}")
        print(f"        ratio warm/echo   {ratio:.2f}x   (target <= 2x)")
        rate, ok, errors = throughput(endpoint, args.seconds)
        print(f"docker  throughput        {rate:.0f} invokes/s with 8 threads for {args.seconds:.0f} s "
              f"({ok} ok, {errors} errors; target >= 250/s, 0 errors)")
        cold = cold_starts(endpoint, args.cold)
        print(f"docker  cold start        {summary(cold)}   (target p50 < 700 ms)")
        nap = parallel_naps(endpoint)
        print(f"docker  8 parallel 1 s    {nap:.2f} s wall, cold   (target < 2 s)")
        print(f"docker  8 parallel 1 s    {parallel_naps(endpoint):.2f} s wall, warm")
        time.sleep(1)
        print(f"control plane RSS (no db_gen)  {idle_rss:.1f} MiB idle at start, {rss_mib(pid):.1f} MiB idle "
              f"after load   (target < 100 MiB)")

    with control_plane("process") as (endpoint, pid):
        timed_invokes(client(endpoint), "noop", 5)
        cold = cold_starts(endpoint, args.cold)
        print(f"process cold start        {summary(cold)}   (target p50 < 200 ms)")
        warm = timed_invokes(client(endpoint), "noop", 200)
        print(f"process warm invoke       {summary(warm)}")


if __name__ == "__main__":
    main()
