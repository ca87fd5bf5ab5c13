"""DynamoDB Streams and Kinesis pollers: one poller per shard, records in order.

The checkpoint (kept in the state directory, so a restart resumes where it stopped) moves only
past records whose batch succeeded, or was bisected and isolated, or was given up on and sent to
the on-failure destination (after MaximumRetryAttempts or MaximumRecordAgeInSeconds). With
ReportBatchItemFailures the function names the first failed record by its SequenceNumber and
the batch is retried from there. With ParallelizationFactor > 1 a batch is split by partition
key (Kinesis) or item key (DynamoDB) into lanes invoked concurrently, each keeping its order.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulator.aws.clients import AwsClients
from emulator.domain.arn import Arn
from emulator.domain.backoff import Backoff
from emulator.esm.mappings import EventSourceMapping
from emulator.esm.poller import BatchInvoker, BatchOutcome, MappingStats, problem_text
from emulator.patterns.engine import lambda_filter_matches

log = logging.getLogger(__name__)

#: seconds between GetRecords calls on a shard with nothing new: 0.1 s, growing to 0.25 s while
#: nothing comes (the first record after a quiet spell waits at most that long)
POLL_INTERVAL = 0.1
EMPTY_BACKOFF = (POLL_INTERVAL, 0.25)
#: waits after a failed call (list shards, read a shard): 0.5 s, doubling up to 10 s
ERROR_BACKOFF = (0.5, 10.0)
#: waits before a failed batch is invoked again: 0.1 s, doubling up to 2 s
RETRY_BACKOFF = (0.1, 2.0)
#: seconds between looks for new shards
SHARD_DISCOVERY_INTERVAL = 5.0


def _jsonable(value: Any) -> Any:
    """boto3's parsed values (bytes, datetimes) as the JSON Lambda would send."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _stream_record(raw: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB stream record as Lambda delivers it: ``ApproximateCreationDateTime`` in whole
    seconds ("rounded down to the closest second", the StreamRecord reference), the rest as read."""
    record: dict[str, Any] = _jsonable(raw)
    created = record.get("ApproximateCreationDateTime")
    if isinstance(created, float):
        record["ApproximateCreationDateTime"] = int(created)
    return record


def _arrival(record: dict[str, Any]) -> float:
    if "kinesis" in record:
        return float(record["kinesis"]["approximateArrivalTimestamp"])
    return float(record["dynamodb"].get("ApproximateCreationDateTime", time.time()))


def _sequence(record: dict[str, Any]) -> str:
    return record["kinesis"]["sequenceNumber"] if "kinesis" in record else record["dynamodb"]["SequenceNumber"]


def _lane_key(record: dict[str, Any]) -> str:
    if "kinesis" in record:
        return str(record["kinesis"]["partitionKey"])
    return json.dumps(record["dynamodb"].get("Keys", {}), sort_keys=True)


def _iso(epoch: float, millis: bool = False) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{moment.microsecond // 1000:03d}Z" if millis else "Z")


class Checkpoints:
    """The last processed sequence number per shard of one mapping, on disk."""

    def __init__(self, folder: Path, mapping_id: str) -> None:
        self.path = folder / f"{mapping_id}.json"
        try:
            self._data: dict[str, str] = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            self._data = {}

    def get(self, shard: str) -> str | None:
        return self._data.get(shard)

    def put(self, shard: str, sequence: str) -> None:
        self._data[shard] = sequence
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._data))
        tmp.replace(self.path)


class StreamPoller:
    """Discovers the shards of a mapping's stream and runs one shard poller each."""

    def __init__(self, mapping: EventSourceMapping, invoke: BatchInvoker, clients: AwsClients,
                 stats: MappingStats, checkpoint_dir: Path) -> None:
        self.mapping = mapping
        self.invoke = invoke
        self.clients = clients
        self.stats = stats
        self.checkpoints = Checkpoints(checkpoint_dir, mapping.uuid)
        self.dynamodb = mapping.kind == "dynamodb"
        self.stream = Arn.parse(mapping.event_source_arn)
        self.client = clients.client("dynamodbstreams" if self.dynamodb else "kinesis")
        self._shards: dict[str, asyncio.Task[None]] = {}

    async def run(self) -> None:
        errors = Backoff(*ERROR_BACKOFF)
        try:
            while True:
                try:
                    for shard in await self._list_shards():
                        if shard not in self._shards:
                            self._shards[shard] = asyncio.get_running_loop().create_task(self._shard(shard))
                    errors.reset()
                    await asyncio.sleep(SHARD_DISCOVERY_INTERVAL)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - report and keep polling
                    self.stats.problem(problem_text(exc))
                    await errors.wait()
        finally:
            for task in self._shards.values():
                task.cancel()
            await asyncio.gather(*self._shards.values(), return_exceptions=True)

    async def _list_shards(self) -> list[str]:
        arn = self.mapping.event_source_arn
        if self.dynamodb:
            reply = await self.clients.call(self.client.describe_stream, StreamArn=arn)
            return [s["ShardId"] for s in reply["StreamDescription"]["Shards"]]
        reply = await self.clients.call(self.client.list_shards, StreamName=self.stream.resource_id)
        return [s["ShardId"] for s in reply["Shards"]]

    # --- one shard ----------------------------------------------------------------------

    async def _iterator(self, shard: str) -> str:
        arn = self.mapping.event_source_arn
        args: dict[str, Any] = {"ShardId": shard}
        if self.dynamodb:
            args["StreamArn"] = arn
        else:
            args["StreamName"] = self.stream.resource_id
        done = self.checkpoints.get(shard)
        if done is not None:
            args["ShardIteratorType"] = "AFTER_SEQUENCE_NUMBER"
            args["SequenceNumber" if self.dynamodb else "StartingSequenceNumber"] = done
        elif self.mapping.starting_position == "AT_TIMESTAMP":
            args.update(ShardIteratorType="AT_TIMESTAMP",
                        Timestamp=datetime.fromtimestamp(self.mapping.starting_position_timestamp or 0, UTC))
        else:
            args["ShardIteratorType"] = self.mapping.starting_position or "LATEST"
        reply = await self.clients.call(self.client.get_shard_iterator, **args)
        iterator: str = reply["ShardIterator"]
        return iterator

    async def _shard(self, shard: str) -> None:
        errors, empty = Backoff(*ERROR_BACKOFF), Backoff(*EMPTY_BACKOFF)
        iterator: str | None = None
        while True:
            try:
                if iterator is None:
                    iterator = await self._iterator(shard)
                records, iterator = await self._read(shard, iterator)
                if records:
                    empty.reset()
                    await self._process(shard, records)
                elif iterator is None:
                    return  # the shard is closed and fully read
                else:
                    await empty.wait()
                errors.reset()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - report, then start again from the checkpoint
                iterator = None
                self.stats.problem(problem_text(exc))
                log.warning("stream mapping %s shard %s: %s", self.mapping.uuid, shard, problem_text(exc))
                await errors.wait()

    async def _read(self, shard: str, iterator: str) -> tuple[list[dict[str, Any]], str | None]:
        """Up to BatchSize records; with a batching window, keep reading until it is full or the window ends."""
        size = self.mapping.batch_size
        records: list[dict[str, Any]] = []
        ends = time.monotonic() + self.mapping.maximum_batching_window
        current: str | None = iterator
        while current is not None:
            reply = await self.clients.call(self.client.get_records, ShardIterator=current,
                                            Limit=size - len(records))
            records += [self._record(shard, r) for r in reply.get("Records", [])]
            current = reply.get("NextShardIterator")
            window = self.mapping.maximum_batching_window
            if len(records) >= size or time.monotonic() >= ends or (not records and not window):
                break
            if not reply.get("Records"):
                await asyncio.sleep(min(POLL_INTERVAL, max(0.0, ends - time.monotonic())))
        return records, current

    def _record(self, shard: str, raw: dict[str, Any]) -> dict[str, Any]:
        region = self.clients.region
        arn = self.mapping.event_source_arn
        if self.dynamodb:
            return {
                "eventID": raw.get("eventID"),
                "eventName": raw.get("eventName"),
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": raw.get("awsRegion", region),
                "dynamodb": _stream_record(raw.get("dynamodb", {})),
                "eventSourceARN": arn,
            }
        sequence = raw["SequenceNumber"]
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": raw["PartitionKey"],
                "sequenceNumber": sequence,
                "data": base64.b64encode(raw["Data"]).decode(),
                "approximateArrivalTimestamp": _jsonable(raw.get("ApproximateArrivalTimestamp", time.time())),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard}:{sequence}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": f"arn:aws:iam::{self.stream.account}:role/lambda-role",
            "awsRegion": region,
            "eventSourceARN": arn,
        }

    async def _process(self, shard: str, records: list[dict[str, Any]]) -> None:
        criteria = self.mapping.filter_criteria
        source = "aws:dynamodb" if self.dynamodb else "aws:kinesis"
        matched = [r for r in records if lambda_filter_matches(criteria, r, source)]
        self.stats.filtered += len(records) - len(matched)
        lanes = self._lanes(matched)
        if len(lanes) == 1:
            await self._handle(shard, lanes[0], lambda record: self.checkpoints.put(shard, _sequence(record)))
        elif lanes:
            await asyncio.gather(*(self._handle(shard, lane, lambda record: None) for lane in lanes))
        self.checkpoints.put(shard, _sequence(records[-1]))

    def _lanes(self, records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        factor = self.mapping.parallelization_factor
        if factor <= 1 or not records:
            return [records] if records else []
        lanes: dict[int, list[dict[str, Any]]] = {}
        for record in records:
            lanes.setdefault(zlib.crc32(_lane_key(record).encode()) % factor, []).append(record)
        return list(lanes.values())

    async def _handle(self, shard: str, batch: list[dict[str, Any]],
                      checkpoint: Callable[[dict[str, Any]], None]) -> None:
        """Invoke until the batch succeeds, is bisected away, or is given up on."""
        retries = 0
        waits = Backoff(*RETRY_BACKOFF)
        while True:
            self.stats.in_flight += len(batch)
            try:
                outcome = await self.invoke(self.mapping, {"Records": batch})
            finally:
                self.stats.in_flight -= len(batch)
            failed_at = self._first_failure(batch, outcome)
            if failed_at is None:
                checkpoint(batch[-1])
                self.stats.ok(len(batch))
                return
            self.stats.failed_batches += 1
            self.stats.last_result = f"PROBLEM: function error in invocation {outcome.request_id}"
            if failed_at > 0:  # partial batch response: the records before the failure are done
                checkpoint(batch[failed_at - 1])
                self.stats.ok(failed_at)
                batch = batch[failed_at:]
            condition = self._given_up(batch, retries)
            if condition:
                await self._on_failure(shard, batch, outcome, condition, retries + 1)
                checkpoint(batch[-1])
                return
            if self.mapping.bisect_on_error and outcome.failed and len(batch) > 1:
                half = len(batch) // 2
                await self._handle(shard, batch[:half], checkpoint)
                await self._handle(shard, batch[half:], checkpoint)
                return
            retries += 1
            await waits.wait()

    def _first_failure(self, batch: list[dict[str, Any]], outcome: BatchOutcome) -> int | None:
        """Index of the first record to retry, or None when the batch succeeded."""
        if outcome.failed:
            return 0
        if not self.mapping.reports_item_failures:
            return None
        answer = outcome.json()
        if answer in (None, {}, ""):
            return None
        failures = answer.get("batchItemFailures") if isinstance(answer, dict) else None
        if failures is None or failures == []:
            return None
        sequences = [_sequence(r) for r in batch]
        if not isinstance(failures, list):
            return 0
        indexes = []
        for item in failures:
            identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
            if identifier not in sequences:
                return 0  # an invalid answer fails the whole batch, as on AWS
            indexes.append(sequences.index(identifier))
        return min(indexes)

    def _given_up(self, batch: list[dict[str, Any]], retries: int) -> str | None:
        mapping = self.mapping
        if mapping.maximum_record_age != -1 and time.time() - _arrival(batch[0]) > mapping.maximum_record_age:
            return "RecordAgeExceeded"
        if mapping.maximum_retry_attempts != -1 and retries >= mapping.maximum_retry_attempts:
            return "RetryAttemptsExhausted"
        return None

    async def _on_failure(self, shard: str, batch: list[dict[str, Any]], outcome: BatchOutcome,
                          condition: str, attempts: int) -> None:
        """Send the AWS invocation record for a batch given up on to the on-failure destination."""
        log.warning("mapping %s gives up on %d record(s) of %s: %s", self.mapping.uuid, len(batch), shard, condition)
        destination = self.mapping.on_failure
        if not destination:
            return
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if outcome.result.function_error:
            response["functionError"] = outcome.result.function_error
        info_key = "DDBStreamBatchInfo" if self.dynamodb else "KinesisBatchInfo"
        record = {
            "requestContext": {
                "requestId": outcome.request_id,
                "functionArn": self.mapping.function_arn,
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": _iso(time.time(), millis=True),
            info_key: {
                "shardId": shard,
                "startSequenceNumber": _sequence(batch[0]),
                "endSequenceNumber": _sequence(batch[-1]),
                "approximateArrivalOfFirstRecord": _iso(_arrival(batch[0])),
                "approximateArrivalOfLastRecord": _iso(_arrival(batch[-1])),
                "batchSize": len(batch),
                "streamArn": self.mapping.event_source_arn,
            },
        }
        try:
            await self.clients.send_to(destination, json.dumps(record))
        except Exception as exc:  # noqa: BLE001 - the batch is given up on either way
            self.stats.problem(f"could not deliver to on-failure destination {destination}: {problem_text(exc)}")

