"""API Gateway's mapping templates: Velocity (VTL) rendered by airspeed, with the variables
API Gateway gives a template ("API Gateway mapping template and access logging variable
reference", apigateway/latest/developerguide/api-gateway-mapping-template-reference.html):

* ``$input``: ``$input.body`` (the payload as text), ``$input.json(x)`` (the JSON text of what the
  JSONPath ``x`` names), ``$input.path(x)`` (the object, to walk with ``.size()``, ``#foreach``...),
  ``$input.params()`` (``{path={...}, querystring={...}, header={...}}``) and ``$input.params(x)``
  (the value of the parameter ``x`` from the path, then the query string, then the headers: the
  empty string when there is none). JSONPath is the subset of :mod:`emulator.frontdoor.jsonpath`.
* ``$context`` (the request context, with ``requestOverride`` / ``responseOverride`` to set),
  ``$stageVariables``.
* ``$util``: ``escapeJavaScript`` (Apache Commons Lang's ``StringEscapeUtils.escapeJavaScript``,
  as API Gateway's Java: ``'`` becomes ``\\'``, ``/`` becomes ``\\/``, non-ASCII ``\\uXXXX``),
  ``parseJson``, ``urlEncode`` / ``urlDecode`` (Java's ``URLEncoder``: a space is ``+``),
  ``base64Encode`` / ``base64Decode`` (UTF-8).

Values behave as Java's do where templates lean on it: maps and lists print as Java prints them
(``{a=1, b=[1, 2]}``), JSON booleans as ``true``/``false`` and null as ``null`` inside them;
strings, lists and maps answer the Java methods templates use (``size()``, ``keySet()``,
``containsKey()``, ``toUpperCase()``, ``replaceAll()``, ``split()``...; added to airspeed's own
table of such methods, never replacing one of its own). An undefined reference prints as written,
as Velocity does. A Python ``True`` set by ``#set($x = true)`` prints ``True`` (airspeed's).
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import airspeed

from emulator.frontdoor import jsonpath

__all__ = ["BodyNotJson", "Input", "Util", "VtlError", "render", "to_java"]


class VtlError(Exception):
    """The template could not be rendered (its syntax, or an expression that failed)."""


class BodyNotJson(VtlError):
    """``$input.json``/``$input.path`` on a body that is not JSON (API Gateway: 400)."""


# --------------------------------------------------------------------------- Java-like values


class JsonBool:
    """A JSON boolean: prints ``true``/``false``, tests and compares as a bool."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __bool__(self) -> bool:
        return self.value

    def __eq__(self, other: object) -> bool:
        return bool(other) == self.value if isinstance(other, bool | JsonBool) else False

    def __hash__(self) -> int:
        return hash(self.value)

    def __str__(self) -> str:
        return "true" if self.value else "false"

    __repr__ = __str__


