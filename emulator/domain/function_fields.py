"""One parser for a function's configuration fields, wherever they come from.

``function.json``, CreateFunction and UpdateFunctionConfiguration (and so every template: the
CloudFormation provider creates and updates functions through the same operations) name a
function's settings with AWS's field names. :func:`parse_fields` reads the ones a source gives,
over a base (the defaults for a new function, the current configuration for an update), and
checks the result as a whole: the same field gets the same check and the same message whichever
way it came. Each source adds only what is its own (a folder's ``EventSourceMappings``,
CreateFunction's ``Code``), and says what it is in ``where`` (the file's path, the operation).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from emulator.domain.errors import InvalidParameterValueException
from emulator.domain.event_invoke import validate_dead_letter
from emulator.domain.functions import (
    DEFAULT_MEMORY,
    DEFAULT_RUNTIME,
    DEFAULT_TIMEOUT,
    FunctionConfig,
    validate_settings,
)

#: AWS's field name -> FunctionConfig's, for the fields every source may give
FIELDS = {
    "Handler": "handler", "Runtime": "runtime", "Timeout": "timeout", "MemorySize": "memory_size",
    "Environment": "environment", "Description": "description", "Role": "role",
    "DeadLetterConfig": "dead_letter_target", "Layers": "layers",
}
#: Description's limit (FunctionConfiguration.Description: 0-256 characters)
MAX_DESCRIPTION = 256
#: the folders a ``Layers`` value names (emulator/domain/layers.py), given where it was read
LayerResolver = Callable[[Any, str], tuple[Path, ...]]


def defaults(handler: str | None = None, role: str = "") -> dict[str, Any]:
    """A new function's fields before its source's are read."""
    return {"handler": handler, "runtime": DEFAULT_RUNTIME, "timeout": DEFAULT_TIMEOUT,
            "memory_size": DEFAULT_MEMORY, "environment": {}, "description": "", "role": role,
            "dead_letter_target": None, "layers": (), "layer_refs": ()}


def current_fields(function: FunctionConfig) -> dict[str, Any]:
    """A function's fields as :func:`parse_fields` reads them: an update's base."""
    return {name: getattr(function, name) for name in (*FIELDS.values(), "layer_refs")}


def parse_fields(raw: Mapping[str, Any], where: str, base: Mapping[str, Any],
                 layers: LayerResolver, *, in_file: bool = False) -> dict[str, Any]:
    """``base`` with the fields ``raw`` gives, read and checked (InvalidParameterValueException
    naming ``where`` and the field): FunctionConfig's keyword arguments. ``in_file``: ``where``
    is a file, and every message names it (AWS's own words, kept for the API, name no place)."""
    try:
        return _parse(raw, where, base, layers)
    except InvalidParameterValueException as exc:
        if in_file and not exc.message.startswith(where):
            raise InvalidParameterValueException(f"{where}: {exc.message}") from None
        raise


def _parse(raw: Mapping[str, Any], where: str, base: Mapping[str, Any], layers: LayerResolver) -> dict[str, Any]:
    fields = dict(base)
    readers = {**_READERS, "Layers": layers}
    for aws_name, name in FIELDS.items():
        if aws_name in raw:
            fields[name] = readers.get(aws_name, _plain)(raw[aws_name], where)
    if "Layers" in raw:
        fields["layer_refs"] = tuple(raw["Layers"] or ())
    validate_settings(runtime=fields["runtime"], timeout=fields["timeout"], memory_size=fields["memory_size"],
                      environment=fields["environment"], where=where, handler=fields["handler"])
    return fields


def _plain(value: Any, where: str) -> Any:
    return value


def _environment(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not isinstance(value.get("Variables", {}), Mapping):
        raise InvalidParameterValueException(f'{where}: Environment must look like {{"Variables": {{"KEY": "value"}}}}')
    return dict(value.get("Variables") or {})


def _text(field: str, limit: int | None = None) -> Callable[[Any, str], str]:
    def read(value: Any, where: str) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise InvalidParameterValueException(f"{where}: {field} must be a string, got {type(value).__name__}")
        if limit is not None and len(value) > limit:
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{value[:limit]}...' at '{field[0].lower()}{field[1:]}' failed "
                f"to satisfy constraint: Member must have length less than or equal to {limit}")
        return value
    return read


def _dead_letter(value: Any, where: str) -> str | None:
    return validate_dead_letter(value)


_READERS: dict[str, Callable[[Any, str], Any]] = {
    "Environment": _environment,
    "Description": _text("Description", MAX_DESCRIPTION),
    "Role": _text("Role"),
    "DeadLetterConfig": _dead_letter,
    "Handler": _text("Handler"),
}
