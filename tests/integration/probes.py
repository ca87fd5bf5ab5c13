"""Probes of a control plane's state, so that a test waits for what it waits for, never for a
fixed time.

Two kinds of wait:

* something must happen: :func:`until` polls a check until it holds (or fails after a deadline);
* nothing more may happen ("no third attempt", "a disabled rule does not fire"): the test waits
  until the system is provably quiet, then asserts. :func:`quiet` is that probe for everything
  that reaches a function through the asynchronous queue (Event invokes, retries, S3, SNS,
  EventBridge, schedules, Lambda destinations). It relies on how deliveries are made: moto's
  patches hand an event to the queue with an ``InvocationType: Event`` Invoke from the request
  thread of the call that caused it (emulator/moto/delivery.py), and the Invoke answers 202 once
  the event is queued. So once that call has returned, the event is counted in
  ``/_cloudmicro/health``'s ``lambda.async_events.queued`` until its last attempt has run (and
  its destinations were sent to): a queue with nothing queued has nothing more to deliver.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def control(endpoint: str, path: str) -> Any:
    """``GET /_cloudmicro/<path>`` as JSON."""
    with urllib.request.urlopen(f"{endpoint}/_cloudmicro/{path}", timeout=10) as reply:
        return json.loads(reply.read())


def until(check: Callable[[], T], timeout: float = 30, what: str = "the condition", interval: float = 0.05) -> T:
    """Poll ``check`` until it returns something true, and return that; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(interval)


def async_events(endpoint: str) -> dict[str, int]:
    """The asynchronous queue's counters: ``queued`` (waiting, running or waiting for a retry),
    ``accepted``, ``succeeded``, ``failed``, ``retries``, ``throttled``..."""
    return control(endpoint, "health")["lambda"]["async_events"]


def quiet(endpoint: str, timeout: float = 30) -> None:
    """Wait until the asynchronous queue has nothing queued: every event accepted so far has had
    its last attempt, so nothing more reaches a function through it (see the module's docstring)."""
    deadline = time.monotonic() + timeout
    while (status := async_events(endpoint))["queued"]:
        assert time.monotonic() < deadline, f"the asynchronous queue did not drain in {timeout} s: {status}"
        time.sleep(0.05)


def mapping(endpoint: str, uuid: str) -> dict[str, Any] | None:
    """One event source mapping as ``GET /_cloudmicro/mappings`` shows it (``State``, ``Running``,
    ``in_flight``, ``batches``, ``records``...); None once it is deleted."""
    return next((m for m in control(endpoint, "mappings") if m["UUID"] == uuid), None)

