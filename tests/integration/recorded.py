"""Read what the ``recorder`` test function recorded (tests/functions/recorder)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import boto3

from tests.integration.probes import quiet

TABLE = "recorded"


@dataclass(frozen=True)
class Recorded:
    request_id: str
    function: str
    event: Any
    at: float


def aws(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def ensure_table(endpoint: str) -> None:
    ddb = aws(endpoint, "dynamodb")
    if TABLE not in ddb.list_tables()["TableNames"]:
        ddb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")


def recorded(endpoint: str, tag: str, function: str = "recorder") -> list[Recorded]:
    """Every event (oldest first) the function recorded whose JSON text contains ``tag``."""
    ddb = aws(endpoint, "dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": TABLE}
    while True:
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    found = [
        Recorded(i["request_id"]["S"], i["function"]["S"], json.loads(i["event"]["S"]), float(i["at"]["N"]))
        for i in items if tag in i["event"]["S"] and i["function"]["S"] == function
    ]
    return sorted(found, key=lambda r: r.at)


def wait_for(endpoint: str, tag: str, count: int = 1, timeout: float = 20,
             function: str = "recorder") -> list[Recorded]:
    """Wait until at least ``count`` events with ``tag`` were recorded; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = recorded(endpoint, tag, function)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} event(s) tagged {tag!r} recorded by {function}, wanted {count}")
        time.sleep(0.1)


def settle(endpoint: str, tag: str, function: str = "recorder", timeout: float = 30) -> list[Recorded]:
    """What was recorded once nothing more can arrive (to check that nothing more, or nothing,
    arrives): every push source and Event invoke reaches the recorder through the asynchronous
    queue, so this waits until that queue has nothing queued (:func:`probes.quiet`)."""
    quiet(endpoint, timeout)
    return recorded(endpoint, tag, function)
