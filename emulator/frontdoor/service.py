"""Serving API Gateway requests: find the API, its stage, route and method; build the event;
run the function through the invocation seam; answer as API Gateway answers.

REST APIs (v1) answer a route or method they do not have with 403 ``Missing Authentication
Token``, a missing stage with 403 ``Forbidden``, a bad Lambda response or a function error with
502, a Lambda that cannot be called with 500, the integration timeout (29 s by default) with 504.
HTTP APIs (v2) answer an unknown route with 404 ``Not Found``, and errors with 500/503. Each
error is logged with its reason, as API Gateway's execution log would say it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

import httpx

from emulator.aws.clients import AwsClients
from emulator.domain.errors import LambdaError, TooManyRequestsException
from emulator.domain.function_urls import FunctionUrls
from emulator.frontdoor import events, http_mapping, http_proxy, integrations, responses
from emulator.frontdoor.alb import AlbDoor
from emulator.frontdoor.apis import Api, ApiCatalog, Integration, Method, Route
from emulator.frontdoor.authorizers import Authorizers, Denied, as_response
from emulator.frontdoor.request import HttpRequest
from emulator.frontdoor.responses import HttpResponse, StreamedResponse
from emulator.frontdoor.routes import Door
from emulator.invocation.invocation import Invocation
from emulator.invocation.service import InvokeService
from emulator.invocation.streaming import ResponseStream

log = logging.getLogger(__name__)

_LAMBDA_URI = re.compile(r"^arn:aws[\w-]*:apigateway:[\w-]+:lambda:path/[\d-]+/functions/(?P<fn>.+)/invocations$")
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")


@dataclass(frozen=True)
class Place:
    """Where the front door runs: the account and region, for ARNs and request contexts."""

    region: str
    account_id: str


@dataclass(frozen=True)
class _Ids:
    """A request's ids, as API Gateway makes them."""

    request_id: str
    extended: str
    trace: str

    @classmethod
    def new(cls, now: float) -> _Ids:
        request_id = str(uuid.uuid4())
        return cls(request_id, _extended_id(), events.default_trace_id(now, request_id))

    def error(self, status: int, message: str, error_type: str, *, spaced: bool = True) -> HttpResponse:
        return responses.rest_error(status, message, error_type, request_id=self.request_id,
                                    extended_request_id=self.extended, trace_id=self.trace, spaced=spaced)

    def rest(self) -> dict[str, str]:
        return {"request_id": self.request_id, "extended_request_id": self.extended, "trace_id": self.trace}


