"""Custom runtimes (``provided``, ``provided.al2``, ``provided.al2023``): AWS's convention of an
executable ``bootstrap`` file in the function's folder, which is the runtime and talks to the
Runtime API itself (awslambdaric, a Go or Rust binary, a shell script...).

Nothing is installed for them (their deployment package carries what they need), and they get a
new environment for every revision: the in-place restart is a request of Cloudmicro's own Python
runtime that another runtime would not understand. In Docker they run in the default runtime
image (Debian with Python 3.11); as local processes, from the function's folder.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import sysconfig
from pathlib import Path

import docker

from emulator.config import Settings
from emulator.domain.functions import FunctionConfig
from emulator.executors.base import ExecutorError
from emulator.executors.runtimes.base import ImageSpec, Installer, Progress, Target
from emulator.executors.runtimes.python import python_image

BOOTSTRAP = "bootstrap"


def _nothing_to_install(folder: Path, progress: Progress) -> None:
    raise ExecutorError("custom runtimes have no dependency file to install")


def _variables(function: FunctionConfig) -> dict[str, str]:
    # no AWS_EXECUTION_ENV: AWS leaves it undefined for OS-only runtimes ("Defined runtime
    # environment variables": "AWS_EXECUTION_ENV ... This environment variable is not defined for
    # OS-only runtimes (the provided runtime family)")
    return {"LAMBDA_RUNTIME_DIR": "/var/runtime"}


class ProvidedRuntime:
    """The custom-runtime family (see the module doc)."""

    dependency_file: str | None = None

    def lists_packages(self, data: bytes) -> bool:
        return False

    def restarts_in_place(self, function: FunctionConfig) -> bool:
        return False

    def image(self, runtime: str, settings: Settings) -> ImageSpec:
        return python_image("3.11", settings)

    def container_command(self, function: FunctionConfig) -> list[str]:
        return [f"/var/task/{BOOTSTRAP}"]

    def container_target(self, function: FunctionConfig) -> Target:
        return Target("docker", function.runtime, f"linux-{platform.machine()}", function.runtime)

    def container_installer(
        self, function: FunctionConfig, client: docker.DockerClient, image: str, caches: Path, labels: dict[str, str]
    ) -> Installer:
        return _nothing_to_install

    def container_variables(self, function: FunctionConfig, packages: str | None) -> dict[str, str]:
        return _variables(function)

    def host(self, settings: Settings) -> ProvidedHost:
        return ProvidedHost()


class ProvidedHost:
    """Custom runtimes as local processes: the function's own ``bootstrap``, run in its folder."""

    def check(self, function: FunctionConfig) -> None:
        if not os.access(function.code_dir / BOOTSTRAP, os.X_OK):
            raise ExecutorError(
                f"function {function.name} uses runtime {function.runtime} but "
                f"{function.code_dir / BOOTSTRAP} is missing or not executable"
            )

    def target(self, function: FunctionConfig) -> Target:
        return Target("host", function.runtime, f"{sys.implementation.name}-{sysconfig.get_platform()}",
                      function.runtime)

    def installer(self, function: FunctionConfig, running: set[subprocess.Popen[str]]) -> Installer:
        return _nothing_to_install

    def command(self, function: FunctionConfig) -> list[str]:
        return [str(function.code_dir / BOOTSTRAP)]

    def search_path(self, function: FunctionConfig) -> str:
        return str(Path(sys.executable).parent)  # the control plane's Python, first on PATH (as ever)

    def variables(self, function: FunctionConfig, packages: Path | None, opt: Path | None) -> dict[str, str]:
        return _variables(function)
