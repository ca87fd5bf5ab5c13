"""A function's dependency file, installed once per content and target, shared by its environments.

The dependency file is the runtime family's (:attr:`.runtimes.LanguageRuntime.dependency_file`:
``requirements.txt`` for Python, none for custom runtimes); so is the installer that runs (pip,
see :mod:`.runtimes.pip`). The packages of ``functions/<name>/requirements.txt`` go to
``<deps dir>/<key>/``, where the key is a hash of the file's bytes and of the target: the
executor, the runtime's version and the platform they must import on. The folder appears
(renamed from a temporary one) only when the installer succeeded, so its existence is the cache
hit: an environment launch reads the file, hashes it and checks one folder. Functions with the
same requirements share the folder, and it survives restarts; a changed file is a new key, so it
installs again (the old folder stays).

Installs happen when an environment is launched, never on the event loop: the installer runs in
a thread (in a container for Docker). One install runs per key; every launch that needs it waits
for that same install, and invokes of other functions go on meanwhile. A failed install answers
every waiting invoke with ResourceConflictException (the function cannot be run, as AWS answers
for a function that is not Active), naming the file and the installer's reason; the failure is
remembered for :data:`RETRY_FAILED_AFTER` seconds so retries do not install again, and a fixed
file (a new key) installs at once. A requirements.txt with no requirement in it installs nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Literal

from emulator.domain.errors import ResourceConflictException
from emulator.domain.functions import FunctionConfig
from emulator.executors.runtimes import runtime_for
from emulator.executors.runtimes.base import Installer, InstallFailed, Progress, Target

__all__ = ["Dependencies", "Installer", "Target", "cache_key", "dependency_file", "install_failed"]

#: seconds a failed install is answered from memory before it is tried again (same content)
RETRY_FAILED_AFTER = 10.0


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def dependency_file(function: FunctionConfig) -> tuple[str, bytes] | None:
    """The name and bytes of the function's dependency file (its runtime family's), or None when
    it has none (or nothing in it to install)."""
    family = runtime_for(function.runtime)
    name = family.dependency_file
    if name is None:
        return None
    try:
        data = (function.code_dir / name).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (name, data) if family.lists_packages(data) else None


def cache_key(data: bytes, target: Target) -> str:
    digest = hashlib.sha256(str(target).encode() + b"\0" + data)
    return digest.hexdigest()[:24]


def install_failed(function: FunctionConfig, name: str, target: Target, reason: str) -> ResourceConflictException:
    """What an invoke gets when the function's dependency file ``name`` cannot be installed."""
    return ResourceConflictException(
        "The operation cannot be performed at this time. The function is currently in the "
        f"following state: Failed. {function.code_dir / name} could not be installed for "
        f"{target.label}: {reason}. Fix the file and invoke again."
    )


class Dependencies:
    """The installed requirements of every function, under ``root`` (``<state dir>/deps`` unless
    ``CLOUDMICRO_DEPS_DIR`` says otherwise; several control planes may share it)."""

    def __init__(self, root: Path, progress: Progress = _stderr) -> None:
        self.root = root.resolve()
        self.progress = progress
        self._running: dict[str, asyncio.Task[Path]] = {}
        self._failed: dict[str, tuple[float, str]] = {}
        #: installs run so far (cache misses), for tests and benches
        self.installs = 0

    def installed(self, function: FunctionConfig, target: Target) -> Path | Literal[False] | None:
        """The folder of the function's installed requirements, None when it has none, False when
        they are not installed yet (no install: a cheap check)."""
        found = dependency_file(function)
        if found is None:
            return None
        folder = self.root / cache_key(found[1], target)
        return folder if folder.is_dir() else False

    async def ensure(self, function: FunctionConfig, target: Target, installer: Installer) -> Path | None:
        """The folder holding the function's requirements (installing them first if needed), or
        None when it has none; raises ResourceConflictException when the install fails."""
        found = dependency_file(function)
        if found is None:
            return None
        name, data = found
        key = cache_key(data, target)
        folder = self.root / key
        if folder.is_dir():
            return folder
        failed = self._failed.get(key)
        if failed is not None and time.monotonic() - failed[0] < RETRY_FAILED_AFTER:
            raise install_failed(function, name, target, failed[1])
        task = self._running.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._install(function, name, key, target, installer))
            self._running[key] = task
        try:
            return await asyncio.shield(task)  # a cancelled invoke does not stop the install
        except InstallFailed as exc:
            raise install_failed(function, name, target, exc.reason) from None

    async def _install(self, function: FunctionConfig, name: str, key: str, target: Target,
                       installer: Installer) -> Path:
        try:
            folder = await asyncio.to_thread(self._install_blocking, function, name, key, target, installer)
        except InstallFailed as exc:
            self._failed[key] = (time.monotonic(), exc.reason)
            raise
        finally:
            del self._running[key]
        self._failed.pop(key, None)
        return folder

    def _install_blocking(self, function: FunctionConfig, name: str, key: str, target: Target,
                          installer: Installer) -> Path:
        folder = self.root / key
        self.root.mkdir(parents=True, exist_ok=True)
        scratch = self.root / f".tmp-{key}-{uuid.uuid4().hex[:8]}"
        scratch.mkdir()
        self.installs += 1
        started = time.monotonic()
        self.progress(f"cloudmicro: {function.name}: installing {name} for {target} into {folder}")
        try:
            installer(scratch, self.progress)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            self.progress(f"cloudmicro: {function.name}: installing {name} failed")
            raise
        try:
            scratch.rename(folder)
        except OSError:  # another control plane sharing the state directory got there first
            shutil.rmtree(scratch, ignore_errors=True)
            if not folder.is_dir():
                raise
        self.progress(f"cloudmicro: {function.name}: {name} installed in {time.monotonic() - started:.1f} s")
        return folder
