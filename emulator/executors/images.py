"""Runtime images, built locally on first use (no registry needed).

A runtime family describes its image (:class:`.runtimes.ImageSpec`: the Dockerfile's folder,
the files of the build context, the build arguments, the tag); this module builds it, with the
base image given as the ``BASE_IMAGE`` build argument. Users with a registry get the normal
path (the family's base, e.g. ``python:3.X-slim-bookworm``, or any base they set with
``CLOUDMICRO_BASE_IMAGE``). Without one, an image whose family allows it falls back to an
offline Debian base made by ``runtimes/base/build-base.sh`` (debootstrap + docker import).
The image tag carries a hash of the runtime's files, so a changed runtime gets a new image.

Runs in the executor's threads (blocking Docker calls), or in ``cloudmicro images build``.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors

from emulator.config import Settings
from emulator.executors.base import ExecutorError
from emulator.executors.runtimes import ImageSpec, runtime_for

RUNTIME_DIR = Path(__file__).resolve().parent.parent.parent / "runtimes"
BUILD_BASE = RUNTIME_DIR / "base" / "build-base.sh"

Progress = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _has_image(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
        return True
    except docker.errors.ImageNotFound:
        return False


def _resolve_base(client: docker.DockerClient, spec: ImageSpec, progress: Progress) -> str:
    base = spec.base
    if _has_image(client, base):
        return base
    progress(f"cloudmicro: pulling base image {base}")
    try:
        client.images.pull(base)
        return base
    except docker.errors.APIError as exc:
        progress(f"cloudmicro: cannot pull {base} ({_short(exc)})")
    offline = spec.offline_base
    if offline is None:
        raise ExecutorError(spec.no_base)
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


def _context(spec: ImageSpec) -> io.BytesIO:
    buffer = io.BytesIO()

    def no_bytecode(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if "__pycache__" in info.name or info.name.endswith(".pyc") else info

    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in spec.files:
            tar.add(spec.folder / name, arcname=name)
        for path, arcname in spec.trees():
            tar.add(path, arcname=arcname, filter=no_bytecode)
    buffer.seek(0)
    return buffer


def ensure_image(client: docker.DockerClient, spec: ImageSpec, progress: Progress = _stderr) -> str:
    """The tag of the image ``spec`` describes, building it (and its base) if needed."""
    tag = spec.tag(spec.base)
    if _has_image(client, tag):
        return tag
    if spec.offline_base is not None:
        offline_tag = spec.tag(spec.offline_base)
        if not _has_image(client, spec.base) and _has_image(client, offline_tag):
            return offline_tag
    base = _resolve_base(client, spec, progress)
    tag = spec.tag(base)
    progress(f"cloudmicro: building runtime image {tag} from {base}")
    try:
        for chunk in client.api.build(
            fileobj=_context(spec), custom_context=True, tag=tag, buildargs=spec.build_args(base),
            rm=True, decode=True, labels={"cloudmicro.managed": "true"},
        ):
            if "stream" in chunk and chunk["stream"].strip():
                progress("  " + chunk["stream"].rstrip())
            if "error" in chunk:
                raise ExecutorError(f"building {tag} failed: {chunk['error'].strip()}")
    except docker.errors.APIError as exc:
        raise ExecutorError(f"building {tag} failed: {_short(exc)}") from exc
    return tag


def ensure_runtime_image(
    client: docker.DockerClient, runtime: str, settings: Settings, progress: Progress = _stderr
) -> str:
    """The tag of the image functions of ``runtime`` (a Runtime name) run in, built if needed."""
    return ensure_image(client, runtime_for(runtime).image(runtime, settings), progress)


#: the name ``cloudmicro images build`` and the tests use
ensure_python_image = ensure_runtime_image
