"""REST API (v1) non-proxy integrations served for real: ``MOCK``, ``AWS`` (Lambda non-proxy and
AWS service actions, :mod:`emulator.frontdoor.aws_services`), ``HTTP`` and ``HTTP_PROXY``.

A request goes through API Gateway's integration request (the request template chosen by
:mod:`emulator.frontdoor.mapping`, rendered by :mod:`emulator.frontdoor.vtl`; the
``requestParameters``; ``$context.requestOverride``), the backend, then the integration response
(``selectionPattern``, ``responseTemplates``, ``responseParameters``,
``$context.responseOverride``) that makes the method response. ``HTTP_PROXY`` passes the request
and the answer through as they are.

Errors are API Gateway's: a template that cannot be rendered, a backend that cannot be called or
an answer no integration response takes is 500 ``Internal server error`` (logged with the reason,
as the execution log says it), an unmapped content type 415, a JSON template on a body that is
not JSON 400, a backend past the integration timeout 504 ``Endpoint request timed out``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import httpx

from emulator.aws.clients import AwsClients
from emulator.domain.errors import LambdaError
from emulator.frontdoor import aws_services, events, http_proxy, mapping, responses, vtl
from emulator.frontdoor.apis import Api, Integration, Method, Route
from emulator.frontdoor.request import HttpRequest
from emulator.frontdoor.responses import HttpResponse
from emulator.invocation.invocation import Invocation
from emulator.invocation.service import InvokeService

__all__ = ["serve_integration"]

log = logging.getLogger(__name__)

_LAMBDA_URI = re.compile(r"^arn:aws[\w-]*:apigateway:[\w-]+:lambda:path/[\d-]+/functions/(?P<fn>.+)/invocations$")
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")


class _Answer(Exception):
    """Stop here and answer this."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


@dataclass(frozen=True)
class _Backend:
    """What the integration's backend answered."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    #: what selectionPattern is matched against (None: a Lambda success, only the default takes it)
    subject: str | None


@dataclass
class _Exchange:
    api: Api
    method: Method
    integration: Integration
    request: HttpRequest  # its path: without the stage
    resource_path: str
    path_params: Mapping[str, str]
    stage_variables: Mapping[str, str]
    ids: Mapping[str, str]
    context: vtl.JavaMap
    params: dict[str, dict[str, str]]

    def error(self, status: int, message: str, error_type: str) -> _Answer:
        return _Answer(_rest_error(status, message, error_type, self.ids))

    def internal(self, reason: str) -> _Answer:
        log.warning("execute-api %s %s %s: Execution failed: %s", self.api.id, self.method.http_method,
                    self.resource_path, reason)
        return self.error(500, "Internal server error", "InternalServerErrorException")

    def sources(self, **extra: Any) -> dict[str, Any]:
        return {"request": self.request, "path_params": self.path_params, "context": self.context,
                "stage_variables": self.stage_variables, **extra}

    def render(self, template: str, body: bytes) -> str:
        return vtl.render(template, body=body.decode("utf-8", "replace"), params=self.params, context=self.context,
                          stage_variables=self.stage_variables)


async def serve_integration(*, api: Api, route: Route, method: Method, path_params: Mapping[str, str], stage: str,
                            request: HttpRequest, raw_path: str, ids: Mapping[str, str], now: float,
                            account_id: str, region: str, service: InvokeService,
                            clients: AwsClients | None) -> HttpResponse:
    """Serve ``request`` (its path without the stage) with ``method``'s non-proxy integration."""
    integration = method.integration
    if integration is None:
        log.warning("execute-api %s %s %s: Execution failed due to configuration error: No integration defined for "
                    "method", api.id, method.http_method, route.template)
        return _rest_error(500, "Internal server error", "InternalServerErrorException", ids)
    variables = api.stages.get(stage, {})
    event = events.rest_event(
        replace(request, path=raw_path, raw_path=raw_path), resource=route.template, path_parameters=path_params,
        stage=stage, stage_variables=variables, api_id=api.id, account_id=account_id,
        request_id=ids["request_id"], extended_request_id=ids["extended_request_id"], now=now, binary=False,
        domain_name=(request.host or "localhost").rsplit(":", 1)[0], trace_id=ids["trace_id"])
    context = vtl.to_java(event["requestContext"])
    if route.resource_id:
        context["resourceId"] = route.resource_id
    context.update(authorizer=vtl.JavaMap(), error=vtl.JavaMap(),
                   requestOverride=vtl.JavaMap(header=vtl.JavaMap(), querystring=vtl.JavaMap(), path=vtl.JavaMap()),
                   responseOverride=vtl.JavaMap(header=vtl.JavaMap()))
    exchange = _Exchange(api, method, integration, request, route.template, path_params, variables, ids, context,
                         {"path": dict(path_params), "querystring": dict(event["queryStringParameters"] or {}),
                          "header": dict(event["headers"] or {})})
    try:
        return await _serve(exchange, service, clients, region)
    except _Answer as answer:
        return answer.response
    except Exception:  # whatever a backend or mapping did: a 500, never a crash
        log.exception("execute-api %s %s %s: Execution failed", api.id, method.http_method, route.template)
        return _rest_error(500, "Internal server error", "InternalServerErrorException", ids)