class _Failed(Exception):
    """The function could not give an answer: the HTTP answer to send instead."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


class ApiGatewayDoor:
    """Serves ``execute-api`` requests (REST and HTTP APIs)."""

    def __init__(self, catalog: ApiCatalog, service: InvokeService, place: Place,
                 authorizers: Authorizers | None = None, clients: AwsClients | None = None) -> None:
        self.catalog = catalog
        self.service = service
        self.place = place
        self.authorizers = authorizers or Authorizers(service, place.region, place.account_id)
        self.clients = clients  # what AWS service integrations call (emulator.frontdoor.integrations)

    async def serve(self, door: Door, request: HttpRequest) -> HttpResponse:
        api = await self.catalog.get(door.target)
        if api is None:
            log.warning("execute-api: no REST or HTTP API has the id %r", door.target)
            return responses.http_api_error(404, f"No API has the id {door.target!r}: see `aws apigateway "
                                            "get-rest-apis` and `aws apigatewayv2 get-apis`", request_id="")
        if api.kind == "REST":
            return await self._rest(api, door, request)
        cors = api.raw.get("CorsConfiguration")
        origin = request.header("origin")
        if cors and origin:  # an HTTP API with CORS answers preflights itself, before routes and authorizers
            if request.method == "OPTIONS" and request.header("access-control-request-method"):
                return HttpResponse(204, cors_headers(cors, origin, preflight=True, request=request), b"")
            answer = await self._http(api, door, request)
            return replace(answer, headers=(*answer.headers, *cors_headers(cors, origin, preflight=False,
                                                                           request=request)))
        return await self._http(api, door, request)

    # --- REST APIs ------------------------------------------------------------------------

    async def _rest(self, api: Api, door: Door, request: HttpRequest) -> HttpResponse:
        now = time.time()
        ids = _Ids.new(now)
        stage, path, raw_path = _first_segment(door.path, door.raw_path)
        if stage not in api.stages:
            log.warning("execute-api %s: no stage %r", api.id, stage)
            return ids.error(403, "Forbidden", "ForbiddenException", spaced=False)
        found = api.match(path)
        method = None if found is None else (found[0].methods.get(request.method) or found[0].methods.get("ANY"))
        if found is None or method is None:
            return responses.missing_route_rest(**ids.rest())
        route, params = found
        return await self._run_rest(api, stage, api.stages[stage], route, params, method, request, raw_path, ids,
                                    now, authorize=True)

    async def _run_rest(self, api: Api, stage: str, variables: Mapping[str, str], route: Route,
                        params: dict[str, str], method: Method, request: HttpRequest, raw_path: str, ids: _Ids,
                        now: float, *, authorize: bool) -> HttpResponse:
        """A REST method's request, once its route is known: the event, the authorization
        (skipped by TestInvokeMethod, as on AWS), the integration and its answer."""
        # REST APIs send the path as the client sent it, percent-encoded (pathParameters decoded)
        event = events.rest_event(
            replace(request, path=raw_path, raw_path=raw_path), resource=route.template, path_parameters=params or None,
            stage=stage, stage_variables=dict(variables) or None, api_id=api.id, account_id=self.place.account_id,
            request_id=ids.request_id, extended_request_id=ids.extended, now=now,
            binary=events.is_binary(request.header("content-type"), api.binary_media_types),
            domain_name=_domain(request), trace_id=ids.trace)
        if authorize:
            try:
                allowed = await self.authorizers.rest(api, stage, method, request, path=raw_path, event=event)
            except Denied as denied:
                return as_response(denied, responses.rest_headers(ids.request_id, ids.extended, ids.trace))
            if allowed.context is not None:
                event["requestContext"]["authorizer"] = allowed.context
        integration = method.integration
        if integration is None or integration.type != "AWS_PROXY":
            return await integrations.serve_integration(
                api=api, route=route, method=method, path_params=params, stage=stage, request=request,
                raw_path=raw_path, ids=ids.rest(), now=now, account_id=self.place.account_id, region=self.place.region,
                service=self.service, clients=self.clients)
        try:
            payload, function_error = await self._invoke(api, method, variables, event, integration.timeout_ms)
        except _Failed as failed:
            return failed.response
        except TimeoutError:
            return responses.timeout_rest(**ids.rest())
        except LambdaError:
            return ids.error(500, "Internal server error", "InternalServerErrorException")
        return responses.rest_response(payload, function_error=function_error, **ids.rest(),
                                       binary_media_types=api.binary_media_types, accept=request.header("accept"))

    async def test_invoke(self, api_id: str, resource_id: str, http_method: str, body: Mapping[str, Any]
                          ) -> tuple[int, dict[str, Any]]:
        """TestInvokeMethod: the method's integration run with the given request, authorizers and
        API keys skipped (as API Gateway's console test does); the API's answer and a log."""
        api = await self.catalog.get(api_id)
        if api is None or api.kind != "REST":
            return 404, {"__type": "NotFoundException", "message": "Invalid API identifier specified"}
        route = next((r for r in api.routes if r.resource_id == resource_id), None)
        if route is None:
            return 404, {"__type": "NotFoundException", "message": "Invalid Resource identifier specified"}
        method = route.methods.get(http_method)
        if method is None:
            return 404, {"__type": "NotFoundException", "message": "Invalid Method identifier specified"}
        target = str(body.get("pathWithQueryString") or route.template)
        path, _, query = target.partition("?")
        params = {}
        matched = api.match(unquote(path))
        if matched is not None and matched[0].resource_id == resource_id:
            params = matched[1]
        headers = [(k, str(v)) for k, v in (body.get("headers") or {}).items()]
        headers += [(k, str(v)) for k, values in (body.get("multiValueHeaders") or {}).items() for v in values]
        request = HttpRequest(method=http_method, path=unquote(path), raw_path=path, query=query.encode(),
                              headers=tuple(headers), body=str(body.get("body") or "").encode(),
                              source_ip="test-invoke-source-ip", host="localhost")
        now = time.time()
        ids = _Ids.new(now)
        started = time.perf_counter()
        answer = await self._run_rest(api, "test-invoke-stage", dict(body.get("stageVariables") or {}), route,
                                      params, method, request, path, ids, now, authorize=False)
        latency = int((time.perf_counter() - started) * 1000)
        multi: dict[str, list[str]] = {}
        for name, value in answer.headers:
            multi.setdefault(name, []).append(value)
        log_lines = [f"Execution log for request {ids.request_id}",
                     f"{time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime(now))} : Starting execution for "
                     f"request: {ids.request_id}",
                     f"HTTP Method: {http_method}, Resource Path: {path}",
                     f"Method request path: {json.dumps(params)}",
                     f"Method request query string: {json.dumps(dict(request.query_pairs()))}",
                     f"Method request body before transformations: {request.body.decode(errors='replace')}",
                     f"Method completed with status: {answer.status}"]
        return 200, {"status": answer.status, "body": answer.body.decode(errors="replace"),
                     "headers": {k: v[-1] for k, v in multi.items()}, "multiValueHeaders": multi,
                     "log": "\n".join(log_lines) + "\n", "latency": latency}

    # --- HTTP APIs ------------------------------------------------------------------------

    async def _http(self, api: Api, door: Door, request: HttpRequest) -> HttpResponse:
        now = time.time()
        request_id = _extended_id()
        stage, path, raw_path = _first_segment(door.path, door.raw_path)
        if stage == "$default" or stage not in api.stages:
            if "$default" not in api.stages:
                return responses.missing_route_http_api(request_id=request_id)
            stage, path, raw_path = "$default", door.path, door.raw_path
        found = api.match(path)
        method: Method | None = None
        route_key, params = "$default", {}
        if found is not None:
            method = found[0].methods.get(request.method) or found[0].methods.get("ANY")
            if method is not None:
                route_key = f"{method.http_method} {found[0].template}"
                params = found[1]
        if method is None:
            method = api.default_route
        if method is None or method.integration is None:
            return responses.missing_route_http_api(request_id=request_id)
        integration = method.integration
        subtype = integration.raw.get("IntegrationSubtype")
        if integration.type not in ("AWS_PROXY", "HTTP_PROXY") or subtype:
            log.warning("execute-api %s %s: %s integrations are not served yet (Lambda AWS_PROXY and HTTP_PROXY are)",
                        api.id, route_key, subtype or integration.type)
            return responses.http_api_error(500, "Internal Server Error", request_id=request_id)
        variables = api.stages[stage]
        here = replace(request, path=path, raw_path=raw_path)
        sent_path = door.path  # rawPath: decoded (HTTP APIs decode it), stage included when it is not $default
        # HTTP_PROXY has no payload: its $context variables are read from the 2.0 event
        version_2 = integration.payload_format == "2.0" or integration.type == "HTTP_PROXY"
        build = events.http_api_event if version_2 else events.http_api_v1_event
        event = build(here, route_key=route_key, raw_path=sent_path, stage=stage, path_parameters=params or None,
                      stage_variables=variables or None, api_id=api.id, account_id=self.place.account_id,
                      request_id=request_id, now=now, binary=events.is_binary_content(request.header("content-type"))
                      and bool(request.body), domain_name=_domain(request))
        try:
            allowed = await self.authorizers.http(api, stage, method, request, event, route_key)
        except Denied as denied:
            return as_response(denied, (("apigw-requestid", request_id),))
        if allowed.context is not None:
            event["requestContext"]["authorizer"] = allowed.context
        if integration.type == "HTTP_PROXY":
            return await _http_proxy(api, route_key, integration, request, _ProxyPlace(
                path, params or {}, _context_variables(event["requestContext"]), variables or {}), request_id)
        try:
            payload, function_error = await self._invoke(api, method, variables, event, integration.timeout_ms)
        except _Failed as failed:
            return failed.response
        except TimeoutError:
            return responses.timeout_http_api(request_id=request_id)
        except LambdaError:
            return responses.http_api_error(500, "Internal Server Error", request_id=request_id)
        return responses.http_api_response(payload, function_error=function_error, request_id=request_id,
                                           format_version=integration.payload_format)

    # --- the Lambda call --------------------------------------------------------------------

    async def _invoke(self, api: Api, method: Method, variables: Mapping[str, str], event: dict[str, Any],
                      timeout_ms: int) -> tuple[bytes, str | None]:
        """Run the integration's function with ``event`` through the invocation seam: its payload
        and function error. TimeoutError past the integration timeout; LambdaError when the
        function cannot be called (logged with the reason); _Failed for a throttle."""
        assert method.integration is not None
        uri = _STAGE_VARIABLE.sub(lambda m: variables.get(m[1], ""), method.integration.uri)
        matched = _LAMBDA_URI.match(uri)
        target = matched["fn"] if matched else uri
        try:
            function = await self.service.resolve(target)
        except LambdaError as error:
            log.warning("execute-api %s: the integration's function %s cannot be called: %s", api.id, target, error)
            raise
        inv = Invocation(function, json.dumps(event).encode())
        task = asyncio.ensure_future(self.service.execute(inv))
        try:
            executed = await asyncio.wait_for(asyncio.shield(task), timeout_ms / 1000)
        except TimeoutError:
            log.warning("execute-api %s: %s did not answer within the integration timeout (%d ms)", api.id,
                        function.name, timeout_ms)
            task.add_done_callback(_quietly)
            raise
        except TooManyRequestsException:
            log.warning("execute-api %s: %s is throttled", api.id, function.name)
            raise _Failed(responses.http_api_error(429, "Too Many Requests", request_id=inv.request_id)) from None
        except LambdaError as error:
            log.warning("execute-api %s: %s: %s", api.id, function.name, error)
            raise
        result = executed.result
        if result.function_error:
            log.warning("execute-api %s: %s failed (%s): %s", api.id, function.name, result.function_error,
                        result.payload[:500].decode(errors="replace"))
        return result.payload, result.function_error


def _quietly(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _domain(request: HttpRequest) -> str:
    return request.host.rsplit(":", 1)[0] if request.host and not request.host.startswith("[") else "localhost"


class FunctionUrlDoor:
    """Serves function URLs: ``AuthType`` NONE, or AWS_IAM (a SigV4-signed request; locally any
    credentials sign), the URL's CORS settings, the payload 2.0 event, the response inference.
    Function URLs have no timeout of their own: the function's holds."""

    def __init__(self, urls: FunctionUrls, service: InvokeService, place: Place) -> None:
        self.urls = urls
        self.service = service
        self.place = place

    async def serve(self, door: Door, request: HttpRequest) -> HttpResponse | StreamedResponse:
        request_id = str(uuid.uuid4())
        config = self.urls.by_url_id(door.target)
        if config is None:
            log.warning("lambda-url: no function URL has the id %r", door.target)
            message = (f"No function URL has the id {door.target!r}: see `aws lambda list-function-url-configs` "
                       "or `cloudmicro list`")
            return responses.function_url_error(404, message, request_id=request_id)
        origin = request.header("origin")
        cors = config.cors or {}
        if request.method == "OPTIONS" and origin and request.header("access-control-request-method") and cors:
            return HttpResponse(200, cors_headers(cors, origin, preflight=True, request=request), b"")
        iam: dict[str, Any] | None = None
        if config.auth_type == "AWS_IAM":
            credential = _sigv4_credential(request.header("authorization"))
            if credential is None:
                return HttpResponse(403, (("Content-Type", "application/json"), ("x-amzn-RequestId", request_id),
                                          ("x-amzn-ErrorType", "AccessDeniedException")), b'{"Message":"Forbidden"}')
            iam = {"accessKey": credential, "accountId": self.place.account_id, "callerId": credential,
                   "userArn": f"arn:aws:iam::{self.place.account_id}:user/local", "userId": credential}
        try:
            function = await self.service.resolve(config.function_name, config.qualifier)
        except LambdaError as error:
            log.warning("lambda-url %s: %s", door.target, error)
            return responses.function_url_error(502, "Internal Server Error", request_id=request_id)
        event = events.function_url_event(
            request, url_id=config.url_id, region=self.place.region, account_id=self.place.account_id,
            request_id=request_id, now=time.time(),
            binary=events.is_binary_content(request.header("content-type")) and bool(request.body),
            auth_type=config.auth_type, iam=iam)
        inv = Invocation(function, json.dumps(event).encode(), request_id=request_id)
        if config.invoke_mode == "RESPONSE_STREAM":
            return await self._streamed(inv, door, request_id, cors_headers(cors, origin, preflight=False,
                                                                            request=request) if origin else ())
        try:
            executed = await self.service.execute(inv)
        except TooManyRequestsException:
            return responses.function_url_error(429, "Rate Exceeded.", request_id=request_id)
        except LambdaError as error:
            log.warning("lambda-url %s: %s: %s", door.target, function.name, error)
            return responses.function_url_error(502, "Internal Server Error", request_id=request_id)
        result = executed.result
        if result.function_error:
            log.warning("lambda-url %s: %s failed (%s): %s", door.target, function.name, result.function_error,
                        result.payload[:500].decode(errors="replace"))
        answer = responses.function_url_response(result.payload, function_error=result.function_error,
                                                 request_id=request_id)
        if origin and cors:
            answer = replace(answer, headers=(*answer.headers, *cors_headers(cors, origin, preflight=False,
                                                                             request=request)))
        return answer


    async def _streamed(self, inv: Invocation, door: Door, request_id: str, extra: tuple[tuple[str, str], ...]
                        ) -> HttpResponse | StreamedResponse:
        """A RESPONSE_STREAM URL: the runtime's chunks go out as it writes them (chunked); a
        function that streams the HTTP integration prelude (``application/vnd.awslambda.http-
        integration-response``: JSON metadata, eight NUL bytes, the body) sets status, headers
        and cookies; any other stream is a 200 body of its content type."""
        stream = ResponseStream()
        inv.stream = stream
        task = asyncio.ensure_future(self.service.execute(inv))
        task.add_done_callback(_quietly)
        await stream.begun()
        if task.done() and task.exception() is not None:
            error = task.exception()
            if isinstance(error, TooManyRequestsException):
                return responses.function_url_error(429, "Rate Exceeded.", request_id=request_id)
            log.warning("lambda-url %s: %s", door.target, error)
            return responses.function_url_error(502, "Internal Server Error", request_id=request_id)
        chunks = stream.__aiter__()
        first = b""
        with contextlib.suppress(StopAsyncIteration):
            first = await chunks.__anext__()
        if stream.error_type is not None and not first:
            log.warning("lambda-url %s: %s failed before streaming: %s", door.target, inv.function.name,
                        (stream.error_body or b"")[:300].decode(errors="replace"))
            return responses.function_url_error(502, "Internal Server Error", request_id=request_id)
        status, headers = 200, [("Content-Type", stream.content_type or "application/octet-stream")]
        if stream.content_type == HTTP_INTEGRATION_RESPONSE:
            prelude, first, chunks = await _prelude(first, chunks)
            status, headers = _prelude_head(prelude)
        headers += [("x-amzn-RequestId", request_id), *extra]

        async def body() -> AsyncIterator[bytes]:
            if first:
                yield first
            async for chunk in chunks:
                yield chunk
            if stream.error_type is not None:
                log.warning("lambda-url %s: %s failed mid-stream (%s)", door.target, inv.function.name,
                            stream.error_type)

        return StreamedResponse(status, tuple(headers), body(), stream.abandon)


#: the content type of a stream that starts with the HTTP integration prelude (Node's
#: ``awslambda.HttpResponseStream.from``)
HTTP_INTEGRATION_RESPONSE = "application/vnd.awslambda.http-integration-response"
_PRELUDE_END = b"\x00" * 8
_MAX_PRELUDE = 64 * 1024


async def _prelude(first: bytes, chunks: AsyncIterator[bytes]) -> tuple[dict[str, Any], bytes, AsyncIterator[bytes]]:
    """The JSON metadata before the eight NUL bytes, and the body bytes after them."""
    gathered = first
    while _PRELUDE_END not in gathered and len(gathered) < _MAX_PRELUDE:
        try:
            gathered += await chunks.__anext__()
        except StopAsyncIteration:
            break
    head, found, rest = gathered.partition(_PRELUDE_END)
    if not found:
        return {}, gathered, chunks
    try:
        prelude = json.loads(head or b"{}")
    except ValueError:
        prelude = {}
    return prelude if isinstance(prelude, dict) else {}, rest, chunks


def _prelude_head(prelude: dict[str, Any]) -> tuple[int, list[tuple[str, str]]]:
    status = prelude.get("statusCode", 200)
    headers = [(str(k), str(v)) for k, v in (prelude.get("headers") or {}).items()]
    headers += [("Set-Cookie", str(c)) for c in prelude.get("cookies") or []]
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.insert(0, ("Content-Type", "application/octet-stream"))
    return (status if isinstance(status, int) and 100 <= status <= 599 else 200), headers


def cors_headers(cors: Mapping[str, Any], origin: str, *, preflight: bool, request: HttpRequest
                 ) -> tuple[tuple[str, str], ...]:
    """The CORS headers a function URL (or HTTP API) with ``cors`` (AWS's Cors shape:
    AllowOrigins, AllowMethods, AllowHeaders, ExposeHeaders, MaxAge, AllowCredentials) adds for
    ``origin``: none when the origin is not allowed."""
    origins = [o.lower() for o in cors.get("AllowOrigins") or []]
    if "*" not in origins and origin.lower() not in origins:
        return ()
    allowed = "*" if "*" in origins and not cors.get("AllowCredentials") else origin
    headers: list[tuple[str, str]] = [("Access-Control-Allow-Origin", allowed), ("Vary", "Origin")]
    if cors.get("AllowCredentials"):
        headers.append(("Access-Control-Allow-Credentials", "true"))
    if preflight:
        methods = cors.get("AllowMethods") or []
        if methods:
            headers.append(("Access-Control-Allow-Methods", ",".join(methods)))
        asked = request.header("access-control-request-headers")
        allow_headers = [h.lower() for h in cors.get("AllowHeaders") or []]
        if asked and allow_headers:
            granted = [h.strip() for h in asked.split(",")
                       if "*" in allow_headers or h.strip().lower() in allow_headers]
            if granted:
                headers.append(("Access-Control-Allow-Headers", ",".join(granted)))
        if cors.get("MaxAge") is not None:
            headers.append(("Access-Control-Max-Age", str(cors["MaxAge"])))
    elif cors.get("ExposeHeaders"):
        headers.append(("Access-Control-Expose-Headers", ",".join(cors["ExposeHeaders"])))
    return tuple(headers)


_CREDENTIAL = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/,\s]+)/")


