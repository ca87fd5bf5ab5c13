"""Code on disk, read safely: function and layer folders, and the zips functions are made from.

Whatever a folder holds, reading it never blocks and never runs away:

* only regular files are read: a FIFO, socket or device in a folder is skipped, never opened
  (opening a FIFO waits for a writer), and a file is opened with ``O_NONBLOCK`` and checked
  with ``fstat`` before it is read, in case it was swapped for one meanwhile;
* a folder is as large as a Lambda may be, at most: :data:`MAX_UNZIPPED` bytes (AWS's 250 MB
  unzipped limit, layers included) and :data:`MAX_FILES` files; beyond that,
  :class:`CodeTooLarge` says so instead of walking on;
* folders given by path (the ``hot-reload`` bucket, layers) must be inside the project's folder
  or another root the settings name (:func:`inside_roots`): ``S3Key "/"`` or ``Layers:
  ["/usr"]`` is refused, not read.

A zip is unpacked by :func:`extract_zip`, streamed (no more is read than the limit allows),
entry by entry: a name that is absolute or climbs out of the folder (``../x``) is refused, a
symbolic link is kept only when it points inside the folder (as Lambda keeps links), other
special files are refused, and modes are set on the files it wrote, never on a name.

These are blocking calls: the control plane runs them in threads.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from emulator.domain.errors import InvalidParameterValueException

#: AWS: "Maximum size of an unzipped deployment package (function code and layers): 250 MB"
MAX_UNZIPPED = 262_144_000
#: files in one function's code (not an AWS limit: a folder with more is not a function's)
MAX_FILES = 50_000
_CHUNK = 1 << 20


class CodeTooLarge(InvalidParameterValueException):
    """A folder or zip larger than a Lambda function may be."""


def regular_files(folder: Path, *, skip: Iterable[str] = ("__pycache__",)) -> Iterator[tuple[Path, int]]:
    """Every regular file under ``folder`` with its size, in walk order: special files skipped,
    symbolic links to files followed (their target's bytes), linked folders not entered. Stops
    with :class:`CodeTooLarge` past :data:`MAX_FILES` files or :data:`MAX_UNZIPPED` bytes."""
    skipped = set(skip)
    count = total = 0
    for parent, folders, names in os.walk(folder):  # a folder gone meanwhile is skipped
        folders[:] = [name for name in folders if name not in skipped]
        for name in names:
            path = Path(parent, name)
            try:
                info = path.stat()
            except OSError:
                continue  # gone meanwhile, or a dangling link
            if not stat.S_ISREG(info.st_mode):
                continue  # a FIFO, socket or device: never opened
            count += 1
            total += info.st_size
            if count > MAX_FILES or total > MAX_UNZIPPED:
                raise CodeTooLarge(
                    f"{folder} holds more than a Lambda function may ({MAX_FILES:,} files or {MAX_UNZIPPED:,} bytes "
                    "unzipped, layers included): point the function at its own folder")
            yield path, info.st_size


def read_regular(path: Path) -> bytes | None:
    """A regular file's bytes; None when it is gone or is not a regular file (never blocks)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read()
    except OSError:
        return None
    finally:
        os.close(fd)


def inside_roots(path: Path, roots: Iterable[Path]) -> bool:
    """Whether ``path`` (resolved) is one of ``roots`` or under one."""
    resolved = path.resolve()
    return any(resolved.is_relative_to(root.resolve()) for root in roots)


def extract_zip(archive: zipfile.ZipFile, target: Path) -> None:
    """Unpack ``archive`` into the new folder ``target`` safely (see the module doc); on any error
    nothing is left behind and InvalidParameterValueException says which entry is wrong."""
    target.mkdir(parents=True)
    try:
        _extract(archive, target)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


def _extract(archive: zipfile.ZipFile, target: Path) -> None:
    entries = archive.infolist()
    if len(entries) > MAX_FILES:
        raise CodeTooLarge(f"The zip holds {len(entries):,} entries: more than {MAX_FILES:,}")
    budget = MAX_UNZIPPED
    for info in entries:
        relative = _safe_name(info.filename)
        if relative is None:
            continue  # the zip's root folder entry
        destination = target.joinpath(*relative.parts)
        mode = info.external_attr >> 16
        kind = stat.S_IFMT(mode)
        if info.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        _check_parents(destination.parent, target, info.filename)
        if kind == stat.S_IFLNK:
            link = archive.read(info).decode("utf-8", "replace")
            if PurePosixPath(link).is_absolute() or not (destination.parent / link).resolve().is_relative_to(
                    target.resolve()):
                raise InvalidParameterValueException(
                    f"Could not unzip uploaded file: the symbolic link {info.filename!r} points outside the "
                    f"function's code ({link!r}). Put the file itself in the zip.")
            os.symlink(link, destination)
            continue
        if kind not in (0, stat.S_IFREG):
            raise InvalidParameterValueException(
                f"Could not unzip uploaded file: {info.filename!r} is not a regular file, folder or link")
        budget -= _copy(archive, info, destination, budget)
        permissions = mode & 0o777
        if permissions:
            fd = os.open(destination, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                os.fchmod(fd, permissions | 0o444)  # the file just written, never a name that leads elsewhere
            finally:
                os.close(fd)


def _safe_name(name: str) -> PurePosixPath | None:
    """A zip entry's name as a path inside the folder; InvalidParameterValueException when it
    is absolute or climbs out (``../x``, ``/etc/x``, ``C:\\x``)."""
    cleaned = name.replace("\\", "/")
    path = PurePosixPath(cleaned)
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise InvalidParameterValueException(
            f"Could not unzip uploaded file: the entry {name!r} would be written outside the function's code")
    parts = [part for part in path.parts if part not in ("", ".")]
    return PurePosixPath(*parts) if parts else None


def _check_parents(folder: Path, target: Path, name: str) -> None:
    """The folder an entry goes to is inside the target (no link written earlier leads out)."""
    if not folder.resolve().is_relative_to(target.resolve()):
        raise InvalidParameterValueException(
            f"Could not unzip uploaded file: the entry {name!r} would be written through a link")


def _copy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, destination: Path, budget: int) -> int:
    written = 0
    fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as out, archive.open(info) as source:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > budget:
                raise CodeTooLarge(f"Unzipped size must be smaller than {MAX_UNZIPPED} bytes")
            out.write(chunk)
    return written
