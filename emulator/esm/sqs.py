"""The SQS poller: long-polls a queue, invokes the function with batches, deletes what succeeded.

As on AWS: a batch is deleted only when the function succeeds; failed messages become visible
again after the queue's visibility timeout and move to its dead-letter queue after
maxReceiveCount (moto does that on receive, as SQS does); with ReportBatchItemFailures only the
listed messages stay; records that FilterCriteria rejects are deleted without an invoke; in a
FIFO queue a failed message holds back the rest of its message group.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from typing import Any

from emulator.aws.clients import AwsClients
from emulator.domain.arn import Arn
from emulator.domain.backoff import Backoff
from emulator.esm.mappings import EventSourceMapping
from emulator.esm.poller import BatchInvoker, MappingStats, problem_text
from emulator.patterns.engine import lambda_filter_matches

log = logging.getLogger(__name__)

#: seconds one ReceiveMessage waits (long polling); a new message ends the wait at once
WAIT_SECONDS = 2
#: concurrent batches of one mapping when ScalingConfig sets no MaximumConcurrency
DEFAULT_CONCURRENCY = 5
#: concurrent ReceiveMessage calls of one mapping (without a batching window)
RECEIVERS = 2
#: waits after a failed receive: 0.5 s, doubling up to 10 s (long polling is the wait between empty ones)
ERROR_BACKOFF = (0.5, 10.0)


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        record["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        record["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return record


def to_record(message: dict[str, Any], mapping: EventSourceMapping, region: str) -> dict[str, Any]:
    """A received SQS message as Lambda's SQS event record."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {k: _attribute(v) for k, v in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": mapping.event_source_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_message_ids(mapping: EventSourceMapping, records: list[dict[str, Any]], outcome_json: Any,
                       fifo: bool) -> set[str]:
    """The messages to keep after a successful invoke (partial batch response)."""
    ids = [r["messageId"] for r in records]
    if not mapping.reports_item_failures or outcome_json in (None, {}, ""):
        return set()
    failures = outcome_json.get("batchItemFailures") if isinstance(outcome_json, dict) else None
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return set(ids)  # an invalid answer fails the whole batch, as on AWS
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in ids:
            return set(ids)
        failed.add(identifier)
    if fifo:  # a failure holds back the rest of its message group
        blocked: set[str] = set()
        for record in records:
            group = record["attributes"].get("MessageGroupId")
            if record["messageId"] in failed or group in blocked:
                failed.add(record["messageId"])
                blocked.add(group)
    return failed


class SqsPoller:
    """Polls one mapping's queue with up to MaximumConcurrency concurrent workers."""

    def __init__(self, mapping: EventSourceMapping, invoke: BatchInvoker, clients: AwsClients,
                 stats: MappingStats) -> None:
        self.mapping = mapping
        self.invoke = invoke
        self.clients = clients
        self.stats = stats
        self.queue = Arn.parse(mapping.event_source_arn)
        self.fifo = self.queue.resource.endswith(".fifo")

    async def run(self) -> None:
        """Receivers gather batches; each batch is processed in its own task, at most
        MaximumConcurrency at once."""
        concurrency = self.mapping.maximum_concurrency or DEFAULT_CONCURRENCY
        slots = asyncio.Semaphore(concurrency)
        # One receiver fills batches over a batching window, and keeps FIFO receives in order
        # (message groups in flight are then never handed out twice).
        one = self.mapping.maximum_batching_window > 0 or self.fifo
        receivers = 1 if one else min(RECEIVERS, concurrency)
        await self._ready()
        tasks: set[asyncio.Task[None]] = set()
        try:
            await asyncio.gather(*(self._receiver(slots, tasks) for _ in range(receivers)))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _ready(self) -> None:
        """Wait until the function can run (its requirements installed, an environment launched):
        a message received before that would have its visibility timeout run out during the
        install, come back, and be processed twice."""
        errors = Backoff(*ERROR_BACKOFF)
        while True:
            try:
                await self.invoke.prepare(self.mapping)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reported; nothing is received meanwhile
                self.stats.problem(f"the function is not ready: {problem_text(exc)}")
                log.warning("SQS mapping %s: the function is not ready: %s", self.mapping.uuid, problem_text(exc))
                await errors.wait()

    async def _receiver(self, slots: asyncio.Semaphore, tasks: set[asyncio.Task[None]]) -> None:
        errors = Backoff(*ERROR_BACKOFF)
        while True:
            await slots.acquire()
            try:
                messages = await self._receive_batch()
            except asyncio.CancelledError:
                slots.release()
                raise
            except Exception as exc:  # noqa: BLE001 - a poller reports problems and keeps going
                slots.release()
                self.clients.forget_queue_url(self.queue)
                self.stats.problem(problem_text(exc))
                log.warning("SQS mapping %s: %s", self.mapping.uuid, problem_text(exc))
                await errors.wait()
                continue
            errors.reset()
            if not messages:
                slots.release()
                continue
            task = asyncio.get_running_loop().create_task(self._process_and_release(messages, slots))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def _process_and_release(self, messages: list[dict[str, Any]], slots: asyncio.Semaphore) -> None:
        try:
            await self._process(messages)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the messages come back after their visibility timeout
            self.stats.problem(problem_text(exc))
            log.warning("SQS mapping %s: %s", self.mapping.uuid, problem_text(exc))
        finally:
            slots.release()

    async def _receive(self, count: int, wait: float) -> list[dict[str, Any]]:
        return await self.clients.receive(self.queue, count, int(max(0, min(20, wait))))

    async def _receive_batch(self) -> list[dict[str, Any]]:
        """One batch: a single receive, or, with a batching window, receives until it is full or the window ends."""
        size = self.mapping.batch_size
        window = self.mapping.maximum_batching_window
        messages = await self._receive(min(10, size), WAIT_SECONDS)
        if not messages or window <= 0:
            return messages
        ends = time.monotonic() + window
        while len(messages) < size:
            remaining = ends - time.monotonic()
            if remaining <= 0:
                break
            more = await self._receive(min(10, size - len(messages)), min(remaining, WAIT_SECONDS))
            messages += more
        return messages

    async def _process(self, messages: list[dict[str, Any]]) -> None:
        region = self.clients.region
        records = [to_record(m, self.mapping, region) for m in messages]
        criteria = self.mapping.filter_criteria
        matched = [r for r in records if lambda_filter_matches(criteria, r, "aws:sqs")]
        dropped = [r for r in records if r not in matched]
        if dropped:  # filtered-out records are deleted, as on AWS
            self.stats.filtered += len(dropped)
            await self._delete(dropped)
        if not matched:
            return
        self.stats.in_flight += len(matched)
        try:
            outcome = await self.invoke(self.mapping, {"Records": matched})
        finally:
            self.stats.in_flight -= len(matched)
        if outcome.failed:
            self.stats.failed_batches += 1
            self.stats.last_result = f"PROBLEM: function error in invocation {outcome.request_id}"
            return  # nothing is deleted: the messages come back after the visibility timeout
        keep = failed_message_ids(self.mapping, matched, outcome.json(), self.fifo)
        await self._delete([r for r in matched if r["messageId"] not in keep])
        self.stats.ok(len(matched))
        if keep:
            self.stats.failed_batches += 1

    async def _delete(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), 10):
            chunk = records[start:start + 10]
            for failure in await self.clients.delete_batch(self.queue, [r["receiptHandle"] for r in chunk]):
                log.warning("could not delete message from %s: %s", self.mapping.event_source_arn, failure)
