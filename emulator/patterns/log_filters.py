"""CloudWatch Logs filter patterns: which log events a subscription filter passes on.

The syntax is AWS's (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html):

* ``""``: every event;
* terms: ``ERROR Exception`` (both), ``"exact phrase"``, ``?ERROR ?WARN`` (either), ``-DEBUG``
  (not), case-sensitive;
* JSON: ``{ $.level = "error" }``, ``{ $.latency > 100 }``, ``{ $.user.id != "a*" }`` (``*`` a
  wildcard at either end), ``IS TRUE``/``IS FALSE``/``IS NULL``, ``EXISTS``/``NOT EXISTS``,
  joined by ``&&`` and ``||`` with parentheses (``()`` > ``&&`` > ``||``); an event that is not
  JSON does not match;
* space-delimited: ``[ip, user, ..., status_code = 4*, bytes > 1000]``. The event's fields are
  separated by spaces; what is between ``[]`` or ``""`` is one field. Each name takes one field,
  ``...`` any number of them (without one, the event has exactly as many fields as the pattern
  names). A field's conditions (``=``/``!=`` with ``*`` wildcards, ``<``, ``>``, ``<=``, ``>=``
  on numbers, ``%regex%``) may name other fields and are joined by ``&&`` and ``||``.

:func:`problem` says what is wrong with a pattern that cannot be read (PutSubscriptionFilter
refuses it, as AWS does); :func:`matches` lets nothing through such a pattern.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_MISSING = object()
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<regex>%[^%]*%)
  | (?P<op>&&|\|\||\(|\))
  | (?P<cmp>!=|<=|>=|=|<|>)
  | (?P<word>(?:[^\s()&|!=<>"%]|!(?!=))+)
""", re.VERBOSE)
_PREDICATES = ("IS TRUE", "IS FALSE", "IS NULL", "NOT EXISTS", "EXISTS")
_ELLIPSIS = ("...", "\u2026")


class PatternError(ValueError):
    """A filter pattern that cannot be read."""


@dataclass(frozen=True)
class _Condition:
    subject: str  # a JSON selector ($.a.b[0]) or a space-delimited field's name
    operator: str  # = != < > <= >= or a predicate (IS TRUE, EXISTS...)
    value: str = ""
    kind: str = "word"  # word, string (quoted), regex (%...%)


#: a boolean expression: a condition, or ("&&" | "||", [operands])
_Expression = Any


def problem(pattern: str | None) -> str | None:
    """Why ``pattern`` cannot be read, or None when it can."""
    try:
        _compiled((pattern or "").strip())
    except PatternError as exc:
        return str(exc)
    return None


def supported(pattern: str) -> bool:
    return problem(pattern) is None


def matches(pattern: str | None, message: str) -> bool:
    """Whether the log event ``message`` passes ``pattern``."""
    try:
        test = _compiled((pattern or "").strip())
    except PatternError:
        return False
    return test(message)


@lru_cache(maxsize=256)
def _compiled(text: str) -> Callable[[str], bool]:
    if not text:
        return lambda message: True
    if text.startswith("{"):
        if not text.endswith("}"):
            raise PatternError("a JSON pattern ends with '}'")
        expression = _parse_expression(text[1:-1], json_selectors=True)
        return lambda message: _json_matches(expression, message)
    if text.startswith("["):
        if not text.endswith("]"):
            raise PatternError("a space-delimited pattern ends with ']'")
        slots = _parse_slots(text[1:-1])
        return lambda message: _delimited_matches(slots, message)
    required, either, excluded = _terms(text)
    return lambda message: (all(term in message for term in required)
                            and (not either or any(term in message for term in either))
                            and not any(term in message for term in excluded))


