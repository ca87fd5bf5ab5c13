"""A REST API non-proxy integration's mappings: which template maps a request or response,
which integration response answers, and the parameter mappings (``requestParameters``,
``responseParameters``), as API Gateway's developer guide describes them:

* request templates by the request's ``Content-Type`` (none: ``application/json``) and the
  ``passthroughBehavior`` (integration-passthrough-behaviors.html): a matching template maps the
  body; with none, ``WHEN_NO_MATCH`` passes the body as it is, ``WHEN_NO_TEMPLATES`` passes it only
  when the integration has no template at all, ``NEVER`` refuses; refusals are 415
  ``Unsupported Media Type``;
* the integration response whose ``selectionPattern`` (a regular expression matching the whole
  text) matches the Lambda function's ``errorMessage`` (Lambda non-proxy) or the backend's status
  code (HTTP, AWS services, MOCK), else the default one (no ``selectionPattern``);
* response templates by the request's ``Accept`` (its first media type with a template), else
  ``application/json``'s, else the first; the answer's ``Content-Type`` is the template's;
* parameter mappings from ``method.request.{path|querystring|multivaluequerystring|header|
  multivalueheader}.NAME``, ``method.request.body[.JSONPath]``, ``integration.response.header.NAME``,
  ``integration.response.body[.JSONPath]``, ``context.NAME``, ``stageVariables.NAME`` or a
  ``'static value'``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from emulator.frontdoor import jsonpath
from emulator.frontdoor.request import HttpRequest

__all__ = ["choose_response", "request_template", "response_template", "source_value", "target_parameters"]

log = logging.getLogger(__name__)


class Unsupported(Exception):
    """415: the passthrough behavior refuses the request's content type."""


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def request_template(integration: Mapping[str, Any], content_type: str | None) -> tuple[str, str] | None:
    """The (content type, template) that maps a request of ``content_type``; None: pass the body
    through. Raises Unsupported."""
    templates: Mapping[str, str] = integration.get("requestTemplates") or {}
    wanted = _media_type(content_type) or "application/json"
    for key, template in templates.items():
        if _media_type(key) == wanted:
            return key, template or ""
    behavior = integration.get("passthroughBehavior") or "WHEN_NO_MATCH"
    if behavior == "NEVER" or (behavior == "WHEN_NO_TEMPLATES" and templates):
        raise Unsupported(wanted)
    return None


def response_template(templates: Mapping[str, str] | None, accept: str | None) -> tuple[str, str] | None:
    """The (content type, template) of an integration response for a request accepting ``accept``."""
    if not templates:
        return None
    by_type = {_media_type(key): (key, template or "") for key, template in templates.items()}
    for part in (accept or "").split(","):
        media = _media_type(part)
        if media in by_type:
            return by_type[media]
    if "application/json" in by_type:
        return by_type["application/json"]
    first = next(iter(templates.items()))
    return first[0], first[1] or ""


def choose_response(responses: Mapping[str, Mapping[str, Any]], subject: str | None) -> Mapping[str, Any] | None:
    """The integration response for ``subject`` (the error message or status code; None: a
    Lambda success, which only the default takes), or None when none fits."""
    default = None
    for response in responses.values():
        pattern = response.get("selectionPattern")
        if not pattern:
            if default is None:
                default = response
            continue
        if subject is None:
            continue
        try:
            if re.fullmatch(pattern, subject):
                return response
        except re.error as error:
            log.warning("integration response %s: selectionPattern %r is not a regular expression: %s",
                        response.get("statusCode"), pattern, error)
    return default


def _static(source: str) -> str | None:
    if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    return None


def _body_path(body: bytes, path: str) -> str | None:
    try:
        document = json.loads(body) if body.strip() else {}
        found = jsonpath.evaluate(document, "$" + path)
    except (ValueError, jsonpath.JsonPathError):
        return None
    if found is jsonpath.MISSING:
        return None
    return found if isinstance(found, str) else json.dumps(found, separators=(",", ":"))


def _dotted(document: Any, name: str) -> Any:
    for part in name.split("."):
        if not isinstance(document, Mapping) or part not in document:
            return None
        document = document[part]
    return document


def _header(headers: Sequence[tuple[str, str]], name: str, *, every: bool = False) -> str | None:
    values = [v for k, v in headers if k.lower() == name.lower()]
    if not values:
        return None
    return ",".join(values) if every else values[-1]


def source_value(source: str, *, request: HttpRequest, path_params: Mapping[str, str], context: Mapping[str, Any],
                 stage_variables: Mapping[str, str], response_headers: Sequence[tuple[str, str]] = (),
                 response_body: bytes | None = None) -> str | None:
    """The value a parameter mapping's source expression names, or None."""
    static = _static(source)
    if static is not None:
        return static
    for prefix, body in (("method.request.body", request.body), ("integration.response.body", response_body)):
        if body is not None and (source == prefix or source.startswith(prefix + ".")):
            if source == prefix:
                return body.decode("utf-8", "replace")
            return _body_path(body, source[len(prefix):])
    kind, _, name = source.removeprefix("method.request.").partition(".")
    if source.startswith("method.request."):
        if kind == "path":
            return path_params.get(name)
        if kind in ("querystring", "multivaluequerystring"):
            values = [v for k, v in request.query_pairs() if k == name]
            if not values:
                return None
            return ",".join(values) if kind == "multivaluequerystring" else values[-1]
        if kind in ("header", "multivalueheader"):
            return _header(request.headers, name, every=kind == "multivalueheader")
        return None
    if source.startswith("integration.response.header."):
        return _header(response_headers, source.removeprefix("integration.response.header."))
    if source.startswith("integration.response.multivalueheader."):
        return _header(response_headers, source.removeprefix("integration.response.multivalueheader."), every=True)
    if source.startswith("context."):
        found = _dotted(context, source.removeprefix("context."))
        return None if found is None else str(found)
    if source.startswith("stageVariables."):
        return stage_variables.get(source.removeprefix("stageVariables."))
    return None


def target_parameters(mappings: Mapping[str, str] | None, prefix: str, **sources: Any) -> dict[str, dict[str, str]]:
    """``{"header": {...}, "querystring": {...}, "path": {...}}`` from ``mappings``'s targets
    ``{prefix}.{kind}.{name}`` (``integration.request`` or ``method.response``)."""
    found: dict[str, dict[str, str]] = {"header": {}, "querystring": {}, "path": {}}
    for target, source in (mappings or {}).items():
        if not target.startswith(prefix + "."):
            continue
        kind, _, name = target[len(prefix) + 1:].partition(".")
        kind = {"multivaluequerystring": "querystring", "multivalueheader": "header"}.get(kind, kind)
        if kind not in found or not name:
            continue
        value = source_value(str(source), **sources)
        if value is not None:
            found[kind][name] = value
    return found
