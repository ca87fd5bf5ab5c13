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
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..domain.errors import LambdaError, ResourceNotFoundException, TooManyRequestsException
from ..domain.event_invoke import EventInvokeConfig, parse_event_invoke_config
from ..domain.functions import FunctionConfig
from ..domain.registry import FunctionRegistry
from .destinations import EVENT_AGE_EXCEEDED, RETRIES_EXHAUSTED, SUCCESS, AsyncOutcome, Destinations
from .invocation import Invocation, InvocationResult
from .service import InvokeService

log = logging.getLogger(__name__)

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


class EventInvokeConfigs:
    """PutFunctionEventInvokeConfig state, persisted in ``<state>/event-invoke-configs.json``;
    a function.json ``EventInvokeConfig`` applies when none was put through the API."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._configs: dict[str, EventInvokeConfig] = {}
        if path.exists():
            try:
                for name, data in json.loads(path.read_text()).items():
                    self._configs[name] = EventInvokeConfig.from_json(data)
            except (ValueError, KeyError, LambdaError) as exc:
                log.warning("ignoring %s: %s", path, exc)

    def get(self, function: FunctionConfig) -> EventInvokeConfig | None:
        config = self._configs.get(function.name)
        if config is None and function.event_invoke_config is not None:
            config = parse_event_invoke_config(function.arn, function.event_invoke_config)
        return config

    def effective(self, function: FunctionConfig) -> EventInvokeConfig:
        return self.get(function) or EventInvokeConfig(function.arn)

    def put(self, function: FunctionConfig, config: EventInvokeConfig) -> EventInvokeConfig:
        self._configs[function.name] = config
        self._save()
        return config

    def delete(self, name: str) -> bool:
        found = self._configs.pop(name, None) is not None
        if found:
            self._save()
        return found

    def clear(self) -> None:
        self._configs.clear()
        self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({k: v.to_json() for k, v in self._configs.items()}, indent=1))
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
        self._semaphores: dict[str, tuple[int, asyncio.Semaphore]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        self._queued = 0
        self._closed = False

    # --- entry points ---------------------------------------------------------------

    async def submit(self, function: str, payload: bytes | dict[str, Any] | list[Any], *,
                     qualifier: str | None = None) -> str:
        """Queue ``payload`` for ``function`` (a name, partial ARN or ARN) and return the request
        id; raises the AWS error (e.g. ResourceNotFoundException) when there is no such function."""
        config = self.registry.get(function, qualifier)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        request_id = str(uuid.uuid4())
        self._accept(QueuedEvent(request_id, config.name, data.decode("utf-8", "replace"), time.time()))
        return request_id

    async def enqueue(self, inv: Invocation) -> None:
        """Queue an Event invoke already validated by the Invoke API (keeps its request id)."""
        self._accept(QueuedEvent(inv.request_id, inv.function.name,
                                 inv.payload.decode("utf-8", "replace"), time.time()))

    def start(self) -> int:
        """Queue the events a previous run left on disk; returns how many."""
        events = self.store.load()
        for event in events:
            self._queued += 1
            self._schedule(event)
        if events:
            log.info("resuming %d queued asynchronous event(s)", len(events))
        return len(events)

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
        """Forget every queued event (``cloudmicro reset``); an attempt already running ends."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for event in self.store.load():
            self.store.delete(event)
        self._queued = 0

    def status(self) -> dict[str, Any]:
        return {"queued": self._queued, **self.stats}

    # --- the queue ------------------------------------------------------------------

    def _accept(self, event: QueuedEvent) -> None:
        self.store.save(event)
        self._queued += 1
        self.stats["accepted"] += 1
        self._schedule(event)

    def _schedule(self, event: QueuedEvent) -> None:
        if self._closed:
            return
        delay = event.not_before - time.time()
        if delay > 0:
            loop = asyncio.get_running_loop()
            timer: asyncio.TimerHandle | None = None

            def fire() -> None:
                self._timers.discard(timer)  # type: ignore[arg-type]
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
        if not self.store.holds(event):
            return  # cleared by a reset
        try:
            function = self.registry.get(event.function)
        except ResourceNotFoundException:
            log.warning("dropping queued event %s: function %s no longer exists", event.request_id, event.function)
            self._done(event, "dropped")
            return
        config = self.configs.effective(function)
        if time.time() - event.enqueued_at > config.maximum_event_age:
            await self._finish(event, function, config, EVENT_AGE_EXCEEDED, None)
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
                log.warning("event %s of %s: %s; will try again", event.request_id, function.name, exc.message)
                self._back_off(event, "platform_errors")
                return
        event.attempts += 1
        if result.function_error is None:
            await self._finish(event, function, config, SUCCESS, result)
        elif event.attempts <= config.maximum_retry_attempts:
            event.not_before = time.time() + self.retry_delay * 2 ** (event.attempts - 1)
            self.store.save(event)
            self.stats["retries"] += 1
            self._schedule(event)
        else:
            await self._finish(event, function, config, RETRIES_EXHAUSTED, result)

    async def _run(self, function: FunctionConfig, event: QueuedEvent) -> InvocationResult:
        inv = Invocation(function, event.payload.encode(), request_id=event.request_id)
        with self.service.lease(function):
            _, result = await self.service.run(inv)
        return result

    def _back_off(self, event: QueuedEvent, counter: str) -> None:
        self.stats[counter] += 1
        event.throttles += 1
        event.not_before = time.time() + min(0.05 * 2 ** event.throttles, MAX_THROTTLE_BACKOFF)
        self._schedule(event)

    async def _finish(self, event: QueuedEvent, function: FunctionConfig, config: EventInvokeConfig,
                      condition: str, result: InvocationResult | None) -> None:
        outcome = AsyncOutcome(function.arn, event.request_id, event.payload.encode(), condition,
                               event.attempts, result)
        if outcome.succeeded:
            if config.on_success:
                await self.destinations.report(config.on_success, outcome)
        else:
            if config.on_failure:
                await self.destinations.report(config.on_failure, outcome)
            if function.dead_letter_target:
                await self.destinations.dead_letter(function.dead_letter_target, outcome)
        self._done(event, "succeeded" if outcome.succeeded else "failed")

    def _done(self, event: QueuedEvent, counter: str) -> None:
        if self.store.holds(event):
            self.store.delete(event)
            self._queued -= 1
        self.stats[counter] += 1