def _terms(text: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    try:
        words = shlex.split(text)
    except ValueError:  # an unbalanced quote: the words as written
        words = text.split()
    required = tuple(w for w in words if not w.startswith(("?", "-")))
    either = tuple(w[1:] for w in words if w.startswith("?") and len(w) > 1)
    excluded = tuple(w[1:] for w in words if w.startswith("-") and len(w) > 1)
    return required, either, excluded


# --- && || ( ) over conditions -----------------------------------------------------------


def _tokens(text: str) -> list[tuple[str, str]]:
    found, position = [], 0
    while position < len(text):
        token = _TOKEN.match(text, position)
        if token is None:
            raise PatternError(f"unexpected {text[position:position + 10]!r}")
        position = token.end()
        if token.lastgroup != "space":
            found.append((str(token.lastgroup), token.group()))
    return found


def _parse_expression(text: str, *, json_selectors: bool) -> _Expression:
    parser = _Parser(_tokens(text), json_selectors)
    expression = parser.any_of()
    if parser.position != len(parser.tokens):
        raise PatternError(f"unexpected {parser.tokens[parser.position][1]!r}")
    return expression


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], json_selectors: bool) -> None:
        self.tokens = tokens
        self.position = 0
        self.json = json_selectors

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.position] if self.position < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.position += 1
        return token

    def any_of(self) -> _Expression:
        parts = [self.all_of()]
        while self.peek() == ("op", "||"):
            self.take()
            parts.append(self.all_of())
        return parts[0] if len(parts) == 1 else ("||", parts)

    def all_of(self) -> _Expression:
        parts = [self.operand()]
        while self.peek() == ("op", "&&"):
            self.take()
            parts.append(self.operand())
        return parts[0] if len(parts) == 1 else ("&&", parts)

    def operand(self) -> _Expression:
        if self.peek() == ("op", "("):
            self.take()
            inner = self.any_of()
            if self.take() != ("op", ")"):
                raise PatternError("a '(' is not closed")
            return inner
        kind, subject = self.take()
        if kind != "word" or (self.json and not subject.startswith("$")):
            raise PatternError(f"expected {'a selector ($.field)' if self.json else 'a field name'}, "
                               f"found {subject or 'the end'!r}")
        if self.json:
            predicate = self._predicate()
            if predicate:
                return _Condition(subject, predicate)
        kind, operator = self.take()
        if kind != "cmp":
            raise PatternError(f"expected a comparison after {subject!r}, found {operator or 'the end'!r}")
        kind, value = self.take()
        if kind not in ("word", "string", "regex"):
            raise PatternError(f"expected a value after {subject} {operator}, found {value or 'the end'!r}")
        if kind == "string":
            value = json.loads(value) if "\\" in value else value[1:-1]
        elif kind == "regex":
            value = value[1:-1]
            try:
                re.compile(value)
            except re.error as exc:
                raise PatternError(f"bad regular expression %{value}%: {exc}") from None
        return _Condition(subject, operator, value, kind)

    def _predicate(self) -> str | None:
        words = []
        for offset in range(2):
            token = self.tokens[self.position + offset] if self.position + offset < len(self.tokens) else None
            if token is None or token[0] != "word":
                break
            words.append(token[1].upper())
            if " ".join(words) in _PREDICATES:
                self.position += offset + 1
                return " ".join(words)
        return None


def _evaluate(expression: _Expression, test: Callable[[_Condition], bool]) -> bool:
    if isinstance(expression, _Condition):
        return test(expression)
    operator, parts = expression
    if operator == "&&":
        return all(_evaluate(part, test) for part in parts)
    return any(_evaluate(part, test) for part in parts)


def _compare(value: Any, condition: _Condition, *, text_numbers: bool = False) -> bool:
    """``value`` (a JSON value, or a field's text) against a condition's operator and value; a
    number in the pattern compares with numbers (``text_numbers``: a field's text read as one)."""
    operator, wanted = condition.operator, condition.value
    if condition.kind == "regex":
        text = value if isinstance(value, str) else json.dumps(value)
        found = re.search(wanted, text) is not None
        return found if operator == "=" else not found if operator == "!=" else False
    number = _number(wanted) if condition.kind == "word" else None
    if number is not None:
        actual = _number(value) if isinstance(value, str) and text_numbers else value
        if isinstance(actual, (int, float)) and not isinstance(actual, bool):
            return {"=": actual == number, "!=": actual != number, "<": actual < number, ">": actual > number,
                    "<=": actual <= number, ">=": actual >= number}[operator]
        if not isinstance(value, str) or not text_numbers:
            return operator == "!="
    if operator not in ("=", "!="):
        return False
    shown = value if isinstance(value, str) else json.dumps(value)
    equal = _wildcard(shown, wanted)
    return equal if operator == "=" else not equal


def _number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _wildcard(text: str, wanted: str) -> bool:
    """``*`` matches any text at the start or end of ``wanted`` (``Ev*ent`` is only itself)."""
    if wanted == "*":
        return True
    starts, ends = wanted.startswith("*"), wanted.endswith("*")
    core = wanted[1 if starts else 0:len(wanted) - (1 if ends else 0)]
    if starts and ends:
        return core in text
    if starts:
        return text.endswith(core)
    if ends:
        return text.startswith(core)
    return text == wanted


# --- JSON ----------------------------------------------------------------------------------


def _json_matches(expression: _Expression, message: str) -> bool:
    try:
        document = json.loads(message)
    except ValueError:
        return False
    if not isinstance(document, (dict, list)):
        return False
    return _evaluate(expression, lambda condition: _json_condition(condition, document))


def _json_condition(condition: _Condition, document: Any) -> bool:
    value = _select(document, condition.subject)
    predicates = {"IS TRUE": value is True, "IS FALSE": value is False, "IS NULL": value is None,
                  "EXISTS": value is not _MISSING, "NOT EXISTS": value is _MISSING}
    if condition.operator in predicates:
        return predicates[condition.operator]
    if value is _MISSING or isinstance(value, (dict, list)):  # AWS: the selector must name a value
        return False
    return _compare(value, condition)


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