async def _serve(ex: _Exchange, service: InvokeService, clients: AwsClients | None, region: str) -> HttpResponse:
    kind = ex.integration.type
    if kind == "HTTP_PROXY":
        backend = await _http(ex, ex.request.body, _integration_params(ex), proxy=True)
        headers = [(k, v) for k, v in backend.headers if k.lower() not in http_proxy.HOP_BY_HOP]
        return HttpResponse(backend.status, (*headers, *_id_headers(ex.ids)), backend.body)
    if kind not in ("MOCK", "AWS", "HTTP"):
        raise ex.internal(f"{kind or 'an integration without a type'} is not a non-proxy integration")
    body, content_type = _map_request(ex)
    params = _integration_params(ex)
    if content_type and not any(k.lower() == "content-type" for k in params["header"]):
        params["header"]["Content-Type"] = content_type
    if kind == "MOCK":
        backend = _mock(ex, body)
    elif kind == "HTTP":
        backend = await _http(ex, body, params, proxy=False)
    else:
        backend = await _aws(ex, body, params, service, clients, region)
    return _integration_response(ex, backend)


# --------------------------------------------------------------------------- integration request


def _map_request(ex: _Exchange) -> tuple[bytes, str | None]:
    """The integration request's body and content type."""
    content_type = ex.request.header("content-type")
    try:
        chosen = mapping.request_template(ex.integration.raw, content_type)
    except mapping.Unsupported:
        raise ex.error(415, "Unsupported Media Type", "UnsupportedMediaTypeException") from None
    if chosen is None:
        return ex.request.body, content_type
    media, template = chosen
    try:
        return ex.render(template, ex.request.body).encode(), media
    except vtl.BodyNotJson as error:
        raise ex.error(400, str(error), "BadRequestException") from None
    except vtl.VtlError as error:
        raise ex.internal(f"the request template ({media}) failed: {error}") from None


def _integration_params(ex: _Exchange) -> dict[str, dict[str, str]]:
    params = mapping.target_parameters(ex.integration.raw.get("requestParameters"), "integration.request",
                                       **ex.sources())
    overrides = ex.context["requestOverride"]
    for kind in ("header", "querystring", "path"):
        params[kind].update({str(k): vtl.java_str(v) for k, v in (overrides.get(kind) or {}).items()})
    return params


def _timeout(ex: _Exchange) -> float:
    return ex.integration.timeout_ms / 1000


def _mock(ex: _Exchange, body: bytes) -> _Backend:
    """MOCK: the request template's ``statusCode`` (200 when the body is empty)."""
    status = 200
    if body.strip():
        try:
            status = int(json.loads(body)["statusCode"])
        except (ValueError, KeyError, TypeError):
            raise ex.internal("Execution failed due to configuration error: Unable to parse statusCode. It should be "
                              f"an integer that is defined in the request template: {body[:200]!r}") from None
    return _Backend(status, (), b"", str(status))


async def _aws(ex: _Exchange, body: bytes, params: dict[str, dict[str, str]], service: InvokeService,
               clients: AwsClients | None, region: str) -> _Backend:
    uri = _STAGE_VARIABLE.sub(lambda m: ex.stage_variables.get(m[1], ""), ex.integration.uri)
    function = _LAMBDA_URI.match(uri)
    if function is not None:
        return await _lambda(ex, function["fn"], body, service)
    target = aws_services.parse_uri(uri)
    if target is None:
        raise ex.internal(f"the integration URI {uri!r} is not arn:aws:apigateway:{{region}}:{{service}}:"
                          "action/{Action} or :path/{path}")
    if clients is None:
        raise ex.internal("no AWS endpoint is configured for AWS service integrations")
    target = replace(target, path=http_proxy.fill_path(target.path, params["path"], ex.path_params))
    try:
        answer = await aws_services.call_service(
            target, endpoint=clients.endpoint, http_method=ex.integration.http_method or "POST", body=body,
            headers=params["header"], query=params["querystring"], timeout=_timeout(ex))
    except httpx.TimeoutException:
        log.warning("execute-api %s: %s did not answer within the integration timeout", ex.api.id, uri)
        raise _Answer(responses.timeout_rest(**ex.ids)) from None
    except httpx.HTTPError as error:
        raise ex.internal(f"the call to {target.service} failed: {error}") from None
    if answer.status >= 400:
        log.info("execute-api %s: %s answered %d: %s", ex.api.id, uri, answer.status, answer.body[:500])
    return _Backend(answer.status, answer.headers, answer.body, str(answer.status))


