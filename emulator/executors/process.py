"""The process executor: each environment is a local subprocess running the same runtime.

Used where no Docker engine answers, or when asked (``--executor process``). There is no
memory limit here; Max Memory Used is the process's peak RSS (VmHWM).

A function runs on the Python its Runtime names when that interpreter is on PATH and runs
(``python3.12`` for Runtime ``python3.12``), else on the control plane's own Python, with one
warning per runtime. Its requirements.txt is installed by the pip of the interpreter it runs on, for it.
There is no ``/opt``: the runtime is told where the function's merged layers are and puts
their ``python`` folders on ``sys.path`` as it would ``/opt``'s.

A function sees what it would see on AWS: the standard library, the AWS SDK and its own code.
The runtime runs with ``python -I -S`` from ``<state>/runtime/`` (:func:`runtime_folder`), a
folder laid out as AWS's ``/var/runtime``: the bootstrap and links to this environment's
boto3, botocore and their dependencies (pure Python, so other 3.x interpreters import them too).
The control plane's own packages (fastapi, moto, docker...) are not importable, so a function
that forgets to list a package in its requirements.txt fails here as it would on AWS, not only
in Docker.
"""

from __future__ import annotations

import asyncio
import contextlib
import filecmp
import logging
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..domain.functions import FunctionConfig
from .base import (
    BOOTSTRAP,
    ExecutionEnvironment,
    ExecutorError,
    RenewalKey,
    exit_reason,
    renewal_key,
    runtime_environment,
    still_renewable,
)
from .dependencies import Dependencies, Target
from .images import python_version, sdk_paths
from .layers import opt_folder
from .pip import Progress, pip_on_host

log = logging.getLogger(__name__)

HOST_VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"


def host_target(version: str) -> Target:
    """What packages are installed for: a Python ``version`` on this machine."""
    return Target("host", version, f"{sys.implementation.name}-{sysconfig.get_platform()}")


@dataclass(frozen=True)
class Interpreter:
    """The Python a function runs on, and what its requirements are installed for."""

    executable: str
    target: Target


#: the control plane's own interpreter
HOST_PYTHON = Interpreter(sys.executable, host_target(HOST_VERSION))


def find_python(runtime: str) -> Interpreter | str:
    """The interpreter of a ``python3.X`` Runtime: the ``python3.X`` on PATH (an absolute path:
    processes start in the function's folder), or this one for its own version; else why there
    is none. A ``python3.X`` that does not run (a pyenv shim of a version not selected) is none."""
    version = python_version(runtime)
    if version == HOST_VERSION:
        return HOST_PYTHON
    found = shutil.which(f"python{version}")
    if found is None:
        return f"python{version} is not on PATH"
    try:
        probe = subprocess.run([found, "-I", "-S", "-c", ""], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{found} does not run ({exc})"
    if probe.returncode != 0:
        said = next((line.strip() for line in probe.stderr.splitlines() if line.strip()), "no output")[:200]
        return f"{found} does not run (exit status {probe.returncode}: {said})"
    return Interpreter(os.path.abspath(found), host_target(version))


def runtime_folder(state_dir: Path) -> Path:
    """``<state>/runtime``: the bootstrap (a copy: Python puts the real folder of a linked
    script on ``sys.path``) and links to the AWS SDK's modules, like AWS's ``/var/runtime``."""
    folder = state_dir.resolve() / "runtime"
    folder.mkdir(parents=True, exist_ok=True)
    bootstrap = folder / BOOTSTRAP.name
    if not bootstrap.exists() or not filecmp.cmp(BOOTSTRAP, bootstrap, shallow=False):
        scratch = _scratch(folder, BOOTSTRAP.name)
        shutil.copyfile(BOOTSTRAP, scratch)
        os.replace(scratch, bootstrap)
    for source in sdk_paths():
        link = folder / source.name
        if not (link.is_symlink() and os.readlink(link) == str(source)):
            scratch = _scratch(folder, source.name)
            scratch.symlink_to(source)
            os.replace(scratch, link)
    return folder


def _scratch(folder: Path, name: str) -> Path:
    """A name of its own for one writer: environments starting at once (threads of one process,
    or several control planes sharing a state folder) each write theirs, then rename it."""
    return folder / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:12]}"


