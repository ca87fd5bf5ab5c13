"""The invocation seam: every way in runs an invocation through :meth:`InvokeService.execute`.

Sync Invoke (:mod:`.invoke_api`), the asynchronous queue (:mod:`.async_queue`: Event invokes and
every push source), event source mapping batches (:mod:`emulator.esm`) and, next, the HTTP front
door all hand it an :class:`~.invocation.Invocation`. It does the same five things for each, in
one place:

1. refresh the function: its revision as its files are now (hot reload: an event or a batch may
   have waited while they were saved);
2. take a unit of the function's concurrency (TooManyRequestsException, 429, when its
   reserved concurrency is in use);
3. borrow an environment (:meth:`.pool.EnvironmentPool.environment`: released on success,
   destroyed on failure);
4. run: hand the invocation to the runtime and wait for its answer (or the platform's: timeout,
   crash), running it again in a new environment when the runtime started on files being saved;
5. record the log (START / END / REPORT around the output), which also feeds the live echo and
   CloudWatch Logs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Protocol

from emulator.domain.errors import (
    LambdaError,
    ResourceNotFoundException,
    ServiceException,
    TooManyRequestsException,
)
from emulator.domain.functions import LATEST, FunctionConfig
from emulator.domain.registry import FunctionRegistry
from emulator.executors.base import Executor, ExecutorError, log_stream_name
from emulator.invocation.environment import Environment
from emulator.invocation.invocation import Invocation, InvocationResult
from emulator.invocation.logs import InvocationLog, LogStore, format_log
from emulator.invocation.pool import EnvironmentPool

log = logging.getLogger(__name__)

#: runs of one invocation when its runtime keeps starting on files being saved
MAX_ATTEMPTS = 3


class Reloads(Protocol):
    """Hot reload, as the invocation seam uses it (emulator/reload/reloader.py)."""

    async def current(self, function: FunctionConfig) -> FunctionConfig | None: ...

    async def appeared(self, function_name: str) -> bool: ...

    async def retry_after_save(self, function: FunctionConfig, launched_at: float) -> FunctionConfig | None: ...


@dataclass(frozen=True)
class Executed:
    """What one invocation gave: the runtime's (or the platform's) answer, and its log."""

    result: InvocationResult
    log: InvocationLog


class InvokeService:
    """Runs invocations; one instance per control plane."""

    def __init__(self, registry: FunctionRegistry, pool: EnvironmentPool, executor: Executor, logs: LogStore,
                 *, reloads: Reloads | None = None) -> None:
        self.registry = registry
        self.pool = pool
        self.executor = executor
        self.logs = logs
        #: hot reload (emulator/reload/reloader.py), when the control plane runs it
        self.reloads = reloads
        #: invocations running per function (the concurrency leases held)
        self.active: dict[str, int] = {}

    async def resolve(self, function_name: str, qualifier: str | None = None) -> FunctionConfig:
        """The function a name, partial ARN or ARN names, with its qualifier (in the name or
        given apart), as one invocation runs it: $LATEST as its files are now (a save just before
        the call counts, its reload still gathering or its file event not in yet, and so does a
        function folder made a moment ago), a published version as it was published, an alias's
        version (its routing configuration's pick: each call picks anew).
        ResourceNotFoundException when there is none."""
        try:
            return self.registry.get(function_name, qualifier, route=True)
        except ResourceNotFoundException:
            if self.reloads is None or not await self.reloads.appeared(function_name):
                raise
            return self.registry.get(function_name, qualifier, route=True)

    async def execute(self, inv: Invocation) -> Executed:
        """Run ``inv`` (the seam: refresh, lease, borrow, run, record; see the module doc). Its
        response stream, when the caller set one, ends when it returns or raises."""
        stream = inv.stream
        if stream is None:
            return await self._execute(inv)
        try:
            executed = await self._execute(inv)
        except BaseException as exc:
            code = exc.code if isinstance(exc, LambdaError) else "ServiceException"
            stream.finish(code, json.dumps({"errorType": code, "errorMessage": str(exc)}).encode())
            raise
        stream.settle(executed.result.payload, executed.result.function_error is not None)
        return executed

    async def _execute(self, inv: Invocation) -> Executed:
        inv.function = await self._refreshed(inv.function)
        with self.lease(inv.function):
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    async with self.pool.environment(inv.function) as borrowed:
                        env, cold = borrowed.env, borrowed.cold
                        env.assign(inv)
                        if inv.stream is not None:
                            inv.stream.begin(inv.request_id)  # the caller may answer its client now
                        result = await inv.future
                        borrowed.discard = result.fatal
                        again = await self._again_after_save(inv, env, cold, result) if attempt < MAX_ATTEMPTS else None
                        if again is None:
                            return Executed(result, self._record(inv, env, cold, result))
                        borrowed.discard = True
                except ExecutorError as exc:
                    raise ServiceException(str(exc)) from exc
                inv = again
        raise AssertionError("unreachable: the last attempt returns")

    async def prepare(self, function: FunctionConfig) -> None:
        """Have an environment of the function launched, its requirements installed, and back in
        the pool, before events come (an SQS poller calls this before its first receive, so an
        install does not outrun the visibility timeout of messages already received)."""
        function = await self._refreshed(function)
        try:
            async with self.pool.environment(function):
                pass
        except ExecutorError as exc:
            raise ServiceException(str(exc)) from exc

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

    async def _refreshed(self, function: FunctionConfig) -> FunctionConfig:
        """The function's revision as its files are now (ResourceNotFoundException: it is gone);
        a published version never changes."""
        if self.reloads is None or function.version != LATEST:
            return function
        latest = await self.reloads.current(function)
        if latest is None:
            return self.registry.get(function.name)
        if function.alias is not None and latest.alias is None:  # an alias of $LATEST: still invoked as it
            return replace(latest, alias=function.alias)
        return latest

    def _record(self, inv: Invocation, env: Environment, cold: bool, result: InvocationResult) -> InvocationLog:
        """The invocation's log, kept (and so echoed and sent to CloudWatch Logs)."""
        function = inv.function
        ended = time.monotonic()
        max_memory = self.executor.max_memory_mb(env)
        if max_memory is not None:
            max_memory = min(max_memory, function.memory_size)
        started = inv.started_at or ended
        epoch = time.time() - time.monotonic()  # monotonic seconds + epoch = epoch seconds
        entry = InvocationLog(
            function.name,
            inv.request_id,
            format_log(
                request_id=inv.request_id,
                output=inv.output.kept(),
                platform_log=result.platform_log,
                duration_ms=_duration_ms(ended - started, function.timeout, result.report_status),
                memory_size=function.memory_size,
                max_memory_mb=max_memory,
                init_ms=env.init_duration_ms if cold else None,
                init_output=env.init_output.kept() if cold else b"",
                report_status=result.report_status,
                version=function.version,
            ),
            log_stream=log_stream_name(env),
            init_at=int((epoch + env.created_at) * 1000),
            started_at=int((epoch + started) * 1000),
            ended_at=int((epoch + ended) * 1000),
            platform_log=result.platform_log,
        )
        inv.output.close()
        self.logs.add(entry)
        return entry

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
                          cognito_identity=inv.cognito_identity, request_id=inv.request_id, trace_id=inv.trace_id,
                          stream=inv.stream)


def _duration_ms(seconds: float, timeout: float, report_status: str) -> float:
    """The REPORT line's Duration: a timed-out invocation ran its whole timeout, never a hair
    less (the timer's clock and the invocation's start are read a moment apart)."""
    if report_status == "Status: timeout":
        return max(seconds, timeout) * 1000
    return seconds * 1000
