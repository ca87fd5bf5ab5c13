"""The process executor: each environment is a local subprocess running the same runtime.

Used where no Docker engine answers, or when asked (``--executor process``). There is no
memory limit here; Max Memory Used is the process's peak RSS (VmHWM).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from ..config import Settings
from ..domain.functions import FunctionConfig
from ..invocation.environment import Environment
from .base import BOOTSTRAP, ExecutorError, exit_reason, runtime_environment


class ProcessExecutor:
    name = "process"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    async def prepare(self, function: FunctionConfig) -> None:
        if function.is_custom_runtime and not os.access(function.code_dir / "bootstrap", os.X_OK):
            raise ExecutorError(
                f"function {function.name} uses runtime {function.runtime} but "
                f"{function.code_dir / 'bootstrap'} is missing or not executable"
            )

    def _command(self, function: FunctionConfig) -> list[str]:
        if function.is_custom_runtime:
            return [str(function.code_dir / "bootstrap")]
        return [sys.executable, "-I", str(BOOTSTRAP)]

    async def launch(self, env: Environment) -> None:
        function = env.function
        path = os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])
        variables = runtime_environment(
            function, self.settings, env=env,
            runtime_api=f"127.0.0.1:{env.port}", task_root=str(function.code_dir), path=path,
        )
        try:
            proc = subprocess.Popen(
                self._command(function),
                cwd=function.code_dir,
                env=variables,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise ExecutorError(f"could not start the runtime for {function.name}: {exc}") from exc
        assert proc.stdout is not None
        fd = os.dup(proc.stdout.fileno())
        proc.stdout.close()
        env.handle = proc
        self._procs[env.id] = proc
        env.on_eof = self._on_eof
        env.read_output_from(fd)

    def _on_eof(self, env: Environment) -> None:
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

    async def destroy(self, env: Environment) -> None:
        await self._kill(self._procs.pop(env.id, None))

    @staticmethod
    async def _kill(proc: subprocess.Popen[bytes] | None) -> None:
        """Kill the runtime and anything it started (its process group), then reap it."""
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        await asyncio.to_thread(proc.wait)

    def max_memory_mb(self, env: Environment) -> int | None:
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
        for env_id in list(self._procs):
            await self._kill(self._procs.pop(env_id))
