"""CloudWatch Logs filter patterns: which log events a subscription filter passes on.

The syntax is AWS's (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html):

* ``""``: every event;
* terms: ``ERROR Exception`` (both), ``"exact phrase"``, ``?ERROR ?WARN`` (either), ``-DEBUG``
  (not), case-sensitive;
* JSON: ``{ $.level = "error" }``, ``{ $.latency > 100 }``, ``{ $.user.id != "a*" }`` (``*`` a
  wildcard), ``IS TRUE``/``IS FALSE``/``IS NULL``, ``EXISTS``/``NOT EXISTS``, joined by ``&&``
  and ``||`` (``&&`` binds first); an event that is not a JSON object does not match.

A space-delimited pattern (``[ip, user, ...]``) is not evaluated: it passes every event (and
:func:`supported` says so, for a warning).
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from functools import lru_cache
from typing import Any

_COMPARISON = re.compile(r"^\s*(\$[\w.\[\]]*)\s*(=|!=|<=|>=|<|>)\s*(.+?)\s*$")
_PREDICATE = re.compile(r"^\s*(\$[\w.\[\]]*)\s+(IS\s+TRUE|IS\s+FALSE|IS\s+NULL|NOT\s+EXISTS|EXISTS)\s*$", re.I)
_MISSING = object()


def supported(pattern: str) -> bool:
    return not pattern.strip().startswith("[")


def matches(pattern: str | None, message: str) -> bool:
    """Whether the log event ``message`` passes ``pattern``."""
    text = (pattern or "").strip()
    if not text or not supported(text):
        return True
    if text.startswith("{") and text.endswith("}"):
        return _json_matches(text[1:-1], message)
    required, either, excluded = _terms(text)
    return (all(term in message for term in required)
            and (not either or any(term in message for term in either))
            and not any(term in message for term in excluded))


@lru_cache(maxsize=256)
def _terms(text: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    try:
        words = shlex.split(text)
    except ValueError:  # an unbalanced quote: the words as written
        words = text.split()
    required = tuple(w for w in words if not w.startswith(("?", "-")))
    either = tuple(w[1:] for w in words if w.startswith("?") and len(w) > 1)
    excluded = tuple(w[1:] for w in words if w.startswith("-") and len(w) > 1)
    return required, either, excluded


def _json_matches(expression: str, message: str) -> bool:
    try:
        document = json.loads(message)
    except ValueError:
        return False
    if not isinstance(document, (dict, list)):
        return False
    return any(all(_condition(part, document) for part in group.split("&&")) for group in expression.split("||"))


def _condition(text: str, document: Any) -> bool:
    text = text.strip().strip("()").strip()
    predicate = _PREDICATE.match(text)
    if predicate:
        value = _select(document, predicate[1])
        word = " ".join(predicate[2].upper().split())
        return {"IS TRUE": value is True, "IS FALSE": value is False, "IS NULL": value is None,
                "EXISTS": value is not _MISSING, "NOT EXISTS": value is _MISSING}[word]
    comparison = _COMPARISON.match(text)
    if not comparison:
        return False
    value = _select(document, comparison[1])
    if value is _MISSING:
        return False
    operator, wanted = comparison[2], comparison[3].strip()
    if wanted.startswith('"') and wanted.endswith('"') and len(wanted) >= 2:
        return _compare_text(value, operator, wanted[1:-1])
    try:
        number = float(wanted)
    except ValueError:
        return _compare_text(value, operator, wanted)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return operator == "!="
    return {"=": value == number, "!=": value != number, "<": value < number, ">": value > number,
            "<=": value <= number, ">=": value >= number}[operator]


def _compare_text(value: Any, operator: str, wanted: str) -> bool:
    if operator not in ("=", "!="):
        return False
    shown = json.dumps(value) if not isinstance(value, str) else value
    equal = fnmatch.fnmatchcase(shown, wanted) if "*" in wanted else shown == wanted
    return equal if operator == "=" else not equal


def _select(document: Any, path: str) -> Any:
    current = document
    for part in re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", path[1:]):
        key, index = part
        if key:
            if not isinstance(current, dict) or key not in current:
                return _MISSING
            current = current[key]
        else:
            if not isinstance(current, list) or int(index) >= len(current):
                return _MISSING
            current = current[int(index)]
    return current
