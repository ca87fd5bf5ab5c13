"""Asynchronous invocation: the queue behind ``InvocationType: Event`` and every push source
(S3, SNS, EventBridge, schedules), as "Asynchronous invocation" describes it
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html):

* an event is accepted (202) once it is queued; it is written to ``<state>/async-events/``
  first, so events still queued (or waiting for a retry) survive a restart;
* a function error (an exception, a timeout, a crash) is retried ``MaximumRetryAttempts``
  times (default 2), after ``retry_delay`` and then twice that (AWS waits 1 and 2 minutes;
  locally the default is 1 s, see ``CLOUDMICRO_ASYNC_RETRY_DELAY``); the same request id is
  used for every attempt, as on AWS;
* throttles (the function's reserved concurrency in use) and platform errors go back to the
  queue with exponential backoff and do not count as attempts;
* an event older than ``MaximumEventAgeInSeconds`` (default 6 hours) is not run;
* a function with reserved concurrency 0 sends new events straight to its failure
  targets, without retries;
* the outcome goes to the OnSuccess/OnFailure destination and, on failure, the function's
  dead-letter queue (see :mod:`.destinations`).

Every way in (``submit`` for schedules and Lambda destinations, ``enqueue`` for the Invoke API)
has the Invoke API's checks: a JSON payload of at most 1 MB (``MAX_ASYNC_PAYLOAD``). An event
that expires after failed attempts keeps the last attempt's response in its EventAgeExceeded
record (AWS does not say; that is what the other failure records carry). Events written by an
earlier run are queued again by :meth:`AsyncInvoker.start`, except the ones already queued
(an event accepted before ``start()`` runs once). The queue's clock can be moved forward
(:meth:`AsyncInvoker.set_offset`), as the schedules' can: events then look older.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from emulator.domain.arn import Arn
from emulator.domain.backoff import delay
from emulator.domain.errors import LambdaError, ResourceNotFoundException, TooManyRequestsException
from emulator.domain.event_invoke import EventInvokeConfig, parse_event_invoke_config
from emulator.domain.functions import FunctionConfig
from emulator.domain.registry import FunctionRegistry
from emulator.invocation.destinations import (
    EVENT_AGE_EXCEEDED,
    RETRIES_EXHAUSTED,
    SUCCESS,
    AsyncOutcome,
    Destinations,
    invocation_record,
)
from emulator.invocation.invocation import Invocation, InvocationResult
from emulator.invocation.invoke_api import checked_payload as checked_event_payload  # the Invoke API's own checks
from emulator.invocation.service import InvokeService

log = logging.getLogger(__name__)

#: a throttled event waits 0.1 s, then twice as long each time, up to 5 s (not counted as attempts)
THROTTLE_BACKOFF = 0.1
MAX_THROTTLE_BACKOFF = 5.0


@dataclass
class QueuedEvent:
    """One event in the queue (what is written to disk)."""

    request_id: str
    function: str
    payload: str
    enqueued_at: float
    attempts: int = 0
    not_before: float = 0.0
    throttles: int = 0
    #: the last failed attempt's response and FunctionError, for an EventAgeExceeded record
    last_response: str | None = None
    last_error: str | None = None

    def last_result(self) -> InvocationResult | None:
        if self.last_response is None:
            return None
        return InvocationResult(self.last_response.encode(), self.last_error)


@dataclass
class _Stored:
    """A configuration given through the API (None: deleted), and the function.json
    configuration it was given over (its fingerprint; None when the file had none)."""

    config: EventInvokeConfig | None
    file_config: str | None


_LEGACY = "?"  # a configuration stored before file fingerprints were kept: adopts the current one


def _fingerprint(function: FunctionConfig) -> str | None:
    if function.event_invoke_config is None:
        return None
    text = json.dumps(function.event_invoke_config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class EventInvokeConfigs:
    """The functions' EventInvokeConfig, persisted in ``<state>/event-invoke-configs.json``.

    A function.json ``EventInvokeConfig`` is the function's configuration until the API changes
    it: Get and List return it (with a LastModified that stays put), Update changes it, Put
    replaces it and Delete removes it (Get then says there is none), as on AWS. The latest change
    wins: when the function.json configuration itself changes, it applies again, over what the
    API did before.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stored: dict[str, _Stored] = {}
        #: function.json configurations seen: name -> (fingerprint, when first seen)
        self._file_seen: dict[str, tuple[str, float]] = {}
        if path.exists():
            try:
                self._load(json.loads(path.read_text()))
            except (ValueError, KeyError, TypeError, AttributeError, LambdaError) as exc:
                log.warning("ignoring %s: %s", path, exc)

    def _load(self, data: dict[str, Any]) -> None:
        if data.get("Version") != 2:  # the first format: name -> configuration
            self._stored = {name: _Stored(EventInvokeConfig.from_json(c), _LEGACY) for name, c in data.items()}
            return
        for name, stored in data["Functions"].items():
            config = EventInvokeConfig.from_json(stored["Config"]) if stored["Config"] is not None else None
            self._stored[name] = _Stored(config, stored["FileConfig"])
        self._file_seen = {name: (seen["FileConfig"], float(seen["FirstSeen"]))
                           for name, seen in data.get("FileConfigsSeen", {}).items()}

    def get(self, function: FunctionConfig) -> EventInvokeConfig | None:
        file_config = _fingerprint(function)
        stored = self._stored.get(function.name)
        if stored is not None and stored.file_config == _LEGACY:
            stored.file_config = file_config
            self._save()
        if stored is not None and stored.file_config == file_config:
            return stored.config
        if file_config is None or function.event_invoke_config is None:
            return None
        seen = self._file_seen.get(function.name)
        if seen is None or seen[0] != file_config:
            seen = self._file_seen[function.name] = (file_config, time.time())
            self._save()
        return parse_event_invoke_config(function.arn, function.event_invoke_config, last_modified=seen[1])

    def effective(self, function: FunctionConfig) -> EventInvokeConfig:
        return self.get(function) or EventInvokeConfig(function.arn)

    def put(self, function: FunctionConfig, config: EventInvokeConfig) -> EventInvokeConfig:
        self._stored[function.name] = _Stored(config, _fingerprint(function))
        self._save()
        return config

    def delete(self, function: FunctionConfig) -> bool:
        """Remove the configuration Get returns; False when there is none."""
        if self.get(function) is None:
            return False
        self._stored[function.name] = _Stored(None, _fingerprint(function))
        self._save()
        return True

    def forget(self, name: str) -> None:
        """The function was deleted: its configuration goes with it (a function made again under
        the name starts afresh, from its function.json if it has one)."""
        found = self._stored.pop(name, None) is not None
        if self._file_seen.pop(name, None) is not None or found:
            self._save()

    def clear(self) -> None:
        self._stored.clear()
        self._file_seen.clear()
        self._save()

    def _save(self) -> None:
        data = {
            "Version": 2,
            "Functions": {name: {"Config": s.config.to_json() if s.config else None, "FileConfig": s.file_config}
                          for name, s in self._stored.items()},
            "FileConfigsSeen": {name: {"FileConfig": fp, "FirstSeen": at}
                                for name, (fp, at) in self._file_seen.items()},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(self.path)


class EventStore:
    """One JSON file per queued event."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def save(self, event: QueuedEvent) -> None:
        path = self.directory / f"{event.request_id}.json"
        tmp = self.directory / f".{event.request_id}.{uuid.uuid4().hex[:6]}.tmp"
        tmp.write_text(json.dumps(asdict(event)))
        os.replace(tmp, path)

    def delete(self, event: QueuedEvent) -> None:
        (self.directory / f"{event.request_id}.json").unlink(missing_ok=True)

    def holds(self, event: QueuedEvent) -> bool:
        return (self.directory / f"{event.request_id}.json").exists()

    def load(self) -> list[QueuedEvent]:
        events = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                events.append(QueuedEvent(**json.loads(path.read_text())))
            except (ValueError, TypeError) as exc:
                log.warning("skipping unreadable queued event %s: %s", path, exc)
        return sorted(events, key=lambda e: e.enqueued_at)


class AsyncInvoker:
    """The asynchronous invocation queue of one control plane (one queue per function)."""

    def __init__(
        self, registry: FunctionRegistry, service: InvokeService, destinations: Destinations,
        configs: EventInvokeConfigs, store: EventStore, *, retry_delay: float, max_concurrency: int,
    ) -> None:
        self.registry = registry
        self.service = service
        self.destinations = destinations
        self.configs = configs
        self.store = store
        self.retry_delay = retry_delay
        self.max_concurrency = max_concurrency
        self.stats: Counter[str] = Counter()
        self.offset = 0.0
        self._semaphores: dict[str, tuple[int, asyncio.Semaphore]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        #: request ids of the events queued in this run (waiting, running or waiting to retry)
        self._pending: set[str] = set()
        #: events whose platform error was logged as a warning (the next ones go to debug)
        self._warned: set[str] = set()
        self._started = False
        self._closed = False

    # --- clock ----------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.offset

    def set_offset(self, seconds: float) -> None:
        """Move the queue's clock to ``seconds`` past the real one: queued events look that much
        older (MaximumEventAgeInSeconds) without waiting. Timers already set keep their time."""
        self.offset = float(seconds)

    # --- entry points ---------------------------------------------------------------

    async def submit(self, function: str, payload: bytes | dict[str, Any] | list[Any], *,
                     qualifier: str | None = None) -> str:
        """Queue ``payload`` for ``function`` (a name, partial ARN or ARN) and return the request
        id; raises the AWS error as the Invoke API does (ResourceNotFoundException when there is
        no such function, RequestTooLargeException over 1 MB, InvalidRequestContentException
        when the payload is not JSON)."""
        config = self.registry.get(function, qualifier)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        data = checked_event_payload(data, "Event")
        request_id = str(uuid.uuid4())
        self._accept(QueuedEvent(request_id, config.qualified_name, data.decode("utf-8", "replace"), self.now()))
        return request_id

    async def enqueue(self, inv: Invocation) -> None:
        """Queue an Event invoke already validated by the Invoke API (keeps its request id)."""
        self._accept(QueuedEvent(inv.request_id, inv.function.qualified_name,
                                 inv.payload.decode("utf-8", "replace"), self.now()))

    def start(self) -> int:
        """Queue the events a previous run left on disk (not the ones this run queued already:
        events can be accepted before ``start()``); returns how many. Once only."""
        if self._started or self._closed:
            return 0
        self._started = True
        resumed = [event for event in self.store.load() if event.request_id not in self._pending]
        for event in resumed:
            self._pending.add(event.request_id)
            self._schedule(event)
        if resumed:
            log.info("resuming %d queued asynchronous event(s)", len(resumed))
        return len(resumed)

    async def close(self) -> None:
        """Stop processing; what is still queued stays on disk for the next start."""
        self._closed = True
        for timer in self._timers:
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def clear(self) -> None:
        """Forget every queued event (``cloudmicro reset``); an attempt already running ends,
        and nothing follows it (no retry, no destination)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for event in self.store.load():
            self.store.delete(event)
        self._pending.clear()

    def status(self) -> dict[str, Any]:
        return {"queued": len(self._pending), **self.stats}

    # --- the queue ------------------------------------------------------------------

    def _accept(self, event: QueuedEvent) -> None:
        self.store.save(event)
        self._pending.add(event.request_id)
        self.stats["accepted"] += 1
        self._schedule(event)

    def _schedule(self, event: QueuedEvent) -> None:
        if self._closed:
            return
        delay = event.not_before - self.now()
        if delay > 0:
            loop = asyncio.get_running_loop()
            timer: asyncio.TimerHandle | None = None

            def fire() -> None:
                self._timers.discard(timer)
                self._spawn(event)

            timer = loop.call_later(delay, fire)
            self._timers.add(timer)
        else:
            self._spawn(event)

    def _spawn(self, event: QueuedEvent) -> None:
        if self._closed:
            return
        task = asyncio.get_running_loop().create_task(self._process(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _semaphore(self, function: FunctionConfig) -> asyncio.Semaphore:
        limit = function.reserved_concurrency or self.max_concurrency
        current = self._semaphores.get(function.name)
        if current is None or current[0] != limit:
            current = self._semaphores[function.name] = (limit, asyncio.Semaphore(limit))
        return current[1]

    async def _process(self, event: QueuedEvent) -> None:
        if event.request_id not in self._pending or not self.store.holds(event):
            return  # cleared by a reset
        try:
            function = self.registry.get(event.function, route=True)  # an alias picks per attempt
        except ResourceNotFoundException:
            log.warning("dropping queued event %s: function %s no longer exists", event.request_id, event.function)
            self._done(event, "dropped")
            return
        config = self.configs.effective(function)
        if self.now() - event.enqueued_at > config.maximum_event_age:
            await self._finish(event, function, config, EVENT_AGE_EXCEEDED, event.last_result())
            return
        if function.reserved_concurrency == 0:
            await self._finish(event, function, config, RETRIES_EXHAUSTED, None)
            return
        async with self._semaphore(function):
            try:
                result = await self._run(function, event)
            except TooManyRequestsException:
                self._back_off(event, "throttled")
                return
            except LambdaError as exc:  # a platform error (e.g. the image could not be built)
                self._platform_error(event, function, exc)
                return
        if event.request_id not in self._pending:
            return  # cleared by a reset while it ran
        event.attempts += 1
        if result.function_error is None:
            await self._finish(event, function, config, SUCCESS, result)
        elif event.attempts <= config.maximum_retry_attempts:
            event.not_before = self.now() + delay(event.attempts, self.retry_delay, cap=float("inf"))
            event.last_response = result.payload.decode("utf-8", "replace")
            event.last_error = result.function_error
            self.store.save(event)
            self.stats["retries"] += 1
            self._schedule(event)
        else:
            await self._finish(event, function, config, RETRIES_EXHAUSTED, result)

    async def _run(self, function: FunctionConfig, event: QueuedEvent) -> InvocationResult:
        inv = Invocation(function, event.payload.encode(), request_id=event.request_id)
        return (await self.service.execute(inv)).result

    def _platform_error(self, event: QueuedEvent, function: FunctionConfig, exc: LambdaError) -> None:
        """Back off and try again; say so once per event (then at debug level)."""
        if event.request_id in self._warned:
            log.debug("event %s of %s: %s; will try again", event.request_id, function.name, exc.message)
        else:
            self._warned.add(event.request_id)
            log.warning("event %s of %s: %s; will try again, backing off up to %.0f s (further errors "
                        "for this event are logged at debug level)", event.request_id, function.name,
                        exc.message, MAX_THROTTLE_BACKOFF)
        self._back_off(event, "platform_errors")

    def _back_off(self, event: QueuedEvent, counter: str) -> None:
        self.stats[counter] += 1
        event.throttles += 1
        event.not_before = self.now() + delay(event.throttles, THROTTLE_BACKOFF, MAX_THROTTLE_BACKOFF)
        self._schedule(event)

    async def _finish(self, event: QueuedEvent, function: FunctionConfig, config: EventInvokeConfig,
                      condition: str, result: InvocationResult | None) -> None:
        outcome = AsyncOutcome(function.qualified_arn, event.request_id, event.payload.encode(), condition,
                               event.attempts, result, function.version)
        if outcome.succeeded:
            if config.on_success:
                await self._report(config.on_success, outcome)
        else:
            if config.on_failure:
                await self._report(config.on_failure, outcome)
            if function.dead_letter_target:
                await self.destinations.dead_letter(function.dead_letter_target, outcome)
        self._done(event, "succeeded" if outcome.succeeded else "failed")

    async def _report(self, destination: str, outcome: AsyncOutcome) -> None:
        """Send the invocation record to ``destination``; a Lambda destination is invoked
        asynchronously with it, through this queue (a record over 1 MB is not delivered)."""
        if Arn.parse(destination).service != "lambda":
            await self.destinations.report(destination, outcome)
            return
        try:
            await self.submit(destination, json.dumps(invocation_record(outcome)).encode())
        except Exception as exc:  # noqa: BLE001 - logged, as the other destinations' failures are
            log.warning("could not send the %s record of %s (%s) to %s: %s", outcome.condition,
                        outcome.function_arn, outcome.request_id, destination, getattr(exc, "message", exc))

    def _done(self, event: QueuedEvent, counter: str) -> None:
        self.store.delete(event)
        self._pending.discard(event.request_id)
        self._warned.discard(event.request_id)
        self.stats[counter] += 1
