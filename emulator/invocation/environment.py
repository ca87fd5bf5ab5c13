"""An execution environment as an explicit state machine.

States: STARTING (launched, the runtime has not asked for work yet) → IDLE (waiting in
``/next``) → BUSY (an invocation handed out) → IDLE … and DEAD from anywhere; IDLE → STARTING
is a restart in place (hot reload). :data:`TRANSITIONS` lists every allowed move: anything else
raises :class:`IllegalTransition`. Every Runtime API call validates first and then makes one
transition; an illegal call raises :class:`RuntimeApiError` (403) and changes nothing.

The environment also owns the read end of the runtime's stdout/stderr pipe: output is
collected as it arrives and drained once more when an answer is posted, so each
invocation's log holds exactly what the function wrote before answering.
"""

from __future__ import annotations

import asyncio
import enum
import errno
import os
import time
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from emulator.domain.functions import FunctionConfig
from emulator.invocation.invocation import Invocation, InvocationResult, utc_timestamp
from emulator.invocation.output import Output

#: seconds the runtime may take to initialise before its first ``/next`` (AWS: 10 s)
INIT_TIMEOUT = 10.0
#: output bytes read each time the pipe is readable, and at most by one drain
READ_PER_WAKEUP = 256 * 1024
DRAIN_LIMIT = 8 * 1024 * 1024


class EnvState(enum.Enum):
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    DEAD = "dead"


