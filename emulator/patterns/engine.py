"""AWS event pattern matching: one engine for three AWS features.

The same JSON pattern language is used by

* Lambda event source mapping ``FilterCriteria`` (SQS, Kinesis, DynamoDB Streams),
* EventBridge rule ``EventPattern``,
* SNS subscription ``FilterPolicy`` (``MessageAttributes`` and ``MessageBody`` scope).

The semantics follow AWS's documentation and its open-source engine, aws/event-ruler:

* A pattern is a JSON object. A key whose value is an object descends into the event;
  a key whose value is an array is a *leaf*: the array lists alternatives (OR).
  Keys are ANDed. ``"$or": [{...}, {...}]`` ORs whole sub-patterns.
* A leaf alternative is a JSON scalar (exact match; numbers compare by value, strings
  case-sensitively, ``null`` only matches ``null``) or a one-key operator object:
  ``prefix``, ``suffix`` (both also as ``{"equals-ignore-case": ...}``), ``equals-ignore-case``,
  ``wildcard``, ``anything-but`` (a value, a list, or ``prefix``/``suffix``/
  ``equals-ignore-case``/``wildcard``), ``numeric``, ``exists``, ``cidr``.
* If the event value is an array, a leaf matches when ANY element matches; arrays of
  objects are searched element by element, and fields matched under one nested pattern
  must come from the same array element (event-ruler's "array consistency").
* ``exists: false`` matches when there is no leaf value at the path: the key is missing, an
  intermediate object is missing, or the value is an object or an empty array.
  Every other operator, ``anything-but`` included, needs a value to be present.
* ``numeric`` and ``cidr``/``prefix``/``suffix``/``wildcard``/``equals-ignore-case`` only
  look at JSON numbers resp. strings; other types never match them (but do count as
  "anything but" a string prefix).

Public API: :func:`validate_pattern`, :func:`compile_pattern`, :func:`matches`,
:func:`lambda_filter_matches`, :func:`validate_filter_criteria`, :func:`sns_filter_matches`,
:func:`validate_sns_filter_policy`. Patterns are compiled once and cached, so matching a
record costs a few microseconds.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import math
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from emulator.domain import json_text

__all__ = [
    "CompiledPattern",
    "PatternError",
    "compile_pattern",
    "lambda_filter_matches",
    "matches",
    "sns_filter_matches",
    "validate_filter_criteria",
    "validate_pattern",
    "validate_sns_filter_policy",
]

EVENTBRIDGE_PREFIX = "Event pattern is not valid. Reason: "
LAMBDA_PREFIX = "Invalid filter pattern definition. "
SNS_PREFIX = "Invalid parameter: FilterPolicy: "

# Operator names that cannot be field names inside a "$or" branch (event-ruler's
# RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP).
_OPERATORS = frozenset({
    "prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but",
    "numeric", "exists", "cidr",
})
_NUMERIC_OPS = ("=", "<", "<=", ">", ">=")
_LAMBDA_PATTERN_MAX = 4096


class PatternError(ValueError):
    """An invalid event pattern / filter pattern / filter policy.

    ``str(err)`` and ``err.reason`` are the reason in event-ruler's words (for example
    ``Empty arrays are not allowed``); the properties give the whole message each AWS
    service would return.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def eventbridge_message(self) -> str:
        """EventBridge's InvalidEventPatternException message."""
        return EVENTBRIDGE_PREFIX + self.reason

    @property
    def lambda_message(self) -> str:
        """Lambda's InvalidParameterValueException message for a bad FilterCriteria."""
        return LAMBDA_PREFIX + self.reason

    @property
    def sns_message(self) -> str:
        """SNS's InvalidParameter message for a bad FilterPolicy."""
        return SNS_PREFIX + self.reason


# --------------------------------------------------------------------------- parsing


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _parse(pattern: Mapping[str, Any] | str | bytes) -> dict[str, Any]:
    if isinstance(pattern, (str, bytes, bytearray)):
        try:
            pattern = json_text.loads(pattern, parse_constant=_reject_constant)
        except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
            raise PatternError(f"Filter is not valid JSON: {exc}") from None
    if not isinstance(pattern, Mapping):
        raise PatternError("Filter is not an object")
    return dict(pattern)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _key(value: Any) -> Any:
    """A hashable key under which equal JSON scalars collide: 1 == 1.0, True != 1."""
    if isinstance(value, bool):
        return ("bool", value)
    return value


