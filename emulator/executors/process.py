"""The process executor: each environment is a local subprocess running the function's runtime.

Used where no Docker engine answers, or when asked (``--executor process``). There is no
memory limit here; Max Memory Used is the process's peak RSS (VmHWM).

What runs (the interpreter and the command, the runtime's variables, what installs the
function's dependency file, and the folders it needs) is the runtime family's
(:class:`.runtimes.HostRuntime`, one per family and executor); this module knows no language.
There is no ``/opt``: the runtime is told where the function's merged layers are.

Functions run as the control plane's user, so they are less isolated than in containers: they
can read what that user reads. When it is root they run as a user id of their own instead, when
one can reach what the runtime needs (:mod:`.unprivileged`); each environment's Runtime API then
serves that uid only (:mod:`.sockets`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from emulator.config import Settings
from emulator.domain.functions import FunctionConfig
from emulator.executors import sockets, unprivileged
from emulator.executors.base import (
    ExecutionEnvironment,
    ExecutorError,
    RenewalKey,
    exit_reason,
    renewal_key,
    runtime_environment,
    still_renewable,
)
from emulator.executors.dependencies import Dependencies
from emulator.executors.layers import layer_packages, opt_folder
from emulator.executors.runtimes import HostRuntime, LanguageRuntime, runtime_for

log = logging.getLogger(__name__)


class ProcessExecutor:
    name = "process"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.dependencies = Dependencies(settings.dependencies_dir)
        self._installers: set[subprocess.Popen[str]] = set()
        self._renewal: dict[str, RenewalKey | None] = {}
        self._hosts: dict[LanguageRuntime, HostRuntime] = {}
        self._warned_root: set[str] = set()

    def host(self, function: FunctionConfig) -> HostRuntime:
        """The function's runtime family as this executor runs it (made once per family)."""
        family = runtime_for(function.runtime)
        host = self._hosts.get(family)
        if host is None:
            host = self._hosts[family] = family.host(self.settings)
        return host

    async def prepare(self, function: FunctionConfig) -> None:
        self.host(function).check(function)

    async def launch(self, env: ExecutionEnvironment) -> None:
        function = env.function
        restarts = runtime_for(function.runtime).restarts_in_place(function)
        host = self.host(function)
        target = host.target(function)  # the first call per Runtime may probe an interpreter
        packages = await self.dependencies.ensure(function, target, host.installer(function, self._installers))
        command = await asyncio.to_thread(host.command, function)
        opt = None
        if function.layers:
            installed = await layer_packages(function, lambda layer: self.dependencies.ensure(
                layer, target, host.installer(layer, self._installers)))
            opt = await asyncio.to_thread(opt_folder, function, self.settings.state_dir, installed)
        env.created_at = env.last_used = time.monotonic()  # Init Duration starts with the runtime, not the installs
        path = os.pathsep.join([host.search_path(function), "/usr/local/bin", "/usr/bin", "/bin"])
        variables = runtime_environment(
            function, self.settings, env=env, runtime_api=f"127.0.0.1:{env.port}", task_root=str(function.code_dir),
            path=path, runtime=host.variables(function, packages, opt),
        )
        user = await self._user(function, command, variables)
        env.uid = user.get("user", os.geteuid())
        try:
            proc = subprocess.Popen(
                command,
                cwd=function.code_dir,
                env=variables,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **user,
            )
        except OSError as exc:
            raise ExecutorError(f"could not start the runtime for {function.name}: {exc}") from exc
        assert proc.stdout is not None
        fd = os.dup(proc.stdout.fileno())
        proc.stdout.close()
        env.handle = proc
        self._procs[env.id] = proc
        self._renewal[env.id] = renewal_key(function, packages, restarts)
        env.on_eof = self._on_eof
        env.read_output_from(fd)

    async def _user(self, function: FunctionConfig, command: list[str], variables: dict[str, str]) -> dict[str, Any]:
        """Popen's user arguments: a user id of the environment's own when the control plane is
        root and such a user can reach the runtime's files; none (run as this user) otherwise."""
        if not unprivileged.running_as_root():
            return {}
        blocked = await asyncio.to_thread(self._open_to_others, function, command, variables)
        if blocked is None:
            variables.setdefault("HOME", "/tmp")
            return {"user": sockets.new_uid(), "group": sockets.GID, "extra_groups": []}
        if function.name not in self._warned_root:
            self._warned_root.add(function.name)
            log.warning("%s runs as root: %s is not readable by other users, so the function cannot run as an "
                        "unprivileged user of its own (chmod o+rx the folders on the way to it)",
                        function.name, blocked)
        return {}

    @staticmethod
    def _open_to_others(function: FunctionConfig, command: list[str], variables: dict[str, str]) -> Path | None:
        """The first file the runtime needs that a user of its own could not reach (None: all
        reachable); an interpreter under a closed folder is replaced by a reachable twin."""
        own = {key: value for key, value in variables.items() if key not in function.environment}  # not the user's

        def blocked() -> Path | None:
            return unprivileged.first_unreachable(unprivileged.paths_in(command, own, function.code_dir))

        first = blocked()
        if first is not None and command and first == Path(command[0]):
            twin = unprivileged.reachable_twin(command[0])
            if twin is not None:
                command[0] = twin
                first = blocked()
        return first

    def _on_eof(self, env: ExecutionEnvironment) -> None:
        proc: subprocess.Popen[bytes] = env.handle
        code = proc.poll()
        if code is not None:
            env.exited(exit_reason(code))
            return

        async def wait() -> None:
            try:
                returncode = await asyncio.to_thread(proc.wait, 5)
            except subprocess.TimeoutExpired:
                returncode = 0
            env.exited(exit_reason(returncode))

        asyncio.get_running_loop().create_task(wait())

    def renewable(self, env: ExecutionEnvironment, function: FunctionConfig) -> bool:
        packages = self.dependencies.installed(function, self.host(function).target(function))
        restarts = runtime_for(function.runtime).restarts_in_place(function)
        return still_renewable(self._renewal.get(env.id), function, packages, restarts)

    async def destroy(self, env: ExecutionEnvironment) -> None:
        self._renewal.pop(env.id, None)
        await self._kill(self._procs.pop(env.id, None))

    @staticmethod
    async def _kill(proc: subprocess.Popen[bytes] | None) -> None:
        """Kill the runtime and anything it started (its process group), then reap it."""
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        await asyncio.to_thread(proc.wait)

    def max_memory_mb(self, env: ExecutionEnvironment) -> int | None:
        proc: subprocess.Popen[bytes] | None = env.handle
        if proc is None:
            return None
        try:
            with open(f"/proc/{proc.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return max(1, round(int(line.split()[1]) / 1024))
        except OSError:
            return None
        return None

    async def close(self) -> None:
        for installer in list(self._installers):  # an install under way would hold up the shutdown
            installer.kill()
        for env_id in list(self._procs):
            await self._kill(self._procs.pop(env_id))
