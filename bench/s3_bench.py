"""S3 -> Lambda notification benchmark: put_object until the handler starts. Prints its figures.

    .venv/bin/python bench/s3_bench.py [--executor docker|process] [--samples 50]

Each put waits for its own event (no queueing behind earlier ones); the ``s3probe`` function
records ``time.time()`` as its first statement and reports it through SQS, and the figure is
that time minus the time just before ``put_object``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import client, control_plane, percentile

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:s3probe"


def wait_result(sqs: Any, url: str, key: str, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            body = json.loads(message["Body"])
            if body["key"] == key:
                return float(body["at"])
    raise SystemExit(f"no event for {key} within {timeout} s")


def run(executor: str, samples: int) -> None:
    with control_plane(executor) as (endpoint, _):
        s3, sqs = client(endpoint, "s3"), client(endpoint, "sqs")
        url = sqs.create_queue(QueueName="bench-s3-results")["QueueUrl"]
        s3.create_bucket(Bucket="bench-s3")
        s3.put_bucket_notification_configuration(Bucket="bench-s3", NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"Id": "bench", "LambdaFunctionArn": FUNCTION_ARN, "Events": ["s3:ObjectCreated:*"]}]})
        started = time.time()
        s3.put_object(Bucket="bench-s3", Key="cold", Body=b"x")
        cold = (wait_result(sqs, url, "cold") - started) * 1000

        to_handler: list[float] = []
        put_calls: list[float] = []
        for n in range(samples):
            time.sleep(0.05)  # a quiet spell, so each sample starts from an idle warm environment
            key = f"sample-{n}"
            sent = time.time()
            s3.put_object(Bucket="bench-s3", Key=key, Body=b"payload")
            put_calls.append((time.time() - sent) * 1000)
            to_handler.append((wait_result(sqs, url, key) - sent) * 1000)

        s3.create_bucket(Bucket="bench-s3-quiet")  # no notification configuration
        quiet_calls: list[float] = []
        for n in range(samples):
            sent = time.time()
            s3.put_object(Bucket="bench-s3-quiet", Key=f"sample-{n}", Body=b"payload")
            quiet_calls.append((time.time() - sent) * 1000)

    print(f"[{executor}] first put_object -> handler start (cold)  {cold:7.1f} ms")
    print(f"[{executor}] put_object -> handler start               p50 {statistics.median(to_handler):6.1f} ms  "
          f"p99 {percentile(to_handler, 99):6.1f} ms  (n={samples}; target p50 < 100 ms)")
    print(f"[{executor}] put_object call itself (delivery included) p50 {statistics.median(put_calls):6.1f} ms  "
          f"p99 {percentile(put_calls, 99):6.1f} ms")
    print(f"[{executor}] put_object call, bucket without notifications p50 {statistics.median(quiet_calls):6.1f} ms  "
          f"p99 {percentile(quiet_calls, 99):6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executor", choices=["docker", "process"], default="docker")
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    run(args.executor, args.samples)


if __name__ == "__main__":
    main()