class ProcessExecutor:
    name = "process"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.dependencies = Dependencies(settings.dependencies_dir)
        self._pips: set[subprocess.Popen[str]] = set()
        self._runtime: Path | None = None
        self._renewal: dict[str, RenewalKey | None] = {}
        self._pythons: dict[str, Interpreter] = {}

    def python(self, function: FunctionConfig) -> Interpreter:
        """The interpreter the function runs on (looked up once per runtime, see the module doc)."""
        if function.is_custom_runtime:
            return HOST_PYTHON
        python = self._pythons.get(function.runtime)
        if python is None:
            found = find_python(function.runtime)  # blocks (a probe), once per runtime
            if isinstance(found, str):
                log.warning(
                    "%s: functions with Runtime %s run on this Python %s (the control plane's); "
                    "install %s or use the Docker executor",
                    found, function.runtime, HOST_VERSION, function.runtime,
                )
            python = self._pythons[function.runtime] = HOST_PYTHON if isinstance(found, str) else found
        return python

    async def prepare(self, function: FunctionConfig) -> None:
        if function.is_custom_runtime and not os.access(function.code_dir / "bootstrap", os.X_OK):
            raise ExecutorError(
                f"function {function.name} uses runtime {function.runtime} but "
                f"{function.code_dir / 'bootstrap'} is missing or not executable"
            )

    def _command(self, function: FunctionConfig) -> list[str]:
        if function.is_custom_runtime:
            return [str(function.code_dir / "bootstrap")]
        assert self._runtime is not None, "launch() makes the runtime folder first"
        # -I -S: none of the control plane's packages, only the SDK next to the bootstrap (see the
        # module doc). -B: no .pyc written in the function's folder (the runtime reads one there
        # only when it is clearly newer than its source: see trust_fresh_bytecode_only).
        return [self.python(function).executable, "-I", "-S", "-B", str(self._runtime / BOOTSTRAP.name)]

    async def launch(self, env: ExecutionEnvironment) -> None:
        function = env.function
        python = self.python(function)

        def install(folder: Path, progress: Progress) -> None:
            pip_on_host(function.code_dir, folder, progress, self._pips, python.executable)

        packages = await self.dependencies.ensure(function, python.target, install)
        if self._runtime is None and not function.is_custom_runtime:
            self._runtime = await asyncio.to_thread(runtime_folder, self.settings.state_dir)
        opt = await asyncio.to_thread(opt_folder, function, self.settings.state_dir) if function.layers else None
        env.created_at = env.last_used = time.monotonic()  # Init Duration starts with the runtime, not the installs
        path = os.pathsep.join([str(Path(python.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])
        variables = runtime_environment(
            function, self.settings, env=env,
            runtime_api=f"127.0.0.1:{env.port}", task_root=str(function.code_dir), path=path,
        )
        if not function.is_custom_runtime:  # read (and removed) by runtimes/python/bootstrap.py
            variables["LAMBDA_RUNTIME_DIR"] = str(self._runtime)
            variables["_CLOUDMICRO_PACKAGES"] = str(packages) if packages is not None else ""
            variables["_CLOUDMICRO_OPT"] = str(opt) if opt is not None else ""
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
        self._renewal[env.id] = renewal_key(function, packages)
        env.on_eof = self._on_eof
        env.read_output_from(fd)

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
        packages = self.dependencies.installed(function, self.python(function).target)
        return still_renewable(self._renewal.get(env.id), function, packages)

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
        for pip in list(self._pips):  # an install under way would hold up the shutdown
            pip.kill()
        for env_id in list(self._procs):
            await self._kill(self._procs.pop(env_id))
