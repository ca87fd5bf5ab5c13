"""Local-AWS benchmark (issue: one endpoint). Prints its figures.

    .venv/bin/python bench/aws_bench.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import BENCH_FUNCTIONS, client, control_plane, free_port, percentile, rss_mib


def ready_time() -> float:
    """From `cloudmicro serve` to the health endpoint answering."""
    port = free_port()
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--port", str(port), "--executor", "process",
                             "--functions-dir", str(BENCH_FUNCTIONS)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "CLOUDMICRO_SEED_ON_START": "false"})
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_cloudmicro/health", timeout=0.2)
                return time.monotonic() - started
            except OSError:
                time.sleep(0.005)
    finally:
        proc.terminate()
        proc.wait()


def touch_services(endpoint: str) -> None:
    ddb = client(endpoint, "dynamodb")
    ddb.create_table(TableName="bench", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="bench", Item={"pk": {"S": "k"}, "v": {"S": "x" * 100}})
    client(endpoint, "s3").create_bucket(Bucket="bench-bucket")
    client(endpoint, "sqs").create_queue(QueueName="bench-queue")
    client(endpoint, "sns").create_topic(Name="bench-topic")
    client(endpoint, "events").put_rule(Name="bench-rule", ScheduleExpression="rate(1 minute)")


def seed_10k(endpoint: str) -> float:
    from emulator.aws.seeding import seed_endpoint

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "tables").mkdir()
        (root / "table_data").mkdir()
        (root / "tables" / "big.json").write_text(json.dumps({
            "TableName": "big", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}))
        items = [{"id": f"item-{i:05d}", "n": i, "text": "lorem ipsum " * 4} for i in range(10_000)]
        (root / "table_data" / "big.json").write_text(json.dumps(items))
        started = time.monotonic()
        report = seed_endpoint(endpoint, "us-east-1", root, None)
        elapsed = time.monotonic() - started
        assert report.ok, report.summary()
        count = client(endpoint, "dynamodb").scan(TableName="big", Select="COUNT")
        total = count["Count"]
        while "LastEvaluatedKey" in count:
            count = client(endpoint, "dynamodb").scan(TableName="big", Select="COUNT",
                                                      ExclusiveStartKey=count["LastEvaluatedKey"])
            total += count["Count"]
        assert total == 10_000, total
        return elapsed


def main() -> None:
    readies = [ready_time() for _ in range(5)]
    print(f"serve ready (health answers, moto embedded)  p50 {statistics.median(readies):.2f} s  "
          f"max {max(readies):.2f} s   (target < 2 s)")
    with control_plane("docker") as (endpoint, pid):
        touch_services(endpoint)
        lam = client(endpoint)
        response = lam.invoke(FunctionName="ddbget", Payload=json.dumps({"table": "bench", "n": 200}))
        times = json.loads(response["Payload"].read())
        print(f"function get_item round trip (Docker)        p50 {statistics.median(times):.2f} ms  "
              f"p99 {percentile(times, 99):.2f} ms  (n={len(times)})")
        seconds = seed_10k(endpoint)
        print(f"seed 10,000 items into one table             {seconds:.2f} s   (target < 20 s)")
        time.sleep(2)
        print(f"control plane RSS, moto embedded, 5+ services touched  {rss_mib(pid):.1f} MiB   (target < 200 MiB)")


if __name__ == "__main__":
    main()
