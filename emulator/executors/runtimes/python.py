"""The Python runtime family (``python3.9`` ... ``python3.13``): Cloudmicro's own runtime
(``runtimes/python/bootstrap.py`` and its ``cloudmicro_runtime`` package), pip for
requirements.txt, and restarts in place on a code-only change (the bootstrap's restart header).

Docker: the image is ``runtimes/python/Dockerfile`` built from a base image given as a build
argument (``python:3.X-slim-bookworm``, or ``CLOUDMICRO_BASE_IMAGE`` for 3.11, whose fallback is
the offline Debian base), with the runtime and the AWS SDK at ``/var/runtime``, compiled there.

Local processes: a function runs on the Python its Runtime names when that interpreter is on
PATH and runs (``python3.12`` for Runtime ``python3.12``), else on the control plane's own Python,
with one warning per runtime. Its requirements.txt is installed by the pip of the interpreter it
runs on, for it. A function sees what it would see on AWS: the standard library, the AWS SDK and
its own code. The runtime runs with ``python -I -S -B`` from ``<state>/runtime/``
(:func:`runtime_folder`), a folder laid out as AWS's ``/var/runtime``: the bootstrap, the runtime
package compiled for each interpreter that runs it, and links to this environment's boto3,
botocore and their dependencies (pure Python, so other 3.x interpreters import them too). The
control plane's own packages (fastapi, moto, docker...) are not importable, so a function that
forgets to list a package in its requirements.txt fails here as it would on AWS, not only in
Docker. There is no ``/opt``: the runtime is told where the function's merged layers are and
puts their ``python`` folders on ``sys.path`` as it would ``/opt``'s.
"""

from __future__ import annotations

import filecmp
import importlib.util
import logging
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import docker

from emulator.config import Settings
from emulator.domain.functions import FunctionConfig
from emulator.executors.base import ExecutorError
from emulator.executors.runtimes.base import ImageSpec, Installer, Progress, Target, execution_env
from emulator.executors.runtimes.pip import REQUIREMENTS, pip_in_container, pip_on_host

log = logging.getLogger(__name__)

#: ``runtimes/python``: the Dockerfile, the entry script and the runtime package
SOURCE = Path(__file__).resolve().parents[3] / "runtimes" / "python"
BOOTSTRAP = SOURCE / "bootstrap.py"
#: the runtime package next to the entry script (a name no function's module takes)
PACKAGE = "cloudmicro_runtime"
#: the AWS SDK for Python, installed in the image at /var/runtime as AWS's Python runtimes have it
#: (copied from this environment: pure Python, so no registry or network is needed)
SDK_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
REPOSITORY = "cloudmicro/lambda-python"
#: pip's download cache, in the dependencies folder: a changed requirements.txt does not download again
PIP_CACHE = ".pip-cache"
#: where containers have the runtime (and the SDK)
CONTAINER_RUNTIME_DIR = "/var/runtime"
HOST_VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"


def python_version(runtime: str) -> str:
    """``python3.11`` → ``3.11``; other runtimes run on the default Python image."""
    return runtime.removeprefix("python") if runtime.startswith("python") else "3.11"


def runtime_files() -> list[str]:
    """The runtime's files, relative to :data:`SOURCE`: the entry script and the package's modules."""
    return [BOOTSTRAP.name, *(f"{PACKAGE}/{path.name}" for path in sorted((SOURCE / PACKAGE).glob("*.py")))]


# --- Docker ---------------------------------------------------------------------------------


def base_image_for(version: str, settings: Settings) -> str:
    if version == "3.11":
        return settings.base_image
    return f"python:{version}-slim-bookworm"


def sdk_paths() -> list[Path]:
    """Where this environment has the AWS SDK's modules (a package folder or a module file)."""
    paths = []
    for name in SDK_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ExecutorError(f"the AWS SDK module {name} is not installed here (pip install boto3)")
        origin = Path(spec.origin)
        paths.append(origin.parent if origin.name == "__init__.py" else origin)
    return paths


def _sdk_versions() -> str:
    from importlib.metadata import version

    return ",".join(f"{d}={version(d)}" for d in ("boto3", "botocore", "s3transfer", "urllib3"))


