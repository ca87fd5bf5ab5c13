"""The Runtime API client: blocking HTTP/1.1 over one keep-alive ``socket``.

``http.client`` would cost about 17 ms of cold start (it imports ``ssl`` and ``email``), so this
is a small client of its own: Content-Length and chunked bodies, a retry at once on a new
connection when a reused one fails before any response byte (the server closed an idle
keep-alive connection), and a short backoff on connection failures (about 0.75 s in all) before
:class:`RuntimeApiError`.
"""

from __future__ import annotations

import socket
import sys
import time

from .errors import RestartRequested, RuntimeApiError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time; type checkers still see these names.
    from collections.abc import Iterable
    from typing import BinaryIO

    Headers = dict[str, str]

RUNTIME_PATH = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
#: Cloudmicro's hot reload: a /next answered with this header asks the runtime to start afresh
#: (the same process image, the environment it started with) to load the function's new code
RESTART_HEADER = "lambda-runtime-cloudmicro-restart"
XRAY_ERROR_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"
XRAY_ERROR_CAUSE_MAX_BYTES = 1024 * 1024  # awslambdaric drops larger X-Ray causes
CONNECT_TIMEOUT_S = 2.0
CONNECT_ATTEMPTS = 5
CONNECT_BACKOFF_S = 0.05  # doubled after each failure: 0.05 + 0.1 + 0.2 + 0.4 s
MAX_HTTP_LINE = 65536


class Invocation:
    """One event from ``GET /invocation/next``."""

    __slots__ = (
        "body",
        "client_context",
        "cognito_identity",
        "content_type",
        "deadline_ms",
        "function_arn",
        "request_id",
        "tenant_id",
        "trace_id",
    )

    def __init__(self, headers: Headers, body: bytes) -> None:
        self.request_id = headers["lambda-runtime-aws-request-id"]
        self.body = body
        self.content_type = headers.get("content-type") or None
        self.deadline_ms = _parse_int(headers.get("lambda-runtime-deadline-ms"))
        self.function_arn = headers.get("lambda-runtime-invoked-function-arn", "")
        self.trace_id = headers.get("lambda-runtime-trace-id") or None
        self.client_context = headers.get("lambda-runtime-client-context") or None
        self.cognito_identity = headers.get("lambda-runtime-cognito-identity") or None
        self.tenant_id = headers.get("lambda-runtime-aws-tenant-id") or None


