"""The SQS calls a poller makes, answered by the embedded moto's SQS backend directly.

An event source mapping's poller spends its life in two calls, ReceiveMessage and
DeleteMessageBatch. Through boto3 each one is built, signed, sent, routed by moto's Flask app,
handled, serialized and parsed again; with moto in this process none of that is needed: this
module calls the backend's own methods (the ones moto's request handlers call, patched by
:mod:`.sqs_speed`) and shapes the answer exactly as boto3 would return it
(:func:`received`: moto's ``ReceiveMessage`` handler, with every system and message attribute).
:class:`emulator.aws.clients.AwsClients` uses it when the composition root gives it one; with an
external moto it talks HTTP instead. The calls block (a long poll waits up to its
``WaitTimeSeconds``): they run in the clients' thread pool, as boto3's calls do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from emulator.domain.arn import Arn

#: what ReceiveMessage with AttributeNames=["All"] returns, in moto's handler's order
_SYSTEM_ATTRIBUTES = ("SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp",
                      "MessageDeduplicationId", "MessageGroupId", "AWSTraceHeader", "SequenceNumber")


def _backend(queue: Arn) -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[queue.account][queue.region]


def received(message: Any) -> dict[str, Any]:
    """A moto message as boto3's ReceiveMessage returns it (all attributes asked for)."""
    shaped: dict[str, Any] = {
        "MessageId": message.id,
        "ReceiptHandle": message.receipt_handle,
        "MD5OfBody": message.body_md5,
        "Body": message.body,
    }
    attributes: dict[str, str] = {
        "SenderId": message.sender_id,
        "SentTimestamp": str(message.sent_timestamp),
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    if message.deduplication_id is not None:
        attributes["MessageDeduplicationId"] = message.deduplication_id
    if message.group_id is not None:
        attributes["MessageGroupId"] = message.group_id
    trace = (message.system_attributes or {}).get("AWSTraceHeader")
    if trace and trace.get("StringValue"):
        attributes["AWSTraceHeader"] = trace["StringValue"]
    if message.sequence_number is not None:
        attributes["SequenceNumber"] = message.sequence_number
    shaped["Attributes"] = attributes
    if len(message.message_attributes):
        shaped["MD5OfMessageAttributes"] = message.attribute_md5
        shaped["MessageAttributes"] = {name: dict(value) for name, value in message.message_attributes.items()}
    return shaped


class MotoSqs:
    """ReceiveMessage and DeleteMessageBatch on the embedded moto, without a request."""

    def receive(self, queue: Arn, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        backend = _backend(queue)
        visibility = backend.get_queue(queue.resource).visibility_timeout
        messages = backend.receive_message(queue.resource, count, wait_seconds, visibility,
                                           message_attribute_names=["All"])
        return [received(message) for message in messages]

    def delete_batch(self, queue: Arn, entries: Sequence[dict[str, str]]) -> dict[str, Any]:
        successful, failed = _backend(queue).delete_message_batch(queue.resource, list(entries))
        return {"Successful": [{"Id": ident} for ident in successful], "Failed": list(failed)}
