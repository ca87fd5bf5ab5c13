"""A function's output, kept within bounds however much it prints.

What an environment reads from its runtime's stdout/stderr goes into an :class:`Output`: the
first :data:`HEAD` bytes and the last :data:`TAIL` bytes stay in memory (AWS's ``Tail`` needs
the last 4 KB; ``cloudmicro logs`` and CloudWatch Logs get head and tail), and between them a
line says how much was left out and where the whole output is: once an invocation's output
outgrows the memory it may use, all of it is written to a file in the state folder
(``<state>/logs/<name>.log``, up to :data:`MAX_SPILL` bytes), as it comes. An invocation that
prints a gigabyte costs the control plane a quarter of a megabyte of memory.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import BinaryIO

#: bytes kept from the start and from the end of an invocation's output
HEAD = 192 * 1024
TAIL = 64 * 1024
#: bytes of one invocation's output written to its spill file, at most
MAX_SPILL = 256 * 1024 * 1024


class Output:
    """Output as it arrives: bounded in memory, complete (up to :data:`MAX_SPILL`) on disk."""

    __slots__ = ("_file", "_head", "_spill", "_tail", "dropped", "spilled", "total")

    def __init__(self, spill: Path | None = None) -> None:
        self._head = bytearray()
        self._tail = bytearray()
        self._spill = spill
        self._file: BinaryIO | None = None
        #: bytes seen, bytes left out of memory, bytes written to the spill file
        self.total = self.dropped = self.spilled = 0

    def __len__(self) -> int:
        return self.total

    def __bool__(self) -> bool:
        return self.total > 0

    def add(self, data: bytes) -> None:
        if not data:
            return
        self.total += len(data)
        if self._file is not None or self.total > HEAD + TAIL:
            self._write_spill(data)
        room = HEAD - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if data:
            self._tail += data
            excess = len(self._tail) - TAIL
            if excess > 0:
                self.dropped += excess
                del self._tail[:excess]

    def absorb(self, other: Output) -> None:
        """Add what ``other`` kept (and account for what it left out). An empty output takes over
        a spilled one whole: its spill file stays the whole output, written once."""
        if other.spilled and not self.total:
            self._head, self._tail, self._spill = other._head, other._tail, other._spill
            self.total, self.dropped, self.spilled = other.total, other.dropped, other.spilled
            other.close()
            return
        self.add(bytes(other._head))
        if other.dropped:
            self.total += other.dropped
            self.dropped += other.dropped
            if self._spill is None:
                self._spill = other.path
        self.add(bytes(other._tail))
        other.close()

    @property
    def path(self) -> Path | None:
        return self._spill if self.spilled else None

    def kept(self) -> bytes:
        """What is kept: head and tail, and between them what was left out and where it is."""
        if not self.dropped:
            return bytes(self._head + self._tail)
        where = f"; the whole output is in {self.path}" if self.path is not None else ""
        note = f"\n[cloudmicro: {self.dropped:,} bytes of output left out here{where}]\n".encode()
        return bytes(self._head) + note + bytes(self._tail)

    def __bytes__(self) -> bytes:
        return self.kept()

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def _write_spill(self, data: bytes) -> None:
        if self._spill is None or self.spilled >= MAX_SPILL:
            return
        if self._file is None:
            try:
                self._spill.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(self._spill, "ab")  # noqa: SIM115 - kept open while output comes
            except OSError:
                self._spill = None
                return
            if not self.spilled:  # what came before the output outgrew memory
                data = bytes(self._head + self._tail) + data
        part = data[:MAX_SPILL - self.spilled]
        try:
            self._file.write(part)
        except OSError:
            self.close()
            return
        self.spilled += len(part)