def python_image(version: str, settings: Settings) -> ImageSpec:
    """The runtime image of Python ``version``: the Dockerfile and the runtime's files, the SDK."""
    base = base_image_for(version, settings)
    offline = settings.offline_base_image
    return ImageSpec(
        repository=REPOSITORY,
        version=version,
        folder=SOURCE,
        files=("Dockerfile", *runtime_files()),
        fingerprint=_sdk_versions(),
        base=base,
        offline_base=offline if version == "3.11" else None,
        no_base=(
            f"no base image for Python {version}: {base} cannot be pulled and the offline base "
            f"({offline}) has Debian's Python 3.11; use Runtime python3.11 or make {base} available"
        ),
        trees=lambda: [(path, f"sdk/{path.name}") for path in sdk_paths()],
    )


def docker_target(function: FunctionConfig) -> Target:
    """What a function's requirements are installed for in Docker (its runtime's Python, Linux)."""
    version = python_version(function.runtime)
    return Target("docker", f"python{version}", f"linux-{platform.machine()}", f"Python {version}")


# --- local processes ------------------------------------------------------------------------


def host_target(version: str) -> Target:
    """What packages are installed for: a Python ``version`` on this machine."""
    return Target("host", f"python{version}", f"{sys.implementation.name}-{sysconfig.get_platform()}",
                  f"Python {version}")


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
    """``<state>/runtime``: the bootstrap and its package (copies: Python puts the real folder of
    a linked script on ``sys.path``) and links to the AWS SDK's modules, like AWS's ``/var/runtime``.
    Environments starting at once (threads, or control planes sharing the state folder) may all
    make it: each file is written under a scratch name of its own, then renamed."""
    folder = state_dir.resolve() / "runtime"
    (folder / PACKAGE).mkdir(parents=True, exist_ok=True)
    for name in runtime_files():
        _copy_if_changed(SOURCE / name, folder / name)
    for source in sdk_paths():
        link = folder / source.name
        if not (link.is_symlink() and os.readlink(link) == str(source)):
            scratch = _scratch(folder, source.name)
            scratch.symlink_to(source)
            os.replace(scratch, link)
    return folder


def _copy_if_changed(source: Path, target: Path) -> None:
    if target.exists() and filecmp.cmp(source, target, shallow=False):
        return
    scratch = _scratch(target.parent, target.name)
    shutil.copyfile(source, scratch)
    os.replace(scratch, target)
    for stale in (target.parent / "__pycache__").glob(f"{target.stem}.*.pyc"):  # compiled from the old source
        stale.unlink(missing_ok=True)


def _scratch(folder: Path, name: str) -> Path:
    """A name of its own for one writer: environments starting at once (threads of one process,
    or several control planes sharing a state folder) each write theirs, then rename it."""
    return folder / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:12]}"