def _parse_int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` -> (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise RuntimeApiError(f"AWS_LAMBDA_RUNTIME_API must be host:port, got {address!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


class _NoResponse(Exception):
    """The server closed the connection or sent something that is not an HTTP response."""


class RuntimeApiClient:
    """Blocking HTTP/1.1 client of the Runtime API over one persistent keep-alive connection."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._endpoint = parse_address(address)
        self._sock: socket.socket | None = None
        self._reader: BinaryIO | None = None
        self._user_agent = "aws-lambda-python/{}.{}.{}-cloudmicro".format(*sys.version_info[:3])

    def next_invocation(self) -> Invocation:
        status, headers, body = self.request("GET", RUNTIME_PATH + "/invocation/next")
        if status != 200:
            raise RuntimeApiError(f"GET /invocation/next answered HTTP {status}: {body[:300]!r}")
        if headers.get(RESTART_HEADER):
            raise RestartRequested()
        if not headers.get("lambda-runtime-aws-request-id"):
            raise RuntimeApiError("GET /invocation/next answered without Lambda-Runtime-Aws-Request-Id")
        return Invocation(headers, body)

    def post_response(self, request_id: str, body: bytes, content_type: str) -> None:
        path = f"{RUNTIME_PATH}/invocation/{request_id}/response"
        self.post(path, body, [("Content-Type", content_type)])

    def post_error(self, request_id: str, error_json: str, xray_json: str, error_type: str) -> None:
        path = f"{RUNTIME_PATH}/invocation/{request_id}/error"
        if len(xray_json.encode("utf-8")) >= XRAY_ERROR_CAUSE_MAX_BYTES:
            xray_json = ""
        headers = [("Content-Type", "application/json"), (ERROR_TYPE_HEADER, error_type)]
        self.post(path, error_json.encode("utf-8"), [*headers, (XRAY_ERROR_CAUSE_HEADER, xray_json)])

    def post_init_error(self, error_json: str, error_type: str) -> None:
        # No Content-Type, as awslambdaric's http.client request.
        self.post(RUNTIME_PATH + "/init/error", error_json.encode("utf-8"), [(ERROR_TYPE_HEADER, error_type)])

    def post(self, path: str, body: bytes, headers: list[tuple[str, str]]) -> None:
        status, _headers, answer = self.request("POST", path, body, headers)
        if not 200 <= status < 300:
            sys.stderr.write(f"cloudmicro runtime: POST {path} answered HTTP {status}: {answer[:300]!r}\n")

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Iterable[tuple[str, str]] = ()
    ) -> tuple[int, Headers, bytes]:
        """Send one request and read its response, reconnecting when the connection fails."""
        message = self._encode_request(method, path, body, headers)
        failures = 0
        while True:
            reused = self._sock is not None
            try:
                sock = self._sock if self._sock is not None else self._connect()
                sock.sendall(message)
                return self._read_response()
            except (OSError, _NoResponse) as exc:
                self._close()
                if reused:
                    continue  # an idle keep-alive connection was closed by the server: retry at once
                failures += 1
                if failures >= CONNECT_ATTEMPTS:
                    raise RuntimeApiError(
                        f"cannot reach the Runtime API at {self.address} after {failures} attempts: {exc}"
                    ) from exc
                time.sleep(CONNECT_BACKOFF_S * 2 ** (failures - 1))

    def _encode_request(
        self, method: str, path: str, body: bytes | None, headers: Iterable[tuple[str, str]]
    ) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", "Host: " + self.address, "User-Agent: " + self._user_agent]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        lines.extend(f"{name}: {value}" for name, value in headers)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + (body or b"")

    def _connect(self) -> socket.socket:
        host, port = self._endpoint
        # A bytes host spares getaddrinfo the idna codec (and unicodedata): ~2 ms of cold start.
        address = (host.encode("ascii") if host.isascii() else host, port)
        sock = socket.create_connection(address, timeout=CONNECT_TIMEOUT_S)  # type: ignore[arg-type]
        sock.settimeout(None)  # /invocation/next is a long poll
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._reader = sock.makefile("rb")
        return sock

    def _close(self) -> None:
        for closable in (self._reader, self._sock):
            try:
                if closable is not None:
                    closable.close()
            except OSError:
                pass
        self._sock = None
        self._reader = None

    def _readline(self) -> bytes:
        assert self._reader is not None
        line = self._reader.readline(MAX_HTTP_LINE + 1)
        if not line.endswith(b"\n"):
            raise _NoResponse("connection closed mid-response" if len(line) <= MAX_HTTP_LINE else "line too long")
        return line

    def _read_response(self) -> tuple[int, Headers, bytes]:
        version, status = self._read_status_line()
        headers = self._read_headers()
        while status == 100:  # interim response; the final one follows
            version, status = self._read_status_line()
            headers = self._read_headers()
        body = self._read_body(status, headers)
        connection = headers.get("connection", "").lower()
        if connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive"):
            self._close()
        return status, headers, body

    def _read_status_line(self) -> tuple[str, int]:
        parts = self._readline().decode("latin-1").split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise _NoResponse("not an HTTP response: {!r}".format(" ".join(parts)[:100]))
        return parts[0], int(parts[1])

    def _read_headers(self) -> Headers:
        headers: Headers = {}
        while True:
            line = self._readline()
            if line in (b"\r\n", b"\n"):
                return headers
            name, _sep, value = line.decode("utf-8", "replace").partition(":")
            headers[name.strip().lower()] = value.strip()

    def _read_body(self, status: int, headers: Headers) -> bytes:
        assert self._reader is not None
        if status in (204, 304) or 100 <= status < 200:
            return b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        length = headers.get("content-length")
        if length is None:
            body = self._reader.read()  # delimited by the end of the connection
            self._close()
            return body
        body = self._reader.read(int(length))
        if len(body) != int(length):
            raise _NoResponse("connection closed mid-body")
        return body

    def _read_chunked(self) -> bytes:
        assert self._reader is not None
        chunks: list[bytes] = []
        while True:
            size = int(self._readline().split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self._readline() not in (b"\r\n", b"\n"):  # trailers
                    pass
                return b"".join(chunks)
            chunk = self._reader.read(size)
            if len(chunk) != size:
                raise _NoResponse("connection closed mid-chunk")
            chunks.append(chunk)
            self._readline()