#: the moves an environment may make; anything not listed is an error (:class:`IllegalTransition`)
TRANSITIONS: dict[EnvState, frozenset[EnvState]] = {
    EnvState.STARTING: frozenset({EnvState.IDLE, EnvState.DEAD}),  # init done (first /next), or died
    EnvState.IDLE: frozenset({EnvState.BUSY, EnvState.STARTING, EnvState.DEAD}),  # work, restart in place, died
    EnvState.BUSY: frozenset({EnvState.IDLE, EnvState.DEAD}),  # answered, or died (timeout, crash)
    EnvState.DEAD: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A move :data:`TRANSITIONS` does not allow, or work given to an environment that has some:
    a bug in the platform, never the runtime's doing (the Runtime API answers those with 403)."""


class Observer(Protocol):
    """Told of an environment's invocations and output as they happen."""

    def started(self, env: Environment, inv: Invocation) -> None: ...

    def output(self, env: Environment, data: bytes) -> None: ...


class RuntimeRestart(Exception):
    """Answer ``/next`` with a restart request: the runtime starts afresh in place (hot reload)."""


class RuntimeApiError(Exception):
    """A Runtime API call the environment's state does not allow."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def timeout_result(inv: Invocation) -> InvocationResult:
    """What Lambda answers when a function runs past its timeout."""
    seconds = f"{inv.function.timeout:.2f}"
    return InvocationResult.platform_error(
        "Sandbox.Timedout",
        f"RequestId: {inv.request_id} Error: Task timed out after {seconds} seconds",
        platform_log=f"{utc_timestamp()} {inv.request_id} Task timed out after {seconds} seconds",
        report_status="Status: timeout",
    )


def exit_result(inv: Invocation, reason: str, out_of_memory: bool = False) -> InvocationResult:
    """What Lambda answers when the runtime process ends before answering."""
    if reason == "exit status 0":
        text = "Runtime exited without providing a reason"
    else:
        text = f"Runtime exited with error: {reason}"
    message = f"RequestId: {inv.request_id} Error: {text}"
    kind = "Runtime.OutOfMemory" if out_of_memory else "Runtime.ExitError"
    return InvocationResult.platform_error(
        "Runtime.ExitError", message,
        platform_log=f"{message}\nRuntime.ExitError",
        report_status=f"Status: error\tError Type: {kind}",
    )


class Environment:
    """One execution environment of one function (a container or a process)."""

    def __init__(self, function: FunctionConfig, on_dead: Callable[[Environment], None], *,
                 spill_dir: Path | None = None) -> None:
        self.id = uuid.uuid4().hex
        self.function = function
        self.state = EnvState.STARTING
        self.created_at = time.monotonic()
        self.ready_at: float | None = None
        self.last_used = self.created_at
        self.invocations = 0
        self.exit_reason: str | None = None
        self.out_of_memory = False
        #: the executor's handle (a container, a process)
        self.handle: Any = None
        #: the loopback port of this environment's Runtime API
        self.port = 0
        #: the runtime's own user id, set by the executor: the Runtime API serves its connections only
        self.uid: int | None = None
        #: where output too large to keep in memory is written (emulator/invocation/output.py)
        self._spill_dir = spill_dir
        self._spills = 0
        self.init_output = Output()
        self._output = self._new_output()
        self._output_fd: int | None = None
        self._inbox: Invocation | None = None
        self._wakeup = asyncio.Event()
        self.current: Invocation | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._on_dead = on_dead
        self._answered_ids: deque[str] = deque(maxlen=8)
        #: tells whether a request id is in flight in some other environment (set by the pool)
        self.foreign_request: Callable[[str], bool] = lambda request_id: False
        #: called when the output pipe reaches EOF (the runtime exited); the executor
        #: replaces it with one that finds the exit status
        self.on_eof: Callable[[Environment], None] = lambda env: env.exited("exit status 0")
        #: told of each invocation handed out and each piece of output, as they happen (the
        #: live log on the terminal: emulator/invocation/live_echo.py); set by the pool
        self.observer: Observer | None = None
        #: called once the runtime asks for its first invocation (init is over); set by the pool
        self.on_ready: Callable[[Environment], None] = lambda env: None
        #: set when the function changed or went away: destroyed when its invocation ends
        self.retired = False
        #: set by renew(): the runtime's next (or pending) /next is answered with a restart
        self._restart = False
        self._loop = asyncio.get_running_loop()

    def __repr__(self) -> str:
        return f"<Environment {self.id} {self.function.name} {self.state.value}>"

    @property
    def alive(self) -> bool:
        return self.state is not EnvState.DEAD

    @property
    def init_duration_ms(self) -> float | None:
        if self.ready_at is None:
            return None
        return (self.ready_at - self.created_at) * 1000

    # --- the platform side -------------------------------------------------------

    def assign(self, inv: Invocation) -> None:
        """Give the environment its next invocation (it must have none pending)."""
        if not self.alive:
            inv.finish(self._exit_result(inv))
            return
        if self._inbox is not None or self.current is not None:
            raise IllegalTransition(f"{self!r} was given {inv.request_id} while it has work")
        self._inbox = inv
        if self.state is EnvState.STARTING:
            self._arm(INIT_TIMEOUT + inv.function.timeout, inv)
        self._wakeup.set()

    def renew(self, function: FunctionConfig) -> None:
        """Run ``function`` (a new revision of the same function, needing nothing else of the
        container or process) from now on: the runtime is asked to start afresh in place, and
        the environment is STARTING again, as a new one would be, at a fraction of the cost."""
        if self._inbox is not None or self.current is not None:
            raise IllegalTransition(f"{self!r} cannot restart in place while it has work")
        self._move(EnvState.STARTING)
        self.drain_output()
        self._output = self._new_output()
        self.function = function
        self.created_at = self.last_used = time.monotonic()
        self.ready_at = None
        self.invocations = 0
        self.init_output = Output()
        self._restart = True
        self._wakeup.set()

    def kill(self, reason: str) -> None:
        """Mark the environment dead; pending work fails with ``Runtime.ExitError``."""
        if not self.alive:
            return
        self.drain_output()
        self._move(EnvState.DEAD)
        self.exit_reason = self.exit_reason or reason
        self._disarm()
        self._stop_reading()
        for inv in (self._inbox, self.current):
            if inv is not None and not inv.done:
                self._take_output(inv)
                inv.finish(self._exit_result(inv))
        self._inbox = self.current = None
        self._wakeup.set()
        self._on_dead(self)

    def exited(self, reason: str, out_of_memory: bool = False) -> None:
        """The runtime process ended (reason like ``exit status 1`` or ``signal: killed``)."""
        self.exit_reason = reason
        self.out_of_memory = out_of_memory
        self.kill(reason)

    def _move(self, to: EnvState) -> None:
        """Make one transition of :data:`TRANSITIONS` (IllegalTransition for any other)."""
        if to not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"{self!r}: {self.state.value} -> {to.value} is not a transition")
        self.state = to

    def _exit_result(self, inv: Invocation) -> InvocationResult:
        return exit_result(inv, self.exit_reason or "exit status 0", self.out_of_memory)

    # --- the Runtime API side ----------------------------------------------------

    def _restart_if_asked(self) -> None:
        """Raise :class:`RuntimeRestart` once after :meth:`renew`."""
        if self._restart:
            self._restart = False
            raise RuntimeRestart()

    async def next_invocation(self) -> Invocation:
        """``GET /runtime/invocation/next``: wait for work, then hand it out."""
        if not self.alive:
            raise RuntimeApiError(403, "Runtime.ExitError", "the environment is shutting down")
        if self.current is not None:
            raise RuntimeApiError(
                403, "InvalidStateTransition",
                f"invocation {self.current.request_id} has not been answered yet",
            )
        self._restart_if_asked()
        if self.state is EnvState.STARTING:
            self.ready_at = time.monotonic()
            self.drain_output()
            self.init_output = self._output
            self._output = self._new_output()
            self._move(EnvState.IDLE)
            self.on_ready(self)
        while self._inbox is None:
            self._wakeup.clear()
            await self._wakeup.wait()
            if not self.alive:
                raise RuntimeApiError(403, "Runtime.ExitError", "the environment is shutting down")
            self._restart_if_asked()
        inv, self._inbox = self._inbox, None
        inv.start()
        self._move(EnvState.BUSY)
        self.current = inv
        self._arm(inv.function.timeout, inv)
        if self.observer is not None:
            self.observer.started(self, inv)
        return inv

    def respond(self, request_id: str, payload: bytes) -> None:
        """``POST /runtime/invocation/{id}/response``."""
        inv = self._answering(request_id)
        self._answered(inv, InvocationResult(payload))

    def answering(self, request_id: str) -> Invocation:
        """The invocation a response for ``request_id`` answers (RuntimeApiError when there is
        none): a streamed response is checked before its body is read."""
        return self._answering(request_id)

    def fail(self, request_id: str, payload: bytes) -> None:
        """``POST /runtime/invocation/{id}/error``."""
        inv = self._answering(request_id)
        self._answered(inv, InvocationResult(payload, "Unhandled"))

    def init_failed(self, payload: bytes) -> None:
        """``POST /runtime/init/error``: the pending invocation gets the init error."""
        if self.state is not EnvState.STARTING:
            raise RuntimeApiError(403, "InvalidStateTransition", "init/error is only allowed during init")
        self.drain_output()
        inv, self._inbox = self._inbox, None
        if inv is not None:
            self._take_output(inv)
            inv.finish(InvocationResult(payload, "Unhandled", fatal=True))
        self.kill("init error")

    def _answering(self, request_id: str) -> Invocation:
        inv = self.current
        if inv is not None and inv.request_id == request_id:
            return inv
        if request_id in self._answered_ids:
            raise RuntimeApiError(
                403, "InvalidStateTransition",
                f"State transition from Ready to Response failed for runtime. Error: invocation "
                f"{request_id} has already been answered",
            )
        if self.foreign_request(request_id):
            raise RuntimeApiError(
                403, "InvalidRequestID",
                f"Invocation {request_id} belongs to another execution environment",
            )
        raise RuntimeApiError(400, "InvalidRequestID", "Invalid request ID")

    def _answered(self, inv: Invocation, result: InvocationResult) -> None:
        self._answered_ids.append(inv.request_id)
        self._disarm()
        self.drain_output()
        self._take_output(inv)
        self.current = None
        self._move(EnvState.IDLE)
        self.invocations += 1
        self.last_used = time.monotonic()
        inv.finish(result)

    # --- timers --------------------------------------------------------------------

    def _arm(self, seconds: float, inv: Invocation) -> None:
        self._disarm()
        self._timer = self._loop.call_later(seconds, self._timed_out, inv)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self, inv: Invocation) -> None:
        self._timer = None
        if inv.done:
            return
        self.drain_output()
        self._take_output(inv)
        inv.finish(timeout_result(inv))
        self.exit_reason = "timeout"
        self.kill("timeout")

    # --- output --------------------------------------------------------------------

    def read_output_from(self, fd: int) -> None:
        """Collect the runtime's stdout/stderr from a pipe; EOF means it exited."""
        os.set_blocking(fd, False)
        self._output_fd = fd
        self._loop.add_reader(fd, self._on_readable)

    def _on_readable(self) -> None:
        # a bounded bite per wake-up: a runtime that prints without pause must not keep the
        # event loop from its timers (the timeout) and its other clients
        if self.drain_output(READ_PER_WAKEUP):
            self._stop_reading()
            if self.alive:
                self.on_eof(self)

    def drain_output(self, limit: int = DRAIN_LIMIT) -> bool:
        """Read what is available now, up to ``limit`` bytes; True at EOF. (The pipe holds
        64 KB, so what a runtime printed before it answered is in well under the limit.)"""
        fd = self._output_fd
        if fd is None:
            return False
        read = 0
        while read < limit:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return False
            except OSError as exc:
                return exc.errno != errno.EAGAIN
            if not chunk:
                return True
            read += len(chunk)
            self._output.add(chunk)
            if self.observer is not None:
                self.observer.output(self, chunk)
        return False

    def _take_output(self, inv: Invocation) -> None:
        inv.output.absorb(self._output)
        self._output = self._new_output()

    def _new_output(self) -> Output:
        self._spills += 1
        spill = self._spill_dir / f"{self.function.name}-{self.id}-{self._spills}.log" if self._spill_dir else None
        return Output(spill)

    def _stop_reading(self) -> None:
        fd, self._output_fd = self._output_fd, None
        if fd is not None:
            self._loop.remove_reader(fd)
            os.close(fd)
