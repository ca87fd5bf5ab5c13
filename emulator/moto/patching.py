"""One way to change moto: named sets of patches, applied and undone as a whole.

A :class:`Patch` names an attribute (of a class or a module) or a key (of a dict) and says how
to make its replacement from moto's original. A :class:`PatchSet` is one feature's patches
(the SQS hot path, S3 notifications, ...): :meth:`PatchSet.apply` puts all of them in place or
none (a target that is missing undoes what was done and raises :class:`PatchError`, naming it),
once; :meth:`PatchSet.undo` puts moto's originals back, in reverse order.

The patches are written against one moto release, :data:`PINNED_MOTO_VERSION` (pyproject.toml
pins it). The installed version is checked once per process (:func:`moto_version_ok`): with any
other, an ``optional`` set (a speed-up) is skipped, and the others are applied with one warning,
since without them events would not reach the functions at all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

PINNED_MOTO_VERSION = "5.2.5"

_MISSING = object()


class PatchError(RuntimeError):
    """A patch's target is not in moto (another release?)."""


@lru_cache(maxsize=1)
def installed_moto_version() -> str:
    import moto

    return str(getattr(moto, "__version__", "unknown"))


@lru_cache(maxsize=1)
def moto_version_ok() -> bool:
    """Whether the installed moto is the pinned one (a warning, once, when it is not)."""
    version = installed_moto_version()
    if version == PINNED_MOTO_VERSION:
        return True
    log.warning("moto is %s, Cloudmicro's moto patches are written for %s: the optional ones (speed-ups) "
                "are skipped and the others may fail; install moto==%s", version, PINNED_MOTO_VERSION,
                PINNED_MOTO_VERSION)
    return False


@dataclass(frozen=True)
class Patch:
    """Replace ``owner.name`` (or ``owner[name]`` for a dict) with ``make(original)``; with
    ``new``, add it (moto has none: ``make`` gets None, and undoing removes it)."""

    owner: Any
    name: str
    make: Callable[[Any], Any]
    new: bool = False

    def current(self) -> Any:
        """What is there now: the owner's own value (an inherited one when it has none)."""
        if isinstance(self.owner, MutableMapping):
            return self.owner.get(self.name, _MISSING)
        own = vars(self.owner).get(self.name, _MISSING)
        return own if own is not _MISSING else getattr(self.owner, self.name, _MISSING)

    def owns(self) -> bool:
        if isinstance(self.owner, MutableMapping):
            return self.name in self.owner
        return self.name in vars(self.owner)

    def put(self, value: Any) -> None:
        if isinstance(self.owner, MutableMapping):
            self.owner[self.name] = value
        else:
            setattr(self.owner, self.name, value)

    def remove(self) -> None:
        if isinstance(self.owner, MutableMapping):
            self.owner.pop(self.name, None)
        else:
            delattr(self.owner, self.name)

    def label(self) -> str:
        if isinstance(self.owner, MutableMapping):
            return f"dict[{self.name!r}]"
        owner = (getattr(self.owner, "__qualname__", None) or getattr(self.owner, "__name__", None)
                 or type(self.owner).__name__)
        return f"{owner}.{self.name}"


@dataclass
class _Done:
    patch: Patch
    original: Any
    owned: bool


class PatchSet:
    """One feature's patches of moto: ``patches()`` lists them (importing moto's modules only
    when called, so a set that is never applied costs nothing)."""

    def __init__(self, name: str, patches: Callable[[], Iterable[Patch]], *, optional: bool = False) -> None:
        self.name = name
        self._patches = patches
        self.optional = optional
        self._done: list[_Done] = []
        self._applied = False
        self._lock = threading.RLock()
        #: bumped at every apply(), for caches built under an earlier one
        self.generation = 0

    @property
    def applied(self) -> bool:
        return self._applied

    def apply(self) -> bool:
        """Put every patch in place (once); False when an optional set is skipped (another moto)."""
        with self._lock:
            if self._applied:
                return True
            if not moto_version_ok() and self.optional:
                return False
            done: list[_Done] = []
            try:
                for patch in self._patches():
                    original = patch.current()
                    if patch.new:
                        if original is not _MISSING:
                            raise PatchError(f"moto {installed_moto_version()} has a {patch.label()} already "
                                             f"(the {self.name} patches are written for moto {PINNED_MOTO_VERSION})")
                        original = None
                    elif original is _MISSING:
                        raise PatchError(f"moto {installed_moto_version()} has no {patch.label()} "
                                         f"(the {self.name} patches are written for moto {PINNED_MOTO_VERSION})")
                    owned = patch.owns() and not patch.new
                    patch.put(patch.make(original))
                    done.append(_Done(patch, original, owned))
            except BaseException:
                self._restore(done)
                raise
            self._done, self._applied = done, True
            self.generation += 1
            log.debug("moto patches applied: %s (%d)", self.name, len(done))
            return True

    def undo(self) -> None:
        """Put moto's originals back (for tests that compare with moto as released)."""
        with self._lock:
            done, self._done, self._applied = self._done, [], False
            self._restore(done)

    def original(self, owner: Any, name: str) -> Any | None:
        """moto's value that a patch of this set replaced (None when not applied)."""
        for done in self._done:
            if done.patch.owner is owner and done.patch.name == name:
                return done.original
        return None

    def labels(self) -> list[str]:
        return [done.patch.label() for done in self._done]

    @staticmethod
    def _restore(done: list[_Done]) -> None:
        for item in reversed(done):
            if item.owned:
                item.patch.put(item.original)
            else:
                item.patch.remove()  # it was inherited: inherit it again


def replace_with(value: Any) -> Callable[[Any], Any]:
    """A ``make`` that ignores the original: the attribute becomes ``value``."""
    return lambda _original: value
