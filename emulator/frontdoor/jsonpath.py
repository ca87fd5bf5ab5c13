"""The JSONPath subset API Gateway's ``$input.json(x)``, ``$input.path(x)`` and the
``method.request.body.x`` / ``integration.response.body.x`` parameter mappings take.

Supported: the root ``$``; child names ``$.a.b`` and ``$['a']`` / ``$["a b"]``; array indexes
``$.a[0]`` (negative counts from the end: ``[-1]``); the wildcard ``[*]`` / ``.*`` (the result
is then a list, as Jayway JsonPath gives). Not supported (a clear :class:`JsonPathError`):
filters ``[?(...)]``, slices ``[1:3]``, unions ``[0,1]``, deep scan ``..``, functions.
A path that names nothing gives :data:`MISSING`.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MISSING", "JsonPathError", "evaluate", "parse"]


class JsonPathError(ValueError):
    """A path outside the supported subset, or not a path."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: what a path that names nothing evaluates to
MISSING: Any = _Missing()

_STEP = re.compile(
    r"""\.(?P<name>[A-Za-z_$@][\w$@-]*)"""  # .name
    r"""|\.(?P<dot_star>\*)"""  # .*
    r"""|\[\s*(?P<index>-?\d+)\s*\]"""  # [0]
    r"""|\[\s*(?P<star>\*)\s*\]"""  # [*]
    r"""|\[\s*'(?P<single>(?:[^'\\]|\\.)*)'\s*\]"""  # ['a']
    r"""|\[\s*"(?P<double>(?:[^"\\]|\\.)*)"\s*\]"""  # ["a"]
)

Step = tuple[str, Any]  # ("key", name) | ("index", n) | ("all", None)


def parse(path: str) -> tuple[Step, ...]:
    """The steps of ``path``; JsonPathError when it is not in the supported subset."""
    text = path.strip()
    if not text.startswith("$"):
        raise JsonPathError(f"a JSONPath starts with $: {path!r}")
    steps: list[Step] = []
    position = 1
    while position < len(text):
        if text.startswith("..", position):
            raise JsonPathError(f"deep scan (..) is not supported: {path!r}")
        matched = _STEP.match(text, position)
        if matched is None:
            raise JsonPathError(f"unsupported JSONPath at {text[position:]!r} in {path!r} (supported: $, .name, "
                                "['name'], [n], [*])")
        if matched["name"] is not None:
            steps.append(("key", matched["name"]))
        elif matched["index"] is not None:
            steps.append(("index", int(matched["index"])))
        elif matched["star"] is not None or matched["dot_star"] is not None:
            steps.append(("all", None))
        else:
            quoted = matched["single"] if matched["single"] is not None else matched["double"]
            steps.append(("key", re.sub(r"\\(.)", r"\1", quoted)))
        position = matched.end()
    return tuple(steps)


def evaluate(document: Any, path: str) -> Any:
    """What ``path`` names in ``document`` (parsed JSON), or :data:`MISSING`."""
    values = [document]
    spread = False
    for kind, arg in parse(path):
        found: list[Any] = []
        for value in values:
            if kind == "key":
                if isinstance(value, dict) and arg in value:
                    found.append(value[arg])
            elif kind == "index":
                if isinstance(value, list) and -len(value) <= arg < len(value):
                    found.append(value[arg])
            elif isinstance(value, dict):
                found.extend(value.values())
            elif isinstance(value, list):
                found.extend(value)
        if kind == "all":
            spread = True
        values = found
    if spread:
        return values
    return values[0] if values else MISSING
