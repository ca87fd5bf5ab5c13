"""The embedded moto reached in process: boto3 requests handed to moto's WSGI app directly.

A client given to :meth:`InProcessTransport.attach` answers each request from moto in the
calling thread (botocore's ``before-send`` event returns the response), instead of sending it
over loopback to the control plane, whose gateway would hand it to the same app after a socket,
uvicorn's HTTP parsing, an ASGI-to-WSGI bridge and a thread hop. The request moto sees is the
one it would have seen (method, path, query, headers, body, a loopback client address), and the
patches a request for the client's service needs are prepared first, as the gateway does. This
is what the control plane's own pollers, schedules and destinations use with the embedded moto
(:class:`emulator.aws.clients.AwsClients`).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Body(io.BytesIO):
    """What botocore reads a response body from."""

    def stream(self, **_: Any) -> Iterable[bytes]:
        yield self.getvalue()


class InProcessTransport:
    """Sends a boto3 client's requests to moto's WSGI app in this process."""

    def __init__(self, app: WsgiApp, prepare: Callable[[str | None], None]) -> None:
        self.app = app
        self.prepare = prepare

    def attach(self, client: Any) -> None:
        self.prepare(client.meta.service_model.signing_name)
        client.meta.events.register("before-send", self.send)

    def send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        status_headers: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            status_headers[:] = [status, headers]

        chunks = self.app(environ(request), start_response)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        status, headers = status_headers
        return AWSResponse(request.url, int(status.split(" ", 1)[0]), dict(headers), _Body(body))


def environ(request: AWSPreparedRequest) -> dict[str, Any]:
    """The WSGI environ of a botocore request, as a WSGI server would build it."""
    url = urlsplit(request.url)
    body = request.body
    if body is None:
        data = b""
    elif isinstance(body, bytes | bytearray):
        data = bytes(body)
    elif isinstance(body, str):
        data = body.encode()
    else:  # a file or stream (S3 uploads)
        data = body.read()
        if isinstance(data, str):
            data = data.encode()
    host = url.hostname or "127.0.0.1"
    port = str(url.port or 80)
    env: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(url.path).encode("utf-8").decode("latin-1"),
        "RAW_URI": url.path + (f"?{url.query}" if url.query else ""),
        "QUERY_STRING": url.query,
        "SERVER_NAME": host,
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": url.scheme or "http",
        "wsgi.input": io.BytesIO(data),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(data)),
    }
    for name, value in request.headers.items():
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        key = name.lower()
        if key == "content-length":
            continue
        if key == "content-type":
            env["CONTENT_TYPE"] = text
            continue
        env["HTTP_" + key.upper().replace("-", "_")] = text
    env.setdefault("HTTP_HOST", url.netloc)
    return env
