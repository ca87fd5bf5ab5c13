"""Hot reload: a saved file makes the next invoke run the new code, with no restart.

The watcher (:mod:`emulator.reload.watcher`) reports, once a function's files have been
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

A folder that is deleted and comes back, or does not exist yet, is watched once it is there.
Functions whose code was uploaded through the API are never replaced by a folder.

The very next invoke after a save runs the new code: :meth:`Reloader.current` (called by the
invoke service before it borrows an environment) waits for a change being gathered or applied,
and catches a save whose file event has not arrived yet (or that polling has not seen yet) by
comparing a cheap fingerprint of the function's folders (:func:`.folders.folder_stamp`: one
``stat`` per file) with the one taken when its revision was read.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from emulator.domain.errors import InvalidParameterValueException, ResourceNotFoundException
from emulator.domain.functions import FunctionConfig, folder_digest, parse_function_name
from emulator.domain.registry import FunctionRegistry
from emulator.invocation.pool import EnvironmentPool
from emulator.reload.folders import Stamp, folder_stamp
from emulator.reload.watcher import FolderWatcher, ObserverFactory, WatchMode, default_observer

log = logging.getLogger(__name__)

Notice = Callable[[str], None]
Stamps = dict[Path, Stamp | None]
#: a function with more files than this in its folders is stamped in a thread (2-5 µs a file)
MANY_FILES = 200


class Reloader:
    """Keeps the registry in step with the function folders while the control plane runs."""

    def __init__(self, registry: FunctionRegistry, pool: EnvironmentPool, mode: WatchMode,
                 notice: Notice | None = None, *, observer: ObserverFactory = default_observer) -> None:
        self.registry = registry
        self.pool = pool
        self.notice = notice
        self.watcher = FolderWatcher(self.reload, mode, observer=observer, on_fallback=self._fell_back)
        #: reloads (new revisions, new and removed functions) per function
        self.reloads: dict[str, int] = {}
        self.last: dict[str, Any] | None = None
        self._extra: dict[Path, set[str]] = {}
        self._resolved: dict[Path, Path] = {}  # the watched roots, resolved (see sync)
        self._root = registry.functions_dir.resolve()
        self._running = False
        #: per function, the stamp of each of its folders when its revision was read
        self._stamps: dict[str, Stamps] = {}
        #: functions whose folders are stamped in a thread (many files)
        self._slow: set[str] = set()
        #: the warning last said per function (registry.warnings)
        self._warned: dict[str, str] = {}

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self.watcher.start()
        self._running = True
        functions_dir = self._root
        self.watcher.watch(functions_dir, self._folder_names, self._folder_functions, canary=True)
        self.registry.on_change(self.sync)
        self.sync()
        for function in self.registry.list():
            self._stamps[function.name] = _stamp(_roots(function))
        if self.notice is not None:
            how = "file events" if self.watcher.mode == "events" else f"polling every {self.watcher.poll_interval} s"
            missing = "" if functions_dir.is_dir() else " (it does not exist yet: it is picked up when it does)"
            self.notice(f"watching {functions_dir} for changes ({how}){missing}")
        for name in sorted(self.registry.warnings):
            self._warn(name)

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

    def _folder_functions(self) -> Iterable[str]:
        """Every name ``functions/`` concerns: its folder functions, and those that failed to load."""
        return {f.name for f in self.registry.list() if f.origin == "folder"} | set(self.registry.load_errors)

    def sync(self) -> None:
        """Watch the folders of hot-reload functions and every layer folder in use (called by
        the registry whenever a function is created, changed or deleted); a folder that does
        not exist (yet, or any more) is watched from when it does."""
        if not self._running:
            return
        wanted: dict[Path, set[str]] = {}
        resolved: dict[Path, Path] = {}  # a deployment creates functions one by one: resolve each root once
        for function in self.registry.list():
            roots = list(function.layers) + ([function.code_dir] if function.hot_reload else [])
            for root in roots:
                real = resolved.get(root) or self._resolved.get(root) or root.resolve()
                resolved[root] = real
                wanted.setdefault(real, set()).add(function.name)
        self._resolved = resolved
        for root in set(self._extra) - set(wanted):
            self.watcher.unwatch(root)
        self._extra = wanted
        for root in wanted:
            self.watcher.watch(root, functools.partial(self._names_of_path, root), functools.partial(self._names, root))

    def _names(self, root: Path) -> tuple[str, ...]:
        """The functions whose folder or layer ``root`` is."""
        return tuple(self._extra.get(root, ()))

    def _names_of_path(self, root: Path, _path: Path) -> tuple[str, ...]:
        return self._names(root)

    # --- the next invoke ----------------------------------------------------------------

    async def current(self, function: FunctionConfig) -> FunctionConfig | None:
        """The function as its files are now (None: it is gone): after the change of it being
        gathered or applied, if any, or after reloading it now when its folders changed since
        its revision was read (a save whose file event has not arrived yet, or that polling has
        not seen yet). Cheap when nothing changed: one ``stat`` per file, on the event loop."""
        name = function.name
        if not self.watcher.busy(name):
            latest = self._current(name)
            if latest is None:
                return None
            changed = await self._changed_roots(latest)
            if not changed:
                return latest
            self.watcher.touch(name, changed)
        await self.watcher.settled(name)
        return self._current(name)

    async def appeared(self, function_name: str) -> bool:
        """Whether a function unknown to the registry exists after all: its folder is new (or
        changed since it was last read) and loading it made it."""
        ref = parse_function_name(function_name)
        if ref is None:
            return False
        name = ref.name
        if not self.watcher.busy(name):
            folder = self._root / name
            if name.startswith((".", "_")) or not folder.is_dir():
                return False
            read = self._stamps.get(name, {}).get(folder)
            if read is not None and folder_stamp(folder) == read:
                return name in self.registry  # not saved since it was read (deleted through the API: stays so)
            self.watcher.touch(name, [folder])
        await self.watcher.settled(name)
        return name in self.registry

    async def _changed_roots(self, function: FunctionConfig) -> list[Path]:
        roots = _roots(function)
        if not roots:
            return []
        if function.name in self._slow:
            now = await asyncio.to_thread(_stamp, roots)
        else:
            now = _stamp(roots)
        if sum(stamp.files for stamp in now.values() if stamp is not None) > MANY_FILES:
            self._slow.add(function.name)
        else:
            self._slow.discard(function.name)
        known = self._stamps.setdefault(function.name, {})
        changed = [root for root in roots if root in known and known[root] != now[root]]
        for root in roots:
            known.setdefault(root, now[root])  # a folder new to the function (API change): as it is now
        return changed

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
        # stamped before reading: a save while the files are read shows at the next invoke
        before = await asyncio.to_thread(_stamp, _roots(current) if current else (self._root / name,))
        try:
            if current is not None and current.hot_reload:
                await self._reload_hot(current, paths)
            elif current is not None and current.origin != "folder":
                if self._in_layers(current, paths):
                    self._put(current.changed(), "reloaded", paths)
            else:
                await self._reload_folder(name, current, paths)
        finally:
            latest = self._current(name)
            if latest is None:
                self._stamps.pop(name, None)
            else:
                self._stamps[name] = {root: before[root] if root in before else folder_stamp(root)
                                      for root in _roots(latest)}

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
        # idle environments restart their runtime in place when only the code changed; the
        # others (and busy ones, once their invocation ends) go
        self.pool.renew(function)
        self._count(function.name, what, paths)
        self._say(f"{what} {function.name}" + _which(function, paths))
        self._warn(function.name)

    def _warn(self, name: str) -> None:
        """Say a function's warning (registry.warnings) when it is new or different."""
        warning = self.registry.warnings.get(name)
        if warning is None:
            self._warned.pop(name, None)
        elif self._warned.get(name) != warning:
            self._warned[name] = warning
            self._say(f"{name}: warning: {warning}")

    def _fell_back(self, reason: str) -> None:
        self._say(f"{reason}: polling for changes every {self.watcher.poll_interval} s instead "
                  "(cloudmicro dev --poll, or CLOUDMICRO_WATCH=poll, polls from the start)")

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


def _roots(function: FunctionConfig) -> tuple[Path, ...]:
    """The folders a function's code comes from: its own (unless uploaded through the API) and
    its layers' (both resolved when the function was read)."""
    own = (function.code_dir,) if function.origin == "folder" or function.hot_reload else ()
    return own + function.layers


def _stamp(roots: Iterable[Path]) -> Stamps:
    return {root: folder_stamp(root) for root in roots}


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
    names = sorted({_relative(p, function) for p in paths if not function.code_dir.is_relative_to(p)})
    if not names:
        return ""
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f" ({shown})"


def _relative(path: Path, function: FunctionConfig) -> str:
    try:
        return str(path.relative_to(function.code_dir))
    except ValueError:
        return str(path)
