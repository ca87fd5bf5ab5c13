"""What every poller shares: statistics and the batch invoker.

Pollers are asyncio tasks; the blocking boto3 calls they make go through
:class:`emulator.aws.clients.AwsClients` (its thread pool, and moto in process when it is embedded).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

from emulator.domain import json_text
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
            return json_text.loads(self.result.payload or b"null")
        except ValueError:
            return None


#: seconds a throttled batch waits before it is invoked again (throttling is not a failure)
THROTTLE_WAIT = 0.05


class BatchInvoker:
    """Invokes a mapping's function synchronously with a batch, as Lambda's pollers do.

    Throttling (reserved concurrency used up) waits and tries again; it is not a failure.
    """

    def __init__(self, registry: FunctionRegistry, service: InvokeService) -> None:
        self.registry = registry
        self.service = service

    async def prepare(self, mapping: EventSourceMapping) -> None:
        """The mapping's function ready to run (installed, launched) before its poller receives."""
        await self.service.prepare(self.registry.get(mapping.function_arn))

    async def __call__(self, mapping: EventSourceMapping, event: dict[str, Any]) -> BatchOutcome:
        payload = json.dumps(event).encode()
        while True:
            # the mapping's FunctionArn may name a version or an alias (each batch: the alias's pick)
            inv = Invocation(self.registry.get(mapping.function_arn, route=True), payload)
            try:
                executed = await self.service.execute(inv)
            except TooManyRequestsException:
                await asyncio.sleep(THROTTLE_WAIT)
                continue
            return BatchOutcome(inv.request_id, executed.result)


def problem_text(exc: BaseException) -> str:
    if isinstance(exc, LambdaError):
        return exc.message
    return str(exc) or type(exc).__name__
