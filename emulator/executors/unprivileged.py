"""Running local processes as nobody in particular when the control plane runs as root.

The process executor starts functions as local processes. Run by root (CI machines, containers),
they would be root too: they could read every file and drive the Docker socket. So, when the
control plane is root, each environment's runtime runs as a user id of its own
(:func:`emulator.executors.sockets.new_uid`, group 990) - provided such a user can reach what the
runtime needs: the interpreter, the code folder, the installed packages and the runtime's own
files. An interpreter only root can reach (a pyenv Python under ``/root``, which is 0700) is
replaced by the same-named one in ``/usr/local/bin`` or ``/usr/bin`` when that one is reachable
(same version: ``python3.11`` is ``python3.11``). Any other folder only root can enter makes it
impossible; the function then runs as root, and the control plane says once which folder to open
(``chmod o+rx``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path


def running_as_root() -> bool:
    return os.geteuid() == 0


def _reachable(path: Path) -> bool:
    """Whether a user with no relation to the file's owners can reach ``path`` (every folder on
    the way searchable by others, the file itself readable by others)."""
    try:
        real = path.resolve(strict=True)
        info = real.stat()
    except OSError:
        return True  # not there: nothing to reach (the runtime reports what it misses)
    wanted = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(info.st_mode) else 0)
    if info.st_mode & wanted != wanted:
        return False
    for folder in real.parents:
        try:
            if not folder.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return not stat.S_ISDIR(info.st_mode) or _links_reachable(real)


def _links_reachable(folder: Path) -> bool:
    """Whether the links right inside ``folder`` lead somewhere reachable (the runtime's folder
    links the control plane's boto3)."""
    try:
        links = [entry for entry in folder.iterdir() if entry.is_symlink()]
    except OSError:
        return False
    return all(_reachable(link.resolve()) for link in links)


def paths_in(command: Iterable[str], variables: Mapping[str, str], folder: Path) -> list[Path]:
    """The files and folders a runtime started with ``command`` and ``variables`` in ``folder``
    reads: its absolute arguments, its folder, and the absolute paths in its variables (``PATH``
    aside: a folder it cannot search only hides the commands in it)."""
    found = [folder]
    for value in [*command, *(value for key, value in variables.items() if key != "PATH")]:
        for part in value.split(os.pathsep):
            if part.startswith("/") and "\n" not in part:
                found.append(Path(part))
    return found


#: where an interpreter anyone can run is looked for
SYSTEM_BIN = ("/usr/local/bin", "/usr/bin", "/bin")


def reachable_twin(executable: str) -> str | None:
    """An executable of the same name as ``executable`` in :data:`SYSTEM_BIN` that anyone can
    run, or None."""
    names = dict.fromkeys([Path(executable).resolve().name, Path(executable).name])  # python -> python3.11
    for name in names:
        for folder in SYSTEM_BIN:
            candidate = Path(folder) / name
            if candidate.exists() and _reachable(candidate):
                return str(candidate)
    return None


def first_unreachable(paths: Iterable[Path]) -> Path | None:
    """The first of ``paths`` an unprivileged user cannot reach, or None."""
    for path in paths:
        if not _reachable(path):
            return path
    return None