def compile_runtime(folder: Path, executable: str) -> bool:
    """Compile the runtime package in ``folder`` for ``executable`` (``-B`` keeps the runtime from
    writing bytecode, so without this every cold start would compile it); modules whose bytecode
    is up to date are left alone. False when it could not: the runtime then compiles at start."""
    package = folder / PACKAGE
    if executable == sys.executable:
        import compileall

        if compileall.compile_dir(package, maxlevels=0, quiet=2):
            return True
        said = "a module did not compile"
    else:
        try:  # another Python writes bytecode of its own version
            done = subprocess.run([executable, "-I", "-S", "-m", "compileall", "-q", "-l", str(package)],
                                  capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            said = str(exc)
        else:
            if done.returncode == 0:
                return True
            said = (done.stdout + done.stderr).strip()[:300]
    log.warning("could not compile the Python runtime in %s for %s (its cold starts will): %s",
                package, executable, said)
    return False


# --- the family -----------------------------------------------------------------------------


class PythonRuntime:
    """The Python runtime family (see the module doc)."""

    dependency_file: str | None = REQUIREMENTS

    def lists_packages(self, data: bytes) -> bool:
        lines = (line.strip() for line in data.decode(errors="replace").splitlines())
        return any(line and not line.startswith("#") for line in lines)

    def restarts_in_place(self, function: FunctionConfig) -> bool:
        return True  # the bootstrap restarts when /next answers with its restart header

    def image(self, runtime: str, settings: Settings) -> ImageSpec:
        return python_image(python_version(runtime), settings)

    def container_command(self, function: FunctionConfig) -> list[str]:
        return ["python3", f"{CONTAINER_RUNTIME_DIR}/{BOOTSTRAP.name}"]

    def container_target(self, function: FunctionConfig) -> Target:
        return docker_target(function)

    def container_installer(
        self, function: FunctionConfig, client: docker.DockerClient, image: str, caches: Path, labels: dict[str, str]
    ) -> Installer:
        def install(folder: Path, progress: Progress) -> None:
            pip_in_container(client, image, function.code_dir, folder, caches / PIP_CACHE, progress, labels)

        return install

    def container_variables(self, function: FunctionConfig, packages: str | None) -> dict[str, str]:
        # AWS_EXECUTION_ENV: the runtime writes non-ASCII JSON for python3.12 and later
        variables = {**execution_env(function.runtime), "LAMBDA_RUNTIME_DIR": CONTAINER_RUNTIME_DIR}
        if packages is not None:  # read (and removed) by the runtime: see set_default_sys_path
            variables["_CLOUDMICRO_PACKAGES"] = packages
        return variables

    def host(self, settings: Settings) -> PythonHost:
        return PythonHost(settings.state_dir)


class PythonHost:
    """Python functions as one process executor runs them: the interpreter of each Runtime
    (looked up once, with one warning when it is not there) and ``<state>/runtime``."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._pythons: dict[str, Interpreter] = {}
        self._folder: Path | None = None
        self._compiled: set[str] = set()
        self._probe_lock = threading.Lock()  # apart: a compile under way must not hold up a lookup
        self._folder_lock = threading.Lock()

    def interpreter(self, function: FunctionConfig) -> Interpreter:
        """The interpreter the function runs on (see the module doc)."""
        python = self._pythons.get(function.runtime)
        if python is not None:
            return python
        with self._probe_lock:
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

    def check(self, function: FunctionConfig) -> None:
        pass

    def target(self, function: FunctionConfig) -> Target:
        return self.interpreter(function).target

    def installer(self, function: FunctionConfig, running: set[subprocess.Popen[str]]) -> Installer:
        executable = self.interpreter(function).executable

        def install(folder: Path, progress: Progress) -> None:
            pip_on_host(function.code_dir, folder, progress, running, executable)

        return install

    def command(self, function: FunctionConfig) -> list[str]:
        executable = self.interpreter(function).executable
        folder = self._runtime_for(executable)
        # -I -S: none of the control plane's packages, only the SDK next to the bootstrap (see the
        # module doc). -B: no .pyc written in the function's folder (the runtime reads one there
        # only when it is clearly newer than its source: see trust_fresh_bytecode_only).
        return [executable, "-I", "-S", "-B", str(folder / BOOTSTRAP.name)]

    def _runtime_for(self, executable: str) -> Path:
        """``<state>/runtime``, made once, with the package compiled once for ``executable``."""
        with self._folder_lock:
            if self._folder is None:
                self._folder = runtime_folder(self.state_dir)
            if executable not in self._compiled:
                compile_runtime(self._folder, executable)
                self._compiled.add(executable)
            return self._folder

    def search_path(self, function: FunctionConfig) -> str:
        return str(Path(self.interpreter(function).executable).parent)

    def variables(self, function: FunctionConfig, packages: Path | None, opt: Path | None) -> dict[str, str]:
        assert self._folder is not None, "command() makes the runtime folder first"
        return {  # the last three are read (and removed) by the runtime: see set_default_sys_path
            **execution_env(function.runtime),
            "LAMBDA_RUNTIME_DIR": str(self._folder),
            "_CLOUDMICRO_PACKAGES": str(packages) if packages is not None else "",
            "_CLOUDMICRO_OPT": str(opt) if opt is not None else "",
        }
