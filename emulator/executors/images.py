"""Runtime images, built locally on first use (no registry needed).

The Python runtime image is ``runtimes/python/Dockerfile`` built with a base image given as
a build argument. Users with a registry get the normal path (``python:3.X-slim-bookworm``,
or any base they set with ``CLOUDMICRO_BASE_IMAGE``). Without one, Python 3.11 falls back to
an offline Debian base made by ``runtimes/base/build-base.sh`` (debootstrap + docker import).
The image tag carries a hash of the runtime files, so a changed bootstrap gets a new image.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors

from ..config import Settings
from .base import ExecutorError

RUNTIME_DIR = Path(__file__).resolve().parent.parent.parent / "runtimes"
#: the AWS SDK for Python, installed in the image at /var/runtime as AWS's Python runtimes have it
#: (copied from this environment: pure Python, so no registry or network is needed)
SDK_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
PYTHON_DIR = RUNTIME_DIR / "python"
BUILD_BASE = RUNTIME_DIR / "base" / "build-base.sh"
_CONTEXT_FILES = ("Dockerfile", "bootstrap.py")

Progress = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def python_version(runtime: str) -> str:
    """``python3.11`` → ``3.11``; custom runtimes run on the default Python image."""
    return runtime.removeprefix("python") if runtime.startswith("python") else "3.11"


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


def image_tag(version: str, base: str) -> str:
    digest = hashlib.sha256(base.encode() + _sdk_versions().encode())
    for name in _CONTEXT_FILES:
        digest.update((PYTHON_DIR / name).read_bytes())
    return f"cloudmicro/lambda-python:{version}-{digest.hexdigest()[:10]}"


def _has_image(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
        return True
    except docker.errors.ImageNotFound:
        return False


def _resolve_base(client: docker.DockerClient, version: str, settings: Settings, progress: Progress) -> str:
    base = base_image_for(version, settings)
    if _has_image(client, base):
        return base
    progress(f"cloudmicro: pulling base image {base}")
    try:
        client.images.pull(base)
        return base
    except docker.errors.APIError as exc:
        progress(f"cloudmicro: cannot pull {base} ({_short(exc)})")
    offline = settings.offline_base_image
    if version != "3.11":
        raise ExecutorError(
            f"no base image for Python {version}: {base} cannot be pulled and the offline base "
            f"({offline}) has Debian's Python 3.11; use Runtime python3.11 or make {base} available"
        )
    if not _has_image(client, offline):
        progress(f"cloudmicro: building the offline base image {offline} with debootstrap (about a minute)")
        result = subprocess.run(["bash", str(BUILD_BASE), offline], stdout=sys.stderr, stderr=sys.stderr)
        if result.returncode != 0:
            raise ExecutorError(
                f"could not build the offline base image {offline} (see the output above); it needs "
                "root, debootstrap and a reachable Debian mirror. Or set CLOUDMICRO_BASE_IMAGE to an "
                "image you have."
            )
    return offline


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 160 else text[:157] + "..."


def _context() -> io.BytesIO:
    buffer = io.BytesIO()

    def no_bytecode(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if "__pycache__" in info.name or info.name.endswith(".pyc") else info

    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in _CONTEXT_FILES:
            tar.add(PYTHON_DIR / name, arcname=name)
        for path in sdk_paths():
            tar.add(path, arcname=f"sdk/{path.name}", filter=no_bytecode)
    buffer.seek(0)
    return buffer


def ensure_python_image(
    client: docker.DockerClient, runtime: str, settings: Settings, progress: Progress = _stderr
) -> str:
    """The tag of the runtime image for ``runtime``, building it (and its base) if needed."""
    version = python_version(runtime)
    wanted_base = base_image_for(version, settings)
    tag = image_tag(version, wanted_base)
    if _has_image(client, tag):
        return tag
    offline_tag = image_tag(version, settings.offline_base_image)
    if version == "3.11" and not _has_image(client, wanted_base) and _has_image(client, offline_tag):
        return offline_tag
    base = _resolve_base(client, version, settings, progress)
    tag = image_tag(version, base)
    progress(f"cloudmicro: building runtime image {tag} from {base}")
    try:
        for chunk in client.api.build(
            fileobj=_context(), custom_context=True, tag=tag, buildargs={"BASE_IMAGE": base},
            rm=True, decode=True, labels={"cloudmicro.managed": "true"},
        ):
            if "stream" in chunk and chunk["stream"].strip():
                progress("  " + chunk["stream"].rstrip())
            if "error" in chunk:
                raise ExecutorError(f"building {tag} failed: {chunk['error'].strip()}")
    except docker.errors.APIError as exc:
        raise ExecutorError(f"building {tag} failed: {_short(exc)}") from exc
    return tag
