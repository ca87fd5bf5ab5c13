"""The endpoint serves local clients only: what a web page in the developer's browser may not do.

Any page the developer opens can send requests to ``127.0.0.1:4566``. A cross-site "simple"
POST (``text/plain``, a form) needs no CORS preflight, and a DNS name that an attacker points at
127.0.0.1 (DNS rebinding) makes the page same-origin with the endpoint. So, before any router
or moto sees a request (an ASGI middleware, outermost):

* ``Host`` must name this machine: ``localhost``, a ``*.localhost`` name (the HTTP front door's
  names), an IP address, the configured host, or a name in ``CLOUDMICRO_ALLOWED_HOSTS``. A
  rebinding page's requests carry the attacker's name: 403.
* A request with an ``Origin`` must come from an allowed origin: ``localhost``,
  ``*.localhost`` and loopback addresses on any port (``http``/``https``), plus the origins in
  ``CLOUDMICRO_CORS_ORIGINS``. Any other origin (``null`` included) gets 403 before anything
  runs. Browsers send ``Origin`` on every cross-origin request and on every POST, so a page
  elsewhere cannot create, invoke or read anything.
* Lambda's JSON APIs take JSON (or, for Invoke, a body with no content type, as the SDKs send
  it): a body sent as a form or as text, what a page can send without a preflight, gets
  ``415 UnsupportedMediaTypeException``.
* CORS for allowed origins only. The Lambda API and the JSON and query APIs (DynamoDB, SQS,
  SNS, ...: their browser SDK calls go to ``/``) answer preflights and name the origin in their
  responses, so a web app on localhost:3000 can use the AWS SDK in the browser. S3 is the
  bucket's own CORS configuration, as on AWS: moto answers its preflights and requests by the
  bucket's rules (moto's global "allow every origin" is off: :mod:`emulator.moto.cors`).

Runs on the event loop, a header scan per request.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from emulator.app.gateway import is_lambda_request
from emulator.aws.requests import signed_service

Scope = dict[str, Any]

#: content types a Lambda API body may have (none at all included): JSON, and the SDKs' blobs
JSON_TYPES = frozenset({"application/json", "application/x-amz-json-1.0", "application/x-amz-json-1.1",
                        "application/octet-stream", "binary/octet-stream"})
#: what the Lambda API tells a browser it may send and read
_ALLOW_METHODS = "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS"
_EXPOSE_HEADERS = ("x-amzn-RequestId, x-amzn-ErrorType, x-amz-function-error, x-amz-log-result, "
                   "x-amz-executed-version, x-amzn-Remapped-Content-Length")


#: the names nearly every request carries (checked first: the warm invoke path)
_LOCAL_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def _host_name(value: str) -> str:
    """The name in a Host header, without its port (``[::1]:4566`` -> ``::1``)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _is_loopback(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class LocalOnly:
    """ASGI middleware refusing requests that do not come from this machine's own clients."""

    def __init__(self, app: Any, *, hosts: Iterable[str] = (), origins: Iterable[str] = ()) -> None:
        self.app = app
        self.hosts = frozenset(name.lower() for name in hosts if name)
        self.origins = frozenset(origin.rstrip("/").lower() for origin in origins if origin)

    # --- the checks ----------------------------------------------------------------------

    def host_allowed(self, host: str | None) -> bool:
        if host is None:
            return True  # HTTP/1.0 without Host: nothing a browser sends
        name = _host_name(host)
        return (name in _LOCAL_NAMES or name.endswith(".localhost") or _is_ip(name) or name in self.hosts
                or name == "host.docker.internal")

    def origin_allowed(self, origin: str) -> bool:
        origin = origin.strip().rstrip("/").lower()
        if origin in self.origins:
            return True
        try:
            parts = urlsplit(origin)
            name = parts.hostname
        except ValueError:  # "http://[::1": no origin a browser sends
            return False
        if parts.scheme not in ("http", "https") or not name:
            return False  # "null" (a file or a sandboxed frame), or something that is no origin
        return name == "localhost" or name.endswith(".localhost") or _is_loopback(name)

    # --- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host = headers.get("host")
        if not self.host_allowed(host):
            await _refuse(send, 403, "Forbidden", f"Cloudmicro serves this machine's clients only, and the Host "
                          f"{host!r} is not a local name (localhost, *.localhost, an IP address). To serve another "
                          "name, add it to CLOUDMICRO_ALLOWED_HOSTS.")
            return
        origin = headers.get("origin")
        if origin is not None and not self.origin_allowed(origin):
            await _refuse(send, 403, "Forbidden", f"Cloudmicro does not serve pages from the origin {origin!r}: "
                          "only localhost, *.localhost and loopback origins are allowed. To allow this one, add it "
                          "to CLOUDMICRO_CORS_ORIGINS.")
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        preflight = origin is not None and scope["method"] == "OPTIONS" and "access-control-request-method" in headers
        if not is_lambda_request(scope):
            if origin is None or _is_s3(scope):
                await self.app(scope, receive, send)  # S3: the bucket's CORS rules (moto's)
            elif preflight:
                await _preflight(send, origin, headers.get("access-control-request-headers"))
            else:
                await self.app(scope, receive, _with_cors(send, origin))
            return
        if preflight:
            assert origin is not None
            await _preflight(send, origin, headers.get("access-control-request-headers"))
            return
        media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media and media not in JSON_TYPES and not media.endswith("+json"):
            operation = "Invoke request" if scope["path"].endswith("/invocations") else "request"
            await _refuse(send, 415, "UnsupportedMediaTypeException",
                          f"The content type of the {operation} body is not JSON ({media}): send it as "
                          "application/json.", lambda_shape=True)
            return
        await self.app(scope, receive, _with_cors(send, origin) if origin is not None else send)


def _is_s3(scope: Scope) -> bool:
    """An S3 request: signed for s3, or unsigned anywhere but ``/`` (a preflight is never signed;
    the other services' browser calls go to ``/``, and S3's ``/`` (ListBuckets) has no CORS)."""
    service = signed_service(scope)
    if service is not None:
        return service == "s3"
    return scope["path"] != "/"


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}


async def _refuse(send: Any, status: int, code: str, message: str, *, lambda_shape: bool = False) -> None:
    body = {"Type": "User", "message": message} if lambda_shape else {"message": message}
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
        (b"x-amzn-errortype", code.encode())]})
    await send({"type": "http.response.body", "body": payload})


async def _preflight(send: Any, origin: str, requested: str | None) -> None:
    headers = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin"),
               (b"access-control-allow-methods", _ALLOW_METHODS.encode()),
               (b"access-control-max-age", b"600"), (b"content-length", b"0")]
    if requested:
        headers.append((b"access-control-allow-headers", requested.encode("latin-1")))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def _with_cors(send: Any, origin: str) -> Any:
    async def sending(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [
                *message.get("headers", []), (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"vary", b"Origin"), (b"access-control-expose-headers", _EXPOSE_HEADERS.encode())]}
        await send(message)
    return sending
