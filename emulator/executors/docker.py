"""The Docker executor: each environment is a warm container of the function's runtime image.

What runs in the container (its image, command and variables, and what installs the function's
dependency file) is the runtime family's (:mod:`.runtimes`); this module knows no language.
Containers use host networking to reach their Runtime API port on loopback (each runs as a user
id of its own, the only one its Runtime API serves: :mod:`.sockets`), mount the code
folder read-only at ``/var/task`` (its installed dependency file at ``/var/cloudmicro/deps``
and its layers at ``/opt``, read-only too), are limited to the function's MemorySize, and write
their stdout/stderr into a FIFO that the control plane reads (so each invocation's output
is complete when its answer arrives). They carry labels naming their owner, so a control
plane that died leaves nothing behind after the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors

from emulator.config import Settings
from emulator.domain.functions import FunctionConfig
from emulator.executors import sockets
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
from emulator.executors.images import ensure_runtime_image
from emulator.executors.layers import layer_packages, opt_folder
from emulator.executors.runtimes import runtime_for

log = logging.getLogger(__name__)
T = TypeVar("T")

LABEL = "cloudmicro.managed"
OWNER_LABEL = "cloudmicro.owner"
#: marks the throwaway containers that install a function's dependency file (the value is the
#: label's first name, from when pip was the only installer: containers left by earlier versions match)
INSTALLER_LABEL = "cloudmicro.pip"
LOG_PATH = "/var/runtime/cloudmicro-log"
CONTAINER_PATH = "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"
#: where a container sees the packages installed from its function's dependency file
PACKAGES_PATH = "/var/cloudmicro/deps"
#: runs the runtime with its output in the FIFO; ``exec`` keeps the runtime's exit status
_WRAPPER = ["/bin/sh", "-c", f'exec "$@" >{LOG_PATH} 2>&1', "cloudmicro-init"]


def _process_start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _pid_namespace() -> str:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "?"


def owner_id() -> str:
    """Who owns a container: host, pid namespace, pid and the pid's start time (pids get reused,
    and a control plane in a host-networked container shares the host's name)."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{_pid_namespace()}:{pid}:{_process_start_time(pid)}"


def owner_alive(owner: str) -> bool:
    """False only for an owner we can see is gone: same host and pid namespace, process ended."""
    parts = owner.split(":")
    if len(parts) != 4 or parts[0] != socket.gethostname() or parts[1] != _pid_namespace():
        return True  # another machine's or container's control plane: not ours to judge
    pid, started = parts[2], parts[3]
    return pid.isdigit() and _process_start_time(int(pid)) == started


def docker_client() -> docker.DockerClient | None:
    """A client for the local engine, or None when no engine answers."""
    try:
        client = docker.from_env(timeout=30, max_pool_size=32)
        client.ping()
        return client
    except Exception:  # noqa: BLE001 - any failure means "no usable engine"
        return None


