"""The folder a function sees as ``/opt``: its layers, merged in order.

One layer is used as it is (a read-only bind mount at ``/opt`` for Docker, so edits show in
the next environment). Several layers are merged into ``<state dir>/layers/<fingerprint>/`` by
copying them in order, so a later layer's file replaces an earlier one's, as AWS merges layers
(a bind mount per layer could not merge two ``python/`` folders). The fingerprint covers every
file's path, size and modification time, so an edited layer gets a new merged folder at the next
environment launch, and an unchanged set is reused.

A layer folder with a ``requirements.txt`` at its top gets its packages installed as a folder
function's are (once per content and target, by the runtime family's installer: see
:mod:`.dependencies`), into ``/opt/python``, as ``sam build`` builds a Python layer
(``BuildMethod: python3.x``); when such a folder has no ``python/`` of its own, its files go to
``/opt/python`` too (SAM's layout: the folder is the layer's Python code). A layer with packages
is always a merged copy.

The process executor has no ``/opt``: its runtime is told where this folder is and puts the same
``python`` paths on ``sys.path``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from emulator.domain.functions import FunctionConfig
from emulator.executors.base import ExecutorError

#: each layer's installed packages (None: it has no requirements.txt), in the function's order
Packages = tuple[Path | None, ...]


async def layer_packages(function: FunctionConfig,
                         ensure: Callable[[FunctionConfig], Awaitable[Path | None]]) -> Packages:
    """Each layer's requirements installed by ``ensure`` (an executor's install of a function's
    dependency file, given the layer as the function's code folder)."""
    installed: list[Path | None] = []
    for layer in function.layers:
        installed.append(await ensure(replace(function, name=f"{function.name} (layer {layer.name})",
                                              code_dir=layer)))
    return tuple(installed)


def opt_folder(function: FunctionConfig, state_dir: Path, packages: Packages = ()) -> Path | None:
    """The host folder holding the function's ``/opt``; None when it has no layers."""
    layers = function.layers
    if not layers:
        return None
    for layer in layers:
        if not layer.is_dir():
            raise ExecutorError(f"layer folder {layer} of function {function.name} does not exist any more")
    packages = tuple(packages) + (None,) * (len(layers) - len(packages))
    if len(layers) == 1 and packages[0] is None:
        return layers[0]
    root = state_dir.resolve() / "layers"
    merged = root / _fingerprint(layers, packages)
    if merged.is_dir():
        return merged
    root.mkdir(parents=True, exist_ok=True)
    scratch = root / f".tmp-{merged.name}-{uuid.uuid4().hex[:8]}"
    try:
        for layer, installed in zip(layers, packages, strict=True):
            if installed is None:
                shutil.copytree(layer, scratch, symlinks=True, dirs_exist_ok=True, ignore=_not_copied)
                continue
            shutil.copytree(installed, scratch / "python", symlinks=True, dirs_exist_ok=True, ignore=_not_copied)
            own = scratch if (layer / "python").is_dir() else scratch / "python"
            shutil.copytree(layer, own, symlinks=True, dirs_exist_ok=True, ignore=_not_copied)
        scratch.rename(merged)
    except OSError as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        if merged.is_dir():  # another control plane made the same folder
            return merged
        raise ExecutorError(f"could not merge the layers of {function.name}: {exc}") from exc
    return merged


def _not_copied(folder: str, names: list[str]) -> set[str]:
    """``__pycache__``, and special files (FIFOs, sockets, devices: copying one would open it)."""
    skipped = {"__pycache__"}
    for name in names:
        try:
            mode = os.lstat(os.path.join(folder, name)).st_mode
        except OSError:
            continue
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            skipped.add(name)
    return skipped


def _fingerprint(layers: tuple[Path, ...], packages: Packages) -> str:
    digest = hashlib.sha256()
    for index, (layer, installed) in enumerate(zip(layers, packages, strict=True)):
        digest.update(f"{index}\0{layer}\0{installed}\0".encode())
        for folder, dirs, files in os.walk(layer):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                digest.update(f"{os.path.relpath(path, layer)}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:24]
