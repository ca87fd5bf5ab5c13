"""CloudWatch Logs subscription filters whose destination is a Lambda function deliver to
Cloudmicro's functions.

moto 5.2.5 checks a Lambda destination in its own Lambda backend (PutSubscriptionFilter fails
with "Could not execute the lambda function" for every Cloudmicro function), and hands every
event to that backend, ignoring the filter pattern. Here PutSubscriptionFilter checks the
function at the Cloudmicro endpoint, and each PutLogEvents batch sends the events the filter's
pattern passes (:mod:`emulator.patterns.log_filters`) to the function, asynchronously, as AWS
invokes it, in AWS's shape: ``{"awslogs": {"data": <base64 of gzipped JSON>}}`` with
``messageType: DATA_MESSAGE``, ``owner``, ``logGroup``, ``logStream``, ``subscriptionFilters`` and
``logEvents`` (``id``, ``timestamp``, ``message``).
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#LambdaFunctionExample

Function logs Cloudmicro writes to CloudWatch Logs pass through here too, so a log-processing
function subscribed to another function's log group gets its lines. Other destinations
(Kinesis, Firehose, another log group) are moto's.
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
from collections.abc import Callable, Iterator
from typing import Any

from emulator.moto import delivery
from emulator.moto.patching import Patch, PatchSet
from emulator.patterns import log_filters


def _is_lambda(arn: str) -> bool:
    return arn.split(":")[2:3] == ["lambda"]


def _put_subscription_filter(original: Callable[..., Any]) -> Callable[..., Any]:
    from moto.logs.exceptions import InvalidParameterException, ResourceNotFoundException

    @functools.wraps(original)
    def put_subscription_filter(self: Any, log_group_name: str, filter_name: str, filter_pattern: str,
                                destination_arn: str, role_arn: str) -> None:
        if not _is_lambda(destination_arn):
            return original(self, log_group_name, filter_name, filter_pattern, destination_arn, role_arn)
        group = self.groups.get(log_group_name)
        if not group:
            raise ResourceNotFoundException()
        if not delivery.function_exists(destination_arn):
            raise InvalidParameterException("Could not execute the lambda function. Make sure you have given "
                                            "CloudWatch Logs permission to execute your function.")
        wrong = log_filters.problem(filter_pattern)
        if wrong is not None:  # AWS refuses a pattern it cannot read
            raise InvalidParameterException(f"Invalid filter pattern {filter_pattern!r}: {wrong}")
        group.put_subscription_filter(filter_name, filter_pattern, destination_arn, role_arn)
        return None

    return put_subscription_filter


def payload(owner: str, group: str, stream: str, filter_name: str, events: list[dict[str, Any]]) -> bytes:
    """The event a Lambda subscription gets for ``events`` (AWS's shape)."""
    data = {"messageType": "DATA_MESSAGE", "owner": owner, "logGroup": group, "logStream": stream,
            "subscriptionFilters": [filter_name], "logEvents": events}
    zipped = gzip.compress(json.dumps(data, separators=(",", ":")).encode())
    return json.dumps({"awslogs": {"data": base64.b64encode(zipped).decode()}}).encode()


def _send_log_events(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def send_log_events(self: Any, service: str, destination_arn: str, filter_name: str,
                        log_events: list[dict[str, Any]]) -> None:
        if service != "lambda":
            return original(self, service, destination_arn, filter_name, log_events)
        found = self.log_group.subscription_filters.get(filter_name)
        pattern = found.filter_pattern if found is not None else ""
        passed = [{**event, "id": str(event.get("id", ""))}  # AWS's ids are strings of digits (moto's: ints)
                  for event in log_events if log_filters.matches(pattern, str(event.get("message", "")))]
        if passed:
            delivery.deliver(destination_arn, payload(self.account_id, self.log_group.name, self.log_stream_name,
                                                      filter_name, passed),
                             source=f"CloudWatch Logs subscription filter {filter_name}")
        return None

    return send_log_events


def _patches() -> Iterator[Patch]:
    from moto.logs.models import LogsBackend, LogStream

    yield Patch(LogsBackend, "put_subscription_filter", _put_subscription_filter)
    yield Patch(LogStream, "_send_log_events", _send_log_events)


#: Lambda subscription filters delivering to Cloudmicro's functions
PATCHES = PatchSet("logs", _patches)
