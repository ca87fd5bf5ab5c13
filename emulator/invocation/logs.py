"""Invocation logs: the platform's START / END / REPORT lines around the function's output,
kept for the CLI (by request id, and per function with a cursor for ``cloudmicro logs -f``),
tailed into ``X-Amz-Log-Result``, echoed, and handed to listeners (CloudWatch Logs:
:mod:`emulator.invocation.cloudwatch`; the live log on the terminal: :mod:`.live_echo`)."""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

log = logging.getLogger(__name__)

TAIL_BYTES = 4096


@dataclass(frozen=True)
class InvocationLog:
    function_name: str
    request_id: str
    text: str
    #: the log stream of the environment that ran it, ``YYYY/MM/DD/[$LATEST]<32 hex>``
    log_stream: str = ""
    #: epoch milliseconds: when the environment started (its init output), and when the
    #: invocation started and ended (0 when unknown)
    init_at: int = 0
    started_at: int = 0
    ended_at: int = 0
    #: the platform's own lines in the log (e.g. a timeout notice), empty when none
    platform_log: str = ""

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
    version: str = "$LATEST",
) -> str:
    """The log of one invocation, as CloudWatch Logs shows it for a Lambda function (``version``:
    the one that ran)."""
    parts = []
    if init_output:
        parts.append(_lines(init_output))
    parts.append(f"START RequestId: {request_id} Version: {version}\n")
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

    #: invocations kept per function
    PER_FUNCTION = 100
    #: bytes of log text kept in all (each invocation's output is bounded too: .output)
    KEEP_BYTES = 64 * 1024 * 1024

    def __init__(self, keep: int = 2000, echo: TextIO | None = None, keep_bytes: int = KEEP_BYTES) -> None:
        self._by_request: OrderedDict[str, InvocationLog] = OrderedDict()
        #: per function: (sequence number, log); the numbers only grow, even across clear()
        self._by_function: dict[str, deque[tuple[int, InvocationLog]]] = {}
        self._sequence = 0
        #: tells one LogStore's cursors from another's (a restarted control plane starts again at 0)
        self.instance = uuid.uuid4().hex[:12]
        self._keep = keep
        self._keep_bytes = keep_bytes
        self._bytes = 0
        self._echo = echo
        self._subscribers: set[asyncio.Queue[InvocationLog]] = set()
        self._listeners: list[Callable[[InvocationLog], None]] = []

    def add(self, entry: InvocationLog) -> None:
        previous = self._by_request.pop(entry.request_id, None)
        if previous is not None:
            self._bytes -= len(previous.text)
        self._by_request[entry.request_id] = entry
        self._bytes += len(entry.text)
        while len(self._by_request) > 1 and (len(self._by_request) > self._keep or self._bytes > self._keep_bytes):
            _, oldest = self._by_request.popitem(last=False)
            self._bytes -= len(oldest.text)
            kept = self._by_function.get(oldest.function_name)
            if kept and kept[0][1] is oldest:  # the oldest of all is the oldest of its function too
                kept.popleft()
        self._sequence += 1
        self._by_function.setdefault(entry.function_name, deque(maxlen=self.PER_FUNCTION)).append(
            (self._sequence, entry))
        for queue in self._subscribers:
            queue.put_nowait(entry)
        for listener in self._listeners:
            try:
                listener(entry)
            except Exception:
                log.exception("log listener %r failed", listener)
        if self._echo is not None:
            prefix = f"[{entry.function_name}] "
            self._echo.write("".join(prefix + line + "\n" for line in entry.text.splitlines()))
            self._echo.flush()

    def clear(self) -> None:
        self._by_request.clear()
        self._bytes = 0
        self._by_function.clear()

    def get(self, request_id: str) -> InvocationLog | None:
        return self._by_request.get(request_id)

    def recent(self, function_name: str) -> list[InvocationLog]:
        return [entry for _, entry in self._by_function.get(function_name, ())]

    def since(self, function_name: str, cursor: int | None,
              limit: int = PER_FUNCTION) -> tuple[list[InvocationLog], int]:
        """The function's logs after ``cursor`` (None: the last ``limit``), oldest first, and
        the cursor to ask with next."""
        kept = self._by_function.get(function_name, ())
        if cursor is None:
            pairs = list(kept)[-limit:] if limit > 0 else []
            return [entry for _, entry in pairs], self._sequence
        pairs = [pair for pair in kept if pair[0] > cursor]
        return [entry for _, entry in pairs], max([cursor] + [number for number, _ in pairs])

    async def follow(self, function_name: str, cursor: int | None, wait: float,
                     limit: int = PER_FUNCTION) -> tuple[list[InvocationLog], int]:
        """:meth:`since`, waiting up to ``wait`` seconds for the first new log when there is none."""
        entries, after = self.since(function_name, cursor, limit)
        if entries or wait <= 0 or cursor is None:
            return entries, after
        queue = self.subscribe()
        try:
            deadline = asyncio.get_running_loop().time() + wait
            while True:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                try:
                    entry = await asyncio.wait_for(queue.get(), remaining)
                except TimeoutError:
                    break
                if entry.function_name == function_name:
                    break
        finally:
            self.unsubscribe(queue)
        return self.since(function_name, cursor, limit)

    def listen(self, listener: Callable[[InvocationLog], None]) -> None:
        """Call ``listener`` (on the event loop; it must be quick) with every log added."""
        self._listeners.append(listener)

    def subscribe(self) -> asyncio.Queue[InvocationLog]:
        queue: asyncio.Queue[InvocationLog] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[InvocationLog]) -> None:
        self._subscribers.discard(queue)

