"""Invocation logs: the platform's START / END / REPORT lines around the function's output,
kept for the CLI (by request id), tailed into ``X-Amz-Log-Result``, and echoed live."""

from __future__ import annotations

import asyncio
import base64
import math
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import TextIO

TAIL_BYTES = 4096


@dataclass(frozen=True)
class InvocationLog:
    function_name: str
    request_id: str
    text: str

    def tail_b64(self) -> str:
        """``X-Amz-Log-Result``: base64 of the last 4 KB of the log."""
        return base64.b64encode(self.text.encode()[-TAIL_BYTES:]).decode()


def format_log(
    *,
    request_id: str,
    output: bytes,
    platform_log: str,
    duration_ms: float,
    memory_size: int,
    max_memory_mb: int | None,
    init_ms: float | None,
    init_output: bytes = b"",
    report_status: str = "",
) -> str:
    """The log of one invocation, as CloudWatch Logs shows it for a Lambda function."""
    parts = []
    if init_output:
        parts.append(_lines(init_output))
    parts.append(f"START RequestId: {request_id} Version: $LATEST\n")
    if output:
        parts.append(_lines(output))
    if platform_log:
        parts.append(platform_log + "\n")
    parts.append(f"END RequestId: {request_id}\n")
    # Since August 2025 a cold start's billed duration includes the init phase.
    billed = max(1, math.ceil(duration_ms + (init_ms or 0.0)))
    report = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {billed} ms\tMemory Size: {memory_size} MB\t"
        f"Max Memory Used: {max_memory_mb if max_memory_mb is not None else '-'} MB\t"
    )
    if init_ms is not None:
        report += f"Init Duration: {init_ms:.2f} ms\t"
    if report_status:
        report += report_status + "\t"
    parts.append(report + "\n")
    return "".join(parts)


def _lines(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text if text.endswith("\n") else text + "\n"


class LogStore:
    """Recent invocation logs by request id and by function, plus live subscribers."""

    def __init__(self, keep: int = 2000, echo: TextIO | None = None) -> None:
        self._by_request: OrderedDict[str, InvocationLog] = OrderedDict()
        self._by_function: dict[str, deque[InvocationLog]] = {}
        self._keep = keep
        self._echo = echo
        self._subscribers: set[asyncio.Queue[InvocationLog]] = set()

    def add(self, entry: InvocationLog) -> None:
        self._by_request[entry.request_id] = entry
        while len(self._by_request) > self._keep:
            self._by_request.popitem(last=False)
        self._by_function.setdefault(entry.function_name, deque(maxlen=100)).append(entry)
        for queue in self._subscribers:
            queue.put_nowait(entry)
        if self._echo is not None:
            prefix = f"[{entry.function_name}] "
            self._echo.write("".join(prefix + line + "\n" for line in entry.text.splitlines()))
            self._echo.flush()

    def clear(self) -> None:
        self._by_request.clear()
        self._by_function.clear()

    def get(self, request_id: str) -> InvocationLog | None:
        return self._by_request.get(request_id)

    def recent(self, function_name: str) -> list[InvocationLog]:
        return list(self._by_function.get(function_name, ()))

    def subscribe(self) -> asyncio.Queue[InvocationLog]:
        queue: asyncio.Queue[InvocationLog] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[InvocationLog]) -> None:
        self._subscribers.discard(queue)

