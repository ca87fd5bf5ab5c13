"""Cyclic garbage collection paused while a ``cloudmicro`` process starts.

Starting is mostly imports (FastAPI, moto, CloudFormation's engine: every moto model) and a first
deployment. They make hundreds of thousands of objects that live as long as the process, and
Python's collector scans them again and again while they are made: about a quarter of the CPU a
start takes (0.45 s of 1.9 s for the control plane with CloudFormation's engine). Little of
what a start makes is cyclic garbage (about 7,000 objects).

So the CLI pauses collection first (:func:`pause`). Each step of the start that is worth waiting
for holds it (:func:`hold`: the control plane until it listens, ``--template`` until its first
deployment is done) and lets go when it is over (:func:`done`). When nothing holds it any more,
what the start made is frozen (``gc.freeze``: later collections skip it, which keeps them short
for the life of the process) and collection resumes. It resumes after :data:`DEADLINE` seconds
in any case. A process that did not pause (a test session with a control plane in a thread) is
left as it is.
"""

from __future__ import annotations

import gc
import threading

#: collection resumes at the latest this many seconds after the pause
DEADLINE = 20.0

_lock = threading.Lock()
_state = {"paused": False, "holds": 0}


def pause(deadline: float = DEADLINE) -> None:
    """Pause collection for the start of this process (when it is on: a caller that turned it off
    keeps it off)."""
    with _lock:
        if _state["paused"] or not gc.isenabled():
            return
        gc.disable()
        _state["paused"] = True
    timer = threading.Timer(deadline, resume)
    timer.daemon = True
    timer.name = "cloudmicro-gc-deadline"
    timer.start()


def hold() -> None:
    """One more step of the start to wait for before collection resumes."""
    with _lock:
        _state["holds"] += 1


def done() -> None:
    """A step of the start is over; when it was the last one held, collection resumes."""
    with _lock:
        _state["holds"] = max(0, _state["holds"] - 1)
        last = _state["holds"] == 0
    if last:
        resume()


def resume() -> None:
    """Freeze what the start made and collect again (once; nothing if this process did not pause)."""
    with _lock:
        if not _state["paused"]:
            return
        _state["paused"] = False
        gc.freeze()
        gc.enable()


def paused() -> bool:
    return bool(_state["paused"])
