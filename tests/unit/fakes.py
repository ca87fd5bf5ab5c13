"""Fakes for unit tests of the control-plane logic (never proof a feature works): an executor,
ports, a watchdog observer that sees nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingEmitter, PollingObserver

from emulator.domain.functions import FunctionConfig
from emulator.invocation.environment import Environment, RuntimeApiError, RuntimeRestart

Handler = Callable[[Environment, bytes], Awaitable[bytes]]


def function(name: str = "fn", **fields) -> FunctionConfig:
    return FunctionConfig(name=name, arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
                          code_dir=Path("/nonexistent"), handler=f"{name}.handler", **fields)


class FunctionFailure:
    """Return this from a fake handler to answer with a function error."""

    def __init__(self, message: str = "boom") -> None:
        self.payload = json.dumps({"errorType": "RuntimeError", "errorMessage": message}).encode()


class FakeExecutor:
    """Runs a coroutine 'runtime' per environment that talks to it like a real runtime would."""

    name = "fake"

    def __init__(self, handler: Handler | None = None, init_seconds: float = 0.0) -> None:
        self.handler = handler or (lambda env, payload: asyncio.sleep(0, result=payload))
        self.init_seconds = init_seconds
        #: what renewable() answers; restarts: environments whose runtime restarted in place
        self.renew = False
        self.restarts: list[Environment] = []
        self.launched: list[Environment] = []
        self.destroyed: list[Environment] = []
        self._tasks: list[asyncio.Task] = []

    async def prepare(self, function: FunctionConfig) -> None:
        return None

    async def launch(self, env: Environment) -> None:
        self.launched.append(env)
        self._tasks.append(asyncio.get_running_loop().create_task(self._runtime(env)))

    async def _runtime(self, env: Environment) -> None:
        if self.init_seconds:
            await asyncio.sleep(self.init_seconds)
        while env.alive:
            try:
                inv = await env.next_invocation()
            except RuntimeRestart:
                await self.restart(env)
                return
            except RuntimeApiError:  # the environment is shutting down
                return
            result = await self.handler(env, inv.payload)
            if env.alive and env.current is inv:
                if isinstance(result, FunctionFailure):
                    env.fail(inv.request_id, result.payload)
                else:
                    env.respond(inv.request_id, result)

    async def destroy(self, env: Environment) -> None:
        self.destroyed.append(env)

    def max_memory_mb(self, env: Environment) -> int | None:
        return 42

    def renewable(self, env: Environment, function: FunctionConfig) -> bool:
        return self.renew

    async def restart(self, env: Environment) -> None:
        """The fake runtime's answer to a restart: it runs again, as a new process would."""
        self.restarts.append(env)
        self._tasks.append(asyncio.get_running_loop().create_task(self._runtime(env)))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()


class FakePorts:
    def __init__(self) -> None:
        self.next_port = 20000

    async def open(self, env: Environment) -> None:
        self.next_port += 1
        env.port = self.next_port

    def close(self, env: Environment) -> None:
        pass


class SilentObserver(BaseObserver):
    """A watchdog observer that watches nothing: file events that never arrive (some network
    or VM shares), so every change must be found some other way."""

    def __init__(self) -> None:
        super().__init__(PollingEmitter)

    def schedule(self, event_handler, path, *, recursive=False, event_filter=None, follow_symlink=False):
        return ObservedWatch(path, recursive=recursive, event_filter=event_filter)

    def unschedule(self, watch) -> None:
        pass


def silent_then_polling(mode: str, poll_interval: float) -> BaseObserver:
    """File events never arrive; polling (after the fallback) works."""
    return SilentObserver() if mode == "events" else PollingObserver(timeout=poll_interval)
