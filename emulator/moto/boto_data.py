"""botocore's data files, read once per process.

* moto asks ``boto3.Session().get_available_regions(...)`` at import time with a new Session
  each time (``moto.ec2.models.availability_zones_and_regions`` three times, which
  CloudFormation's engine imports): each new Session loads botocore's endpoint data again, about
  0.15 s apiece. Here the answers come from one Session and are remembered.
* moto reads a service's model with a new loader each time (``moto.core.utils.create_loader``,
  first request of each service): a new loader lists botocore's data folder again (thousands of
  file checks, about 0.15 s) before it reads the model. Here moto's loader is made once, so its
  listing and the models it read are kept.

The answers are the same (the data does not change while the process runs).
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


def _one_loader(original: Callable[..., Any]) -> Callable[..., Any]:
    made: list[Any] = []

    @functools.wraps(original)
    def create_loader() -> Any:
        with _lock:
            if not made:
                made.append(original())
            return made[0]

    return create_loader


def _patches() -> Iterator[Patch]:
    from boto3 import Session
    from moto.core import utils

    yield Patch(Session, "get_available_regions", _cached_regions)
    yield Patch(utils, "create_loader", _one_loader)


#: a speed-up only (optional: skipped with another moto)
PATCHES = PatchSet("boto-data", _patches, optional=True)