# --------------------------------------------------------------------------- compiling

# A value predicate takes one leaf value from the event (a JSON scalar) and says yes or no.
Predicate = Callable[[Any], bool]


class _Leaf:
    """The alternatives for one leaf field: exact values, predicates, exists flags."""

    __slots__ = ("exact", "exists_false", "exists_true", "predicates")

    def __init__(self) -> None:
        self.exact: set[Any] = set()
        self.predicates: list[Predicate] = []
        self.exists_true = False
        self.exists_false = False

    def test(self, values: list[Any]) -> bool:
        if not values:
            return self.exists_false
        if self.exists_true:
            return True
        exact = self.exact
        if exact:
            for value in values:
                if _key(value) in exact:
                    return True
        for predicate in self.predicates:
            for value in values:
                if predicate(value):
                    return True
        return False


class _Node:
    """A compiled pattern object: leaf fields, nested objects and "$or" groups, all ANDed."""

    __slots__ = ("children", "leaves", "or_groups")

    def __init__(self) -> None:
        self.leaves: list[tuple[str, _Leaf]] = []
        self.children: list[tuple[str, _Node]] = []
        self.or_groups: list[list[_Node]] = []

    def test(self, obj: Any) -> bool:
        get = obj.get if isinstance(obj, dict) else _missing_get
        for name, leaf in self.leaves:
            if not leaf.test(_leaf_values(get(name, _MISSING))):
                return False
        for name, child in self.children:
            candidates = _objects(get(name, _MISSING))
            if candidates:
                if not any(child.test(candidate) for candidate in candidates):
                    return False
            elif not child.test(_MISSING):  # nothing to descend into: only exists:false can hold
                return False
        return all(any(branch.test(obj) for branch in group) for group in self.or_groups)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


def _missing_get(_name: str, default: Any) -> Any:
    return default


def _leaf_values(value: Any) -> list[Any]:
    """The scalar values at a leaf: [] when missing, an object, or an empty array."""
    if value is _MISSING or isinstance(value, dict):
        return []
    if isinstance(value, list):
        out: list[Any] = []
        _flatten_scalars(value, out)
        return out
    return [value]


def _flatten_scalars(items: list[Any], out: list[Any]) -> None:
    for item in items:
        if isinstance(item, list):
            _flatten_scalars(item, out)
        elif not isinstance(item, dict):
            out.append(item)


