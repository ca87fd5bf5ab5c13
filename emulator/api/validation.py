"""The Lambda API's own constraints, checked as AWS's front end checks them, from its model.

AWS checks every request against the operation's model before the service sees it: lengths,
patterns, ranges, list sizes, map keys. What fails is a ``ValidationException`` whose message
lists each violation in one form ("1 validation error detected: Value 'x y' at 'handler' failed
to satisfy constraint: Member must satisfy regular expression pattern: [^\\s]+"). The model is
botocore's (``lambda``, the one the SDKs use), so the limits are the API reference's, field by
field; the checks the service makes after that (a runtime it does not support, 4 KB of
variables...) are the domain's, with their own errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from emulator.domain.errors import ValidationException

_MAX_REPORTED = 10


@lru_cache(maxsize=1)
def _model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("lambda")


@lru_cache(maxsize=64)
def _operation(name: str) -> OperationModel:
    return _model().operation_model(name)


@lru_cache(maxsize=512)
def _pattern(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # a Java-only construct: not checked here
        return None


#: members not checked: locally there is no IAM, so any Role is taken (examples use "any")
NOT_CHECKED = frozenset({"Role"})


def check(operation: str, values: Mapping[str, Any]) -> None:
    """Raise ValidationException for what in ``values`` (the operation's members by name: body,
    path and query alike) breaks the operation's model; nothing when all is well."""
    problems: list[str] = []
    shape = _operation(operation).input_shape
    if shape is not None:
        _structure(shape, {k: v for k, v in values.items() if k not in NOT_CHECKED}, "", problems)
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise ValidationException(f"{count} validation {noun} detected: " + "; ".join(problems[:_MAX_REPORTED]))


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _structure(shape: StructureShape, values: Mapping[str, Any], path: str, problems: list[str]) -> None:
    if not isinstance(values, Mapping):
        return  # a type error: the service's own checks name it
    for name, member in shape.members.items():
        if name not in values or values[name] is None:
            continue
        _value(member, values[name], f"{path}{_camel(name)}", problems)


def _value(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    meta = shape.metadata
    before = len(problems)
    _check(shape, value, path, problems)
    if meta.get("sensitive") and len(problems) > before:  # a secret is not echoed back
        problems[before:] = [_hidden(p, path) for p in problems[before:]]


def _hidden(problem: str, path: str) -> str:
    """``problem`` without the value it quotes: everything up to the member's own path goes."""
    marker = f"' at '{path}"
    if problem.startswith("Value '") and marker in problem:
        return "Value at " + problem[problem.rindex(marker) + 5:]
    return problem


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    meta = shape.metadata
    if isinstance(shape, StructureShape):
        _structure(shape, value, path + ".", problems)
    elif isinstance(shape, ListShape) and isinstance(value, list):
        _size(value, meta, path, problems, "length")
        for index, item in enumerate(value, start=1):
            _value(shape.member, item, f"{path}.{index}.member", problems)
    elif isinstance(shape, MapShape) and isinstance(value, Mapping):
        key_pattern = shape.key.metadata.get("pattern")
        compiled = _pattern(key_pattern) if key_pattern else None
        if compiled is not None and any(not isinstance(k, str) or not compiled.fullmatch(k) for k in value):
            problems.append(f"Value '{_shown(value)}' at '{path}' failed to satisfy constraint: Map keys must satisfy "
                            f"constraint: [Member must satisfy regular expression pattern: {key_pattern}]")
        for key, item in value.items():
            _value(shape.value, item, f"{path}.{key}", problems)
    elif shape.type_name == "string" and isinstance(value, str):
        _size(value, meta, path, problems, "length")
        pattern = meta.get("pattern")
        compiled = _pattern(pattern) if pattern else None
        if compiled is not None and not compiled.fullmatch(value):
            problems.append(f"Value '{_shown(value)}' at '{path}' failed to satisfy constraint: Member must satisfy "
                            f"regular expression pattern: {pattern}")
    elif shape.type_name in ("integer", "long") and isinstance(value, int) and not isinstance(value, bool):
        if "min" in meta and value < meta["min"]:
            problems.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have value "
                            f"greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            problems.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have value "
                            f"less than or equal to {meta['max']}")


def _size(value: str | list[Any], meta: Mapping[str, Any], path: str, problems: list[str], what: str) -> None:
    if "min" in meta and len(value) < meta["min"]:
        problems.append(f"Value '{_shown(value)}' at '{path}' failed to satisfy constraint: Member must have {what} "
                        f"greater than or equal to {meta['min']}")
    if "max" in meta and len(value) > meta["max"]:
        problems.append(f"Value '{_shown(value)}' at '{path}' failed to satisfy constraint: Member must have {what} "
                        f"less than or equal to {meta['max']}")


#: how much of a value an error message repeats (a 1 MB Description is not sent back whole)
SHOWN = 256


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= SHOWN else text[:SHOWN] + "..."
