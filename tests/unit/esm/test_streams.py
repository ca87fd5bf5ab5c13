"""Stream poller decisions that take too long to reach with real clocks."""

from __future__ import annotations

import time
from types import SimpleNamespace

from emulator.esm.mappings import new_mapping
from emulator.esm.streams import StreamPoller

ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/s"


def record(age: float) -> dict:
    return {"kinesis": {"approximateArrivalTimestamp": time.time() - age, "sequenceNumber": "1"}}


def given_up(request: dict, batch: list[dict], retries: int) -> str | None:
    mapping = new_mapping({"EventSourceArn": ARN, "StartingPosition": "LATEST", **request}, "f",
                          "arn:aws:lambda:us-east-1:123456789012:function:f")
    return StreamPoller._given_up(SimpleNamespace(mapping=mapping), batch, retries)  # type: ignore[arg-type]


def test_record_age_and_retry_limits():
    assert given_up({}, [record(10_000)], 500) is None  # -1 and -1: retry forever, as on AWS
    assert given_up({"MaximumRecordAgeInSeconds": 60}, [record(61)], 0) == "RecordAgeExceeded"
    assert given_up({"MaximumRecordAgeInSeconds": 60}, [record(30)], 0) is None
    assert given_up({"MaximumRetryAttempts": 2}, [record(0)], 1) is None
    assert given_up({"MaximumRetryAttempts": 2}, [record(0)], 2) == "RetryAttemptsExhausted"