def _objects(value: Any) -> list[dict[str, Any]]:
    """The objects a nested pattern can descend into (every object element of an array)."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        out: list[dict[str, Any]] = []
        _flatten_objects(value, out)
        return out
    return []


def _flatten_objects(items: list[Any], out: list[dict[str, Any]]) -> None:
    for item in items:
        if isinstance(item, dict):
            out.append(item)
        elif isinstance(item, list):
            _flatten_objects(item, out)


def _compile_object(obj: Mapping[str, Any], *, in_or: bool) -> _Node:
    if not obj:
        raise PatternError("Empty objects are not allowed")
    node = _Node()
    for name, value in obj.items():
        if not isinstance(name, str):
            raise PatternError(f"Field name {name!r} must be a string")
        if name == "$or":
            node.or_groups.append(_compile_or(value))
            continue
        if in_or and name in _OPERATORS:
            raise PatternError(f"{name} is Ruler reserved fieldName which cannot be used inside $or.")
        if isinstance(value, Mapping):
            node.children.append((name, _compile_object(value, in_or=in_or)))
        elif isinstance(value, list):
            node.leaves.append((name, _compile_leaf(value)))
        else:
            raise PatternError(f'"{name}" must be an object or an array')
    return node


def _compile_or(value: Any) -> list[_Node]:
    if not isinstance(value, list):
        raise PatternError("It must be an Array followed with $or.")
    if not all(isinstance(branch, Mapping) for branch in value):
        raise PatternError("Only JSON object is allowed in array of $or relationship.")
    if len(value) < 2:
        raise PatternError("There must have at least 2 Objects in $or relationship.")
    return [_compile_object(branch, in_or=True) for branch in value]


def _compile_leaf(values: list[Any]) -> _Leaf:
    if not values:
        raise PatternError("Empty arrays are not allowed")
    leaf = _Leaf()
    for value in values:
        if isinstance(value, Mapping):
            _compile_operator(value, leaf)
        elif value is None or isinstance(value, (str, bool)) or _is_number(value):
            leaf.exact.add(_key(value))
        else:
            raise PatternError("Match value must be String, number, true, false, or null")
    return leaf


def _compile_operator(expr: Mapping[str, Any], leaf: _Leaf) -> None:
    if not expr:
        raise PatternError("Match expression name not found")
    if len(expr) != 1:
        raise PatternError("Only one key allowed in match expression")
    (op, arg), = expr.items()
    if op == "exists":
        if not isinstance(arg, bool):
            raise PatternError("exists match pattern must be either true or false.")
        if arg:
            leaf.exists_true = True
        else:
            leaf.exists_false = True
    elif op in ("prefix", "suffix"):
        leaf.predicates.append(_affix_predicate(op, arg))
    elif op == "equals-ignore-case":
        if not isinstance(arg, str):
            raise PatternError("equals-ignore-case match pattern must be a string")
        folded = arg.lower()
        leaf.predicates.append(lambda v: isinstance(v, str) and v.lower() == folded)
    elif op == "wildcard":
        regex = _wildcard_regex(arg)
        leaf.predicates.append(lambda v: isinstance(v, str) and regex.fullmatch(v) is not None)
    elif op == "numeric":
        leaf.predicates.append(_numeric_predicate(arg))
    elif op == "cidr":
        leaf.predicates.append(_cidr_predicate(arg))
    elif op == "anything-but":
        leaf.predicates.append(_anything_but_predicate(arg))
    else:
        raise PatternError(f"Unrecognized match type {op}")


def _affix_predicate(op: str, arg: Any) -> Predicate:
    if isinstance(arg, Mapping):
        if len(arg) != 1 or "equals-ignore-case" not in arg:
            inner = ", ".join(map(str, arg)) or "(none)"
            raise PatternError(f"Unsupported {op} pattern: {inner}")
        text = arg["equals-ignore-case"]
        if not isinstance(text, str):
            raise PatternError(f"{op}/equals-ignore-case match pattern must be a string")
        folded = text.lower()
        if op == "prefix":
            return lambda v: isinstance(v, str) and v.lower().startswith(folded)
        return lambda v: isinstance(v, str) and v.lower().endswith(folded)
    if not isinstance(arg, str):
        raise PatternError(f"{op} match pattern must be a string")
    if op == "prefix":
        return lambda v: isinstance(v, str) and v.startswith(arg)
    return lambda v: isinstance(v, str) and v.endswith(arg)


def _wildcard_regex(arg: Any) -> re.Pattern[str]:
    """``*`` is zero or more characters; ``\\*`` a literal star, ``\\\\`` a literal backslash."""
    if not isinstance(arg, str):
        raise PatternError("wildcard match pattern must be a string")
    parts: list[str] = []
    i, n = 0, len(arg)
    while i < n:
        char = arg[i]
        if char == "\\":
            if i + 1 < n and arg[i + 1] in "*\\":
                parts.append(re.escape(arg[i + 1]))
                i += 2
                continue
            raise PatternError(f"Invalid escape character at pos {i + 1}")
        if char == "*":
            if i + 1 < n and arg[i + 1] == "*":
                raise PatternError(f"Consecutive wildcard characters at pos {i + 1}")
            parts.append(".*")
        else:
            parts.append(re.escape(char))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def _numeric_predicate(arg: Any) -> Predicate:
    if not isinstance(arg, list):
        raise PatternError("Value of numeric must be an array.")
    if not arg or not isinstance(arg[0], str):
        raise PatternError(f"Invalid member in numeric match: {json.dumps(arg[0]) if arg else ']'}")
    op = arg[0]
    if op not in _NUMERIC_OPS:
        raise PatternError(f"Unrecognized numeric range operator: {op}")
    if len(arg) < 2 or not _is_number(arg[1]):
        raise PatternError(f"Value of {'equals' if op == '=' else op} must be numeric")
    low = float(arg[1])
    if len(arg) == 2:
        if op == "=":
            return lambda v: _is_number(v) and v == low
        if op == "<":
            return lambda v: _is_number(v) and v < low
        if op == "<=":
            return lambda v: _is_number(v) and v <= low
        if op == ">":
            return lambda v: _is_number(v) and v > low
        return lambda v: _is_number(v) and v >= low
    if op not in (">", ">="):
        raise PatternError("Too many elements in numeric expression")
    top_op = arg[2]
    if not isinstance(top_op, str):
        raise PatternError(f"Bad value in numeric range: {json.dumps(top_op)}")
    if top_op not in ("<", "<="):
        raise PatternError(f"Bad numeric range operator: {top_op}")
    if len(arg) < 4 or not _is_number(arg[3]):
        raise PatternError(f"Value of {top_op} must be numeric")
    if len(arg) > 4:
        raise PatternError("Too many terms in numeric range expression")
    high = float(arg[3])
    if high <= low:
        raise PatternError("Bottom must be less than top")
    open_low, open_high = op == ">", top_op == "<"

    def in_range(v: Any) -> bool:
        if not _is_number(v):
            return False
        above = v > low if open_low else v >= low
        return above and (v < high if open_high else v <= high)

    return in_range


def _cidr_predicate(arg: Any) -> Predicate:
    if not isinstance(arg, str):
        raise PatternError("cidr match pattern must be a string")
    address, slash, mask = arg.partition("/")
    if not slash or "/" in mask:
        raise PatternError("Malformed CIDR, one '/' required")
    if not mask.isdigit():
        raise PatternError("Malformed CIDR, mask bits must be an integer")
    try:
        network = ipaddress.ip_network(arg, strict=False)
    except ValueError:
        raise PatternError(f"Nonstandard IP address: {address}") from None

    def in_network(v: Any) -> bool:
        if not isinstance(v, str):
            return False
        try:
            return ipaddress.ip_address(v) in network
        except ValueError:
            return False

    return in_network


def _string_list(arg: Any, what: str, *, allow_empty_string: bool = True) -> list[str]:
    items = arg if isinstance(arg, list) else [arg]
    if not items or not all(isinstance(item, str) for item in items):
        raise PatternError(f"{what} must be a string or an array of strings")
    if not allow_empty_string and any(item == "" for item in items):
        raise PatternError("Null prefix/suffix not allowed")
    return items


def _anything_but_predicate(arg: Any) -> Predicate:
    """``anything-but`` matches a present value that is none of the listed ones.

    Like every other operator it needs the field to be present; ``null`` and values of
    another type (a number against a string list, say) count as "anything but".
    """
    if isinstance(arg, Mapping):
        if len(arg) != 1:
            raise PatternError("Only one key allowed in match expression")
        (op, inner), = arg.items()
        if op in ("prefix", "suffix"):
            if isinstance(inner, Mapping):
                raise PatternError("Value of anything-but must be an array or single string/number value.")
            affixes = tuple(_string_list(inner, "prefix/suffix match pattern", allow_empty_string=False))
            if op == "prefix":
                return lambda v: not (isinstance(v, str) and v.startswith(affixes))
            return lambda v: not (isinstance(v, str) and v.endswith(affixes))
        if op == "equals-ignore-case":
            if not isinstance(inner, (str, list)) or (
                    isinstance(inner, list) and not all(isinstance(x, str) for x in inner)):
                raise PatternError(
                    "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.")
            folded = frozenset(x.lower() for x in _string_list(inner, "equals-ignore-case match pattern"))
            return lambda v: not (isinstance(v, str) and v.lower() in folded)
        if op == "wildcard":
            regexes = [_wildcard_regex(x) for x in _string_list(inner, "wildcard match pattern")]
            return lambda v: not (isinstance(v, str) and any(r.fullmatch(v) for r in regexes))
        raise PatternError(f"Unsupported anything-but pattern: {op}")
    if isinstance(arg, list):
        has_string = any(isinstance(x, str) for x in arg)
        has_number = any(_is_number(x) for x in arg)
        if any(x is None or isinstance(x, (bool, list, Mapping)) for x in arg):
            raise PatternError("Inside anything but list, start|null|boolean is not supported.")
        if has_string == has_number:  # mixed, or empty
            raise PatternError(
                "Inside anything but list, either all values are number or string, mixed type is not supported")
        excluded = frozenset(_key(x) for x in arg)
    elif isinstance(arg, str) or _is_number(arg):
        excluded = frozenset((_key(arg),))
    else:
        raise PatternError("Value of anything-but must be an array or single string/number value.")
    return lambda v: _key(v) not in excluded


class CompiledPattern:
    """A validated, compiled pattern. ``matches(event)`` is the hot-path call."""

    __slots__ = ("_root", "pattern")

    def __init__(self, pattern: Mapping[str, Any] | str | bytes) -> None:
        parsed = _parse(pattern)
        self.pattern: dict[str, Any] = parsed
        # An empty top-level pattern is allowed (SNS uses "{}" to mean "no filter") and matches all.
        self._root = _compile_object(parsed, in_or=False) if parsed else _Node()

    def matches(self, event: Any) -> bool:
        return self._root.test(event)

    def key_kinds(self, key: str) -> set[str]:
        """How the top level (and top-level "$or" branches) constrain ``key``.

        A set of ``"object"`` (a nested pattern) and/or ``"leaf"`` (a list of values);
        empty when the pattern does not mention the key. Lambda uses this to tell a JSON
        pattern for SQS ``body`` / Kinesis ``data`` from a plain-string one.
        """
        kinds: set[str] = set()
        _collect_kinds(self._root, key, kinds)
        return kinds

    def __repr__(self) -> str:
        return f"CompiledPattern({json.dumps(self.pattern)})"


def _collect_kinds(node: _Node, key: str, kinds: set[str]) -> None:
    if any(name == key for name, _ in node.leaves):
        kinds.add("leaf")
    if any(name == key for name, _ in node.children):
        kinds.add("object")
    for group in node.or_groups:
        for branch in group:
            _collect_kinds(branch, key, kinds)


@lru_cache(maxsize=1024)
def _compile_cached(text: str) -> CompiledPattern:
    return CompiledPattern(text)


def compile_pattern(pattern: Mapping[str, Any] | str | bytes | CompiledPattern) -> CompiledPattern:
    """Parse, validate and compile a pattern (cached by its JSON text); raises :class:`PatternError`."""
    if isinstance(pattern, CompiledPattern):
        return pattern
    if isinstance(pattern, (bytes, bytearray)):
        pattern = bytes(pattern).decode("utf-8", errors="replace")
    if isinstance(pattern, str):
        return _compile_cached(pattern)
    if not isinstance(pattern, Mapping):
        raise PatternError("Filter is not an object")
    try:
        text = json.dumps(pattern, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        # Not JSON-serialisable (or NaN): compile uncached; validation says what is wrong.
        return CompiledPattern(pattern)
    return _compile_cached(text)


def validate_pattern(pattern: Mapping[str, Any] | str | bytes) -> dict[str, Any]:
    """Parse (JSON text or dict) and validate a pattern; return it as a dict.

    Raises :class:`PatternError` naming what is wrong. ``{}`` is valid and matches everything.
    """
    return compile_pattern(pattern).pattern


def matches(pattern: Mapping[str, Any] | str | CompiledPattern, event: Any) -> bool:
    """Does ``event`` (a JSON-like value, usually a dict) match ``pattern``?

    ``pattern`` may be a dict, JSON text, or a :class:`CompiledPattern`; an invalid
    pattern raises :class:`PatternError`.
    """
    return compile_pattern(pattern).matches(event)


# --------------------------------------------------------------------------- Lambda


class PatternTooLong(PatternError):
    """A FilterCriteria pattern over Lambda's 4,096 characters (the API's length constraint on
    ``FilterCriteria.Filters.N.Pattern``); ``index`` is the filter's, from 1."""

    def __init__(self, index: int, text: str) -> None:
        super().__init__(f"Pattern is longer than {_LAMBDA_PATTERN_MAX} characters")
        self.index = index
        self.text = text
        self.limit = _LAMBDA_PATTERN_MAX


