"""A function's result, mapped to the HTTP answer each front door gives its client.

Pure and standard library only. Each mapper takes the invocation's payload (the bytes the
function returned) and its ``FunctionError`` (None when the function succeeded) and returns an
:class:`HttpResponse`: the function's response when its shape is one the service accepts, else
the service's own error answer. Sources (and the choices where they are silent) are in
:mod:`emulator.frontdoor.events`'s docstring and below:

* REST API proxy output format, "If the function output is of a different format, API Gateway
  returns a 502": set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-output-format.
  Unknown keys are refused too (a ``cookies`` key is a known "Malformed Lambda proxy response");
  ``statusCode`` may be a number or a numeric string; header values and a ``body`` that are
  numbers or booleans are taken as their JSON text (API Gateway's JSON binding coerces scalars),
  objects and arrays are malformed. ``isBase64Encoded`` bodies are decoded when the request's
  ``Accept`` or the response's ``Content-Type`` matches the API's binary media types, else sent
  as the base64 text (a failing decode is API_CONFIGURATION_ERROR, 500).
* HTTP API payload 2.0 and function URLs infer the response when there is no ``statusCode``
  (http-api-develop-integrations-lambda.html#http-api-develop-integrations-lambda.v2,
  urls-invocation.html#urls-response-payload): 200, ``application/json``, the payload as sent
  (a string result keeps its quotes, as the doc's ``content-length: 15`` shows). Unknown keys
  are ignored; ``cookies`` become ``Set-Cookie`` headers.
* ALB: elasticloadbalancing/latest/application/lambda-functions.html#respond-to-load-balancer
  (``multiValueHeaders`` is read when the target group enables multi-value headers, ``headers``
  otherwise) and load-balancer-troubleshooting.html (413 over 1 MB in, 502 over 1 MB out or
  malformed). Error pages are ALB's HTML with ``Server: awselb/2.0``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from emulator.frontdoor.events import is_binary

__all__ = [
    "ALB_PAYLOAD_LIMIT",
    "API_GATEWAY_PAYLOAD_LIMIT",
    "FUNCTION_URL_PAYLOAD_LIMIT",
    "HttpResponse",
    "StreamedResponse",
    "alb_error",
    "alb_response",
    "function_url_error",
    "function_url_response",
    "http_api_error",
    "http_api_response",
    "missing_route_http_api",
    "missing_route_rest",
    "payload_too_large_alb",
    "payload_too_large_function_url",
    "payload_too_large_http_api",
    "payload_too_large_rest",
    "rest_error",
    "rest_headers",
    "rest_response",
    "timeout_alb",
    "timeout_http_api",
    "timeout_rest",
]

#: API Gateway's payload limit (REST and HTTP APIs)
API_GATEWAY_PAYLOAD_LIMIT = 10 * 1024 * 1024
#: a function URL's request and response payload limit (that of a synchronous Invoke)
FUNCTION_URL_PAYLOAD_LIMIT = 6 * 1024 * 1024
#: an ALB's limit on the request body and on the response JSON of a Lambda target
ALB_PAYLOAD_LIMIT = 1024 * 1024

_REST_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
_JSON = "application/json"


@dataclass(frozen=True)
class HttpResponse:
    """An HTTP answer: status, headers (in order, repeats kept) and body; ``reason`` the
    status line's reason phrase when it is not the standard one (an ALB target's
    ``statusDescription``)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    reason: str | None = None

    def header(self, name: str) -> str | None:
        """The first value of the header ``name`` (any case), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def header_values(self, name: str) -> list[str]:
        """Every value of the header ``name`` (any case)."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


@dataclass(frozen=True)
class StreamedResponse:
    """An HTTP answer whose body is sent chunk by chunk as it comes (chunked transfer encoding);
    ``abandon`` is called when the client leaves before the end."""

    status: int
    headers: tuple[tuple[str, str], ...]
    chunks: AsyncIterator[bytes]
    abandon: Callable[[], None] = lambda: None


class _Malformed(Exception):
    """The function's result is not a shape the service accepts."""


# --------------------------------------------------------------------------- parsing


