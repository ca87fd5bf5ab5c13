"""boto3's region lists, read once per process.

moto asks ``boto3.Session().get_available_regions(...)`` at import time with a new Session each
time (``moto.ec2.models.availability_zones_and_regions`` three times, which CloudFormation's
engine imports): each new Session loads botocore's endpoint data again, about 0.15 s apiece,
0.45 s of the first CreateStack. Here the answers come from one Session and are remembered; they
are the same lists (the data does not change while the process runs).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

from emulator.moto.patching import Patch, PatchSet

_lock = threading.Lock()
_shared: list[Any] = []


def _session() -> Any:
    from boto3 import Session

    with _lock:
        if not _shared:
            _shared.append(Session())
        return _shared[0]


def _cached_regions(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.cache
    def regions(service: str, partition: str, non_regional: bool) -> tuple[str, ...]:
        return tuple(original(_session(), service, partition, non_regional))

    @functools.wraps(original)
    def get_available_regions(self: Any, service_name: str, partition_name: str = "aws",
                              allow_non_regional: bool = False) -> list[str]:
        return list(regions(service_name, partition_name, allow_non_regional))

    return get_available_regions


def _patches() -> Iterator[Patch]:
    from boto3 import Session

    yield Patch(Session, "get_available_regions", _cached_regions)


#: a speed-up only (optional: skipped with another moto)
PATCHES = PatchSet("boto-regions", _patches, optional=True)
