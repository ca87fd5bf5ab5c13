"""The events the HTTP front doors send a function, built from an :class:`~.request.HttpRequest`.

Pure (the clock and the ids come in as arguments) and standard library only. Shapes, field by
field, from AWS's documentation:

* API Gateway REST API, Lambda proxy integration (payload 1.0, ``requestContext``):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
* API Gateway HTTP API, payload 2.0 and 1.0:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
* Lambda function URLs (request and response payloads):
  https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html
* Application Load Balancer, Lambda targets (event, multi-value headers, base64 rule):
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html
* REST API binary media types:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html

Choices where the documentation is silent (each mirrors what the services are seen to send):

* Every builder adds the forwarding headers the services add: ``X-Forwarded-For`` (the client's
  chain with the source IP appended), ``X-Forwarded-Port`` (the Host's port, else the scheme's),
  ``X-Forwarded-Proto`` and ``X-Amzn-Trace-Id`` (the client's when it sent one; else
  ``trace_id``, or for API Gateway and function URLs one derived from the clock and request id).
* REST ``headers`` / ``queryStringParameters`` keep the last value of a repeated name (the
  documented rule for query strings, applied to headers too); names differing only in case are
  merged under the first spelling. ``headers``, ``multiValueHeaders``, the query fields,
  ``pathParameters`` and ``stageVariables`` are null when empty, as in a console test invoke.
* The builders send ``req.path`` / ``raw_path`` as the caller gives them. The front door gives
  what live captures show (github.com/hotsock/voker/pull/8): REST APIs, function URLs and ALBs
  send the path as the client sent it, percent-encoded; HTTP APIs decode ``rawPath``.
  ``pathParameters`` are decoded; ``requestContext.http.path`` is the decoded ``rawPath``.
* ``resourceId`` is derived from the API id and resource (stable, six hex digits);
  ``domainPrefix`` is the first label of ``domainName``, as API Gateway defines it.
* HTTP APIs lower-case header names in both payload versions; in payload 1.0 ``path`` keeps the
  stage (HTTP APIs have no base path stripping) and ``resourceId`` is null, as documented.
* Function URLs: ``domainName`` is the Host the client called (locally ``localhost:9000`` or
  ``<url-id>.lambda-url.<region>.localhost...``), so links a function builds from it work;
  Powertools' model only asks for a string. ``domainPrefix`` and ``apiId`` are the URL id.
  ``accountId`` is ``"anonymous"`` for AuthType NONE; for AWS_IAM it is the caller's account and
  ``authorizer.iam`` carries the caller (as the doc lists).
* The ALB keeps ``path`` and the query as sent (it decodes neither) and always sends
  ``queryStringParameters`` (``{}`` when empty) and ``body`` (``""`` when empty).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from emulator.frontdoor.request import HttpRequest

__all__ = [
    "alb_event",
    "clf_time",
    "default_trace_id",
    "function_url_domain",
    "function_url_event",
    "http_api_event",
    "http_api_v1_event",
    "is_binary",
    "is_binary_content",
    "rest_event",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: the content types HTTP APIs, function URLs and ALBs pass as text; any other body (a missing
#: Content-Type and application/x-www-form-urlencoded included) arrives base64-encoded
_TEXT_TYPES = ("application/json", "application/javascript", "application/xml")
_IDENTITY_NULLS = ("accessKey", "accountId", "caller", "cognitoAuthenticationProvider", "cognitoAuthenticationType",
                   "cognitoIdentityId", "cognitoIdentityPoolId", "principalOrgId")
_IAM_KEYS = ("accessKey", "accountId", "callerId", "cognitoIdentity", "principalOrgId", "userArn", "userId")


# --------------------------------------------------------------------------- shared pieces


def clf_time(now: float) -> str:
    """API Gateway's request time, ``04/Dec/2026:07:21:17 +0000`` (English months, any locale)."""
    moment = datetime.fromtimestamp(now, UTC)
    return f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment:%Y:%H:%M:%S} +0000"


def _epoch_ms(now: float) -> int:
    return int(now * 1000)


