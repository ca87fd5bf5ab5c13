"""Event source mappings declared in function.json follow saves of the file: a new declaration
starts delivering, an edited one delivers from its new source, a removed one stops."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid

import boto3

from emulator.testing.pytest_plugin import admin_request
from tests.conftest import lambda_client

CONSUMER = """def consumer_handler(event, context):
    for record in event["Records"]:
        print("got:", record["body"])
"""


def sqs(endpoint: str):
    return boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")


def seen(endpoint: str, text: str, timeout: float = 30) -> None:
    """Until the consumer's log shows ``text`` (delivery is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(admin_request(f"{endpoint}/_cloudmicro/functions/consumer/logs?limit=100"), timeout=10) as reply:
            logs = json.loads(reply.read())["Invocations"]
        if any(f"got: {text}" in entry["Log"] for entry in logs):
            return
        assert time.monotonic() < deadline, f"the consumer never got {text!r}"
        time.sleep(0.1)


def test_declared_mappings_follow_saves_of_function_json(make_server, tmp_path):
    folder = tmp_path / "functions" / "consumer"
    folder.mkdir(parents=True)
    (folder / "consumer.py").write_text(CONSUMER)
    endpoint = make_server(tmp_path / "functions", "process", seed_on_start=False)
    lam, queues = lambda_client(endpoint), sqs(endpoint)
    tag = uuid.uuid4().hex[:8]
    urls = {name: queues.create_queue(QueueName=f"{name}-{tag}")["QueueUrl"] for name in ("orders", "returns")}
    arns = {name: queues.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            for name, url in urls.items()}

    def declare(*names: str) -> list[str]:
        """Save function.json declaring mappings from these queues; the sources mapped after
        the next invoke."""
        (folder / "function.json").write_text(json.dumps(
            {"EventSourceMappings": [{"EventSourceArn": arns[n], "BatchSize": 1} for n in names]}))
        lam.invoke(FunctionName="consumer", Payload=b'{"Records": []}')  # the very next invoke reloads
        return sorted(m["EventSourceArn"] for m in lam.list_event_source_mappings(FunctionName="consumer")
                      ["EventSourceMappings"])

    assert declare("orders") == [arns["orders"]]
    queues.send_message(QueueUrl=urls["orders"], MessageBody=f"first {tag}")
    seen(endpoint, f"first {tag}")

    assert declare("returns") == [arns["returns"]]  # edited: from the other queue now
    queues.send_message(QueueUrl=urls["returns"], MessageBody=f"second {tag}")
    seen(endpoint, f"second {tag}")

    assert declare() == []  # removed
    (folder / "function.json").unlink()
    lam.invoke(FunctionName="consumer", Payload=b'{"Records": []}')
    assert lam.list_event_source_mappings(FunctionName="consumer")["EventSourceMappings"] == []
