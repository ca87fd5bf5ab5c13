"""The folder a function sees as ``/opt``: its layers, merged in order.

One layer is used as it is (a read-only bind mount at ``/opt`` for Docker, so edits show in
the next environment). Several layers are merged into ``<state dir>/layers/<fingerprint>/`` by
copying them in order, so a later layer's file replaces an earlier one's, as AWS merges layers
(a bind mount per layer could not merge two ``python/`` folders). The fingerprint covers every
file's path, size and modification time, so an edited layer gets a new merged folder at the next
environment launch, and an unchanged set is reused.

The process executor has no ``/opt``: its runtime is told where this folder is and puts the same
``python`` paths on ``sys.path``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import uuid
from pathlib import Path

from emulator.domain.functions import FunctionConfig
from emulator.executors.base import ExecutorError


def opt_folder(function: FunctionConfig, state_dir: Path) -> Path | None:
    """The host folder holding the function's ``/opt``; None when it has no layers."""
    layers = function.layers
    if not layers:
        return None
    for layer in layers:
        if not layer.is_dir():
            raise ExecutorError(f"layer folder {layer} of function {function.name} does not exist any more")
    if len(layers) == 1:
        return layers[0]
    root = state_dir.resolve() / "layers"
    merged = root / _fingerprint(layers)
    if merged.is_dir():
        return merged
    root.mkdir(parents=True, exist_ok=True)
    scratch = root / f".tmp-{merged.name}-{uuid.uuid4().hex[:8]}"
    try:
        for layer in layers:
            shutil.copytree(layer, scratch, symlinks=True, dirs_exist_ok=True, ignore=_not_copied)
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


def _fingerprint(layers: tuple[Path, ...]) -> str:
    digest = hashlib.sha256()
    for index, layer in enumerate(layers):
        digest.update(f"{index}\0{layer}\0".encode())
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
