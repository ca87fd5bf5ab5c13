"""The front door as an ASGI middleware: requests for an API or a function URL
(:mod:`emulator.frontdoor.routes`) are answered here; every other request goes on to the AWS
gateway. Requests that may change an API (writes to API Gateway or CloudFormation, resets) make
the catalog read the APIs again once they are done.

A request body is read whole (API Gateway and function URLs buffer requests too), up to the
service's limit: 413 beyond it, before the function is called.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from emulator.aws.requests import signed_service
from emulator.frontdoor.request import HttpRequest
from emulator.frontdoor.responses import HttpResponse, StreamedResponse
from emulator.frontdoor.routes import Door, door_of

log = logging.getLogger(__name__)

Scope = dict[str, Any]

#: services whose writes may change what the front door serves
_WATCHED = frozenset({"apigateway", "cloudformation", "elasticloadbalancing", "lambda"})
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class Doorman(Protocol):
    """What serves front-door requests (emulator/frontdoor/service.py)."""

    def limit(self, door: Door) -> int:
        """The largest request body ``door`` takes, in bytes."""
        ...

    def too_large(self, door: Door) -> HttpResponse: ...

    async def serve(self, door: Door, request: HttpRequest) -> HttpResponse | StreamedResponse: ...

    async def test_invoke(self, api_id: str, resource_id: str, http_method: str, body: Mapping[str, Any]
                          ) -> tuple[int, dict[str, Any]]:
        """API Gateway's TestInvokeMethod: (status, JSON answer)."""
        ...

    def changed(self, service: str = "") -> None:
        """APIs or URLs may have changed, by a request to ``service`` (SigV4 name; "reset")."""
        ...


class FrontDoor:
    """ASGI middleware in front of the AWS gateway."""

    def __init__(self, app: Any, doorman: Callable[[], Doorman | None]) -> None:
        self.app = app
        self.doorman = doorman

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        door = door_of(scope)
        doorman = self.doorman()
        test_invoke = _TEST_INVOKE.match(scope["path"]) if scope["method"] == "POST" and doorman is not None else None
        if test_invoke is not None and doorman is not None and signed_service(scope) == "apigateway":
            await _test_invoke(doorman, test_invoke, scope, receive, send)
            return
        if door is None or doorman is None:
            changing = _changing(scope) if doorman is not None and scope["method"] not in _READS else None
            if changing is not None and doorman is not None:
                send = _telling(send, doorman, changing)
            await self.app(scope, receive, send)
            return
        limit = doorman.limit(door)
        body = await _read_body(scope, receive, limit)
        if body is None:
            await _send(send, doorman.too_large(door))
            return
        request = HttpRequest(
            method=scope["method"], path=door.path, raw_path=door.raw_path, query=scope.get("query_string", b""),
            headers=_spelled(scope),
            body=body, source_ip=(scope.get("client") or ("127.0.0.1", 0))[0], scheme=scope.get("scheme", "http"),
            host=_header(scope, b"host") or "")
        await _send(send, await doorman.serve(door, request))


#: the scope key of the request headers' names as the client spelled them (emulator/app/server.py)
HEADER_NAMES = "cloudmicro.header_names"

#: (status, reason phrase) of the answer being started, for a server that writes custom reasons
#: (emulator/app/server.py reads it where uvicorn writes the status line)
REASON: contextvars.ContextVar[tuple[int, str | None]] = contextvars.ContextVar("cloudmicro_reason",
                                                                                default=(0, None))

_TEST_INVOKE = re.compile(r"^/restapis/([^/]+)/resources/([^/]+)/methods/([^/]+)$")


async def _test_invoke(doorman: Doorman, matched: re.Match[str], scope: Scope, receive: Any, send: Any) -> None:
    raw = await _read_body(scope, receive, 10 * 1024 * 1024) or b"{}"
    try:
        body = json.loads(raw or b"{}")
        if not isinstance(body, dict):
            raise ValueError("not an object")
        status, answer = await doorman.test_invoke(matched[1], matched[2], matched[3], body)
    except ValueError as error:
        status, answer = 400, {"__type": "BadRequestException", "message": f"Invalid request body: {error}"}
    payload = json.dumps(answer).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if status >= 400:
        headers.append((b"x-amzn-errortype", str(answer.get("__type", "")).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _telling(send: Any, doorman: Doorman, service: str) -> Any:
    """``send``, telling ``doorman`` of a change as the answer starts (the change is made by then,
    and the client may ask the front door at once, before this request's coroutine ends)."""
    async def sending(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            doorman.changed(service)
        await send(message)

    return sending


async def _stream(send: Any, response: StreamedResponse) -> None:
    """Each chunk to the client as it comes; the stream abandoned when the client leaves."""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    ended = False
    try:
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        async for chunk in response.chunks:
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        ended = True
    except OSError:  # the client went away (uvicorn raises ClientDisconnected, an OSError)
        log.info("a streamed response's client left before its end")
    finally:
        if not ended:
            response.abandon()


def _changing(scope: Scope) -> str | None:
    """The service a request may change what the front door serves through ("reset"), or None."""
    path: str = scope["path"]
    if path.startswith(("/_cloudmicro/reset", "/moto-api/reset")):
        return "reset"
    service = signed_service(scope)
    if service == "lambda":  # URL configs and functions change; invocations (the hot path) do not
        ending = ("/invocations", "/response-streaming-invocations", "/invoke-async")
        return None if path.endswith(ending) else service
    return service if service in _WATCHED else None


def _spelled(scope: Scope) -> tuple[tuple[str, str], ...]:
    """The request's headers, their names as the client spelled them when the server kept them."""
    headers = scope["headers"]
    names = scope.get(HEADER_NAMES)
    if names is None or len(names) < len(headers) or any(
            n.lower() != k for n, (k, _) in zip(names, headers, strict=False)):
        names = [k for k, _ in headers]
    return tuple((n.decode("latin-1"), v.decode("latin-1")) for n, (_, v) in zip(names, headers, strict=False))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _read_body(scope: Scope, receive: Any, limit: int) -> bytes | None:
    """The whole body, or None when it is larger than ``limit``."""
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _send(send: Any, response: HttpResponse | StreamedResponse) -> None:
    if isinstance(response, StreamedResponse):
        await _stream(send, response)
        return
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    if not any(k.lower() == b"content-length" for k, _ in headers):
        headers.append((b"content-length", str(len(response.body)).encode()))
    token = REASON.set((response.status, response.reason)) if response.reason else None
    try:
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
    finally:
        if token is not None:
            REASON.reset(token)
    await send({"type": "http.response.body", "body": response.body})