def _load(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise _Malformed("not JSON") from None


def _text(value: Any, what: str) -> str:
    """A header value or body: a string, or a scalar taken as its JSON text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    raise _Malformed(f"{what} must be a string")


def _status(value: Any, *, strings: bool) -> int:
    if isinstance(value, bool):
        raise _Malformed("statusCode must be a number")
    if isinstance(value, str) and strings and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or not 100 <= value <= 599:
        raise _Malformed("statusCode must be an HTTP status")
    return value


def _single_headers(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise _Malformed("headers must be an object")
    return [(str(name), _text(item, "a header value")) for name, item in value.items() if item is not None]


def _multi_headers(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise _Malformed("multiValueHeaders must be an object")
    headers: list[tuple[str, str]] = []
    for name, items in value.items():
        if items is None:
            continue
        if not isinstance(items, list):
            raise _Malformed("multiValueHeaders values must be arrays")
        headers.extend((str(name), _text(item, "a header value")) for item in items if item is not None)
    return headers


def _merge(single: list[tuple[str, str]], multi: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` and ``multiValueHeaders`` merged: a name in both keeps the multi values."""
    names = {name.lower() for name, _ in multi}
    return [pair for pair in single if pair[0].lower() not in names] + multi


def _flag(value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _Malformed("isBase64Encoded must be a boolean")
    return value


def _body(value: Any) -> str:
    return "" if value is None else _text(value, "body")


def _decode(body: str) -> bytes:
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise _Malformed("body is not base64") from None


def _has(headers: Sequence[tuple[str, str]], name: str) -> bool:
    return any(key.lower() == name for key, _ in headers)


def _json_answer(status: int, message: str, extra: Sequence[tuple[str, str]] = (), *,
                 spaced: bool = False) -> HttpResponse:
    body = json.dumps({"message": message}, separators=(", ", ": ") if spaced else (",", ":"))
    return HttpResponse(status, (("Content-Type", _JSON), *extra), body.encode())


# --------------------------------------------------------------------------- API Gateway REST


def rest_headers(request_id: str, extended_request_id: str, trace_id: str) -> tuple[tuple[str, str], ...]:
    """The ids every REST API answer carries."""
    return _rest_headers(request_id, extended_request_id, trace_id)


def _rest_headers(request_id: str, extended_request_id: str, trace_id: str) -> tuple[tuple[str, str], ...]:
    return (("x-amzn-RequestId", request_id), ("x-amz-apigw-id", extended_request_id), ("X-Amzn-Trace-Id", trace_id))


def rest_error(status: int, message: str, error_type: str, *, request_id: str, extended_request_id: str,
               trace_id: str, spaced: bool = True) -> HttpResponse:
    """A REST API gateway response: ``{"message": ...}`` with ``x-amzn-ErrorType``."""
    return _json_answer(status, message, (*_rest_headers(request_id, extended_request_id, trace_id),
                                          ("x-amzn-ErrorType", error_type)), spaced=spaced)


def rest_response(payload: bytes, *, function_error: str | None, request_id: str, extended_request_id: str,
                  trace_id: str, binary_media_types: Sequence[str] = (), accept: str | None = None) -> HttpResponse:
    """What a REST API answers for a Lambda proxy integration's result: the function's response,
    or 502 ``{"message": "Internal server error"}`` for a function error or a malformed result
    (500 when a base64 body to convert does not decode)."""
    def internal(status: int) -> HttpResponse:
        return rest_error(status, "Internal server error", "InternalServerErrorException", request_id=request_id,
                          extended_request_id=extended_request_id, trace_id=trace_id)

    if function_error is not None:
        return internal(502)
    try:
        result = _load(payload)
        if not isinstance(result, dict) or not set(result) <= _REST_KEYS or "statusCode" not in result:
            raise _Malformed("not a proxy response")
        status = _status(result["statusCode"], strings=True)
        headers = _merge(_single_headers(result.get("headers")), _multi_headers(result.get("multiValueHeaders")))
        body = _body(result.get("body"))
        encoded = _flag(result.get("isBase64Encoded"))
    except _Malformed:
        return internal(502)
    content_type = next((value for name, value in headers if name.lower() == "content-type"), None)
    data = body.encode()
    if encoded and (is_binary(content_type, binary_media_types)
                    or any(is_binary(kind, binary_media_types) for kind in (accept or "").split(",") if kind.strip())):
        try:
            data = _decode(body)
        except _Malformed:
            return internal(500)
    if content_type is None:
        headers.insert(0, ("Content-Type", _JSON))
    return HttpResponse(status, (*headers, *_rest_headers(request_id, extended_request_id, trace_id)), data)


def missing_route_rest(*, request_id: str, extended_request_id: str, trace_id: str) -> HttpResponse:
    """No resource or method matches: 403 Missing Authentication Token."""
    return rest_error(403, "Missing Authentication Token", "MissingAuthenticationTokenException",
                      request_id=request_id, extended_request_id=extended_request_id, trace_id=trace_id,
                      spaced=False)


def timeout_rest(*, request_id: str, extended_request_id: str, trace_id: str) -> HttpResponse:
    """The integration did not answer within the timeout (29 s by default): 504."""
    return rest_error(504, "Endpoint request timed out", "InternalServerErrorException",
                      request_id=request_id, extended_request_id=extended_request_id, trace_id=trace_id)


def payload_too_large_rest(*, request_id: str, extended_request_id: str, trace_id: str) -> HttpResponse:
    """A request over :data:`API_GATEWAY_PAYLOAD_LIMIT`: 413 (REQUEST_TOO_LARGE)."""
    return rest_error(413, "Request Too Long", "RequestTooLargeException", request_id=request_id,
                      extended_request_id=extended_request_id, trace_id=trace_id, spaced=False)


# --------------------------------------------------------------------------- API Gateway HTTP API


def http_api_error(status: int, message: str, *, request_id: str) -> HttpResponse:
    """An HTTP API's own answer: ``{"message":...}`` with ``apigw-requestid``."""
    return _json_answer(status, message, (("apigw-requestid", request_id),))


def _v2_response(payload: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Payload 2.0 inference, shared by HTTP APIs and function URLs (raises :class:`_Malformed`)."""
    result = _load(payload)
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, [("Content-Type", _JSON)], payload
    status = _status(result["statusCode"], strings=False)
    headers = _single_headers(result.get("headers"))
    cookies = result.get("cookies")
    if cookies is not None:
        if not isinstance(cookies, list) or not all(isinstance(cookie, str) for cookie in cookies):
            raise _Malformed("cookies must be an array of strings")
        headers.extend(("Set-Cookie", cookie) for cookie in cookies)
    body = _body(result.get("body"))
    return status, headers, _decode(body) if _flag(result.get("isBase64Encoded")) else body.encode()


def _v1_response(payload: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Payload 1.0 on an HTTP API: the REST output format, no inference, base64 always decoded."""
    result = _load(payload)
    if not isinstance(result, dict) or "statusCode" not in result:
        raise _Malformed("not a proxy response")
    status = _status(result["statusCode"], strings=True)
    headers = _merge(_single_headers(result.get("headers")), _multi_headers(result.get("multiValueHeaders")))
    body = _body(result.get("body"))
    data = _decode(body) if _flag(result.get("isBase64Encoded")) else body.encode()
    if not _has(headers, "content-type"):
        headers.insert(0, ("Content-Type", _JSON))
    return status, headers, data


def http_api_response(payload: bytes, *, function_error: str | None, request_id: str,
                      format_version: str = "2.0") -> HttpResponse:
    """What an HTTP API answers for its Lambda integration's result (payload ``format_version``
    2.0 or 1.0): the function's response, or 500 ``{"message":"Internal Server Error"}`` for a
    function error or a result it cannot map."""
    if format_version not in ("1.0", "2.0"):
        raise ValueError(f"format_version must be 1.0 or 2.0, not {format_version!r}")
    if function_error is not None:
        return http_api_error(500, "Internal Server Error", request_id=request_id)
    try:
        status, headers, body = (_v2_response if format_version == "2.0" else _v1_response)(payload)
    except _Malformed:
        return http_api_error(500, "Internal Server Error", request_id=request_id)
    return HttpResponse(status, (*headers, ("apigw-requestid", request_id)), body)


def missing_route_http_api(*, request_id: str) -> HttpResponse:
    """No route matches (and no ``$default`` route): 404 ``{"message":"Not Found"}``."""
    return http_api_error(404, "Not Found", request_id=request_id)


def timeout_http_api(*, request_id: str) -> HttpResponse:
    """The integration did not answer within the timeout: 503 ``{"message":"Service Unavailable"}``."""
    return http_api_error(503, "Service Unavailable", request_id=request_id)


def payload_too_large_http_api(*, request_id: str) -> HttpResponse:
    """A request over :data:`API_GATEWAY_PAYLOAD_LIMIT`: 413."""
    return http_api_error(413, "Request Entity Too Large", request_id=request_id)


# --------------------------------------------------------------------------- Lambda function URLs


def function_url_error(status: int, text: str, *, request_id: str) -> HttpResponse:
    """A function URL's own answer: a bare text body (``Internal Server Error``) labelled
    ``application/json``, as Lambda sends it, with ``x-amzn-RequestId``."""
    return HttpResponse(status, (("Content-Type", _JSON), ("x-amzn-RequestId", request_id)), text.encode())


def function_url_response(payload: bytes, *, function_error: str | None, request_id: str) -> HttpResponse:
    """What a function URL answers: the function's (inferred) response, or 502
    ``Internal Server Error`` for a function error or a result it cannot map."""
    if function_error is not None:
        return function_url_error(502, "Internal Server Error", request_id=request_id)
    try:
        status, headers, body = _v2_response(payload)
    except _Malformed:
        return function_url_error(502, "Internal Server Error", request_id=request_id)
    return HttpResponse(status, (*headers, ("x-amzn-RequestId", request_id)), body)


def payload_too_large_function_url(*, request_id: str) -> HttpResponse:
    """A request over :data:`FUNCTION_URL_PAYLOAD_LIMIT`: 413."""
    return function_url_error(413, "Request Entity Too Large", request_id=request_id)


# --------------------------------------------------------------------------- ALB

_REASONS = {413: "Request Entity Too Large", 502: "Bad Gateway", 503: "Service Temporarily Unavailable",
            504: "Gateway Timeout"}


def alb_error(status: int) -> HttpResponse:
    """The HTML page an ALB answers with itself (``Server: awselb/2.0``)."""
    title = f"{status} {_REASONS.get(status, 'Error')}"
    page = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n")
    return HttpResponse(status, (("Server", "awselb/2.0"), ("Content-Type", "text/html")), page.encode())


def alb_response(payload: bytes, *, function_error: str | None, multi_value: bool) -> HttpResponse:
    """What an ALB answers for a Lambda target's result: the function's response (its
    ``multiValueHeaders`` when ``multi_value``, else its ``headers``), or the 502 page for a
    function error, a malformed result or one over :data:`ALB_PAYLOAD_LIMIT`."""
    if function_error is not None or len(payload) > ALB_PAYLOAD_LIMIT:
        return alb_error(502)
    try:
        result = _load(payload)
        if not isinstance(result, dict) or "statusCode" not in result:
            raise _Malformed("not a target response")
        status = _status(result["statusCode"], strings=False)
        description = result.get("statusDescription")
        if description is not None and not isinstance(description, str):
            raise _Malformed("statusDescription must be a string")
        headers = (_multi_headers(result.get("multiValueHeaders")) if multi_value
                   else _single_headers(result.get("headers")))
        body = _body(result.get("body"))
        data = _decode(body) if _flag(result.get("isBase64Encoded")) else body.encode()
    except _Malformed:
        return alb_error(502)
    return HttpResponse(status, tuple(headers), data, _reason(status, description))


def _reason(status: int, description: str | None) -> str | None:
    """The reason phrase an ALB sends for ``statusDescription`` ("200 OK" -> "OK"): printable
    characters only, at most 100."""
    if not description:
        return None
    text = description.removeprefix(f"{status} ").strip() if description.startswith(f"{status} ") else description
    cleaned = "".join(c for c in text if " " <= c <= "~")[:100]
    return cleaned or None


def timeout_alb() -> HttpResponse:
    """The function did not answer before its timeout: the 502 page."""
    return alb_error(502)


def payload_too_large_alb() -> HttpResponse:
    """A request body over :data:`ALB_PAYLOAD_LIMIT`: the 413 page."""
    return alb_error(413)
