"""The Lambda Runtime API, served on each environment's own port.

A response posted with ``Lambda-Runtime-Function-Response-Mode: streaming`` (a chunked body) is
read as it arrives: each piece goes to the invocation's :class:`ResponseStream` when its caller
streams (InvokeWithResponseStream), else it is gathered into the result as a buffered response
is. A function error during a stream comes as AWS sends it, in the HTTP trailers
``Lambda-Runtime-Function-Error-Type`` and ``Lambda-Runtime-Function-Error-Body`` (base64).
ASGI has no trailers, but uvicorn's httptools protocol (the one these ports use) appends them
to the very list that is the request scope's ``headers`` when it parses them, after the body:
so the route keeps that list (before Starlette copies it) and reads what was added. The same
two names sent as headers, before the body, count too, and so does an error the runtime posts
to ``/error`` after dropping a partial stream's connection.
"""

from __future__ import annotations

import base64
import binascii
import json

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

from emulator.api.deps import ports_of
from emulator.invocation.environment import Environment, RuntimeApiError, RuntimeRestart
from emulator.invocation.invoke_api import MAX_RESPONSE_PAYLOAD
from emulator.invocation.streaming import MAX_STREAMED_RESPONSE

router = APIRouter()
PREFIX = "/2018-06-01/runtime"

_ACCEPTED = b'{"status":"OK"}'


def _environment(request: Request) -> Environment:
    ports = ports_of(request)
    server = request.scope.get("server") or ("", 0)
    env = ports.environment_for(server[1])
    if env is None:
        raise RuntimeApiError(403, "InvalidEnvironment", "no execution environment is bound to this port")
    return env


def _accepted() -> Response:
    return Response(_ACCEPTED, status_code=202, media_type="application/json")


#: Cloudmicro's own: asks the runtime (runtimes/python/bootstrap.py) to start afresh in place
RESTART_HEADERS = {"Lambda-Runtime-Cloudmicro-Restart": "1"}


async def next_invocation(request: Request) -> Response:
    try:
        inv = await _environment(request).next_invocation()
    except RuntimeRestart:
        return Response(b"{}", headers=RESTART_HEADERS, media_type="application/json")
    return Response(inv.payload, headers=inv.runtime_headers(), media_type="application/json")


def _too_large(env: Environment, request_id: str, limit: int) -> RuntimeApiError:
    """Fail the invocation whose response is over ``limit`` bytes; the runtime's answer (413)."""
    env.fail(request_id, json.dumps({
        "errorMessage": f"Response payload size exceeded maximum allowed payload size ({limit} bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }, separators=(",", ":")).encode())
    return RuntimeApiError(413, "RequestEntityTooLarge", f"Exceeded maximum allowed payload size ({limit} bytes).")


_RESPONSE_MODE = b"lambda-runtime-function-response-mode"
_ERROR_TYPE = b"lambda-runtime-function-error-type"
_ERROR_BODY = b"lambda-runtime-function-error-body"


async def invocation_response(request: Request) -> Response:
    raw_headers = request.scope["headers"]  # before request.headers copies it: the trailers land here
    env = _environment(request)
    request_id = request.path_params["request_id"]
    for name, value in raw_headers:  # no copy of the headers on the buffered path
        if name == _RESPONSE_MODE:
            if value.strip().lower() == b"streaming":
                return await _streamed_response(request, env, request_id, raw_headers)
            break
    body = await request.body()
    if len(body) > MAX_RESPONSE_PAYLOAD:
        raise _too_large(env, request_id, MAX_RESPONSE_PAYLOAD)
    env.respond(request_id, body)
    return _accepted()


async def _streamed_response(request: Request, env: Environment, request_id: str,
                             raw_headers: list[tuple[bytes, bytes]]) -> Response:
    """A response in streaming mode: each piece to the caller's stream as it arrives (or gathered,
    when the caller does not stream), then the invocation's end, or its error (see the module doc)."""
    inv = env.answering(request_id)
    stream = inv.stream
    before_body = len(raw_headers)
    limit = MAX_STREAMED_RESPONSE if stream is not None else MAX_RESPONSE_PAYLOAD
    gathered = bytearray()
    if stream is not None:
        stream.open(request.headers.get("content-type"))
    total = 0
    try:
        async for chunk in request.stream():
            if inv.done:  # timed out (or the environment died) while the runtime streamed
                return _ended()
            total += len(chunk)
            if total > limit:
                raise _too_large(env, request_id, limit)
            if stream is not None:
                await stream.put(chunk)
            else:
                gathered += chunk
    except ClientDisconnect:
        # the runtime dropped the stream: its /error, its exit or the time limit ends the invocation
        return _ended()
    if inv.done:
        return _ended()
    error_type, error_body = _stream_error(raw_headers, before_body)
    if error_type is not None:
        if stream is not None:
            stream.finish(error_type, error_body)
        env.fail(request_id, error_body)
    else:
        env.respond(request_id, bytes(gathered))
    return _accepted()


def _ended() -> Response:
    return Response(b'{"status":"invocation ended"}', status_code=410, media_type="application/json")


def _stream_error(raw_headers: list[tuple[bytes, bytes]], before_body: int) -> tuple[str | None, bytes]:
    """The error a streamed response ends with: its error trailers (AWS's way), else the same
    names as headers; (None, b"") when there is none. The body is base64 (raw bytes are taken
    as they are)."""
    found: dict[bytes, bytes] = {}
    for name, value in raw_headers[:before_body]:  # headers first, so that trailers win
        if name in (_ERROR_TYPE, _ERROR_BODY):
            found[name] = value
    for name, value in raw_headers[before_body:]:
        if name.lower() in (_ERROR_TYPE, _ERROR_BODY):
            found[name.lower()] = value
    kind = found.get(_ERROR_TYPE)
    if not kind:
        return None, b""
    error_type = kind.decode("latin-1").strip()
    encoded = found.get(_ERROR_BODY, b"")
    try:
        body = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        body = encoded
    if not body:
        body = json.dumps({"errorType": error_type, "errorMessage": ""}).encode()
    return error_type, body


async def invocation_error(request: Request) -> Response:
    env = _environment(request)
    env.fail(request.path_params["request_id"], await request.body())
    return _accepted()


async def init_error(request: Request) -> Response:
    env = _environment(request)
    env.init_failed(await request.body())
    return _accepted()


# Plain (Starlette) routes: the Runtime API is on every invoke's hot path, and these
# handlers need no parameter parsing from FastAPI.
router.add_route(f"{PREFIX}/invocation/next", next_invocation, methods=["GET"])
router.add_route(f"{PREFIX}/invocation/{{request_id}}/response", invocation_response, methods=["POST"])
router.add_route(f"{PREFIX}/invocation/{{request_id}}/error", invocation_error, methods=["POST"])
router.add_route(f"{PREFIX}/init/error", init_error, methods=["POST"])
