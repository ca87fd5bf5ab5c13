"""Watching folders for saved files: watchdog's events, debounced into one call per function.

An observer thread (inotify where the kernel has it, or a poller that compares directory
snapshots) reports created, modified, deleted, moved and closed-after-writing files. Each
watched root maps a changed path to the function names it concerns. Per name, the changes are
gathered until the folder has been quiet for ``quiet`` seconds (an editor that truncates then
writes, writes a temporary file and renames it, or saves several files at once makes one
call), then ``on_change(name, paths)`` runs on the event loop, never twice at once for a name.
Editor scratch files (swap, backup, lock and ``___jb_*___`` files), hidden entries and
``__pycache__`` are not changes. A ``.py`` file that was just modified and is empty looks like
the first half of a two-step write: the call waits up to ``partial_grace`` more for the rest.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, Iterable, Literal

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

log = logging.getLogger(__name__)

WatchMode = Literal["events", "poll"]
OnChange = Callable[[str, frozenset[Path]], Awaitable[None]]
Resolver = Callable[[Path], Iterable[str]]

QUIET = 0.05
#: a folder written to without pause is still reloaded this often
MAX_WAIT = 1.0
PARTIAL_GRACE = 0.3
POLL_INTERVAL = 0.25
#: what counts as a change (directory modifications only echo their entries' events)
EVENTS = [FileCreatedEvent, FileModifiedEvent, FileDeletedEvent, FileMovedEvent, FileClosedEvent,
          DirCreatedEvent, DirDeletedEvent, DirMovedEvent]
_SCRATCH_SUFFIXES = ("~", ".swp", ".swx", ".swo", ".tmp", ".pyc", ".pyo", "___jb_tmp___", "___jb_old___")


def is_scratch(relative: Path) -> bool:
    """An editor's or Python's by-product rather than a saved file (``relative`` to the watched
    root): in a hidden folder or ``__pycache__``, or a hidden, backup, swap or lock file."""
    if any(part.startswith(".") or part == "__pycache__" for part in relative.parts[:-1]):
        return True
    name = relative.name
    return (name.startswith((".", "#")) or name.endswith(_SCRATCH_SUFFIXES)
            or name in ("4913", "__pycache__"))


def resolve_mode(setting: str, folder: Path) -> WatchMode:
    """``events`` or ``poll`` for CLOUDMICRO_WATCH (``auto``: events, except where file events
    from the host do not arrive: inside Docker Desktop's VM, or a Windows drive under WSL)."""
    if setting in ("events", "poll"):
        return setting  # type: ignore[return-value]
    release = platform.release().lower()
    if os.path.exists("/.dockerenv") and "linuxkit" in release:
        return "poll"
    if "microsoft" in release and str(folder.resolve()).startswith("/mnt/"):
        return "poll"
    return "events"


@dataclass
class _Pending:
    first: float
    paths: set[Path] = field(default_factory=set)
    #: .py files seen modified (an empty one may be half of a two-step write)
    modified_py: set[Path] = field(default_factory=set)
    timer: asyncio.TimerHandle | None = None
    graced: bool = False


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: FolderWatcher, root: Path, resolve: Resolver) -> None:
        self.watcher = watcher
        self.root = root
        self.resolve = resolve

    def on_any_event(self, event: FileSystemEvent) -> None:  # the observer's thread
        paths = [event.src_path, event.dest_path] if event.dest_path else [event.src_path]
        modified = event.event_type == "modified"
        for raw in paths:
            path = Path(os.fsdecode(raw))
            try:
                if is_scratch(path.relative_to(self.root)):
                    continue
            except ValueError:  # outside the root (a move from elsewhere)
                continue
            for name in self.resolve(path):
                self.watcher.notify(name, path, modified)


