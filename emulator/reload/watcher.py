"""Watching folders for saved files: watchdog's events, debounced into one call per function.

An observer thread (inotify where the kernel has it, or a poller that compares directory
snapshots) reports created, modified, deleted, moved and closed-after-writing files. Each
watched root maps a changed path to the function names it concerns. Per name, the changes are
gathered until the folder has been quiet for ``quiet`` seconds (an editor that truncates then
writes, writes a temporary file and renames it, or saves several files at once makes one
call), then ``on_change(name, paths)`` runs on the event loop, never twice at once for a name.
Editor scratch files (swap, backup, lock and ``___jb_*___`` files), hidden entries and
``__pycache__`` are not changes, and neither is a file created and moved or deleted within one
batch (``sed -i``'s ``sedXXXXXX``). A ``.py`` file that was just modified and is empty looks
like the first half of a two-step write: the call waits up to ``partial_grace`` more for the
rest.

Roots are guarded: a root that is deleted (or replaced) is watched again when it is back, and a
root that does not exist yet (``functions/`` before the first ``cloudmicro new function``) is
watched from when it appears; either way every name it concerns gets a change. With file events,
a canary file written at the start tells whether events arrive at all; when none arrives within
``CANARY_TIMEOUT``, the watcher polls instead (network shares, some VM file sharing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

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

from emulator.reload.folders import folder_identity, is_scratch

log = logging.getLogger(__name__)

WatchMode = Literal["events", "poll"]
OnChange = Callable[[str, frozenset[Path]], Awaitable[None]]
Resolver = Callable[[Path], Iterable[str]]
#: every name a root concerns (told of a change when the root comes back)
Names = Callable[[], Iterable[str]]
ObserverFactory = Callable[[WatchMode, float], BaseObserver]

QUIET = 0.05
#: a folder written to without pause is still reloaded this often
MAX_WAIT = 1.0
PARTIAL_GRACE = 0.3
POLL_INTERVAL = 0.25
#: how often roots are checked for being deleted, replaced or created
GUARD_INTERVAL = 0.25
#: how long the start-up canary's event may take before file events count as not arriving
CANARY_TIMEOUT = 1.0
CANARY_PREFIX = ".cloudmicro-canary-"
#: what counts as a change (directory modifications only echo their entries' events)
EVENTS = [FileCreatedEvent, FileModifiedEvent, FileDeletedEvent, FileMovedEvent, FileClosedEvent,
          DirCreatedEvent, DirDeletedEvent, DirMovedEvent]
def resolve_mode(setting: str, folder: Path) -> WatchMode:
    """``events`` or ``poll`` for CLOUDMICRO_WATCH (``auto``: events, except where file events
    from the host are known not to arrive: inside Docker Desktop's VM, or a Windows drive under
    WSL; elsewhere the start-up canary finds out)."""
    if setting in ("events", "poll"):
        return setting  # type: ignore[return-value]
    release = platform.release().lower()
    if os.path.exists("/.dockerenv") and "linuxkit" in release:
        return "poll"
    if "microsoft" in release and str(folder.resolve()).startswith("/mnt/"):
        return "poll"
    return "events"


def default_observer(mode: WatchMode, poll_interval: float) -> BaseObserver:
    return Observer() if mode == "events" else PollingObserver(timeout=poll_interval)


@dataclass
class _Pending:
    first: float
    paths: set[Path] = field(default_factory=set)
    #: .py files seen modified (an empty one may be half of a two-step write)
    modified_py: set[Path] = field(default_factory=set)
    #: files created in this batch (moved away or deleted again, they were temporary)
    created: set[Path] = field(default_factory=set)
    timer: asyncio.TimerHandle | None = None
    graced: bool = False


@dataclass
class _Root:
    resolve: Resolver
    names: Names | None
    canary: bool = False
    #: the watch while the root exists, and the (device, inode) it was scheduled on
    watch: ObservedWatch | None = None
    identity: tuple[int, int] | None = None


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: FolderWatcher, root: Path, resolve: Resolver) -> None:
        self.watcher = watcher
        self.root = root
        self.resolve = resolve

    def on_any_event(self, event: FileSystemEvent) -> None:  # the observer's thread
        kind = event.event_type
        if event.dest_path:
            paths = [(event.src_path, "moved_from"), (event.dest_path, "moved_to")]
        else:
            paths = [(event.src_path, kind)]
        for raw, what in paths:
            path = Path(os.fsdecode(raw))
            if path.name.startswith(CANARY_PREFIX):
                self.watcher.canary_seen(path)
                continue
            if path == self.root and what in ("deleted", "moved_from"):
                self.watcher.root_gone(self.root)
                continue
            try:
                if is_scratch(path.relative_to(self.root)):
                    continue
            except ValueError:  # outside the root (a move from elsewhere)
                continue
            for name in self.resolve(path):
                self.watcher.notify(name, path, what)


class FolderWatcher:
    """Watched roots, one observer thread, and a debounce per function name."""

    def __init__(self, on_change: OnChange, mode: WatchMode, *, quiet: float = QUIET,
                 poll_interval: float = POLL_INTERVAL, guard_interval: float = GUARD_INTERVAL,
                 canary_timeout: float = CANARY_TIMEOUT, observer: ObserverFactory = default_observer,
                 on_fallback: Callable[[str], None] | None = None) -> None:
        self.on_change = on_change
        self.mode: WatchMode = mode
        self.quiet = quiet
        self.poll_interval = poll_interval
        self.guard_interval = guard_interval
        self.canary_timeout = canary_timeout
        #: why file events were given up for polling, if they were
        self.fallback: str | None = None
        #: told why, when file events are given up for polling
        self.on_fallback = on_fallback
        self._new_observer = observer
        self._observer: BaseObserver | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._roots: dict[Path, _Root] = {}
        self._pending: dict[str, _Pending] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._settle_waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._guard: asyncio.Task[None] | None = None
        self._canaries: dict[Path, asyncio.Future[None]] = {}
        self._canary_started = False
        self._canary_task: asyncio.Task[bool] | None = None

    # --- roots --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the observer thread and the root guard (call on the event loop)."""
        self._loop = asyncio.get_running_loop()
        self._observer = self._new_observer(self.mode, self.poll_interval)
        self._observer.start()
        self._guard = self._loop.create_task(self._guard_roots())

    def watch(self, root: Path, resolve: Resolver, names: Names | None = None, *, canary: bool = False) -> None:
        """Watch ``root`` and everything below it; ``resolve(path)`` names the functions a
        changed path concerns, ``names()`` all of them (told of a change when the root comes
        back after it was deleted, or first appears). A root that does not exist yet is
        watched from when it does. With ``canary``, the first time file events watch it, a
        canary file checks that they arrive (:meth:`canary`)."""
        assert self._observer is not None, "start() first"
        if root in self._roots:
            return
        self._roots[root] = _Root(resolve, names, canary)
        self._arm(root)

    def _arm(self, root: Path) -> bool:
        """Schedule the observer on ``root`` if it is a folder; whether it is now watched."""
        entry = self._roots[root]
        assert self._observer is not None
        entry.identity = folder_identity(root)
        if entry.identity is None:
            return False
        try:
            entry.watch = self._observer.schedule(_Handler(self, root, entry.resolve), str(root), recursive=True,
                                                  event_filter=EVENTS)
        except OSError as exc:
            if self.mode == "poll":
                log.warning("cannot watch %s: %s", root, exc)
                return False
            self._fall_back(f"file events failed on {root}: {exc}")
            return self._roots[root].watch is not None
        if entry.canary and self.mode == "events" and not self._canary_started:
            self._canary_started = True
            assert self._loop is not None
            self._canary_task = self._loop.create_task(self.canary(root))
        return True

    def _disarm(self, entry: _Root) -> None:
        watch, entry.watch = entry.watch, None
        if watch is not None and self._observer is not None:
            with contextlib.suppress(KeyError):
                self._observer.unschedule(watch)

    def _fall_back(self, reason: str) -> None:
        """Give up file events (they fail, or do not arrive): poll every root."""
        log.warning("%s; polling for changes every %.2f s instead", reason, self.poll_interval)
        if self.mode == "poll":
            return
        assert self._observer is not None
        self._observer.stop()
        self.mode, self.fallback = "poll", reason
        self._observer = self._new_observer("poll", self.poll_interval)
        self._observer.start()
        for entry in self._roots.values():
            entry.watch, entry.identity = None, None
        for root in list(self._roots):
            self._arm(root)
        if self.on_fallback is not None:
            self.on_fallback(reason)

    def unwatch(self, root: Path) -> None:
        entry = self._roots.pop(root, None)
        if entry is not None:
            self._disarm(entry)

    def roots(self) -> list[Path]:
        """The roots being watched now (not those waiting to exist)."""
        return sorted(root for root, entry in self._roots.items() if entry.watch is not None)

    def root_gone(self, root: Path) -> None:
        """The observer saw ``root`` itself deleted or moved away (from any thread)."""
        self._soon(self._check_roots)

    async def _guard_roots(self) -> None:
        while True:
            await asyncio.sleep(self.guard_interval)
            try:
                self._check_roots()
            except Exception:
                log.exception("checking the watched folders failed")

    def _check_roots(self) -> None:
        """Re-watch roots that were deleted, replaced or created since the last look."""
        for root, entry in list(self._roots.items()):
            identity = folder_identity(root)
            if identity == entry.identity:
                continue
            was_watched = entry.watch is not None
            self._disarm(entry)
            if self._arm(root):
                log.info("watching %s%s", root, " again" if was_watched else "")
                self._all_changed(root, entry)
            elif was_watched:
                log.info("%s is gone; it is watched again when it is back", root)
                self._all_changed(root, entry)

    def _all_changed(self, root: Path, entry: _Root) -> None:
        """A change of every name a root concerns (it was replaced, or came or went)."""
        changes: dict[str, Path] = {}
        try:
            for child in os.scandir(root):
                for name in entry.resolve(Path(child.path)):
                    changes.setdefault(name, Path(child.path))
        except OSError:
            pass
        for name in [*(entry.names() if entry.names is not None else ()), *entry.resolve(root)]:
            changes.setdefault(name, root)
        for name, path in changes.items():
            self._changed(name, path, "rearmed")

    # --- the canary ---------------------------------------------------------------------

    async def canary(self, root: Path) -> bool:
        """Write a hidden file in ``root`` and wait for its event; False (and polling from now
        on) when none arrives in time. True in poll mode, or when the file cannot be written."""
        if self.mode == "poll" or root not in self._roots or self._roots[root].watch is None:
            return True
        path = root / f"{CANARY_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        seen = asyncio.get_running_loop().create_future()
        self._canaries[path] = seen
        try:
            try:
                await asyncio.to_thread(path.write_bytes, b"")
            except OSError as exc:
                log.info("no canary in %s (%s): trusting file events", root, exc)
                return True
            try:
                await asyncio.wait_for(asyncio.shield(seen), self.canary_timeout)
                return True
            except TimeoutError:
                if self.mode == "events":
                    self._fall_back(f"no file event arrived from {root} within {self.canary_timeout:g} s")
                return False
        finally:
            self._canaries.pop(path, None)
            with contextlib.suppress(OSError):
                await asyncio.to_thread(path.unlink)

    def canary_seen(self, path: Path) -> None:
        """An event of a canary file (from any thread)."""
        def seen() -> None:
            future = self._canaries.get(path)
            if future is not None and not future.done():
                future.set_result(None)

        self._soon(seen)

    # --- lifecycle ----------------------------------------------------------------------

    async def close(self) -> None:
        for task in (self._guard, self._canary_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._guard = self._canary_task = None
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

    def _soon(self, callback: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(callback)

    # --- debouncing ---------------------------------------------------------------------

    def notify(self, name: str, path: Path, kind: str = "modified") -> None:
        """A change concerning ``name`` (from any thread); ``kind`` is watchdog's event type,
        or ``moved_from`` / ``moved_to`` for the two ends of a move."""
        self._soon(lambda: self._changed(name, path, kind))

    def touch(self, name: str, paths: Iterable[Path]) -> None:
        """A change of ``name`` found without a file event (on the event loop)."""
        for path in paths:
            self._changed(name, path, "touched")

    def busy(self, name: str) -> bool:
        """Whether a change of ``name`` is being gathered or applied."""
        return name in self._pending or name in self._running

    def _changed(self, name: str, path: Path, kind: str) -> None:
        now = time.monotonic()
        pending = self._pending.get(name)
        if pending is None:
            pending = self._pending[name] = _Pending(first=now)
        if kind == "created":
            pending.created.add(path)
        if kind in ("moved_from", "deleted") and path in pending.created:
            pending.created.discard(path)  # a temporary file: not a change of its own
            pending.paths.discard(path)
            pending.modified_py.discard(path)
        else:
            pending.paths.add(path)
            if kind == "modified" and path.suffix == ".py":
                pending.modified_py.add(path)
        self._arm_timer(name, pending, min(self.quiet, max(0.0, pending.first + MAX_WAIT - now)))

    def _arm_timer(self, name: str, pending: _Pending, delay: float) -> None:
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
            self._arm_timer(name, pending, PARTIAL_GRACE)
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
        except Exception:
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
        if not self.busy(name):
            return
        waiter = asyncio.get_running_loop().create_future()
        self._settle_waiters.setdefault(name, []).append(waiter)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiter), timeout)

    def _wake(self, name: str) -> None:
        if self.busy(name):
            return
        for waiter in self._settle_waiters.pop(name, []):
            if not waiter.done():
                waiter.set_result(None)


def _empty_file(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False