def validate_filter_criteria(filter_criteria: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Validate an event source mapping's ``FilterCriteria``; return it normalised.

    ``None``, ``{}`` and ``{"Filters": []}`` mean "no filtering" and come back as ``None``.
    Each ``Pattern`` must be a JSON string (a dict is accepted and serialised) of at most
    4096 characters (:class:`PatternTooLong`). Raises :class:`PatternError`.
    """
    filters = _filters(filter_criteria)
    if not filters:
        return None
    normalised = []
    for index, item in enumerate(filters, start=1):
        text = item if isinstance(item, str) else json.dumps(item)
        if len(text) > _LAMBDA_PATTERN_MAX:
            raise PatternTooLong(index, text)
        compile_pattern(text)
        normalised.append({"Pattern": text})
    return {"Filters": normalised}


def _filters(filter_criteria: Mapping[str, Any] | None) -> list[Any]:
    if not filter_criteria:
        return []
    if not isinstance(filter_criteria, Mapping):
        raise PatternError('FilterCriteria must look like {"Filters": [{"Pattern": "<json>"}]}')
    filters = filter_criteria.get("Filters") or []
    if not isinstance(filters, list):
        raise PatternError("Filters must be an array")
    patterns = []
    for item in filters:
        if not isinstance(item, Mapping) or "Pattern" not in item:
            raise PatternError('Each filter must look like {"Pattern": "<json>"}')
        patterns.append(item["Pattern"])
    return patterns


def lambda_filter_matches(filter_criteria: Mapping[str, Any] | None, record: Mapping[str, Any],
                          source: str) -> bool:
    """Does a Lambda-shaped record pass an event source mapping's ``FilterCriteria``?

    A record passes if ANY filter matches; no or empty criteria pass everything.
    ``source`` is the record's ``eventSource``: ``aws:sqs``, ``aws:kinesis`` or ``aws:dynamodb``.

    * SQS: ``body`` is matched as parsed JSON when it is a JSON object, otherwise as a plain
      string. A JSON (object) pattern for ``body`` never matches a plain body and a
      plain-value pattern never matches a JSON body (AWS drops such records).
    * Kinesis: the pattern sees the record's ``kinesis`` fields at the top level
      (``{"partitionKey": [...], "data": {...}}``, as AWS documents it) with ``data``
      base64-decoded and parsed as JSON; if ``data`` is not JSON, any pattern on ``data``
      fails.
    * DynamoDB: the pattern applies to the stream record as it is
      (``{"eventName": [...], "dynamodb": {"NewImage": {"x": {"S": [...]}}}}``).

    The caller's record is never modified. Raises :class:`PatternError` for an invalid pattern.
    """
    patterns = _filters(filter_criteria)
    if not patterns:
        return True
    compiled = [compile_pattern(p) for p in patterns]
    if source == "aws:sqs":
        return _sqs_matches(compiled, record)
    if source == "aws:kinesis":
        return _kinesis_matches(compiled, record)
    return any(c.matches(record) for c in compiled)


def _json_object(text: Any) -> dict[str, Any] | None:
    if not isinstance(text, (str, bytes, bytearray)):
        return None
    try:
        value = json_text.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _sqs_matches(compiled: list[CompiledPattern], record: Mapping[str, Any]) -> bool:
    body = record.get("body")
    parsed = _json_object(body)
    view = dict(record)
    if parsed is not None:
        view["body"] = parsed
    for pattern in compiled:
        kinds = pattern.key_kinds("body")
        if parsed is not None and kinds == {"leaf"}:
            continue  # JSON body, plain-string pattern: dropped
        if parsed is None and kinds == {"object"}:
            continue  # plain body, JSON pattern: dropped
        if pattern.matches(view):
            return True
    return False


_NOT_JSON: Any = _Missing()


def _decode_kinesis_data(data: Any) -> Any:
    if not isinstance(data, (str, bytes, bytearray)):
        return _NOT_JSON
    try:
        raw = base64.b64decode(data, validate=True)
        return json_text.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (binascii.Error, ValueError):  # bad base64, bad UTF-8, bad JSON
        return _NOT_JSON


def _kinesis_matches(compiled: list[CompiledPattern], record: Mapping[str, Any]) -> bool:
    inner = record.get("kinesis")
    view = {k: v for k, v in record.items() if k != "kinesis"}
    if isinstance(inner, Mapping):
        view.update(inner)
    decoded = _decode_kinesis_data(view.get("data"))
    if decoded is _NOT_JSON:
        view.pop("data", None)
    else:
        view["data"] = decoded
    for pattern in compiled:
        if decoded is _NOT_JSON and pattern.key_kinds("data"):
            continue  # data is not JSON but the filter looks into it: dropped
        if pattern.matches(view):
            return True
    return False


# --------------------------------------------------------------------------- SNS


def validate_sns_filter_policy(policy: Mapping[str, Any] | str,
                               scope: str = "MessageAttributes") -> dict[str, Any]:
    """Validate an SNS ``FilterPolicy`` for a ``FilterPolicyScope``; return it as a dict.

    On top of the pattern rules, attribute-scope policies cannot nest objects.
    Raises :class:`PatternError`.
    """
    if scope not in ("MessageAttributes", "MessageBody"):
        raise PatternError(f"FilterPolicyScope must be MessageAttributes or MessageBody, not {scope!r}")
    compiled = compile_pattern(policy)
    if scope == "MessageAttributes" and _has_nesting(compiled._root):
        raise PatternError("Filter policy scope MessageAttributes does not support nested filter policy")
    return compiled.pattern


def _has_nesting(node: _Node) -> bool:
    return bool(node.children) or any(_has_nesting(b) for group in node.or_groups for b in group)


def sns_filter_matches(policy: Mapping[str, Any] | str | None, message_attributes: Mapping[str, Any] | None,
                       body: str | None, scope: str = "MessageAttributes") -> bool:
    """Does an SNS message pass a subscription's filter policy?

    ``scope="MessageAttributes"`` matches the policy against the message attributes, given
    as ``{"name": {"Type": ..., "Value": ...}}`` (the notification shape) or
    ``{"name": {"DataType": ..., "StringValue": ...}}`` (the Publish API shape):
    ``String`` values are strings, ``String.Array`` values are JSON arrays (matched element
    by element; their numbers are numbers), ``Number`` values are numbers (so ``numeric`` and numeric ``anything-but``
    work), and ``Binary`` attributes are ignored. A policy key whose attribute is missing
    only matches ``exists: false``.

    ``scope="MessageBody"`` matches the policy against the JSON message body; a body that is
    not a JSON object matches nothing (except an empty policy).
    """
    if not policy:
        return True
    compiled = compile_pattern(policy)
    if not compiled.pattern:
        return True
    if scope == "MessageBody":
        parsed = _json_object(body)
        return parsed is not None and compiled.matches(parsed)
    return compiled.matches(_attribute_event(message_attributes or {}))


def _attribute_event(attributes: Mapping[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for name, attribute in attributes.items():
        if not isinstance(attribute, Mapping):
            continue
        kind = str(attribute.get("Type") or attribute.get("DataType") or "String")
        value = attribute.get("Value", attribute.get("StringValue"))
        base = kind.split(".", 1)[0]
        if base == "Binary" or value is None:
            continue
        if kind.endswith(".Array"):  # String.Array (SNS's docs also show Number.Array)
            event[name] = _string_array(value)
        elif base == "Number":
            event[name] = _number(value)
        else:
            event[name] = value if isinstance(value, str) else str(value)
    return event


def _string_array(value: Any) -> Any:
    if isinstance(value, list):
        return value
    try:
        parsed = json_text.loads(value)
    except (TypeError, ValueError):
        return value
    return parsed if isinstance(parsed, list) else value


def _number(value: Any) -> Any:
    if _is_number(value):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text  # not a number after all: only string operators can match it
    return number if math.isfinite(number) else text
