"""Hot reload benchmark (issue 6): save -> the next invoke returns the new result, and saves
during a steady stream of invokes. Prints its figures.

    .venv/bin/python bench/reload_bench.py [--saves 20] [--stream-saves 50]

For each executor (Docker, local processes) and for the polling fallback: the time from
writing the handler file to the answer of the invoke made right after it, over ``--saves``
saves, and how many of those invokes returned the previous result (the target is none: the
very next invoke runs the new code); then ``--stream-saves`` saves, one every ``--every``
seconds, while 4 threads invoke without pause, counting failed invokes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import client, control_plane, percentile

NAME = "reloadme"


def handler(value: int) -> str:
    return f"def {NAME}_handler(event, context):\n    return {value}\n"


def save(folder: Path, value: int) -> None:
    (folder / NAME / f"{NAME}.py").write_text(handler(value))  # truncate, then write, as most editors do


def invoke(lam: Any) -> tuple[object, bool]:
    response = lam.invoke(FunctionName=NAME, Payload=b"{}")
    return json.loads(response["Payload"].read()), "FunctionError" in response


def save_to_result(endpoint: str, folder: Path, saves: int) -> tuple[list[float], int]:
    """The time from each save to the answer of the next invoke, and how many of those
    answers were not the new result (then invoking again until it shows, for the time)."""
    lam = client(endpoint)
    invoke(lam)
    times = []
    stale = 0
    for value in range(1, saves + 1):
        started = time.perf_counter()
        save(folder, value)
        if invoke(lam) != (value, False):
            stale += 1
            deadline = started + 10
            while invoke(lam) != (value, False):
                if time.perf_counter() > deadline:
                    raise SystemExit(f"save {value} never showed (10 s)")
        times.append((time.perf_counter() - started) * 1000)
    return times, stale


def saves_under_load(endpoint: str, folder: Path, saves: int, every: float, threads: int = 4) -> dict[str, Any]:
    stop = threading.Event()
    counts = {"ok": 0, "failed": 0}
    failures: list[str] = []
    lock = threading.Lock()

    def stream() -> None:
        lam = client(endpoint)
        while not stop.is_set():
            try:
                result, failed = invoke(lam)
                if failed:
                    failures.append(str(result)[:200])
            except Exception as exc:  # noqa: BLE001 - counted
                failed = True
                failures.append(repr(exc))
            with lock:
                counts["failed" if failed else "ok"] += 1

    reloads_before = reloads(endpoint)
    workers = [threading.Thread(target=stream) for _ in range(threads)]
    for worker in workers:
        worker.start()
    started = time.monotonic()
    for value in range(1000, 1000 + saves):
        save(folder, value)
        time.sleep(every)  # the pace of the saves, not a wait for readiness
    last = 1000 + saves - 1
    lam = client(endpoint)
    deadline = time.monotonic() + 10
    while invoke(lam) != (last, False) and time.monotonic() < deadline:
        pass
    final, _ = invoke(lam)
    stop.set()
    for worker in workers:
        worker.join(30)
    return {"seconds": time.monotonic() - started, "final_ok": final == last, "failures": failures[:3],
            "reloads": reloads(endpoint) - reloads_before, **counts}


def reloads(endpoint: str) -> int:
    health = json.loads(urllib.request.urlopen(endpoint + "/_cloudmicro/health", timeout=10).read())
    return int(health["lambda"]["hot_reload"]["reloads"].get(NAME, 0))


def run(label: str, executor: str, args: argparse.Namespace, **env: str) -> None:
    with tempfile.TemporaryDirectory(prefix="cloudmicro-reload-") as tmp:
        folder = Path(tmp) / "functions"
        (folder / NAME).mkdir(parents=True)
        save(folder, 0)
        with control_plane(executor, folder, CLOUDMICRO_SEED_ON_START="false", **env) as (endpoint, _):
            times, stale = save_to_result(endpoint, folder, args.saves)
            print(f"{label:16} save -> new result   p50 {statistics.median(times):6.1f} ms  "
                  f"p90 {percentile(times, 90):6.1f} ms  max {max(times):6.1f} ms  "
                  f"(n={len(times)}; target p50 < 300 ms)")
            print(f"{label:16} next invoke stale    {stale} of {len(times)}   (target 0)")
            if args.stream_saves:
                load = saves_under_load(endpoint, folder, args.stream_saves, args.every)
                print(f"{label:16} {args.stream_saves} saves under load  {load['failed']} failed of "
                      f"{load['ok'] + load['failed']} invokes in {load['seconds']:.1f} s, {load['reloads']} reloads, "
                      f"last save served: {'yes' if load['final_ok'] else 'NO'}   (target 0 failed)"
                      + (f"  e.g. {load['failures']}" if load["failures"] else ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--stream-saves", type=int, default=50)
    parser.add_argument("--every", type=float, default=0.15, help="seconds between saves under load")
    parser.add_argument("--executors", default="docker,process")
    parser.add_argument("--no-poll", action="store_true", help="skip the polling fallback's figure")
    args = parser.parse_args()
    for executor in args.executors.split(","):
        run(executor, executor, args)
    if not args.no_poll:
        poll = argparse.Namespace(**{**vars(args), "stream_saves": 0})
        run("process, polling", "process", poll, CLOUDMICRO_WATCH="poll")


if __name__ == "__main__":
    main()