def _sigv4_credential(authorization: str | None) -> str | None:
    """The access key of a SigV4 ``Authorization`` header (None: not signed)."""
    matched = _CREDENTIAL.match(authorization or "")
    return matched[1] if matched else None


@dataclass(frozen=True)
class RouteUrl:
    """One route the front door serves, and its URLs (by Host, and by path)."""

    kind: str  # REST, HTTP, URL
    target: str  # API or URL id
    stage: str
    route: str  # "GET /items/{id}", "$default", "ANY /"
    url: str
    path_url: str

    def to_json(self) -> dict[str, str]:
        return {"Kind": self.kind, "Id": self.target, "Stage": self.stage, "Route": self.route, "Url": self.url,
                "PathUrl": self.path_url}


class FrontDoorService:
    """Every front door of one control plane (the ``Doorman`` of :mod:`emulator.frontdoor.server`)."""

    def __init__(self, apis: ApiGatewayDoor, urls: FunctionUrlDoor, albs: AlbDoor,
                 list_ids: Callable[[], Awaitable[list[str]]] | None = None,
                 notice: Callable[[str], None] | None = None,
                 list_albs: Callable[[], Awaitable[list[str]]] | None = None) -> None:
        self.apis = apis
        self.urls = urls
        self.albs = albs
        self.list_ids = list_ids
        self.list_albs = list_albs
        self.notice = notice
        self._announced: set[str] = set()
        self._dirty = asyncio.Event()
        self._changes = 0
        self._apis_changed = False

    async def routes(self, port: int, *, apis: bool = True) -> list[RouteUrl]:
        """Every route served now, with its URLs (``apis=False``: function URLs only, no call to
        API Gateway)."""
        found: list[RouteUrl] = []
        for config in self.urls.urls.all():
            host = config.function_url(port, self.urls.place.region)
            found.append(RouteUrl("URL", config.url_id, "", f"{config.function_name} ({config.auth_type})", host,
                                  f"http://127.0.0.1:{port}/_aws/lambda-url/{config.url_id}/"))
        for name in await self.list_albs() if self.list_albs is not None and apis else []:
            balancer = await self.albs.catalog.get(name)
            if balancer is None:
                continue
            for listener in balancer.listeners:
                found.append(RouteUrl("ALB", name, str(listener.port), f"{listener.protocol} :{listener.port}",
                                      f"http://{balancer.dns_name}:{port}/",
                                      f"http://127.0.0.1:{port}/_aws/elb/{name}:{listener.port}/"))
        for api_id in await self.list_ids() if self.list_ids is not None and apis else []:
            api = await self.apis.catalog.get(api_id)
            if api is None:
                continue
            for stage in sorted(api.stages):
                prefix = "" if stage == "$default" else f"/{stage}"
                keys = [(f"{m} {r.template}", r.template) for r in api.routes for m in sorted(r.methods)]
                if api.default_route is not None:
                    keys.append(("$default", "/"))
                for key, template in sorted(keys):
                    found.append(RouteUrl(api.kind, api.id, stage, key,
                                          f"http://{api.id}.execute-api.localhost:{port}{prefix}{template}",
                                          f"http://127.0.0.1:{port}/_aws/execute-api/{api.id}{prefix}{template}"))
        return found

    async def announce_forever(self, port: int) -> None:
        """Say each route's URL once it is served (at start, then after each change), in the
        control plane's output (``cloudmicro dev`` shows it)."""
        if self.notice is None:
            return
        self._dirty.set()
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            await self._quiet()  # a deploy is many calls: list once they have landed
            # API Gateway is listed only after a change that may touch it: at start no API exists,
            # and asking moto would load its API Gateway (tens of MB, a second of CPU) for nothing
            apis, self._apis_changed = self._apis_changed, False
            try:
                routes = await self.routes(port, apis=apis)
            except Exception as error:  # noqa: BLE001 - a listing that fails is only not announced
                log.debug("listing the front door's routes: %s", error)
                continue
            for route in routes:
                line = f"{route.route} -> {route.url}"
                if line not in self._announced:
                    self._announced.add(line)
                    where = f"{route.kind} {route.target}" + (f" {route.stage}" if route.stage else "")
                    self.notice(f"{where}: {route.route} -> {route.url}")

    async def _quiet(self, settle: float = 0.3, longest: float = 5.0) -> None:
        """Wait until no change came for ``settle`` seconds (at most ``longest``)."""
        started = asyncio.get_running_loop().time()
        while True:
            seen = self._changes
            await asyncio.sleep(settle)
            if seen == self._changes or asyncio.get_running_loop().time() - started > longest:
                self._dirty.clear()
                return

    def limit(self, door: Door) -> int:
        if door.kind == "alb":
            return responses.ALB_PAYLOAD_LIMIT
        return (responses.API_GATEWAY_PAYLOAD_LIMIT if door.kind == "execute-api"
                else responses.FUNCTION_URL_PAYLOAD_LIMIT)

    def too_large(self, door: Door) -> HttpResponse:
        if door.kind == "alb":
            return responses.payload_too_large_alb()
        if door.kind == "execute-api":  # REST or HTTP API: the answers' shapes differ little; REST's
            return responses.payload_too_large_rest(request_id=str(uuid.uuid4()), extended_request_id=_extended_id(),
                                                    trace_id="")
        return responses.payload_too_large_function_url(request_id=str(uuid.uuid4()))

    async def serve(self, door: Door, request: HttpRequest) -> HttpResponse | StreamedResponse:
        if door.kind == "execute-api":
            return await self.apis.serve(door, request)
        if door.kind == "alb":
            return await self.albs.serve(door, request)
        return await self.urls.serve(door, request)

    async def test_invoke(self, api_id: str, resource_id: str, http_method: str, body: Mapping[str, Any]
                          ) -> tuple[int, dict[str, Any]]:
        return await self.apis.test_invoke(api_id, resource_id, http_method, body)

    def changed(self, service: str = "") -> None:
        self.apis.catalog.changed()
        self.apis.authorizers.clear()
        self.albs.catalog.changed()
        self._changes += 1
        if service in ("apigateway", "elasticloadbalancing", "cloudformation", "reset", ""):
            self._apis_changed = True  # worth listing API Gateway again (a Lambda change is not)
        self._dirty.set()


