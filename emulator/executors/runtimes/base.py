"""The interface of a runtime family, and the values it hands the executors."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import docker

from emulator.config import Settings
from emulator.domain.functions import FunctionConfig

Progress = Callable[[str], None]
#: installs a function's dependency file into the given folder, reporting the installer's output
Installer = Callable[[Path, Progress], None]


def execution_env(runtime: str) -> dict[str, str]:
    """``AWS_EXECUTION_ENV``, as AWS's managed runtimes have it: ``AWS_Lambda_python3.12``."""
    return {"AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}"}


class InstallFailed(Exception):
    """The dependency file could not be installed; ``reason`` is what the installer said."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """What a function's packages are installed for (part of the install cache key)."""

    #: ``docker`` (the runtime image) or ``host`` (this machine)
    executor: str
    #: the runtime they must import on: ``python3.11``
    runtime: str
    platform: str
    #: how messages name the runtime: ``Python 3.11``
    label: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.executor} {self.runtime} {self.platform}"


@dataclass(frozen=True)
class ImageSpec:
    """A runtime image for Docker: its build context, its build arguments and its tag.

    ``<repository>:<version>-<hash>``: the hash covers the base image, ``fingerprint`` and every
    file of ``files`` (name and bytes), so a changed runtime file gets a new image.
    """

    repository: str
    version: str
    #: the folder holding the Dockerfile; ``files`` are relative to it and sent in the context
    folder: Path
    files: tuple[str, ...]
    #: what else makes a different image (the versions of what ``trees`` copies)
    fingerprint: str
    #: the base image wanted: the ``BASE_IMAGE`` build argument
    base: str
    #: the base used when ``base`` cannot be pulled, made offline by runtimes/base/build-base.sh
    #: (a Debian with its Python 3.11); None: there is no fallback
    offline_base: str | None
    #: the error when ``base`` cannot be pulled and there is no offline base
    no_base: str
    #: more to send in the context, as (source, name in the context), read at build time only;
    #: bytecode is left out
    trees: Callable[[], list[tuple[Path, str]]]

    def tag(self, base: str) -> str:
        digest = hashlib.sha256(base.encode() + self.fingerprint.encode())
        for name in self.files:
            digest.update(name.encode() + b"\0" + (self.folder / name).read_bytes())
        return f"{self.repository}:{self.version}-{digest.hexdigest()[:10]}"

    def build_args(self, base: str) -> dict[str, str]:
        return {"BASE_IMAGE": base}


class LanguageRuntime(Protocol):
    """One runtime family (Python, custom runtimes...): every language-specific decision of the
    executors. One module per family; :func:`emulator.executors.runtimes.runtime_for` picks it
    from a function's Runtime. Instances are shared and hold no state; what one process executor
    keeps per family (interpreters found, files written) is in the :class:`HostRuntime` it makes.
    """

    #: the file in a function's folder that lists the packages to install before it runs
    #: (``requirements.txt``); None: this family installs nothing
    dependency_file: str | None

    def lists_packages(self, data: bytes) -> bool:
        """Whether the dependency file's content names anything to install."""

    def restarts_in_place(self, function: FunctionConfig) -> bool:
        """Whether the runtime starts afresh in its own container or process when the platform
        answers ``/next`` with a restart (hot reload of a code-only change), so an idle
        environment can be renewed instead of replaced."""

    # --- Docker ---------------------------------------------------------------------------

    def image(self, runtime: str, settings: Settings) -> ImageSpec:
        """The image the containers of ``runtime`` run in (built on first use)."""

    def container_command(self, function: FunctionConfig) -> list[str]:
        """What the container runs (after the executor's output wrapper)."""

    def container_target(self, function: FunctionConfig) -> Target:
        """What the function's packages are installed for in its container."""

    def container_installer(
        self, function: FunctionConfig, client: docker.DockerClient, image: str, caches: Path, labels: dict[str, str]
    ) -> Installer:
        """Installs the function's dependency file (in a throwaway container of ``image``
        carrying ``labels``; ``caches`` is where installers keep their download caches)."""

    def container_variables(self, function: FunctionConfig, packages: str | None) -> dict[str, str]:
        """The family's own variables in a container; ``packages`` is where the installed
        dependency file is mounted (None: nothing installed)."""

    # --- local processes ------------------------------------------------------------------

    def host(self, settings: Settings) -> HostRuntime:
        """This family as one process executor runs it (one per executor)."""


class HostRuntime(Protocol):
    """A runtime family run as local processes by one process executor, on this machine."""

    def check(self, function: FunctionConfig) -> None:
        """Raise ExecutorError when the function cannot run here, saying why."""

    def target(self, function: FunctionConfig) -> Target:
        """What the function's packages are installed for (the first call for a Runtime may
        probe an interpreter: it blocks)."""

    def installer(self, function: FunctionConfig, running: set[subprocess.Popen[str]]) -> Installer:
        """Installs the function's dependency file; the installer process is in ``running``
        while it runs, so a control plane that stops can end it."""

    def command(self, function: FunctionConfig) -> list[str]:
        """The runtime's command line. Blocking (the first call may write the runtime's files and
        compile them): call it in a thread."""

    def search_path(self, function: FunctionConfig) -> str:
        """The folder first on the function's PATH (its interpreter's)."""

    def variables(self, function: FunctionConfig, packages: Path | None, opt: Path | None) -> dict[str, str]:
        """The family's own variables; ``packages`` holds the installed dependency file (None:
        nothing installed) and ``opt`` the merged layers (None: no layers)."""
