"""Response streaming benchmark: time to first byte of InvokeWithResponseStream. Prints its figures.

    .venv/bin/python bench/stream_bench.py [--streams 20] [--executor docker|process|both]

A custom runtime (tests/streaming_functions/streamer) streams 5 lines 200 ms apart, each
stamped with the epoch time it was written. For each of ``--streams`` warm streams, boto3's
``invoke_with_response_stream`` reads the events, and the bench takes: the time from the
function's first write to the arrival of its PayloadChunk (TTFB after the write: the target is
under 50 ms), the time from the request to the first chunk, and to InvokeComplete.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, client, control_plane, percentile

FUNCTIONS = ROOT / "tests" / "streaming_functions"


def one_stream(lam: Any) -> tuple[float, float, float]:
    """(write -> first chunk, request -> first chunk, request -> InvokeComplete), in ms."""
    started = time.time()
    response = lam.invoke_with_response_stream(FunctionName="streamer", Payload=json.dumps({"chunks": 5}))
    first: tuple[float, bytes] | None = None
    for event in response["EventStream"]:
        now = time.time()
        if "PayloadChunk" in event and first is None:
            first = (now, event["PayloadChunk"]["Payload"])
        if "InvokeComplete" in event:
            assert "ErrorCode" not in event["InvokeComplete"], event
            ended = now
    assert first is not None
    written = json.loads(first[1].split(b"\n", 1)[0])["t"]
    return (first[0] - written) * 1000, (first[0] - started) * 1000, (ended - started) * 1000


def run(executor: str, streams: int) -> None:
    with control_plane(executor, FUNCTIONS, CLOUDMICRO_SEED_ON_START="false") as (endpoint, _):
        lam = client(endpoint)
        lam.invoke(FunctionName="streamer", Payload=b'{"chunks": 1}')  # warm
        samples = [one_stream(lam) for _ in range(streams)]
    for index, what in enumerate(("function's write -> first PayloadChunk", "request -> first PayloadChunk",
                                  "request -> InvokeComplete (5 chunks, 200 ms apart)")):
        values = [s[index] for s in samples]
        print(f"{executor:8} {what:52} p50 {percentile(values, 50):7.1f} ms   p90 {percentile(values, 90):7.1f} ms"
              f"   max {max(values):7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--executor", choices=["docker", "process", "both"], default="both")
    args = parser.parse_args()
    for executor in (["docker", "process"] if args.executor == "both" else [args.executor]):
        run(executor, args.streams)


if __name__ == "__main__":
    main()