def _context_variables(context: Mapping[str, Any]) -> dict[str, Any]:
    """An HTTP API's ``$context`` variables by their documented names, from the event's
    requestContext (payload 2.0 keeps some under ``http``; authorizers' under ``jwt``/``lambda``)."""
    found = dict(context)
    http = context.get("http")
    if isinstance(http, Mapping):
        found.update(httpMethod=http.get("method"), path=http.get("path"), protocol=http.get("protocol"),
                     identity={"sourceIp": http.get("sourceIp"), "userAgent": http.get("userAgent")},
                     requestTime=context.get("time"), requestTimeEpoch=context.get("timeEpoch"))
    authorizer = context.get("authorizer")
    if isinstance(authorizer, Mapping):
        if isinstance(authorizer.get("jwt"), Mapping):
            found["authorizer"] = {**authorizer["jwt"], **authorizer}
        elif isinstance(authorizer.get("lambda"), Mapping):
            found["authorizer"] = {**authorizer, **authorizer["lambda"]}
    return found


@dataclass(frozen=True)
class _ProxyPlace:
    """Where an HTTP API request is, for its integration's parameter mapping."""

    path: str  # without the stage
    params: Mapping[str, str]
    context: Mapping[str, Any]
    stage_variables: Mapping[str, str]


async def _http_proxy(api: Api, route_key: str, integration: Integration, request: HttpRequest, place: _ProxyPlace,
                      request_id: str) -> HttpResponse:
    """An HTTP API route's HTTP_PROXY integration: the request passed on (as its parameter mapping
    changes it), the answer passed back (likewise); an endpoint that cannot be reached is 500, one
    past the integration timeout 503, as HTTP APIs answer."""
    mapping = integration.raw.get("RequestParameters") or {}
    query_pairs = request.query_pairs()
    sent = http_mapping.apply(mapping, http_mapping.Mapped(list(request.headers), list(query_pairs)),
                              http_mapping.request_resolver(request.headers, query_pairs, request.body, place.path,
                                                            place.params, place.context, place.stage_variables))
    query = urlencode(sent.query) if any(":querystring." in str(key) for key in mapping) else request.raw_query
    url = http_proxy.target_url(integration.uri, place.params, query)
    if sent.path is not None:
        parts = urlsplit(url)
        url = urlunsplit((parts.scheme, parts.netloc, sent.path, parts.query, ""))
    try:
        answer = await http_proxy.forward(replace(request, headers=tuple(sent.headers)), url, integration.http_method,
                                          integration.timeout_ms / 1000)
    except httpx.TimeoutException:
        log.warning("execute-api %s %s: %s did not answer within %d ms", api.id, route_key, url, integration.timeout_ms)
        return responses.timeout_http_api(request_id=request_id)
    except httpx.HTTPError as error:
        log.warning("execute-api %s %s: the HTTP endpoint %s cannot be reached: %s", api.id, route_key, url, error)
        return responses.http_api_error(500, "Internal Server Error", request_id=request_id)
    status, headers = answer.status, list(answer.headers)
    by_status = (integration.raw.get("ResponseParameters") or {}).get(str(answer.status))
    if by_status:
        back = http_mapping.apply(by_status, http_mapping.Mapped(headers, []), http_mapping.response_resolver(
            answer.headers, answer.body, place.context, place.stage_variables))
        status, headers = back.status or status, back.headers
    return HttpResponse(status, (*headers, ("apigw-requestid", request_id)), answer.body)


def _first_segment(path: str, raw_path: str) -> tuple[str, str, str]:
    """``/dev/a/b`` -> (``dev``, ``/a/b``, the raw path without its first segment)."""
    stage, _, rest = path.lstrip("/").partition("/")
    raw_rest = raw_path.lstrip("/").partition("/")[2]
    return stage, "/" + rest, "/" + raw_rest


def _extended_id() -> str:
    return base64.b64encode(os.urandom(12), altchars=b"-_").decode()[:16]
