"""Exponential backoff, written once: the pollers (errors, and empty polls), the CloudWatch Logs
writer, the asynchronous queue's throttles and db_gen's batch writes all wait with it."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field


def delay(attempt: int, initial: float, cap: float, factor: float = 2.0) -> float:
    """The wait before retry number ``attempt`` (1 is the first retry): ``initial`` times
    ``factor`` to the power ``attempt - 1``, at most ``cap``."""
    if attempt < 1:
        return 0.0
    try:
        return min(cap, initial * factor ** (attempt - 1))
    except OverflowError:
        return cap


@dataclass
class Backoff:
    """Waits that grow by ``factor`` from ``initial`` to ``cap`` while failures (or empty polls)
    go on, and start again from ``initial`` after :meth:`reset`. With ``jitter`` each wait is
    drawn uniformly between 0 and that value ("full jitter"), so many clients do not retry in step.
    """

    initial: float
    cap: float
    factor: float = 2.0
    jitter: bool = False
    #: waits handed out since the last reset
    attempts: int = field(default=0, init=False)

    def next(self) -> float:
        """The next wait (and count it)."""
        self.attempts += 1
        value = delay(self.attempts, self.initial, self.cap, self.factor)
        return random.uniform(0, value) if self.jitter else value

    def reset(self) -> None:
        self.attempts = 0

    async def wait(self) -> None:
        """Sleep for :meth:`next`."""
        await asyncio.sleep(self.next())