def java_str(value: Any) -> str:
    """``value`` as Java's ``toString`` prints it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{java_str(k)}={java_str(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(java_str(v) for v in value) + "]"
    return str(value)


class JavaMap(dict[Any, Any]):
    """A dict that prints and answers as a ``java.util.Map``."""

    def __str__(self) -> str:
        return java_str(self)

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:
        return not self

    def keySet(self) -> list[Any]:
        return JavaList(self.keys())

    def entrySet(self) -> list[Any]:
        return JavaList(JavaMap(key=k, value=v) for k, v in self.items())

    def containsKey(self, key: Any) -> bool:
        return key in self

    def containsValue(self, value: Any) -> bool:
        return value in self.values()

    def put(self, key: Any, value: Any) -> Any:
        previous = self.get(key)
        self[key] = value
        return previous

    def putAll(self, values: Mapping[Any, Any]) -> None:
        self.update(values)

    def remove(self, key: Any) -> Any:
        return self.pop(key, None)

    def toString(self) -> str:
        return java_str(self)


class JavaList(list[Any]):
    """A list that prints and answers as a ``java.util.List``."""

    def __str__(self) -> str:
        return java_str(self)

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:
        return not self

    def get(self, index: int) -> Any:
        return self[index]

    def contains(self, value: Any) -> bool:
        return value in self

    def add(self, value: Any) -> bool:
        self.append(value)
        return True

    def set(self, index: int, value: Any) -> Any:
        previous = self[index]
        self[index] = value
        return previous

    def toString(self) -> str:
        return java_str(self)


def to_java(value: Any) -> Any:
    """Parsed JSON as template values (JavaMap, JavaList, JsonBool)."""
    if isinstance(value, dict):
        return JavaMap((k, to_java(v)) for k, v in value.items())
    if isinstance(value, list):
        return JavaList(to_java(v) for v in value)
    if isinstance(value, bool):
        return JsonBool(value)
    return value


def _plain(value: Any) -> Any:
    """Template values back to JSON-able Python."""
    if isinstance(value, JsonBool):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _java_replacement(replacement: str) -> str:
    return re.sub(r"\$(\d)", r"\\g<\1>", replacement)


_STRING_METHODS: dict[str, Callable[..., Any]] = {
    "toUpperCase": lambda s: s.upper(),
    "toLowerCase": lambda s: s.lower(),
    "trim": lambda s: s.strip(),
    "endsWith": lambda s, suffix: s.endswith(suffix),
    "equals": lambda s, other: s == other,
    "equalsIgnoreCase": lambda s, other: isinstance(other, str) and s.lower() == other.lower(),
    "isEmpty": lambda s: not s,
    "indexOf": lambda s, sub: s.find(sub),
    "lastIndexOf": lambda s, sub: s.rfind(sub),
    "substring": lambda s, begin, end=None: s[begin:end],
    "replace": lambda s, old, new: s.replace(old, new),
    "replaceFirst": lambda s, pattern, repl: re.sub(pattern, _java_replacement(repl), s, count=1),
    "split": lambda s, pattern: JavaList(re.split(pattern, s)),
    "charAt": lambda s, index: s[index],
    "concat": lambda s, other: s + other,
    "toString": lambda s: s,
}
_LIST_METHODS: dict[str, Callable[..., Any]] = {"isEmpty": lambda v: not v, "toString": java_str}
_MAP_METHODS: dict[str, Callable[..., Any]] = {
    "size": len, "containsKey": lambda m, k: k in m, "entrySet": lambda m: JavaMap(m).entrySet(),
    "remove": lambda m, k: m.pop(k, None),
}


def _extend_airspeed() -> None:
    """Add the Java methods templates use to airspeed's table for plain str, list and dict
    (values made by the template itself: literals, ``#set``), never replacing its own."""
    table = airspeed.__additional_methods__
    for kind, methods in ((str, _STRING_METHODS), (list, _LIST_METHODS), (dict, _MAP_METHODS)):
        known = table.setdefault(kind, {})
        for name, method in methods.items():
            known.setdefault(name, method)


_extend_airspeed()


# --------------------------------------------------------------------------- $input and $util


class Input:
    """``$input``: the payload (the request's, or in a response template the integration's)
    and the method request's parameters."""

    def __init__(self, body: str, params: Mapping[str, Mapping[str, str]]) -> None:
        self.body = body
        self._params = params
        self._parsed: Any = jsonpath.MISSING

    def _document(self) -> Any:
        if self._parsed is jsonpath.MISSING:
            if not self.body.strip():
                self._parsed = {}
            else:
                try:
                    self._parsed = json.loads(self.body)
                except ValueError as error:
                    raise BodyNotJson(f"Could not parse request body into json: {error}") from None
        return self._parsed

    def json(self, path: str) -> str:
        found = jsonpath.evaluate(self._document(), str(path))
        return "null" if found is jsonpath.MISSING else json.dumps(found, ensure_ascii=False, separators=(",", ":"))

    def path(self, path: str) -> Any:
        found = jsonpath.evaluate(self._document(), str(path))
        return None if found is jsonpath.MISSING else to_java(found)

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return JavaMap((kind, JavaMap(self._params.get(kind, {}))) for kind in ("path", "querystring", "header"))
        for kind in ("path", "querystring", "header"):
            values = self._params.get(kind, {})
            if kind == "header":
                for key, value in values.items():
                    if key.lower() == str(name).lower():
                        return value
            elif name in values:
                return values[name]
        return ""


def escape_javascript(text: str) -> str:
    """Commons Lang 2's ``StringEscapeUtils.escapeJavaScript``: UTF-16 units past ASCII as
    ``\\uXXXX``, control characters by their escapes, and ``' " \\ /`` escaped."""
    out: list[str] = []
    units = text.encode("utf-16-be")
    for index in range(0, len(units), 2):
        code = int.from_bytes(units[index:index + 2], "big")
        char = chr(code) if code < 0xD800 or code > 0xDFFF else ""
        if code > 0x7F:
            out.append(f"\\u{code:04X}")
        elif code < 32:
            out.append({8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}.get(code, f"\\u{code:04X}"))
        elif char in "'\"\\/":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


class Util:
    """``$util``."""

    @staticmethod
    def escapeJavaScript(value: Any) -> str:
        return escape_javascript(java_str(value))

    @staticmethod
    def parseJson(value: Any) -> Any:
        return to_java(json.loads(str(value)))

    @staticmethod
    def urlEncode(value: Any) -> str:
        return quote_plus(java_str(value), safe="*").replace("~", "%7E")

    @staticmethod
    def urlDecode(value: Any) -> str:
        return unquote_plus(java_str(value))

    @staticmethod
    def base64Encode(value: Any) -> str:
        return base64.b64encode(java_str(value).encode()).decode()

    @staticmethod
    def base64Decode(value: Any) -> str:
        return base64.b64decode(java_str(value)).decode("utf-8", "replace")


# --------------------------------------------------------------------------- rendering


@functools.lru_cache(maxsize=256)
def _compiled(text: str) -> airspeed.Template:
    template = airspeed.Template(text)
    template.ensure_compiled()
    return template


def render(text: str, *, body: str, params: Mapping[str, Mapping[str, str]], context: Mapping[str, Any],
           stage_variables: Mapping[str, str]) -> str:
    """``text`` rendered with API Gateway's variables. ``context`` is the template's
    ``$context`` (a JavaMap: what the template sets in ``requestOverride`` / ``responseOverride``
    stays in it). Raises VtlError (BodyNotJson for a JSON payload that is not JSON)."""
    try:
        template = _compiled(text)
    except airspeed.TemplateSyntaxError as error:
        raise VtlError(f"template syntax: {error}") from None
    namespace = {"input": Input(body, params), "context": context, "stageVariables": JavaMap(stage_variables),
                 "util": Util()}
    try:
        return str(template.merge(namespace))
    except airspeed.TemplateExecutionError as error:
        cause = error.__cause__
        if isinstance(cause, BodyNotJson):
            raise cause from None
        raise VtlError(str(error)) from None
    except Exception as error:  # noqa: BLE001 (a template may fail in airspeed any way it can)
        raise VtlError(f"{type(error).__name__}: {error}") from None


def plain(value: Any) -> Any:
    """A template value (from ``$context`` overrides, ``$input.path``) as JSON-able Python."""
    return _plain(value)
