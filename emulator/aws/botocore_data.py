"""botocore's data files read once per process, however many Sessions read them.

Each botocore Session makes its own data Loader, and a Loader keeps what it read: every new
Session reads botocore's endpoint data (1.2 MB of JSON, 30-50 ms of CPU) and each service model
it makes a client for again. A control plane has several Sessions: its AWS clients, the
CloudFormation provider's Lambda client, the models the Lambda API validates with, and
``dev --template``'s own clients. :func:`share_loader` gives every Session of the process one
Loader (per data path setting). What it returns is the same data, which botocore does not change.

boto3 adds its own data folder to its Session's Loader; with one Loader, that folder is kept once.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()


class _OncePaths(list[str]):
    """A Loader's search paths where adding a path it has is a no-op (each boto3 Session adds its
    data folder to its botocore Session's Loader)."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)

    def insert(self, index: Any, path: str) -> None:
        if path not in self:
            super().insert(index, path)


def share_loader() -> None:
    """Make botocore Sessions made from now on share one Loader (once per process)."""
    import botocore.session

    with _lock:
        original = botocore.session.create_loader
        if getattr(original, "cloudmicro_shared", False):
            return
        loaders: dict[str | None, Any] = {}

        def create_loader(search_path_string: str | None = None) -> Any:
            with _lock:
                loader = loaders.get(search_path_string)
                if loader is None:
                    loader = loaders[search_path_string] = original(search_path_string)
                    loader._search_paths = _OncePaths(loader.search_paths)
                return loader

        create_loader.cloudmicro_shared = True  # type: ignore[attr-defined]
        botocore.session.create_loader = create_loader
