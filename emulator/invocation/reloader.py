"""Hot reload: a saved file makes the next invoke run the new code, with no restart.

The watcher (:mod:`emulator.invocation.watcher`) reports, once a function's files have been
quiet for a moment, that something under it changed. The reloader then reads the function
again and, when its code (CodeSha256) or configuration differs, puts a new revision in the
registry and destroys the idle environments of the old one. The next invoke starts a fresh
environment, which imports the new code; invocations already running finish on the old code
(their environments are destroyed when they come back). What is watched:

* ``functions/`` itself: a new folder makes a function, a removed one removes it, and a
  ``function.json`` that cannot be read keeps the last good function and shows the error in
  ``/_cloudmicro/health`` (``config_errors``) until the next good save;
* the folders of functions created through the API with the ``hot-reload`` bucket convention
  (``Code: {"S3Bucket": "hot-reload", "S3Key": "/abs/folder"}``);
* layer folders: an edited layer makes a new revision of every function that uses it.

Functions whose code was uploaded through the API are never replaced by a folder.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable

from ..domain.errors import InvalidParameterValueException, ResourceNotFoundException
from ..domain.functions import FunctionConfig, folder_digest
from ..domain.registry import FunctionRegistry
from .pool import EnvironmentPool
from .watcher import FolderWatcher, WatchMode

log = logging.getLogger(__name__)

Notice = Callable[[str], None]


class Reloader:
    """Keeps the registry in step with the function folders while the control plane runs."""

    def __init__(self, registry: FunctionRegistry, pool: EnvironmentPool, mode: WatchMode,
                 notice: Notice | None = None) -> None:
        self.registry = registry
        self.pool = pool
        self.notice = notice
        self.watcher = FolderWatcher(self.reload, mode)
        #: reloads (new revisions, new and removed functions) per function
        self.reloads: dict[str, int] = {}
        self.last: dict[str, Any] | None = None
        self._extra: dict[Path, set[str]] = {}
        self._root = registry.functions_dir.resolve()
        self._running = False

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self.watcher.start()
        self._running = True
        functions_dir = self._root
        if functions_dir.is_dir():
            self.watcher.watch(functions_dir, self._folder_names)
        else:
            log.info("not watching %s: no such folder", functions_dir)
        self.registry.on_change(self.sync)
        self.sync()
        if self.notice is not None:
            how = "file events" if self.watcher.mode == "events" else f"polling every {self.watcher.poll_interval} s"
            self.notice(f"watching {functions_dir} for changes ({how})")

    async def close(self) -> None:
        self._running = False
        await self.watcher.close()

    def status(self) -> dict[str, Any]:
        return {
            "mode": self.watcher.mode,
            "fallback": self.watcher.fallback,
            "watching": [str(root) for root in self.watcher.roots()],
            "reloads": dict(self.reloads),
            "last": self.last,
        }

    # --- what to watch ------------------------------------------------------------------

    def _folder_names(self, path: Path) -> Iterable[str]:
        try:
            parts = path.relative_to(self._root).parts
        except ValueError:
            return ()
        if not parts or parts[0].startswith((".", "_")):
            return ()
        return (parts[0],)

    def sync(self) -> None:
        """Watch the folders of hot-reload functions and every layer folder in use (called by
        the registry whenever a function is created, changed or deleted)."""
        if not self._running:
            return
        wanted: dict[Path, set[str]] = {}
        for function in self.registry.list():
            roots = list(function.layers) + ([function.code_dir] if function.hot_reload else [])
            for root in roots:
                wanted.setdefault(root.resolve(), set()).add(function.name)
        for root in set(self._extra) - set(wanted):
            self.watcher.unwatch(root)
        self._extra = wanted
        for root in wanted:
            if root.is_dir():
                self.watcher.watch(root, lambda _path, root=root: tuple(self._extra.get(root, ())))

    async def retry_after_save(self, function: FunctionConfig, launched_at: float) -> FunctionConfig | None:
        """An environment of ``function`` launched at ``launched_at`` (epoch seconds) failed to
        start. When the function's files were saved since (its runtime may have read a file
        half-written: most editors truncate, then write), the function to run the invocation
        again with, once the reload is done; else None (a real error, to be returned)."""
        await self.watcher.settled(function.name)
        latest = self._current(function.name)
        if latest is None:
            return None
        if latest.revision_id != function.revision_id:
            return latest
        roots = [latest.code_dir, *latest.layers]
        saved = await asyncio.to_thread(_modified_since, roots, launched_at)
        return latest if saved else None

    # --- reloading ----------------------------------------------------------------------

    async def reload(self, name: str, paths: frozenset[Path]) -> None:
        """Bring function ``name`` in step with its files (after ``paths`` changed)."""
        current = self._current(name)
        if current is not None and current.hot_reload:
            await self._reload_hot(current, paths)
        elif current is not None and current.origin != "folder":
            if self._in_layers(current, paths):
                self._put(current.changed(), "reloaded", paths)
        else:
            await self._reload_folder(name, current, paths)

    async def _reload_folder(self, name: str, current: FunctionConfig | None, paths: frozenset[Path]) -> None:
        folder = self.registry.functions_dir / name
        try:
            new = await asyncio.to_thread(self._read_folder, folder)
        except InvalidParameterValueException as exc:
            latest = self._current(name)
            if latest is None or latest.origin == "folder":
                self.registry.load_errors[name] = exc.message
                self._record(name, "error", paths)
                kept = "keeping the last good version" if latest is not None else "it does not exist until fixed"
                self._say(f"{name}: not reloaded ({kept}): {exc.message}")
            return
        latest = self._current(name)
        if latest is not current:  # changed through the API meanwhile: the API wins
            return
        had_error = self.registry.load_errors.pop(name, None) is not None
        if new is None:
            if current is not None:
                self.registry.delete(name)
                self.pool.drop_function(name)
                self._count(name, "removed", paths)
                self._say(f"removed {name}")
            return
        if current is not None and _same(current, new) and not self._in_layers(current, paths):
            if had_error:
                self._say(f"{name}: configuration fixed (unchanged from the last good version)")
            return
        self._put(new, "reloaded" if current is not None else "added", paths)

    async def _reload_hot(self, current: FunctionConfig, paths: frozenset[Path]) -> None:
        folder = current.code_dir
        if not folder.is_dir():
            self._say(f"{current.name}: its folder {folder} is gone; invokes will fail until it is back")
            return
        sha, size = await asyncio.to_thread(folder_digest, folder)
        latest = self._current(current.name)
        if latest is None or latest.code_dir != folder or not latest.hot_reload:
            return
        if sha != latest.code_sha256 or self._in_layers(latest, paths):
            self._put(latest.changed(code_sha256=sha, code_size=size), "reloaded", paths)

    def _read_folder(self, folder: Path) -> FunctionConfig | None:
        if not folder.is_dir():
            return None
        return self.registry.load_folder(folder)

    def _put(self, function: FunctionConfig, what: str, paths: frozenset[Path]) -> None:
        self.registry.replace(function)
        self.pool.drop_function(function.name)  # busy ones finish, then go (stale revision)
        self._count(function.name, what, paths)
        self._say(f"{what} {function.name}" + _which(function, paths))

    # --- helpers ------------------------------------------------------------------------

    def _current(self, name: str) -> FunctionConfig | None:
        if name not in self.registry:
            return None
        try:
            return self.registry.get(name)
        except ResourceNotFoundException:
            return None

    @staticmethod
    def _in_layers(function: FunctionConfig, paths: frozenset[Path]) -> bool:
        layers = [layer.resolve() for layer in function.layers]
        return any(path.is_relative_to(layer) for path in paths for layer in layers)

    def _count(self, name: str, what: str, paths: frozenset[Path]) -> None:
        self.reloads[name] = self.reloads.get(name, 0) + 1
        self._record(name, what, paths)

    def _record(self, name: str, what: str, paths: frozenset[Path]) -> None:
        self.last = {"function": name, "what": what, "at": time.time(),
                     "paths": sorted(str(p) for p in paths)[:20]}

    def _say(self, text: str) -> None:
        log.info("%s", text)
        if self.notice is not None:
            self.notice(text)


def _modified_since(roots: list[Path], since: float) -> bool:
    """Whether a file under ``roots`` was written at or after ``since`` (epoch seconds)."""
    for root in roots:
        for path in root.rglob("*"):
            if "__pycache__" in path.parts:
                continue
            try:
                if path.is_file() and path.stat().st_mtime >= since:
                    return True
            except OSError:
                continue
    return False


def _same(a: FunctionConfig, b: FunctionConfig) -> bool:
    """The same code and configuration (revision and LastModified aside)."""
    return replace(b, revision_id=a.revision_id, last_modified=a.last_modified) == a


def _which(function: FunctionConfig, paths: frozenset[Path]) -> str:
    names = sorted({_relative(p, function) for p in paths})
    if not names:
        return ""
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f" ({shown})"


def _relative(path: Path, function: FunctionConfig) -> str:
    try:
        return str(path.relative_to(function.code_dir))
    except ValueError:
        return str(path)
