"""The Python family's installer: ``pip install --target`` for a function's requirements.txt, where
its code will run (pip runs in a thread of the control plane, or in a throwaway container).

* Docker: pip runs inside the function's own runtime image (a throwaway container), so
  packages are chosen and built for that image's Python version, Linux and C library, and
  source distributions build as they would there. Every supported base has pip: the
  ``python:3.X-slim`` images, AWS's ``lambda/python`` images and the offline Debian base
  (``python3-pip``). The container uses the host's network (so a proxy on loopback works), runs
  as the control plane's user (it owns what is written), and gets the control plane's proxy
  and index variables and its CA bundle (``PIP_CERT``, ``REQUESTS_CA_BUNDLE`` or
  ``SSL_CERT_FILE``), so it reaches the registries this machine reaches. pip's download cache
  is kept in the state directory, so a changed requirements.txt does not download again what
  it already had.
* Process executor: packages are installed by the pip of the interpreter the function runs on
  (the ``python3.X`` on PATH its Runtime names, else the control plane's own), with the host's
  pip configuration, for it.

pip's output goes line by line to ``progress``; a failure raises :class:`PipFailed` with pip's
``ERROR:`` lines, which name the requirement that could not be met.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import docker
import docker.errors

from emulator.executors.base import ExecutorError
from emulator.executors.runtimes.base import InstallFailed, Progress

REQUIREMENTS = "requirements.txt"
#: where the pip container sees the install folder, the pip cache and the host's CA bundle
_TARGET = "/var/cloudmicro/install"
_CACHE = "/var/cloudmicro/pip-cache"
_CA = "/var/cloudmicro/ca-certificates.crt"
#: variables passed to pip in the container: proxies and package indexes
_PASSED = (
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "all_proxy", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_DEFAULT_TIMEOUT",
    "PIP_RETRIES", "PIP_PRE",
)
_PIP_ARGS = ["--disable-pip-version-check", "--no-input", "--progress-bar", "off"]


class PipFailed(InstallFailed):
    """pip could not install the requirements; ``reason`` is what pip said was wrong."""


def failure_reason(lines: Iterable[str]) -> str:
    """pip's ``ERROR:`` lines (they name the requirement), else the last lines of its output."""
    lines = [line.strip() for line in lines if line.strip()]
    errors = [line.removeprefix("ERROR:").strip() for line in lines if line.startswith("ERROR:")]
    reason = "; ".join(errors or lines[-5:]) or "pip failed without output"
    return reason if len(reason) <= 2000 else reason[:1997] + "..."


def pip_on_host(code_dir: Path, target: Path, progress: Progress,
                running: set[subprocess.Popen[str]] | None = None, interpreter: str = sys.executable) -> None:
    """Install ``code_dir/requirements.txt`` into ``target`` with ``interpreter``'s pip (the
    process is in ``running`` while it runs, so a control plane that stops can end it)."""
    command = [interpreter, "-m", "pip", "install", "--target", str(target),
               "-r", str(code_dir / REQUIREMENTS), *_PIP_ARGS]
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.Popen(command, cwd=code_dir, env=environment, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    assert proc.stdout is not None
    if running is not None:
        running.add(proc)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            progress("  " + line.rstrip())
        status = proc.wait()
    finally:
        if running is not None:
            running.discard(proc)
    if status != 0:
        _no_pip(lines, interpreter, f"run `{Path(interpreter).name} -m ensurepip`, or use the Docker executor")
        raise PipFailed(failure_reason(lines))


def _no_pip(lines: list[str], python: str, fix: str) -> None:
    """Raise :class:`PipFailed` saying how to get pip when pip said ``python`` has none."""
    if any("No module named pip" in line for line in lines):
        raise PipFailed(f"{python} has no pip; {fix}")


def pip_in_container(
    client: docker.DockerClient, image: str, code_dir: Path, target: Path, cache: Path,
    progress: Progress, labels: dict[str, str],
) -> None:
    """Install ``code_dir/requirements.txt`` into ``target`` by running pip in ``image``."""
    api = client.api
    cache.mkdir(parents=True, exist_ok=True)
    binds = {
        str(code_dir): {"bind": "/var/task", "mode": "ro"},
        str(target): {"bind": _TARGET, "mode": "rw"},
        str(cache): {"bind": _CACHE, "mode": "rw"},
    }
    environment = {"HOME": "/tmp", "PIP_CACHE_DIR": _CACHE, "PIP_ROOT_USER_ACTION": "ignore"}
    environment.update({k: os.environ[k] for k in _PASSED if k in os.environ})
    ca = _ca_bundle()
    if ca is not None:
        binds[str(ca)] = {"bind": _CA, "mode": "ro"}
        environment["PIP_CERT"] = _CA
    try:
        created = api.create_container(
            image,
            entrypoint=["python3"],
            command=["-m", "pip", "install", "--target", _TARGET, "-r", f"/var/task/{REQUIREMENTS}", *_PIP_ARGS],
            environment=environment,
            working_dir="/var/task",
            user=f"{os.getuid()}:{os.getgid()}",
            labels=labels,
            host_config=api.create_host_config(network_mode="host", binds=binds),
        )
    except docker.errors.APIError as exc:
        raise ExecutorError(f"could not start pip in {image}: {exc}") from exc
    cid = created["Id"]
    try:
        api.start(cid)
        lines: list[str] = []
        pending = b""
        for chunk in api.logs(cid, stream=True, follow=True):
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                line = raw.decode(errors="replace")
                lines.append(line)
                progress("  " + line.rstrip())
        if pending:
            lines.append(pending.decode(errors="replace"))
        status = int(api.wait(cid, timeout=60).get("StatusCode", 1))
    except docker.errors.APIError as exc:
        raise ExecutorError(f"pip in {image} failed to run: {exc}") from exc
    finally:
        with contextlib.suppress(docker.errors.APIError):
            api.remove_container(cid, force=True)
    if status != 0:
        _no_pip(lines, f"the runtime image {image}",
                "use a base image that has it (python:3.X-slim-bookworm, public.ecr.aws/lambda/python:3.X)")
        raise PipFailed(failure_reason(lines))


def _ca_bundle() -> Path | None:
    """The CA bundle this machine's pip trusts (a company proxy's CA may be in it)."""
    for variable in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(variable)
        if value and Path(value).is_file():
            return Path(value).resolve()
    default = Path("/etc/ssl/certs/ca-certificates.crt")
    return default.resolve() if default.is_file() else None
