"""Asynchronous invocation throughput: 1,000 Event invokes accepted, then all run.

    .venv/bin/python bench/async_bench.py [--executor docker|process] [--count 1000]

Prints how long the 202s took (8 client threads) and when the last event finished, read from
the control plane's health endpoint (``lambda.async_events``). Target: 1,000 accepted in under
5 s and all run.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from common import client, control_plane


def async_status(endpoint: str) -> dict:
    with urllib.request.urlopen(endpoint + "/_cloudmicro/health", timeout=5) as reply:
        return json.load(reply)["lambda"]["async_events"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--executor", default="docker")
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    with control_plane(args.executor) as (endpoint, _):
        lam = client(endpoint)
        lam.invoke(FunctionName="noop", Payload=b"{}")  # the image and one warm environment

        def send(n: int) -> int:
            reply = lam.invoke(FunctionName="noop", InvocationType="Event", Payload=json.dumps({"n": n}))
            return int(reply["StatusCode"])

        started = time.monotonic()
        with ThreadPoolExecutor(8) as threads:
            codes = list(threads.map(send, range(args.count)))
        accepted = time.monotonic() - started
        deadline = time.monotonic() + 120
        while True:
            status = async_status(endpoint)
            if status.get("succeeded", 0) + status.get("failed", 0) >= args.count or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        finished = time.monotonic() - started
        print(f"executor {args.executor}: {args.count} Event invokes")
        print(f"  accepted (202): {codes.count(202)} in {accepted:.2f} s ({args.count / accepted:.0f}/s)  target < 5 s")
        print(f"  all run:        {status.get('succeeded', 0)} succeeded, {status.get('failed', 0)} failed, "
              f"{status.get('queued', 0)} still queued, last done at {finished:.2f} s")


if __name__ == "__main__":
    main()
