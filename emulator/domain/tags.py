"""Functions' tags: TagResource, UntagResource, ListTags, and CreateFunction's ``Tags``.

Deploy tools read and write them (Chalice's second ``deploy`` lists a function's tags and tags
it with its ``aws-chalice`` tag). Kept by function name as AWS shows them, with the API
reference's limits (50 tags, keys up to 128 characters, values up to 256; ``aws:`` keys are
AWS's own); persisted in ``<state>/tags.json``, so they survive a restart as the function does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from emulator.domain.errors import InvalidParameterValueException

log = logging.getLogger(__name__)

MAX_TAGS = 50


def check_tags(tags: Any) -> dict[str, str]:
    """The tags of a request (InvalidParameterValueException for bad ones)."""
    if not isinstance(tags, Mapping):
        raise InvalidParameterValueException("Tags must be a map of keys to values")
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise InvalidParameterValueException(f"Tag key '{key}' must be 1 to 128 characters long")
        if key.lower().startswith("aws:"):
            raise InvalidParameterValueException(f"Tag key '{key}': the aws: prefix is reserved for AWS use")
        if not isinstance(value, str) or len(value) > 256:
            raise InvalidParameterValueException(f"Tag value for '{key}' must be a string of up to 256 characters")
    return dict(tags)


class FunctionTags:
    """Every function's tags, by function name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tags: dict[str, dict[str, str]] = {}
        if path.exists():
            try:
                data = json.loads(path.read_text())
                self._tags = {str(k): {str(a): str(b) for a, b in v.items()} for k, v in data.items()}
            except (ValueError, AttributeError, TypeError) as exc:
                log.warning("ignoring %s: %s", path, exc)

    def list(self, name: str) -> dict[str, str]:
        return dict(self._tags.get(name, {}))

    def tag(self, name: str, tags: Any) -> None:
        wanted = check_tags(tags)
        merged = {**self._tags.get(name, {}), **wanted}
        if len(merged) > MAX_TAGS:
            raise InvalidParameterValueException(f"A function can have at most {MAX_TAGS} tags")
        self._tags[name] = merged
        self._save()

    def untag(self, name: str, keys: Iterable[str]) -> None:
        kept = {k: v for k, v in self._tags.get(name, {}).items() if k not in set(keys)}
        if kept:
            self._tags[name] = kept
        else:
            self._tags.pop(name, None)
        self._save()

    def forget(self, name: str) -> None:
        """The function was deleted (or is made anew): its tags go with it."""
        if self._tags.pop(name, None) is not None:
            self._save()

    def clear(self) -> None:
        self._tags.clear()
        self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._tags, indent=1))
        tmp.replace(self.path)
