"""Function logs in CloudWatch Logs, where Lambda writes them: the log group
``/aws/lambda/<function>`` (created when missing), one stream per execution environment named
``YYYY/MM/DD/[$LATEST]<32 hex>`` (the ``AWS_LAMBDA_LOG_STREAM_NAME`` the function sees), one
log event per line of output, each message ending in its newline as Lambda's do. So
``aws logs tail /aws/lambda/NAME`` and ``FilterLogEvents`` work locally.

Timestamps: the function's output is captured per invocation, not per line, so a cold start's
init output is stamped with the environment's start, ``START`` and the function's output with
the invocation's start, and ``END`` / ``REPORT`` with its end.

Writing never slows an invoke and never fails one: :meth:`CloudWatchLogs.add` (a
:class:`LogStore` listener) only queues the lines; a background task flushes each stream's
lines every 200 ms in ``PutLogEvents`` batches within AWS's limits (10,000 events; 1,048,576
bytes counting 26 bytes per event; 24 hours; in time order; events clipped to 256 KB). The
requests go straight to the AWS backend's ASGI app (the embedded moto, or the proxy to the
external one), not through a socket, so the last lines can still be written while the server
shuts down (:meth:`CloudWatchLogs.close` flushes them). A write that fails is tried again on
later flushes (backing off to 5 s; at most 50,000 lines kept per stream meanwhile), and a
group or stream that vanished (``cloudmicro reset``) is created again.

Every Logs API request through the endpoint first writes what is pending
(:class:`ReadYourWrites`), so ``FilterLogEvents`` right after an invoke finds its lines. With
the embedded moto, nothing is written until that first Logs API request: waking moto and its
Logs backend costs the control plane about 40 MiB, which a Lambda-only session never pays
(the logs of the latest 5,000 invocations are held until then; older ones are dropped).
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from emulator.aws.requests import signed_service
from emulator.domain.backoff import Backoff
from emulator.invocation.logs import InvocationLog

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.2
MAX_BACKOFF = 5.0
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26
MAX_EVENT_BYTES = 256 * 1024 - EVENT_OVERHEAD
MAX_BATCH_SPAN_MS = 24 * 3600 * 1000
MAX_PENDING = 50_000
MAX_HELD = 5_000
CALL_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class LogEvent:
    timestamp: int
    message: str


def log_events(entry: InvocationLog) -> list[LogEvent]:
    """One event per line of an invocation's log, stamped as the module docstring says."""
    lines = entry.text.split("\n")
    messages = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    start_prefix = f"START RequestId: {entry.request_id} "
    end_prefix = f"END RequestId: {entry.request_id}"
    start = next((i for i, m in enumerate(messages) if m.startswith(start_prefix)), 0)
    end = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].startswith(end_prefix)), len(messages))
    started = entry.started_at or int(time.time() * 1000)
    ended = entry.ended_at or started
    init = entry.init_at or started
    return [
        LogEvent(init if i < start else started if i < end else ended, _clipped(message))
        for i, message in enumerate(messages)
    ]


def _clipped(message: str) -> str:
    data = message.encode()
    return message if len(data) <= MAX_EVENT_BYTES else data[:MAX_EVENT_BYTES].decode("utf-8", "ignore")


def batches(events: list[LogEvent]) -> Iterator[list[LogEvent]]:
    """``PutLogEvents`` batches of time-ordered ``events`` within AWS's limits."""
    batch: list[LogEvent] = []
    size = 0
    for event in events:
        cost = len(event.message.encode()) + EVENT_OVERHEAD
        if batch and (len(batch) == MAX_BATCH_EVENTS or size + cost > MAX_BATCH_BYTES
                      or event.timestamp - batch[0].timestamp >= MAX_BATCH_SPAN_MS):
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += cost
    if batch:
        yield batch