class DockerExecutor:
    name = "docker"

    def __init__(self, settings: Settings, client: docker.DockerClient) -> None:
        self.settings = settings
        self.client = client
        self.api = client.api
        self.owner = owner_id()
        self.fifo_dir = (settings.state_dir / "run").resolve()
        self._threads = ThreadPoolExecutor(max_workers=32, thread_name_prefix="docker")
        self._images: dict[str, str] = {}
        self._image_lock = asyncio.Lock()
        self._containers: dict[str, str] = {}
        self._cgroup_files: dict[str, Path | None] = {}
        self._peaks: dict[str, int] = {}
        self._renewal: dict[str, RenewalKey | None] = {}
        self.dependencies = Dependencies(settings.dependencies_dir)

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, functools.partial(fn, *args, **kwargs))

    # --- images -----------------------------------------------------------------------

    async def prepare(self, function: FunctionConfig) -> None:
        if function.runtime in self._images:
            return
        async with self._image_lock:
            if function.runtime not in self._images:
                tag = await self._call(ensure_runtime_image, self.client, function.runtime, self.settings)
                self._images[function.runtime] = tag

    # --- lifecycle --------------------------------------------------------------------

    async def cleanup_orphans(self) -> int:
        """Remove containers left by control planes that are no longer running."""
        containers = await self._call(self.api.containers, all=True, filters={"label": LABEL})
        dead = [c["Id"] for c in containers if not owner_alive(c["Labels"].get(OWNER_LABEL, ""))]
        await asyncio.gather(*(self._remove(cid) for cid in dead))
        return len(dead)

    async def launch(self, env: ExecutionEnvironment) -> None:
        function = env.function
        family = runtime_for(function.runtime)
        await self.prepare(function)
        packages, opt = await self._packages(function)
        env.created_at = env.last_used = time.monotonic()  # Init Duration starts with the runtime, not the installs
        self.fifo_dir.mkdir(parents=True, exist_ok=True)
        fifo = self.fifo_dir / f"{env.id}.log"
        os.mkfifo(fifo)
        os.chmod(fifo, 0o666)
        env.read_output_from(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        env.on_eof = self._on_eof
        command = family.container_command(function)
        env.uid = sockets.new_uid()
        own = family.container_variables(function, PACKAGES_PATH if packages is not None else None)
        variables = runtime_environment(
            function, self.settings, env=env, runtime_api=f"127.0.0.1:{env.port}", task_root="/var/task",
            path=CONTAINER_PATH, runtime=own,
        )
        binds = {
            str(function.code_dir): {"bind": "/var/task", "mode": "ro"},
            str(fifo): {"bind": LOG_PATH, "mode": "rw"},
        }
        if packages is not None:
            binds[str(packages)] = {"bind": PACKAGES_PATH, "mode": "ro"}
        if opt is not None:
            binds[str(opt)] = {"bind": "/opt", "mode": "ro"}
        memory = f"{function.memory_size}m"
        host_config = self.api.create_host_config(
            network_mode=self._network_mode(),
            mem_limit=memory,
            memswap_limit=memory,
            binds=binds,
            init=False,
        )
        try:
            created = await self._call(
                self.api.create_container,
                self._images[function.runtime],
                command=command,
                entrypoint=_WRAPPER,
                environment=variables,
                working_dir="/var/task",
                user=f"{env.uid}:{sockets.GID}",
                labels={LABEL: "true", OWNER_LABEL: self.owner, "cloudmicro.function": function.name},
                name=f"cloudmicro-{function.name}-{env.id}",
                host_config=host_config,
            )
            cid = created["Id"]
            env.handle = cid
            self._containers[env.id] = cid
            self._renewal[env.id] = renewal_key(function, packages, family.restarts_in_place(function))
            await self._call(self.api.start, cid)
            self._cgroup_files[env.id] = _cgroup_peak_file(cid)
        except docker.errors.APIError as exc:
            raise ExecutorError(f"could not start a container for {function.name}: {exc}") from exc

    def _network_mode(self) -> str:
        """``host``, or the network of the container this control plane runs in (compose): either
        way the functions reach its Runtime API ports and endpoint on loopback."""
        if self.settings.function_network == "container:self":
            return f"container:{socket.gethostname()}"  # a container's hostname is its short id
        return "host"

    async def _packages(self, function: FunctionConfig) -> tuple[Path | None, Path | None]:
        """The function's installed dependency file (installed in its runtime image) and its /opt."""
        family = runtime_for(function.runtime)
        labels = {LABEL: "true", OWNER_LABEL: self.owner, INSTALLER_LABEL: "true"}
        install = family.container_installer(function, self.client, self._images[function.runtime],
                                             self.dependencies.root, labels)
        packages = await self.dependencies.ensure(function, family.container_target(function), install)
        if not function.layers:
            return packages, None

        def ensure(layer: FunctionConfig) -> Awaitable[Path | None]:
            installer = family.container_installer(layer, self.client, self._images[function.runtime],
                                                   self.dependencies.root, labels)
            return self.dependencies.ensure(layer, family.container_target(layer), installer)

        installed = await layer_packages(function, ensure)
        return packages, await self._call(opt_folder, function, self.settings.state_dir, installed)

    def _on_eof(self, env: ExecutionEnvironment) -> None:
        self.max_memory_mb(env)  # read the peak while the container's cgroup still exists

        async def find_status() -> None:
            reason, oom = "exit status 0", False
            cid = env.handle
            if cid:
                try:
                    status = await self._call(self.api.wait, cid, timeout=5)
                    state = (await self._call(self.api.inspect_container, cid))["State"]
                    code = int(status.get("StatusCode", 0))
                    if state.get("OOMKilled") or code == 137:
                        reason, oom = "signal: killed", bool(state.get("OOMKilled"))
                    if oom:  # the kernel killed it at its limit
                        self._peaks[env.id] = env.function.memory_size
                    elif code > 128:
                        reason = exit_reason(-(code - 128))
                    else:
                        reason = exit_reason(code)
                except Exception as exc:  # noqa: BLE001 - the container is gone either way
                    log.debug("could not read the exit status of %s: %s", cid, exc)
            env.exited(reason, oom)

        asyncio.get_running_loop().create_task(find_status())

    def renewable(self, env: ExecutionEnvironment, function: FunctionConfig) -> bool:
        family = runtime_for(function.runtime)
        packages = self.dependencies.installed(function, family.container_target(function))
        return still_renewable(self._renewal.get(env.id), function, packages, family.restarts_in_place(function))

    async def destroy(self, env: ExecutionEnvironment) -> None:
        self._renewal.pop(env.id, None)
        cid = self._containers.pop(env.id, None)
        self._cgroup_files.pop(env.id, None)
        self._peaks.pop(env.id, None)
        if cid:
            await self._remove(cid)
        with contextlib.suppress(FileNotFoundError):
            (self.fifo_dir / f"{env.id}.log").unlink()

    async def _remove(self, cid: str) -> None:
        try:
            await self._call(self.api.remove_container, cid, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if "already in progress" not in str(exc):
                log.warning("could not remove container %s: %s", cid[:12], exc)

    async def close(self) -> None:
        # installer containers under way too: their install would hold up the shutdown
        try:
            installers = await self._call(self.api.containers, all=True,
                                          filters={"label": [INSTALLER_LABEL, f"{OWNER_LABEL}={self.owner}"]})
        except docker.errors.APIError as exc:
            log.warning("could not list the installer containers to stop: %s", exc)
            installers = []
        cids = [*self._containers.values(), *(c["Id"] for c in installers)]
        await asyncio.gather(*(self._remove(cid) for cid in cids))
        self._containers.clear()
        self._threads.shutdown(wait=False)

    # --- memory -----------------------------------------------------------------------

    def max_memory_mb(self, env: ExecutionEnvironment) -> int | None:
        """The container's peak memory from its cgroup (the last reading once it is gone)."""
        path = self._cgroup_files.get(env.id)
        if path is not None:
            with contextlib.suppress(OSError, ValueError):
                self._peaks[env.id] = max(1, round(int(path.read_text()) / (1024 * 1024)))
        return self._peaks.get(env.id)


def _cgroup_peak_file(cid: str) -> Path | None:
    """The kernel's peak-memory file for a container (cgroup v1 or v2, either driver)."""
    root = Path(os.environ.get("CLOUDMICRO_CGROUP_ROOT", "/sys/fs/cgroup"))
    for candidate in (
        root / "memory" / "docker" / cid / "memory.max_usage_in_bytes",
        root / "memory" / "system.slice" / f"docker-{cid}.scope" / "memory.max_usage_in_bytes",
        root / "docker" / cid / "memory.peak",
        root / "system.slice" / f"docker-{cid}.scope" / "memory.peak",
    ):
        if candidate.exists():
            return candidate
    return None
