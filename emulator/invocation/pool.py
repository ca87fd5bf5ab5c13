"""The warm pool: environments per function, borrowed for one invocation at a time.

``borrow`` hands out an idle environment of the function's current revision (warm), or
launches a new one (cold) while the function has fewer than its limit, or waits for one
to come back. ``release`` returns a healthy environment; dead, stale or retired ones are
destroyed. Idle environments are reaped after ``idle_timeout`` seconds.

Cold starts are bounded machine-wide: at most ``max_starting`` environments initialise at
once. A burst (200 Event invokes, an SQS backlog) would otherwise start 32 containers
together, each importing its code on a laptop's few cores, and push their inits past the
init timeout. A borrower waiting for a start slot takes the first environment that comes
back warm instead, so a burst is served by the environments already running while the
pool grows at the pace the machine can start them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any

from emulator.config import Settings
from emulator.domain.functions import FunctionConfig
from emulator.executors.base import Executor
from emulator.invocation.environment import Environment, EnvState, Observer
from emulator.invocation.runtime_ports import RuntimePorts

log = logging.getLogger(__name__)


@dataclass
class Borrowed:
    """An environment lent for one invocation (:meth:`EnvironmentPool.environment`)."""

    env: Environment
    #: whether it was launched for this invocation (a cold start)
    cold: bool
    #: set when the environment must not be used again (its invocation failed fatally)
    discard: bool = False


@dataclass
class _FunctionPool:
    idle: list[Environment] = field(default_factory=list)
    envs: set[Environment] = field(default_factory=set)
    waiters: deque[asyncio.Future[None]] = field(default_factory=deque)

    def wake_one(self) -> None:
        _wake_one(self.waiters)


def _wake_one(waiters: deque[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return


class EnvironmentPool:
    """Every environment of every function."""

    def __init__(self, executor: Executor, ports: RuntimePorts, settings: Settings, *,
                 observer: Observer | None = None) -> None:
        self.executor = executor
        self.ports = ports
        self.settings = settings
        self._pools: dict[str, _FunctionPool] = {}
        #: environments launched whose runtime has not asked for work yet (machine-wide)
        self._starting: set[Environment] = set()
        #: borrowers waiting for a start slot (they are also in their function's waiters)
        self._start_waiters: deque[asyncio.Future[None]] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        #: given to every environment: the live log (emulator/invocation/live_echo.py)
        self.observer = observer

    def _pool(self, name: str) -> _FunctionPool:
        pool = self._pools.get(name)
        if pool is None:
            pool = self._pools[name] = _FunctionPool()
        return pool

    def environments(self, name: str | None = None) -> list[Environment]:
        pools = [self._pools.get(name)] if name else list(self._pools.values())
        return [env for pool in pools if pool for env in pool.envs]

    async def borrow(self, function: FunctionConfig) -> tuple[Environment, bool]:
        """An environment for one invocation, and whether it is a cold start."""
        pool = self._pool(function.pool_key)
        limit = function.reserved_concurrency or self.settings.max_environments_per_function
        while True:
            while pool.idle:
                env = pool.idle.pop()
                if env.alive and env.function.revision_id == function.revision_id:
                    return env, env.invocations == 0  # a renewed environment starts cold
                self.discard(env)
            below_limit = len(pool.envs) < limit
            if below_limit and len(self._starting) < self.settings.max_starting:
                return await self._launch(function, pool), True
            waiter = asyncio.get_running_loop().create_future()
            pool.waiters.append(waiter)  # woken when one of the function's environments comes back
            if below_limit:
                self._start_waiters.append(waiter)  # ... or when any start slot frees
            await waiter

    @contextlib.asynccontextmanager
    async def environment(self, function: FunctionConfig) -> AsyncIterator[Borrowed]:
        """Borrow an environment for one invocation: ``async with pool.environment(fn) as borrowed``.

        It goes back to the pool when the block ends, unless the block raised, marked it
        ``discard`` (its invocation failed fatally) or the environment died meanwhile: then it is
        destroyed.
        """
        env, cold = await self.borrow(function)
        borrowed = Borrowed(env, cold)
        try:
            yield borrowed
        except BaseException:
            self.discard(env)
            raise
        if borrowed.discard or not env.alive:
            self.discard(env)
        else:
            self.release(env)

    @property
    def starting(self) -> int:
        """Environments initialising now (machine-wide)."""
        return len(self._starting)

    async def _launch(self, function: FunctionConfig, pool: _FunctionPool) -> Environment:
        env = Environment(function, on_dead=self._on_dead, spill_dir=self.settings.state_dir / "logs")
        env.foreign_request = self._in_flight
        env.observer = self.observer
        env.on_ready = self._started
        pool.envs.add(env)
        self._starting.add(env)
        try:
            await self.ports.open(env)
            await self.executor.launch(env)
        except BaseException:
            env.kill("launch failed")
            raise
        return env

    def _started(self, env: Environment) -> None:
        """``env`` finished initialising (or died trying): its start slot is free."""
        if env in self._starting:
            self._starting.discard(env)
            _wake_one(self._start_waiters)

    def _in_flight(self, request_id: str) -> bool:
        return any(e.current is not None and e.current.request_id == request_id for e in self.environments())

    def release(self, env: Environment) -> None:
        """Give back a borrowed environment after its invocation finished."""
        pool = self._pool(env.function.pool_key)
        if env.alive and env in pool.envs and not env.retired:
            pool.idle.append(env)
            pool.wake_one()
        else:
            self.discard(env)

    def discard(self, env: Environment) -> None:
        """Destroy an environment (dead, stale, reaped or no longer wanted)."""
        if env.alive:
            env.kill("discarded")  # calls _on_dead
        else:
            self._on_dead(env)

    def _on_dead(self, env: Environment) -> None:
        pool = self._pool(env.function.pool_key)
        if env not in pool.envs:
            return
        pool.envs.discard(env)
        if env in pool.idle:
            pool.idle.remove(env)
        self._started(env)
        self.ports.close(env)
        self._spawn(self.executor.destroy(env))
        pool.wake_one()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def drop_function(self, name: str, *, versions: bool = False) -> None:
        """Retire every environment of a function's $LATEST (it was deleted, reloaded or
        reconfigured), and with ``versions`` those of its published versions too (it was
        deleted): idle ones are destroyed now, busy ones when their invocation ends."""
        keys = [name] + ([key for key in self._pools if key.startswith(f"{name}:")] if versions else [])
        for key in keys:
            self.drop_key(key)

    def drop_key(self, key: str) -> None:
        """Retire the environments of one pool (``FunctionConfig.pool_key``: a name, or
        ``name:version`` for a published version's own)."""
        pool = self._pools.get(key)
        if pool:
            for env in pool.envs:
                env.retired = True
            for env in list(pool.idle):
                self.discard(env)

    def renew(self, function: FunctionConfig) -> int:
        """The function has a new revision (hot reload): idle environments that need nothing but
        the new code have their runtime start afresh in place (a container start saved), up to
        ``max_starting`` of them; the others are retired as by :meth:`drop_function`. Returns
        how many were renewed."""
        pool = self._pools.get(function.name)
        if not pool:
            return 0
        renewable = [env for env in pool.idle  # an environment still starting (prepared ahead) is not
                     if env.state is EnvState.IDLE and self.executor.renewable(env, function)]
        keep = renewable[-self.settings.max_starting:]  # the most recently used
        for env in pool.envs:
            if env not in keep:
                env.retired = True
        for env in list(pool.idle):
            if env not in keep:
                self.discard(env)
        for env in keep:
            env.renew(function)
        return len(keep)

    def discard_all(self) -> None:
        for pool in self._pools.values():
            for env in list(pool.envs):
                self.discard(env)

    def reap(self, now: float | None = None) -> int:
        """Destroy environments idle for longer than the idle timeout."""
        now = time.monotonic() if now is None else now
        reaped = 0
        for pool in self._pools.values():
            for env in list(pool.idle):
                if now - env.last_used > self.settings.idle_timeout:
                    self.discard(env)
                    reaped += 1
        return reaped

    async def reap_forever(self) -> None:
        interval = max(1.0, min(30.0, self.settings.idle_timeout / 4))
        while True:
            await asyncio.sleep(interval)
            count = self.reap()
            if count:
                log.info("reaped %d idle environment(s)", count)

    async def close(self) -> None:
        for pool in self._pools.values():
            for env in list(pool.envs):
                env.kill("shutdown")
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.executor.close()
