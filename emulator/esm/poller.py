"""What every poller shares: statistics, the batch invoker, AWS clients and a thread pool.

Pollers are asyncio tasks; the blocking boto3 calls they make (to the control plane's own
endpoint, so embedded and external moto work alike) run in a dedicated thread pool.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import boto3
from botocore.config import Config

from emulator.domain.errors import LambdaError, TooManyRequestsException
from emulator.domain.registry import FunctionRegistry
from emulator.esm.mappings import EventSourceMapping
from emulator.invocation.invocation import Invocation, InvocationResult
from emulator.invocation.service import InvokeService

T = TypeVar("T")


@dataclass
class MappingStats:
    """What ``cloudmicro mappings`` and the health endpoint show for one mapping."""

    last_result: str = "No records processed"
    batches: int = 0
    records: int = 0
    filtered: int = 0
    failed_batches: int = 0
    in_flight: int = 0
    last_batch_at: float | None = None
    problems: list[str] = field(default_factory=list)

    def ok(self, records: int) -> None:
        self.batches += 1
        self.records += records
        self.last_batch_at = time.time()
        self.last_result = "OK"

    def problem(self, message: str) -> None:
        self.last_result = f"PROBLEM: {message}"
        self.problems = [*self.problems, message][-5:]

    def as_dict(self) -> dict[str, Any]:
        return {
            "last_result": self.last_result, "batches": self.batches, "records": self.records,
            "filtered": self.filtered, "failed_batches": self.failed_batches, "in_flight": self.in_flight,
            "last_batch_at": self.last_batch_at,
        }


@dataclass(frozen=True)
class BatchOutcome:
    request_id: str
    result: InvocationResult

    @property
    def failed(self) -> bool:
        return self.result.function_error is not None

    def json(self) -> Any:
        try:
            return json.loads(self.result.payload or b"null")
        except ValueError:
            return None


class BatchInvoker:
    """Invokes a mapping's function synchronously with a batch, as Lambda's pollers do.

    Throttling (reserved concurrency used up) waits and tries again; it is not a failure.
    """

    def __init__(self, registry: FunctionRegistry, service: InvokeService) -> None:
        self.registry = registry
        self.service = service

    async def __call__(self, mapping: EventSourceMapping, event: dict[str, Any]) -> BatchOutcome:
        payload = json.dumps(event).encode()
        while True:
            function = self.registry.get(mapping.function_name)
            inv = Invocation(function, payload)
            try:
                with self.service.lease(function):
                    _, result = await self.service.run(inv)
                return BatchOutcome(inv.request_id, result)
            except TooManyRequestsException:
                await asyncio.sleep(0.05)


class Blocking:
    """A thread pool for the blocking calls of pollers, and boto3 clients bound to the endpoint."""

    def __init__(self, endpoint: str, region: str, workers: int = 64) -> None:
        self.endpoint = endpoint
        self.region = region
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poller")

    async def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    def client(self, service: str) -> Any:
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=self.region,
            aws_access_key_id="test", aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 2, "mode": "standard"}, read_timeout=30,
                          connect_timeout=5, max_pool_connections=32),
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def problem_text(exc: BaseException) -> str:
    if isinstance(exc, LambdaError):
        return exc.message
    return str(exc) or type(exc).__name__