# --- space-delimited -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Slot:
    name: str | None  # None: an ellipsis; "": a field without a name
    test: _Expression | None = None


def _parse_slots(text: str) -> tuple[_Slot, ...]:
    slots = []
    for part in _split_commas(text):
        part = part.strip()
        if not part:  # a field without a name (AWS's example [..., status_code=4*,] ends with one)
            slots.append(_Slot(""))
            continue
        if part in _ELLIPSIS:
            slots.append(_Slot(None))
            continue
        tokens = _tokens(part)
        if len(tokens) == 1 and tokens[0][0] == "word":
            slots.append(_Slot(tokens[0][1]))
            continue
        expression = _parse_expression(part, json_selectors=False)
        first = expression
        while not isinstance(first, _Condition):
            first = first[1][0]
        slots.append(_Slot(first.subject, expression))
    if all(slot.name == "" for slot in slots):
        raise PatternError("a space-delimited pattern names its fields: [ip, user, ...]")
    return tuple(slots)


def _split_commas(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"%":
            quote = char
        elif char == ",":
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quote:
        raise PatternError(f"a {quote} is not closed")
    parts.append("".join(current))
    return parts


def _fields(message: str) -> list[str]:
    """A log event's fields: separated by spaces; ``[...]`` and ``"..."`` are one field each."""
    fields, position, size = [], 0, len(message)
    while position < size:
        char = message[position]
        if char.isspace():
            position += 1
            continue
        close = {"[": "]", '"': '"'}.get(char)
        if close is not None:
            end = message.find(close, position + 1)
            if end != -1:
                fields.append(message[position + 1:end])
                position = end + 1
                continue
        end = position
        while end < size and not message[end].isspace():
            end += 1
        fields.append(message[position:end])
        position = end
    return fields


#: how many ways of giving fields to names are tried against conditions that name other fields
#: (each costs one evaluation; a pattern whose conditions name only their own field needs one)
MAX_BINDINGS = 1000


def _delimited_matches(slots: Sequence[_Slot], message: str) -> bool:
    fields = _fields(message)
    local = [slot.test is None or _names(slot.test) <= {slot.name} for slot in slots]
    feasible = _feasible(slots, fields, local)
    if not feasible[0][0]:
        return False
    if all(local):  # every condition was checked where its field was given: one way is enough
        return True
    cross = [slot.test for slot, own in zip(slots, local, strict=True) if not own]
    for tried, binding in enumerate(_bindings(slots, fields, feasible)):
        if tried >= MAX_BINDINGS:
            return False
        if all(_evaluate(test, functools.partial(_field_test, binding=binding)) for test in cross):
            return True
    return False


def _names(expression: _Expression) -> set[str]:
    if isinstance(expression, _Condition):
        return {expression.subject}
    return set().union(*(_names(part) for part in expression[1]))


def _field_test(condition: _Condition, *, binding: dict[str, str]) -> bool:
    value = binding.get(condition.subject)
    return value is not None and _compare(value, condition, text_numbers=True)


def _feasible(slots: Sequence[_Slot], fields: Sequence[str], local: Sequence[bool]) -> list[bytearray]:
    """``feasible[s][f]``: whether slots ``s..`` can take fields ``f..`` (each name one field whose
    own conditions hold, ``...`` any number): linear in slots times fields, however many ``...``."""
    count = len(fields)
    feasible = [bytearray(count + 1) for _ in range(len(slots) + 1)]
    feasible[len(slots)][count] = 1
    for index in range(len(slots) - 1, -1, -1):
        slot, row, after = slots[index], feasible[index], feasible[index + 1]
        if slot.name is None:
            row[count] = after[count]
            for field in range(count - 1, -1, -1):
                row[field] = after[field] or row[field + 1]
            continue
        for field in range(count):
            if after[field + 1] and (not local[index] or slot.test is None
                                     or _evaluate(slot.test, functools.partial(_own_test, value=fields[field]))):
                row[field] = 1
    return feasible


def _own_test(condition: _Condition, *, value: str) -> bool:
    return _compare(value, condition, text_numbers=True)


def _bindings(slots: Sequence[_Slot], fields: Sequence[str], feasible: Sequence[bytearray]) -> Any:
    """Each way of giving the event's fields to the pattern's names that ``feasible`` allows."""
    def ways(index: int, field: int, bound: dict[str, str]) -> Any:  # depth: the number of slots
        if index == len(slots):
            yield dict(bound)
            return
        slot = slots[index]
        if slot.name is None:  # the next feasible place, found at C speed
            after, end = feasible[index + 1], feasible[index + 1].find(1, field)
            while end != -1:
                yield from ways(index + 1, end, bound)
                end = after.find(1, end + 1)
            return
        if slot.name:
            bound[slot.name] = fields[field]
        yield from ways(index + 1, field + 1, bound)
        bound.pop(slot.name or "", None)

    return ways(0, 0, {})
