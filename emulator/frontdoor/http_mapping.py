"""HTTP API parameter mapping: an integration's ``RequestParameters`` change the request before
it reaches the backend, its ``ResponseParameters`` the answer before it reaches the client
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-parameter-mapping.html).

Request keys: ``append|overwrite|remove:header.<name>``, ``append|overwrite|remove:querystring.<name>``,
``overwrite:path``. Response keys (per status code): ``append|overwrite|remove:header.<name>``,
``overwrite:statuscode``. Values: ``$request.header.<name>`` (repeated values joined by commas),
``$request.querystring.<name>``, ``$request.body`` and ``$request.body.<JSONPath>``,
``$request.path`` (without the stage) and ``$request.path.<name>``, ``$context.<name>``,
``$stageVariables.<name>``; ``$response.header.<name>`` and ``$response.body.<JSONPath>`` in
responses; a static string; several in one value as ``${request.path.id}-${request.header.x}``.
A value that names nothing leaves the parameter out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from emulator.frontdoor import jsonpath

_BRACED = re.compile(r"\$\{([^}]+)\}")
_KEY = re.compile(r"^(append|overwrite|remove):(header|querystring)\.(.+)$|^(overwrite):(path|statuscode)$")


@dataclass
class Mapped:
    """A request or an answer being mapped: its headers and query pairs (in order), path, status."""

    headers: list[tuple[str, str]]
    query: list[tuple[str, str]]
    path: str | None = None
    status: int | None = None


def apply(parameters: Mapping[str, Any] | None, target: Mapped, resolve: Callable[[str], str | None]) -> Mapped:
    """``parameters`` (one map of keys to values) applied to ``target``; ``resolve`` gives an
    expression's value (``request.header.x``...) or None."""
    for key, raw in (parameters or {}).items():
        matched = _KEY.match(str(key))
        if matched is None:
            continue
        action, where, name = (matched[1], matched[2], matched[3]) if matched[1] else (matched[4], matched[5], "")
        if action == "remove":
            _remove(target, where, name)
            continue
        value = value_of(str(raw), resolve)
        if value is None:
            continue
        if where == "path":
            target.path = value if value.startswith("/") else "/" + value
        elif where == "statuscode":
            if value.strip().isdigit():
                target.status = int(value)
        elif where == "header":
            if action == "overwrite":
                _remove(target, where, name)
            target.headers.append((name, value))
        else:
            if action == "overwrite":
                _remove(target, where, name)
            target.query.append((name, value))
    return target


def _remove(target: Mapped, where: str, name: str) -> None:
    if where == "header":
        target.headers = [(k, v) for k, v in target.headers if k.lower() != name.lower()]
    elif where == "querystring":
        target.query = [(k, v) for k, v in target.query if k != name]


def value_of(raw: str, resolve: Callable[[str], str | None]) -> str | None:
    """A mapping value: a static string, one ``$expression``, or ``${...}`` parts in a string."""
    if _BRACED.search(raw):
        return _BRACED.sub(lambda m: resolve(m[1].strip()) or "", raw)
    if raw.startswith("$"):
        return resolve(raw[1:])
    return raw


def request_resolver(headers: Sequence[tuple[str, str]], query: Sequence[tuple[str, str]], body: bytes,
                     path: str, path_params: Mapping[str, str], context: Mapping[str, Any],
                     stage_variables: Mapping[str, str]) -> Callable[[str], str | None]:
    """Resolves the ``request.*``, ``context.*`` and ``stageVariables.*`` expressions of a request."""
    def resolve(expression: str) -> str | None:
        source, _, name = expression.partition(".")
        if source == "request":
            kind, _, rest = name.partition(".")
            if kind == "header":
                return _joined(headers, rest, fold=True)
            if kind == "querystring":
                return _joined(query, rest, fold=False)
            if kind == "body":
                return _body_value(body, rest)
            if kind == "path":
                return path if not rest else path_params.get(rest)
            return None
        return _common(source, name, context, stage_variables)

    return resolve


def response_resolver(headers: Sequence[tuple[str, str]], body: bytes, context: Mapping[str, Any],
                      stage_variables: Mapping[str, str]) -> Callable[[str], str | None]:
    """Resolves the ``response.*``, ``context.*`` and ``stageVariables.*`` expressions of an answer."""
    def resolve(expression: str) -> str | None:
        source, _, name = expression.partition(".")
        if source == "response":
            kind, _, rest = name.partition(".")
            if kind == "header":
                return _joined(headers, rest, fold=True)
            if kind == "body":
                return _body_value(body, rest)
            return None
        return _common(source, name, context, stage_variables)

    return resolve


def _joined(pairs: Sequence[tuple[str, str]], name: str, *, fold: bool) -> str | None:
    """Every value of ``name`` joined by commas, as API Gateway joins repeated headers and query
    strings (``fold``: any case, as header names are); None when there is none."""
    wanted = name.lower() if fold else name
    found = [value for key, value in pairs if (key.lower() if fold else key) == wanted]
    return ",".join(found) if found else None


def _common(source: str, name: str, context: Mapping[str, Any], stage_variables: Mapping[str, str]) -> str | None:
    if source == "stageVariables":
        return stage_variables.get(name)
    if source == "context":
        value: Any = context
        for part in name.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return None if value is None or isinstance(value, (Mapping, list)) else str(value)
    return None


def _body_value(body: bytes, path: str) -> str | None:
    if not path:
        return body.decode(errors="replace")
    try:
        document = json.loads(body[:100 * 1024])  # AWS: a JSON path reads the first 100 KB
        found = jsonpath.evaluate(document, "$." + path)
    except (ValueError, jsonpath.JsonPathError):
        return None
    if found is jsonpath.MISSING or found is None:
        return None
    return found if isinstance(found, str) else json.dumps(found, separators=(",", ":"))
