"""The executor interface, what an executor needs of an environment, and what every executor shares.

Executors run on the control plane's event loop (their blocking work in threads). They know
nothing of the invocation layer: :class:`ExecutionEnvironment` is what they need of an
environment, and ``emulator.invocation.environment.Environment`` satisfies it structurally.
Nothing language-specific is here either: that is behind :mod:`.runtimes`.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, Protocol, Self

from emulator.config import Settings
from emulator.domain.functions import FunctionConfig


class ExecutorError(Exception):
    """An environment could not be started; the message says why and what to do."""


class ExecutionEnvironment(Protocol):
    """What an executor needs of an execution environment, and nothing more (the invocation
    layer's ``Environment`` has it all)."""

    @property
    def id(self) -> str:
        """Unique hex id (container names, FIFOs, the log stream name)."""

    @property
    def function(self) -> FunctionConfig:
        """The function (revision) the environment runs."""

    @property
    def port(self) -> int:
        """The loopback port of the environment's Runtime API."""

    #: the executor's handle (a container id, a process)
    handle: Any
    #: the user id the runtime runs as when it is the environment's own (its Runtime API then
    #: serves that uid's connections only: :mod:`.sockets`); None when it shares one
    uid: int | None
    #: monotonic time the environment was created (Init Duration counts from it) and last used
    created_at: float
    last_used: float
    #: called when the runtime's output reaches EOF (it exited): the executor finds the status
    on_eof: Callable[[Self], None]

    def read_output_from(self, fd: int) -> None:
        """Collect the runtime's stdout/stderr from this (non-blocking) pipe end."""

    def exited(self, reason: str, out_of_memory: bool = False) -> None:
        """The runtime ended (``exit status 1``, ``signal: killed``)."""


class Executor(Protocol):
    """Starts and stops environments. Blocking work runs in threads; methods are async."""

    name: str

    async def prepare(self, function: FunctionConfig) -> None:
        """Make sure the function can be launched (e.g. its image exists)."""

    async def launch(self, env: ExecutionEnvironment) -> None:
        """Start the runtime for ``env`` (its Runtime API port is ``env.port``)."""

    async def destroy(self, env: ExecutionEnvironment) -> None:
        """Stop and remove the environment's container or process."""

    def max_memory_mb(self, env: ExecutionEnvironment) -> int | None:
        """Peak memory of the environment so far, read from the kernel; None if unknown."""

    def renewable(self, env: ExecutionEnvironment, function: FunctionConfig) -> bool:
        """Whether ``env``'s container or process can run ``function`` (a new revision) once its
        runtime starts afresh in place (hot reload): nothing it was made with has changed."""

    async def close(self) -> None:
        """Destroy everything this executor started."""


RenewalKey = tuple[object, ...]


def renewal_key(function: FunctionConfig, packages: Path | None, restarts_in_place: bool) -> RenewalKey | None:
    """What an environment was made with besides the function's code (its image, handler,
    memory, variables, mounts, the very folder mounted): revisions with the same key can share a
    container or process, whose runtime then restarts in place. None: never (runtimes that cannot
    restart in place, see :meth:`.runtimes.LanguageRuntime.restarts_in_place`, and functions with
    layers, whose /opt may be a merged copy, get new environments)."""
    if not restarts_in_place or function.layers:
        return None
    try:  # the folder itself, not only its path: a bind mount (or a cwd) keeps one made again from view
        folder = os.stat(function.code_dir)
    except OSError:
        return None
    return (function.runtime, function.handler, function.memory_size, tuple(sorted(function.environment.items())),
            str(function.code_dir), (folder.st_dev, folder.st_ino), str(packages) if packages is not None else None)


def still_renewable(key: RenewalKey | None, function: FunctionConfig, packages: Path | Literal[False] | None,
                    restarts_in_place: bool) -> bool:
    """Whether an environment made with ``key`` can run ``function`` after a restart in place;
    ``packages`` is :meth:`.dependencies.Dependencies.installed` (False: not installed yet)."""
    if key is None or packages is False:
        return False
    return renewal_key(function, packages, restarts_in_place) == key


def runtime_environment(
    function: FunctionConfig,
    settings: Settings,
    *,
    env: ExecutionEnvironment,
    runtime_api: str,
    task_root: str,
    path: str,
    runtime: Mapping[str, str],
) -> dict[str, str]:
    """The environment variables a function sees.

    Defaults that point unmodified AWS SDKs at the local endpoint come first, so the
    function's own variables override them; then the variables AWS reserves (which a
    function configuration cannot set), the last of them ``runtime``'s: the runtime family's
    own (``AWS_EXECUTION_ENV``, ``LAMBDA_RUNTIME_DIR``, what its runtime reads).
    """
    variables = {
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": path,
        "AWS_ENDPOINT_URL": settings.function_endpoint,
    }
    variables.update(function.environment)
    variables.update({
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": function.version,
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name(env),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": settings.region,
        "AWS_DEFAULT_REGION": settings.region,
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_SESSION_TOKEN": "test",
        "_HANDLER": function.handler,
        "LAMBDA_TASK_ROOT": task_root,
    })
    variables.update(runtime)
    return variables


def log_stream_name(env: ExecutionEnvironment) -> str:
    """``YYYY/MM/DD/[$LATEST]<32 hex>`` (``[1]`` for version 1), dated when the environment was
    created (the same name at every call: its logs go to this CloudWatch Logs stream)."""
    created = time.time() - (time.monotonic() - env.created_at)
    return time.strftime("%Y/%m/%d", time.gmtime(created)) + f"/[{env.function.version}]{env.id}"


def exit_reason(returncode: int) -> str:
    """Go-style exit text, as Lambda prints it: ``exit status 1`` or ``signal: killed``."""
    if returncode >= 0:
        return f"exit status {returncode}"
    names = {
        signal.SIGKILL: "killed", signal.SIGSEGV: "segmentation fault", signal.SIGABRT: "aborted",
        signal.SIGTERM: "terminated", signal.SIGINT: "interrupt", signal.SIGBUS: "bus error",
    }
    try:
        sig = signal.Signals(-returncode)
    except ValueError:
        return f"signal: {-returncode}"
    return f"signal: {names.get(sig, sig.name.lower())}"