class LogsApiError(Exception):
    """An error answer of the CloudWatch Logs API (``code`` is AWS's error code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class LogsClient:
    """The few CloudWatch Logs calls the writer makes, as JSON requests to an ASGI app."""

    def __init__(self, app: Any, region: str) -> None:
        self._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                       base_url="http://localhost")  # routed by the credential scope
        self._headers = {
            "Content-Type": "application/x-amz-json-1.1",
            # moto (and the gateway) route by the credential scope; moto checks no signature
            "Authorization": f"AWS4-HMAC-SHA256 Credential=test/20150101/{region}/logs/aws4_request, "
                             "SignedHeaders=content-type;host;x-amz-target, Signature=0",
        }

    async def call(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {**self._headers, "X-Amz-Target": f"Logs_20140328.{action}"}
        reply = await asyncio.wait_for(self._http.post("/", content=json.dumps(body), headers=headers), CALL_TIMEOUT)
        try:
            data = reply.json() if reply.content else {}
        except ValueError:
            data = {}
        if reply.status_code == 200:
            return data
        code = str(data.get("__type") or f"HTTP {reply.status_code}").rsplit("#", 1)[-1]
        raise LogsApiError(code, str(data.get("message") or data.get("Message") or reply.text[:300]))

    async def aclose(self) -> None:
        await self._http.aclose()


class CloudWatchLogs:
    """Writes every invocation log it is given to CloudWatch Logs, in the background.

    ``eager=False`` (the embedded moto) holds the logs of the latest :data:`MAX_HELD`
    invocations until the Logs API is first used (:meth:`before_read`), then writes them and
    every line after.
    """

    def __init__(self, client: LogsClient, interval: float = FLUSH_INTERVAL, *, eager: bool = True) -> None:
        self._client = client
        self._interval = interval
        self.active = eager
        self._held: deque[InvocationLog] = deque()
        self._pending: dict[tuple[str, str], list[LogEvent]] = {}
        self._groups: set[str] = set()
        self._streams: set[tuple[str, str]] = set()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._warned_at = 0.0
        self.dropped = 0

    def add(self, entry: InvocationLog) -> None:
        """Queue an invocation's lines (a :class:`LogStore` listener: quick, never raises)."""
        if not entry.log_stream:
            return
        if not self.active:
            self._held.append(entry)  # as is: LogStore keeps the latest ones anyway
            if len(self._held) > MAX_HELD:
                self.dropped += self._held.popleft().text.count("\n")
            return
        pending = self._pending.setdefault((f"/aws/lambda/{entry.function_name}", entry.log_stream), [])
        pending += log_events(entry)
        self._trim(pending)
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="cloudwatch-logs")

    async def before_read(self, timeout: float = 10.0) -> None:
        """A Logs API request is coming: write everything added so far first (read-your-writes)."""
        if not self.active:
            self.active = True
            while self._held:
                self.add(self._held.popleft())
        try:
            await asyncio.wait_for(self.flush(), timeout)
        except TimeoutError:
            self._warn("CloudWatch Logs: pending lines not written in time for a read")

    async def close(self, timeout: float = 10.0) -> None:
        """Stop the background task and write what is left (bounded by ``timeout``)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.active:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self.flush(), timeout)
            left = sum(len(p) for p in self._pending.values())
            if left:
                log.warning("CloudWatch Logs: %d log line(s) could not be written before shutdown", left)
        await self._client.aclose()

    async def flush(self) -> bool:
        """Write every stream's pending lines now; False when some could not be written."""
        async with self._lock:
            keys = [key for key, pending in self._pending.items() if pending]
            results = await asyncio.gather(*(self._flush_stream(key) for key in keys), return_exceptions=True)
        failed = [(key, r) for key, r in zip(keys, results, strict=True) if isinstance(r, BaseException)]
        for key, error in failed:
            if isinstance(error, asyncio.CancelledError):
                raise error
            self._warn(f"CloudWatch Logs: could not write to {key[0]} {key[1]} (will try again): {error!r}")
        return not failed

    async def _run(self) -> None:
        failures = Backoff(self._interval * 2, MAX_BACKOFF)  # after a failed flush: 2, 4, ... intervals
        wait = self._interval
        while True:
            await self._wake.wait()
            await asyncio.sleep(wait)
            self._wake.clear()
            if await self.flush():
                failures.reset()
                wait = self._interval
            else:
                wait = failures.next()
                self._wake.set()

    async def _flush_stream(self, key: tuple[str, str]) -> None:
        events = sorted(self._pending.pop(key), key=lambda e: e.timestamp)
        sent = 0
        try:
            for batch in batches(events):
                await self._put(key, batch)
                sent += len(batch)
        except BaseException:
            # keep what was not written, ahead of what came meanwhile
            rest = events[sent:] + self._pending.get(key, [])
            self._trim(rest)
            self._pending[key] = rest
            raise

    async def _put(self, key: tuple[str, str], batch: list[LogEvent]) -> None:
        group, stream = key
        body = {"logGroupName": group, "logStreamName": stream,
                "logEvents": [{"timestamp": e.timestamp, "message": e.message} for e in batch]}
        if key not in self._streams:
            await self._create(key)
        try:
            await self._client.call("PutLogEvents", body)
        except LogsApiError as exc:
            if exc.code != "ResourceNotFoundException":
                raise
            self._groups.discard(group)  # gone (a reset): make both again
            self._streams.discard(key)
            await self._create(key)
            await self._client.call("PutLogEvents", body)

    async def _create(self, key: tuple[str, str]) -> None:
        group, stream = key
        if group not in self._groups:
            await self._ignoring_exists("CreateLogGroup", {"logGroupName": group})
            self._groups.add(group)
        await self._ignoring_exists("CreateLogStream", {"logGroupName": group, "logStreamName": stream})
        self._streams.add(key)

    async def _ignoring_exists(self, action: str, body: dict[str, Any]) -> None:
        try:
            await self._client.call(action, body)
        except LogsApiError as exc:
            if exc.code != "ResourceAlreadyExistsException":
                raise

    def _trim(self, pending: list[LogEvent]) -> None:
        excess = len(pending) - MAX_PENDING
        if excess > 0:
            del pending[:excess]
            self.dropped += excess
            self._warn(f"CloudWatch Logs: dropped {excess} log line(s) that could not be written")

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self._warned_at > 30:
            self._warned_at = now
            log.warning("%s", message)


class ReadYourWrites:
    """ASGI wrapper of the AWS backend: a CloudWatch Logs request first has the writer (when
    there is one) write every line added so far, so a read right after an invoke finds them."""

    def __init__(self, app: Any, writer: Callable[[], CloudWatchLogs | None]) -> None:
        self.app = app
        self._writer = writer

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and signed_service(scope) == "logs":
            writer = self._writer()
            if writer is not None:
                await writer.before_read()
        await self.app(scope, receive, send)