def default_trace_id(now: float, request_id: str) -> str:
    """An X-Ray trace header for a request that came without one (stable for the same inputs)."""
    return f"Root=1-{int(now):08x}-{hashlib.sha256(request_id.encode()).hexdigest()[:24]}"


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_binary(content_type: str | None, binary_media_types: Sequence[str]) -> bool:
    """Whether a REST API treats a body of ``content_type`` as binary: it matches one of the
    API's ``binaryMediaTypes`` (``image/png``, ``image/*``, ``*/*``; ``~1`` read as ``/``, as the
    API stores it). Without a Content-Type only ``*/*`` matches."""
    media = _media_type(content_type)
    for pattern in binary_media_types:
        wanted = pattern.replace("~1", "/").strip().lower()
        if wanted == "*/*":
            return True
        if not media:
            continue
        if wanted == media or (wanted.endswith("/*") and media.startswith(wanted[:-1])):
            return True
    return False


def is_binary_content(content_type: str | None) -> bool:
    """Whether HTTP APIs, function URLs and ALBs base64-encode a body of ``content_type``: all
    but ``text/*``, ``application/json``, ``application/javascript`` and ``application/xml``."""
    media = _media_type(content_type)
    return not (media.startswith("text/") or media in _TEXT_TYPES)


def _body(req: HttpRequest, binary: bool) -> tuple[str | None, bool]:
    if not req.body:
        return None, False
    if binary:
        return base64.b64encode(req.body).decode("ascii"), True
    return req.body.decode("utf-8", "replace"), False


def _default_port(req: HttpRequest) -> str:
    host = req.header("host") or req.host
    if host.rsplit("]", 1)[-1].count(":") == 1:
        port = host.rsplit(":", 1)[1]
        if port.isdigit():
            return port
    return "443" if req.scheme == "https" else "80"


def _forwarded(req: HttpRequest, trace_id: str | None) -> list[tuple[str, str]]:
    """The request's headers with the forwarding headers the services set."""
    dropped = {"x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"}
    headers = [(name, value) for name, value in req.headers if name.lower() not in dropped]
    chain = [value for value in req.header_values("x-forwarded-for") if value.strip()]
    if req.header("x-amzn-trace-id") is None and trace_id:
        headers.append(("X-Amzn-Trace-Id", trace_id))
    headers.append(("X-Forwarded-For", ", ".join([*chain, req.source_ip])))
    headers.append(("X-Forwarded-Port", _default_port(req)))
    headers.append(("X-Forwarded-Proto", req.scheme))
    return headers


def _merged(headers: Sequence[tuple[str, str]], *, lower: bool) -> dict[str, list[str]]:
    spelling: dict[str, str] = {}
    merged: dict[str, list[str]] = {}
    for name, value in headers:
        key = name.lower() if lower else spelling.setdefault(name.lower(), name)
        merged.setdefault(key, []).append(value)
    return merged


