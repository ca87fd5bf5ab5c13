"""What the watcher and the reloader know of a function's folders without reading a file:
which entries are editors' by-products (:func:`is_scratch`), a cheap fingerprint of the files
under a folder (:func:`folder_stamp`), and a folder's identity (:func:`folder_identity`)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import NamedTuple

__all__ = ["Stamp", "folder_identity", "folder_stamp", "is_scratch"]

_SCRATCH_SUFFIXES = ("~", ".swp", ".swx", ".swo", ".tmp", ".pyc", ".pyo", "___jb_tmp___", "___jb_old___")


def is_scratch(relative: Path) -> bool:
    """An editor's or Python's by-product rather than a saved file (``relative`` to the watched
    root): in a hidden folder or ``__pycache__``, or a hidden, backup, swap or lock file."""
    if any(part.startswith(".") or part == "__pycache__" for part in relative.parts[:-1]):
        return True
    name = relative.name
    return (name.startswith((".", "#")) or name.endswith(_SCRATCH_SUFFIXES)
            or name in ("4913", "__pycache__"))


class Stamp(NamedTuple):
    """A folder's fingerprint (see :func:`folder_stamp`) and how many files it covers."""

    value: int
    files: int


def folder_stamp(root: Path) -> Stamp | None:
    """A cheap fingerprint of the files under ``root`` (names, inodes, sizes, modification and
    change times; the entries :func:`is_scratch` skips are left out), or None when ``root`` is
    not a folder. Any save changes it, even one that puts an old modification time back (the
    change time cannot be set); reading no file, it costs one ``stat`` per file."""
    try:
        top = os.stat(root)
    except OSError:
        return None
    total = hash((top.st_dev, top.st_ino))
    files = 0
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            entries = os.scandir(folder)
        except OSError:  # deleted while we looked: the stamp differs either way
            total += 1
            continue
        with entries:
            for entry in entries:
                name = entry.name
                if name.startswith((".", "#")) or name == "__pycache__":
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                        continue
                    if name.endswith(_SCRATCH_SUFFIXES) or name == "4913":
                        continue
                    info = entry.stat()
                except OSError:
                    continue
                files += 1
                total += hash((entry.path, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns))
    return Stamp(total & 0xFFFFFFFFFFFFFFFF, files)


def folder_identity(root: Path) -> tuple[int, int] | None:
    """(device, inode) of a folder; None when ``root`` is not one."""
    try:
        info = os.stat(root)
    except OSError:
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISDIR(info.st_mode) else None