class FolderWatcher:
    """Watched roots, one observer thread, and a debounce per function name."""

    def __init__(self, on_change: OnChange, mode: WatchMode, *, quiet: float = QUIET,
                 poll_interval: float = POLL_INTERVAL) -> None:
        self.on_change = on_change
        self.mode: WatchMode = mode
        self.quiet = quiet
        self.poll_interval = poll_interval
        #: why file events were given up for polling, if they were
        self.fallback: str | None = None
        self._observer: BaseObserver | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watches: dict[Path, ObservedWatch] = {}
        self._resolvers: dict[Path, Resolver] = {}
        self._pending: dict[str, _Pending] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._settle_waiters: dict[str, list[asyncio.Future[None]]] = {}

    # --- roots --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the observer thread (call on the event loop)."""
        self._loop = asyncio.get_running_loop()
        self._observer = self._new_observer()
        self._observer.start()

    def _new_observer(self) -> BaseObserver:
        return Observer() if self.mode == "events" else PollingObserver(timeout=self.poll_interval)

    def watch(self, root: Path, resolve: Resolver) -> None:
        """Watch ``root`` and everything below it; ``resolve(path)`` names the functions a
        changed path concerns."""
        assert self._observer is not None, "start() first"
        if root in self._watches:
            return
        self._resolvers[root] = resolve
        try:
            self._watches[root] = self._observer.schedule(_Handler(self, root, resolve), str(root), recursive=True,
                                                          event_filter=EVENTS)
        except OSError as exc:
            if self.mode == "poll" or not root.is_dir():
                log.warning("cannot watch %s: %s", root, exc)
                return
            self._fall_back(f"file events failed on {root}: {exc}")
            self.watch(root, resolve)

    def _fall_back(self, reason: str) -> None:
        """Give up file events (e.g. the inotify watch limit is reached): poll every root."""
        log.warning("%s; polling for changes every %.2f s instead", reason, self.poll_interval)
        assert self._observer is not None
        self._observer.stop()
        self.mode, self.fallback = "poll", reason
        self._observer = self._new_observer()
        self._observer.start()
        self._watches.clear()
        for root, resolve in list(self._resolvers.items()):
            self.watch(root, resolve)

    def unwatch(self, root: Path) -> None:
        self._resolvers.pop(root, None)
        watch = self._watches.pop(root, None)
        if watch is not None and self._observer is not None:
            try:
                self._observer.unschedule(watch)
            except KeyError:
                pass

    def roots(self) -> list[Path]:
        return sorted(self._watches)

    async def close(self) -> None:
        for pending in self._pending.values():
            if pending.timer is not None:
                pending.timer.cancel()
        self._pending.clear()
        if self._observer is not None:
            self._observer.stop()
            await asyncio.to_thread(self._observer.join, 5)
            self._observer = None
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- debouncing ---------------------------------------------------------------------

    def notify(self, name: str, path: Path, modified: bool = False) -> None:
        """A change concerning ``name`` (from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._changed, name, path, modified)
        except RuntimeError:  # the loop closed meanwhile
            pass

    def _changed(self, name: str, path: Path, modified: bool) -> None:
        now = time.monotonic()
        pending = self._pending.get(name)
        if pending is None:
            pending = self._pending[name] = _Pending(first=now)
        pending.paths.add(path)
        if modified and path.suffix == ".py":
            pending.modified_py.add(path)
        self._arm(name, pending, min(self.quiet, max(0.0, pending.first + MAX_WAIT - now)))

    def _arm(self, name: str, pending: _Pending, delay: float) -> None:
        assert self._loop is not None
        if pending.timer is not None:
            pending.timer.cancel()
        pending.timer = self._loop.call_later(delay, self._quiet, name)

    def _quiet(self, name: str) -> None:
        pending = self._pending.get(name)
        if pending is None:
            return
        if not pending.graced and any(_empty_file(p) for p in pending.modified_py):
            pending.graced = True
            self._arm(name, pending, PARTIAL_GRACE)
            return
        if name in self._running:  # a call for this name is under way: run again after it
            self._again.add(name)
            return
        del self._pending[name]
        task = asyncio.get_running_loop().create_task(self._call(name, frozenset(pending.paths)))
        self._running[name] = task

    async def _call(self, name: str, paths: frozenset[Path]) -> None:
        try:
            await self.on_change(name, paths)
        except Exception:  # noqa: BLE001 - a failed reload must not stop the watcher
            log.exception("reloading %s failed", name)
        finally:
            del self._running[name]
            if name in self._again:  # changes whose quiet period ended during the call
                self._again.discard(name)
                self._quiet(name)
            self._wake(name)

    async def settled(self, name: str, timeout: float = 2.0) -> None:
        """Wait (at most ``timeout`` seconds) until no change of ``name`` is gathering or
        being applied."""
        if name not in self._pending and name not in self._running:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._settle_waiters.setdefault(name, []).append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except asyncio.TimeoutError:
            pass

    def _wake(self, name: str) -> None:
        if name in self._pending or name in self._running:
            return
        for waiter in self._settle_waiters.pop(name, []):
            if not waiter.done():
                waiter.set_result(None)


def _empty_file(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False
