"""SNS and EventBridge push latency: Publish / PutEvents -> handler start. Prints its figures.

    .venv/bin/python bench/sns_events_bench.py

The ``stamp`` function (bench/functions/stamp) records ``time.time()`` at handler entry and
sends it to an SQS queue; each sample is that minus the time just before the API call. One
message at a time, so the figure is the delivery path (moto -> async Invoke -> warm
container), not queueing behind earlier messages.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import client, control_plane, percentile

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:stamp"
SAMPLES = 50
WARMUP = 3


def stamp_of(endpoint: str, url: str, key: str, timeout: float = 30) -> float:
    sqs = client(endpoint, "sqs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            body = json.loads(message["Body"])
            if body["key"] == key:
                return float(body["at"])
    raise SystemExit(f"no stamp for {key} within {timeout} s")


def measure(endpoint: str, url: str, label: str, send: Callable[[str], None]) -> None:
    times: list[float] = []
    for n in range(WARMUP + SAMPLES):
        time.sleep(0.05)
        key = f"{label}-{n}"
        sent = time.time()
        send(key)
        at = stamp_of(endpoint, url, key)
        if n >= WARMUP:
            times.append((at - sent) * 1000)
    print(f"{label:40} p50 {statistics.median(times):6.1f} ms  p99 {percentile(times, 99):6.1f} ms  "
          f"(n={len(times)}; target p50 < 100 ms)")


def main() -> None:
    with control_plane("docker") as (endpoint, _):
        sqs = client(endpoint, "sqs")
        url = sqs.create_queue(QueueName="bench-stamps")["QueueUrl"]
        client(endpoint).invoke(FunctionName="stamp", Payload=b"{}")  # a warm environment

        sns = client(endpoint, "sns")
        topic = sns.create_topic(Name="bench-topic")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=FUNCTION)
        measure(endpoint, url, "SNS Publish -> handler start", lambda key: sns.publish(TopicArn=topic, Message=key))

        events = client(endpoint, "events")
        events.put_rule(Name="bench-rule", EventPattern=json.dumps({"source": ["bench"]}))
        events.put_targets(Rule="bench-rule", Targets=[{"Id": "stamp", "Arn": FUNCTION}])
        measure(endpoint, url, "EventBridge PutEvents -> handler start", lambda key: events.put_events(Entries=[
            {"Source": "bench", "DetailType": "bench", "Detail": json.dumps({"key": key})}]))


if __name__ == "__main__":
    main()