async def _lambda(ex: _Exchange, target: str, payload: bytes, service: InvokeService) -> _Backend:
    """Lambda non-proxy: the mapped body is the payload; a function error's ``errorMessage`` is
    what selectionPattern sees."""
    try:
        function = await service.resolve(target)
    except LambdaError as error:
        raise ex.internal(f"the integration's function {target} cannot be called: {error}") from None
    task = asyncio.ensure_future(service.execute(Invocation(function, payload or b"{}")))
    try:
        executed = await asyncio.wait_for(asyncio.shield(task), _timeout(ex))
    except TimeoutError:
        log.warning("execute-api %s: %s did not answer within the integration timeout (%d ms)", ex.api.id,
                    function.name, ex.integration.timeout_ms)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        raise _Answer(responses.timeout_rest(**ex.ids)) from None
    except LambdaError as error:
        raise ex.internal(f"{function.name}: {error}") from None
    result = executed.result
    subject = None
    if result.function_error:
        try:
            subject = str(json.loads(result.payload).get("errorMessage", ""))
        except (ValueError, AttributeError):
            subject = result.payload.decode("utf-8", "replace")
        log.info("execute-api %s: %s failed (%s): %s", ex.api.id, function.name, result.function_error,
                 subject[:500])
    return _Backend(200, (("Content-Type", "application/json"),), result.payload, subject)


async def _http(ex: _Exchange, body: bytes, params: dict[str, dict[str, str]], *, proxy: bool) -> _Backend:
    uri = _STAGE_VARIABLE.sub(lambda m: ex.stage_variables.get(m[1], ""), ex.integration.uri)
    url = http_proxy.fill_path(uri, params["path"], ex.path_params)
    query = ex.request.raw_query if proxy else ""
    extra = urlencode(list(params["querystring"].items()))
    query = "&".join(part for part in (query, extra) if part)
    if query:
        url += ("&" if "?" in url else "?") + query
    method = ex.integration.http_method or ex.request.method
    method = ex.request.method if method == "ANY" else method
    headers: dict[str, str] = {}
    if proxy:
        for key, value in ex.request.headers:
            if key.lower() not in http_proxy.HOP_BY_HOP:
                headers[key] = value
    headers.update(params["header"])
    try:
        async with httpx.AsyncClient(timeout=_timeout(ex)) as client:
            reply = await client.request(method, url, content=body, headers=headers)
    except httpx.TimeoutException:
        log.warning("execute-api %s: %s did not answer within the integration timeout (%d ms)", ex.api.id, url,
                    ex.integration.timeout_ms)
        raise _Answer(responses.timeout_rest(**ex.ids)) from None
    except httpx.HTTPError as error:
        raise ex.internal(f"the HTTP endpoint {url} cannot be reached: {error}") from None
    return _Backend(reply.status_code, tuple(reply.headers.multi_items()), reply.content, str(reply.status_code))


# --------------------------------------------------------------------------- integration response


def _integration_response(ex: _Exchange, backend: _Backend) -> HttpResponse:
    chosen = mapping.choose_response(ex.integration.raw.get("integrationResponses") or {}, backend.subject)
    if chosen is None:
        raise ex.internal("Execution failed due to configuration error: No match for output mapping and no default "
                          f"output mapping configured. Endpoint Response Status Code: {backend.status}")
    body = backend.body
    content_type = "application/json"
    template = mapping.response_template(chosen.get("responseTemplates"), ex.request.header("accept"))
    if template is not None:
        content_type = template[0]
        try:
            body = ex.render(template[1], backend.body).encode()
        except vtl.VtlError as error:
            raise ex.internal(f"the response template ({template[0]}) failed: {error}") from None
    mapped = mapping.target_parameters(chosen.get("responseParameters"), "method.response",
                                       **ex.sources(response_headers=backend.headers, response_body=backend.body))
    headers = {"Content-Type": content_type, **mapped["header"]}
    overrides = ex.context["responseOverride"]
    headers.update({str(k): vtl.java_str(v) for k, v in (overrides.get("header") or {}).items()})
    try:
        status = int(overrides.get("status") or chosen.get("statusCode") or 200)
    except (TypeError, ValueError):
        raise ex.internal(f"the method response status {chosen.get('statusCode')!r} is not a number") from None
    return HttpResponse(status, (*headers.items(), *_id_headers(ex.ids)), body)


def _rest_error(status: int, message: str, error_type: str, ids: Mapping[str, str]) -> HttpResponse:
    return responses.rest_error(status, message, error_type, request_id=ids["request_id"],
                                extended_request_id=ids["extended_request_id"], trace_id=ids["trace_id"])


def _id_headers(ids: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return (("x-amzn-RequestId", ids["request_id"]), ("x-amz-apigw-id", ids["extended_request_id"]),
            ("X-Amzn-Trace-Id", ids["trace_id"]))
