"""The invoke service: validate an Invoke request, lease concurrency, borrow an environment,
hand the invocation to the runtime, and shape the outcome (result, function error, log)."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from emulator.domain.errors import (
    InvalidParameterValueException,
    InvalidRequestContentException,
    RequestTooLargeException,
    ResourceNotFoundException,
    ServiceException,
    TooManyRequestsException,
)
from emulator.domain.functions import FunctionConfig
from emulator.domain.registry import FunctionRegistry
from emulator.executors.base import Executor, ExecutorError, log_stream_name
from emulator.invocation.environment import Environment
from emulator.invocation.invocation import Invocation, InvocationResult
from emulator.invocation.logs import InvocationLog, LogStore, format_log
from emulator.invocation.pool import EnvironmentPool

log = logging.getLogger(__name__)

MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD = 1024 * 1024
MAX_RESPONSE_PAYLOAD = 6 * 1024 * 1024 + 100
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")


class EventQueue(Protocol):
    async def enqueue(self, inv: Invocation) -> None: ...


class Reloads(Protocol):
    """Hot reload, as the invoke service uses it (emulator/reload/reloader.py)."""

    async def current(self, function: FunctionConfig) -> FunctionConfig | None: ...

    async def appeared(self, function_name: str) -> bool: ...

    async def retry_after_save(self, function: FunctionConfig, launched_at: float) -> FunctionConfig | None: ...


@dataclass(frozen=True)
class InvokeRequest:
    function_name: str
    payload: bytes
    invocation_type: str = "RequestResponse"
    log_type: str = "None"
    client_context: str | None = None
    qualifier: str | None = None


@dataclass(frozen=True)
class InvokeOutcome:
    status: int
    request_id: str
    payload: bytes = b""
    function_error: str | None = None
    log_result: str | None = None


class InvokeService:
    """Runs invocations; one instance per control plane."""

    def __init__(
        self, registry: FunctionRegistry, pool: EnvironmentPool, executor: Executor, logs: LogStore
    ) -> None:
        self.registry = registry
        self.pool = pool
        self.executor = executor
        self.logs = logs
        self.active: dict[str, int] = {}
        #: the asynchronous queue Event invokes go to (set by the app: it is built on this service)
        self.events: EventQueue | None = None
        #: hot reload (emulator/reload/reloader.py), when the app runs it
        self.reloads: Reloads | None = None

    async def invoke(self, request: InvokeRequest) -> InvokeOutcome:
        function = await self._function(request.function_name, request.qualifier)
        kind = request.invocation_type
        if kind not in INVOCATION_TYPES:
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{kind}' at 'invocationType' failed to satisfy "
                "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
            )
        payload = checked_payload(request.payload, kind)
        client_context = _client_context(request.client_context)
        if kind == "DryRun":
            return InvokeOutcome(204, "")
        inv = Invocation(function, payload, client_context=client_context)
        if kind == "Event":
            if self.events is None:
                raise ServiceException("the asynchronous invocation queue is not running")
            await self.events.enqueue(inv)
            return InvokeOutcome(202, inv.request_id)
        with self.lease(function):
            entry, result = await self._run(inv)
        return InvokeOutcome(
            200,
            inv.request_id,
            result.payload,
            result.function_error,
            entry.tail_b64() if request.log_type == "Tail" else None,
        )

    @contextmanager
    def lease(self, function: FunctionConfig) -> Iterator[None]:
        """Hold one unit of the function's concurrency (429 when its reservation is used up)."""
        active = self.active.get(function.name, 0)
        reserved = function.reserved_concurrency
        if reserved is not None and active >= reserved:
            raise TooManyRequestsException.reserved_concurrency()
        self.active[function.name] = active + 1
        try:
            yield
        finally:
            self.active[function.name] -= 1

    async def _function(self, function_name: str, qualifier: str | None) -> FunctionConfig:
        """The function to invoke, as its files are now: a save just before the invoke (its
        reload still gathering, or its file event not in yet) counts, and so does a new folder."""
        try:
            function = self.registry.get(function_name, qualifier)
        except ResourceNotFoundException:
            if self.reloads is None or not await self.reloads.appeared(function_name):
                raise
            function = self.registry.get(function_name, qualifier)
        if self.reloads is None:
            return function
        latest = await self.reloads.current(function)
        return latest if latest is not None else self.registry.get(function_name, qualifier)

    async def run(self, inv: Invocation) -> tuple[InvocationLog, InvocationResult]:
        """Run one invocation in a borrowed environment and record its log (with the function
        as its files are now: an event or a batch may have waited while they were saved)."""
        if self.reloads is not None:
            latest = await self.reloads.current(inv.function)
            if latest is not None:
                inv.function = latest
        return await self._run(inv)

    async def _run(self, inv: Invocation) -> tuple[InvocationLog, InvocationResult]:
        env, cold, result = await self._attempt(inv)
        for _ in range(2):
            again = await self._again_after_save(inv, env, cold, result)
            if again is None:
                break
            self.pool.discard(env)
            inv = again
            env, cold, result = await self._attempt(inv)
        function = inv.function
        ended = time.monotonic()
        max_memory = self.executor.max_memory_mb(env)
        if max_memory is not None:
            max_memory = min(max_memory, function.memory_size)
        if result.fatal or not env.alive:
            self.pool.discard(env)
        else:
            self.pool.release(env)
        started = inv.started_at or ended
        epoch = time.time() - time.monotonic()  # monotonic seconds + epoch = epoch seconds
        entry = InvocationLog(
            function.name,
            inv.request_id,
            format_log(
                request_id=inv.request_id,
                output=bytes(inv.output),
                platform_log=result.platform_log,
                duration_ms=(ended - started) * 1000,
                memory_size=function.memory_size,
                max_memory_mb=max_memory,
                init_ms=env.init_duration_ms if cold else None,
                init_output=bytes(env.init_output) if cold else b"",
                report_status=result.report_status,
            ),
            log_stream=log_stream_name(env),
            init_at=int((epoch + env.created_at) * 1000),
            started_at=int((epoch + started) * 1000),
            ended_at=int((epoch + ended) * 1000),
            platform_log=result.platform_log,
        )
        self.logs.add(entry)
        return entry, result

    async def _attempt(self, inv: Invocation) -> tuple[Environment, bool, InvocationResult]:
        try:
            env, cold = await self.pool.borrow(inv.function)
        except ExecutorError as exc:
            raise ServiceException(str(exc)) from exc
        env.assign(inv)
        return env, cold, await inv.future

    async def _again_after_save(self, inv: Invocation, env: Environment, cold: bool,
                                result: InvocationResult) -> Invocation | None:
        """The same invocation for a new environment when this one failed to start because the
        function's files were being saved as it read them (hot reload); else None. The event
        never reached the handler, so it is safe to run it again."""
        if self.reloads is None or not cold or not result.fatal or inv.started_at:
            return None
        launched = time.time() - (time.monotonic() - env.created_at)
        function = await self.reloads.retry_after_save(inv.function, launched)
        if function is None:
            return None
        log.info("%s: the runtime started on files being saved; running %s again", function.name, inv.request_id)
        return Invocation(function, inv.payload, client_context=inv.client_context,
                          cognito_identity=inv.cognito_identity, request_id=inv.request_id, trace_id=inv.trace_id)


def checked_payload(payload: bytes, kind: str) -> bytes:
    limit = MAX_ASYNC_PAYLOAD if kind == "Event" else MAX_SYNC_PAYLOAD
    if len(payload) > limit:
        if kind == "Event":
            raise RequestTooLargeException(
                f"{len(payload)} byte payload is too large for the Event invocation type (limit {limit} bytes)"
            )
        raise RequestTooLargeException(f"Request must be smaller than {limit} bytes for the InvokeFunction operation")
    if not payload.strip():
        return b"{}"
    try:
        json.loads(payload)
    except ValueError as exc:
        raise InvalidRequestContentException(
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        ) from None
    return payload


def _client_context(value: str | None) -> str | None:
    if not value:
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode()
        json.loads(decoded)
    except (binascii.Error, ValueError):
        raise InvalidRequestContentException(
            "Client context must be a valid Base64-encoded JSON object."
        ) from None
    return decoded