def _grouped(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


def _domain_prefix(domain_name: str) -> str:
    return domain_name.split(".", 1)[0].split(":", 1)[0]


def _resource_id(api_id: str, resource: str) -> str:
    return hashlib.sha256(f"{api_id} {resource}".encode()).hexdigest()[:6]


def _identity(req: HttpRequest) -> dict[str, Any]:
    identity: dict[str, Any] = dict.fromkeys(_IDENTITY_NULLS)
    identity["sourceIp"] = req.source_ip
    identity["user"] = None
    identity["userAgent"] = req.header("user-agent")
    identity["userArn"] = None
    return identity


def _v1_fields(headers: Sequence[tuple[str, str]], req: HttpRequest, *, lower: bool) -> dict[str, Any]:
    """``headers`` ... ``multiValueQueryStringParameters`` of payload 1.0 (null when empty)."""
    multi_headers = _merged(headers, lower=lower)
    multi_query = _grouped(req.query_pairs())
    return {
        "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
    }


# --------------------------------------------------------------------------- API Gateway REST


def rest_event(req: HttpRequest, *, resource: str, path_parameters: Mapping[str, str] | None, stage: str,
               stage_variables: Mapping[str, str] | None, api_id: str, account_id: str, request_id: str,
               extended_request_id: str, now: float, binary: bool, authorizer: Mapping[str, Any] | None = None,
               domain_name: str, trace_id: str | None = None) -> dict[str, Any]:
    """The Lambda proxy integration event (payload 1.0) of a REST API request on ``resource``
    (``/items/{id}``, ``/{proxy+}``); ``req.path`` is the path without the stage and ``binary``
    the answer of :func:`is_binary` for the API's binary media types."""
    headers = _forwarded(req, trace_id or default_trace_id(now, request_id))
    body, encoded = _body(req, binary)
    context: dict[str, Any] = {"accountId": account_id, "apiId": api_id}
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    context.update({
        "domainName": domain_name,
        "domainPrefix": _domain_prefix(domain_name),
        "extendedRequestId": extended_request_id,
        "httpMethod": req.method,
        "identity": _identity(req),
        "path": f"/{stage}{req.path}",
        "protocol": "HTTP/1.1",
        "requestId": request_id,
        "requestTime": clf_time(now),
        "requestTimeEpoch": _epoch_ms(now),
        "resourceId": _resource_id(api_id, resource),
        "resourcePath": resource,
        "stage": stage,
    })
    return {
        "resource": resource,
        "path": req.path,
        "httpMethod": req.method,
        **_v1_fields(headers, req, lower=False),
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": dict(stage_variables) if stage_variables else None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": encoded,
    }


# --------------------------------------------------------------------------- API Gateway HTTP API


def _v2_event(req: HttpRequest, headers: Sequence[tuple[str, str]], *, route_key: str, raw_path: str,
              http_path: str, context: dict[str, Any], request_id: str, stage: str, now: float,
              path_parameters: Mapping[str, str] | None, stage_variables: Mapping[str, str] | None,
              binary: bool) -> dict[str, Any]:
    """Payload 2.0: lower-case header names, repeats joined with commas, cookies apart, absent
    fields left out. ``context`` holds the first ``requestContext`` keys (accountId ...
    domainPrefix)."""
    joined = {name: ",".join(values) for name, values in _merged(headers, lower=True).items() if name != "cookie"}
    event: dict[str, Any] = {"version": "2.0", "routeKey": route_key, "rawPath": raw_path,
                             "rawQueryString": req.raw_query}
    cookies = req.cookies()
    if cookies:
        event["cookies"] = cookies
    event["headers"] = joined
    query = _grouped(req.query_pairs())
    if query:
        event["queryStringParameters"] = {name: ",".join(values) for name, values in query.items()}
    event["requestContext"] = {
        **context,
        "http": {"method": req.method, "path": http_path, "protocol": "HTTP/1.1", "sourceIp": req.source_ip,
                 "userAgent": req.header("user-agent") or ""},
        "requestId": request_id,
        "routeKey": route_key,
        "stage": stage,
        "time": clf_time(now),
        "timeEpoch": _epoch_ms(now),
    }
    body, encoded = _body(req, binary)
    if body is not None:
        event["body"] = body
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    event["isBase64Encoded"] = encoded
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    return event


def http_api_event(req: HttpRequest, *, route_key: str, raw_path: str, stage: str,
                   path_parameters: Mapping[str, str] | None, stage_variables: Mapping[str, str] | None,
                   api_id: str, account_id: str, request_id: str, now: float, binary: bool,
                   authorizer: Mapping[str, Any] | None = None, domain_name: str,
                   trace_id: str | None = None) -> dict[str, Any]:
    """The HTTP API event, payload format 2.0, of a request on ``route_key`` (``GET /items/{id}``
    or ``$default``); ``raw_path`` is the path as sent, stage included when it is not
    ``$default``; ``binary`` the answer of :func:`is_binary_content`."""
    headers = _forwarded(req, trace_id or default_trace_id(now, request_id))
    context: dict[str, Any] = {"accountId": account_id, "apiId": api_id}
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    context.update({"domainName": domain_name, "domainPrefix": _domain_prefix(domain_name)})
    return _v2_event(req, headers, route_key=route_key, raw_path=raw_path, http_path=unquote(raw_path),
                     context=context, request_id=request_id, stage=stage, now=now,
                     path_parameters=path_parameters, stage_variables=stage_variables, binary=binary)


def http_api_v1_event(req: HttpRequest, *, route_key: str, raw_path: str, stage: str,
                      path_parameters: Mapping[str, str] | None, stage_variables: Mapping[str, str] | None,
                      api_id: str, account_id: str, request_id: str, now: float, binary: bool,
                      authorizer: Mapping[str, Any] | None = None, domain_name: str,
                      trace_id: str | None = None) -> dict[str, Any]:
    """The HTTP API event, payload format 1.0: the REST shape with ``version`` 1.0, lower-case
    header names, ``path`` as sent (stage included), ``resource`` the route's path and a null
    ``resourceId``."""
    headers = _forwarded(req, trace_id or default_trace_id(now, request_id))
    resource = route_key.split(" ", 1)[1] if " " in route_key else route_key
    path = unquote(raw_path)
    body, encoded = _body(req, binary)
    context: dict[str, Any] = {"accountId": account_id, "apiId": api_id}
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    context.update({
        "domainName": domain_name,
        "domainPrefix": _domain_prefix(domain_name),
        "extendedRequestId": request_id,
        "httpMethod": req.method,
        "identity": _identity(req),
        "path": path,
        "protocol": "HTTP/1.1",
        "requestId": request_id,
        "requestTime": clf_time(now),
        "requestTimeEpoch": _epoch_ms(now),
        "resourceId": None,
        "resourcePath": resource,
        "stage": stage,
    })
    return {
        "version": "1.0",
        "resource": resource,
        "path": path,
        "httpMethod": req.method,
        **_v1_fields(headers, req, lower=True),
        "requestContext": context,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": dict(stage_variables) if stage_variables else None,
        "body": body,
        "isBase64Encoded": encoded,
    }


# --------------------------------------------------------------------------- Lambda function URLs


def function_url_event(req: HttpRequest, *, url_id: str, region: str, account_id: str, request_id: str,
                       now: float, binary: bool, auth_type: str, iam: Mapping[str, Any] | None = None,
                       trace_id: str | None = None) -> dict[str, Any]:
    """The event Lambda sends for a request to a function URL (payload 2.0, ``$default`` route
    and stage). ``auth_type`` is NONE or AWS_IAM; for AWS_IAM ``iam`` describes the caller
    (accessKey, accountId, callerId, principalOrgId, userArn, userId)."""
    if auth_type not in ("NONE", "AWS_IAM"):
        raise ValueError(f"auth_type must be NONE or AWS_IAM, not {auth_type!r}")
    headers = _forwarded(req, trace_id or default_trace_id(now, request_id))
    context: dict[str, Any] = {"apiId": url_id}
    if auth_type == "AWS_IAM":
        caller = {key: None for key in _IAM_KEYS} | dict(iam or {})
        context = {"accountId": caller["accountId"] or account_id, **context,
                   "authorizer": {"iam": caller}}
    else:
        context = {"accountId": "anonymous", **context}
    context.update({"domainName": req.host or function_url_domain(url_id, region), "domainPrefix": url_id})
    return _v2_event(req, headers, route_key="$default", raw_path=req.raw_path, http_path=req.path,
                     context=context, request_id=request_id, stage="$default", now=now,
                     path_parameters=None, stage_variables=None, binary=binary)


def function_url_domain(url_id: str, region: str) -> str:
    """The domain AWS gives a function URL (``<url-id>.lambda-url.<region>.on.aws``)."""
    return f"{url_id}.lambda-url.{region}.on.aws"


# --------------------------------------------------------------------------- ALB


def _raw_query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """The query's pairs as sent: the ALB decodes neither names nor values."""
    pairs = []
    for part in raw_query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((name, value))
    return pairs


def alb_event(req: HttpRequest, *, target_group_arn: str, multi_value: bool, binary: bool,
              trace_id: str | None = None) -> dict[str, Any]:
    """The event an ALB sends a Lambda target: lower-case header names; with ``multi_value``
    (the target group's ``lambda.multi_value_headers.enabled``) every value in
    ``multiValueHeaders`` / ``multiValueQueryStringParameters``, else the last one in
    ``headers`` / ``queryStringParameters``. ``binary`` is the answer of
    :func:`is_binary_content`."""
    headers = _merged(_forwarded(req, trace_id), lower=True)
    query = _grouped(_raw_query_pairs(req.raw_query))
    event: dict[str, Any] = {"requestContext": {"elb": {"targetGroupArn": target_group_arn}},
                             "httpMethod": req.method, "path": req.raw_path}
    if multi_value:
        event["multiValueQueryStringParameters"] = query
        event["multiValueHeaders"] = headers
    else:
        event["queryStringParameters"] = {name: values[-1] for name, values in query.items()}
        event["headers"] = {name: values[-1] for name, values in headers.items()}
    body, encoded = _body(req, binary)
    event["body"] = body or ""
    event["isBase64Encoded"] = encoded
    return event
