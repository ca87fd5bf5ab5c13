"""Event source mapping benchmark (issue: event sources). Prints its figures.

    .venv/bin/python bench/esm_bench.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import client, control_plane, moto_server, percentile


def queue(endpoint: str, name: str, **attributes: str) -> tuple[str, str]:
    sqs = client(endpoint, "sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def depth(endpoint: str, url: str) -> int:
    attributes = client(endpoint, "sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(v) for v in attributes["Attributes"].values())


def mapping_stats(endpoint: str, key: str) -> dict:
    import urllib.request

    rows = json.loads(urllib.request.urlopen(endpoint + "/_cloudmicro/mappings").read())
    return next(r for r in rows if r["UUID"] == key)


def preload(endpoint: str, url: str, count: int) -> float:
    sqs = client(endpoint, "sqs")
    started = time.monotonic()

    def batch(start: int) -> None:
        entries = [{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(10)]
        assert not sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(batch, range(0, count, 10)))
    return time.monotonic() - started


def drain(endpoint: str, count: int = 10_000, label: str = "") -> None:
    url, arn = queue(endpoint, "bench-drain")
    seconds = preload(endpoint, url, count)
    print(f"preload {count:,} messages (send_message_batch)   {seconds:.2f} s   (target < 20 s)")
    lam = client(endpoint)
    lam.invoke(FunctionName="drain", Payload=b'{"Records": []}')  # a warm environment
    started = time.monotonic()
    key = lam.create_event_source_mapping(FunctionName="drain", EventSourceArn=arn, BatchSize=10)["UUID"]
    while depth(endpoint, url) > 0 and time.monotonic() - started < 120:
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    stats = mapping_stats(endpoint, key)
    lam.delete_event_source_mapping(UUID=key)
    print(f"drain {count:,} through a trivial handler (BatchSize 10){label}   {elapsed:.2f} s = "
          f"{count / elapsed:,.0f} msg/s   (target >= 1,500 msg/s: 10,000 in < 7 s); "
          f"records processed {stats['records']:,} in {stats['batches']:,} batches, queue depth {depth(endpoint, url)}"
          f" -> {'none lost, none twice' if stats['records'] == count and depth(endpoint, url) == 0 else 'MISMATCH'}")


def results(endpoint: str, url: str, wanted: int, timeout: float = 60) -> list[dict]:
    sqs = client(endpoint, "sqs")
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(got) < wanted and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return got


def latencies(endpoint: str, results_url: str, samples: int = 30) -> None:
    lam = client(endpoint)
    sqs = client(endpoint, "sqs")
    url, arn = queue(endpoint, "bench-idle")
    key = lam.create_event_source_mapping(FunctionName="probe", EventSourceArn=arn, BatchSize=1)["UUID"]
    lam.invoke(FunctionName="probe", Payload=b'{"Records": []}')
    times = []
    for n in range(samples + 2):
        time.sleep(0.3)  # a quiet spell
        sent = time.time()
        sqs.send_message(QueueUrl=url, MessageBody=f"idle{n}")
        [result] = results(endpoint, results_url, 1)
        if n >= 2:
            times.append((result["at"] - sent) * 1000)
    lam.delete_event_source_mapping(UUID=key)
    print(f"SQS send -> handler, idle queue        p50 {statistics.median(times):6.1f} ms  "
          f"p99 {percentile(times, 99):6.1f} ms  (n={len(times)}; target p50 < 50 ms)")

    ddb = client(endpoint, "dynamodb")
    ddb.create_table(TableName="bench-stream", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    stream = ddb.describe_table(TableName="bench-stream")["Table"]["LatestStreamArn"]
    key = lam.create_event_source_mapping(FunctionName="probe", EventSourceArn=stream, StartingPosition="LATEST",
                                          BatchSize=1)["UUID"]
    time.sleep(1)
    times = []
    for n in range(samples + 2):
        time.sleep(0.3)
        sent = time.time()
        ddb.put_item(TableName="bench-stream", Item={"k": {"S": f"k{n}"}})
        [result] = results(endpoint, results_url, 1)
        if n >= 2:
            times.append((result["at"] - sent) * 1000)
    lam.delete_event_source_mapping(UUID=key)
    print(f"DynamoDB put -> stream handler         p50 {statistics.median(times):6.1f} ms  "
          f"p99 {percentile(times, 99):6.1f} ms  (n={len(times)}; target p50 < 300 ms)")


def flaky(endpoint: str, results_url: str, count: int = 300) -> None:
    dlq_url, dlq_arn = queue(endpoint, "bench-flaky-dlq")
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    # the visibility timeout must outlast a batch (AWS advises six times the function's timeout): 2 s did not,
    # cold, on a busy machine, so a message whose batch succeeded was sometimes received again before its delete
    url, arn = queue(endpoint, "bench-flaky", VisibilityTimeout="6", RedrivePolicy=redrive)
    preload(endpoint, url, count)
    lam = client(endpoint)
    started = time.monotonic()
    key = lam.create_event_source_mapping(FunctionName="flaky", EventSourceArn=arn, BatchSize=10)["UUID"]
    while depth(endpoint, url) > 0 and time.monotonic() - started < 120:
        time.sleep(0.2)
    lam.delete_event_source_mapping(UUID=key)
    succeeded = [i for r in results(endpoint, results_url, 10**9, timeout=3) for i in r["ids"]]
    sqs = client(endpoint, "sqs")
    dead: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for message in messages:
            dead.append(message["Body"])
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
    everything = {f"m{i}" for i in range(count)}
    twice = len(succeeded) - len(set(succeeded))
    both = set(succeeded) & set(dead)
    missing = everything - set(succeeded) - set(dead)
    verdict = "OK" if not (twice or both or missing) else "MISMATCH"
    print(f"every third batch fails ({count} messages, maxReceiveCount 3)   {time.monotonic() - started:.1f} s: "
          f"{len(set(succeeded))} succeeded once, {len(dead)} in the DLQ, {twice} twice, {len(both)} both, "
          f"{len(missing)} missing -> {verdict}")


def moto_receive(endpoint: str, label: str) -> None:
    url, _ = queue(endpoint, "bench-depth-" + "".join(c if c.isalnum() else "-" for c in label))
    sqs = client(endpoint, "sqs")
    preload(endpoint, url, 1000)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        times.append((time.perf_counter() - started) * 1000)
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
    print(f"moto ReceiveMessage(10) at depth 1,000, {label:22}  p50 {statistics.median(times):8.1f} ms")


def drain_with_external_moto() -> None:
    """The same drain with moto as a separate server (the compose stack's shape): the pollers reach
    it over HTTP through the endpoint instead of in process."""
    with moto_server() as moto_url, control_plane("docker", CLOUDMICRO_MOTO_URL=moto_url) as (endpoint, _):
        drain(endpoint, label=" [external moto, over HTTP]")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--drain-only", action="store_true", help="only the 10,000-message drains")
    args = parser.parse_args()
    with control_plane("docker") as (endpoint, _):
        results_url, _ = queue(endpoint, "bench-results")
        if not args.drain_only:
            moto_receive(endpoint, "with our moto patches")
        drain(endpoint, label=" [embedded moto, in process]")
        if not args.drain_only:
            latencies(endpoint, results_url)
            flaky(endpoint, results_url)
    drain_with_external_moto()
    if not args.drain_only:
        with control_plane("docker", CLOUDMICRO_MOTO_PATCHES="false") as (endpoint, _):
            moto_receive(endpoint, "moto as released")


if __name__ == "__main__":
    main()
