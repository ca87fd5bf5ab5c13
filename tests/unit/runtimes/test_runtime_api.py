"""cloudmicro_runtime.runtime_api: the HTTP/1.1 client, against a scripted server on a local socket."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import BinaryIO

import pytest

from runtimes.python.cloudmicro_runtime import runtime_api
from runtimes.python.cloudmicro_runtime.errors import RestartRequested, RuntimeApiError
from runtimes.python.cloudmicro_runtime.runtime_api import RuntimeApiClient, parse_address

NEXT = "/2018-06-01/runtime/invocation/next"
EVENT_HEADERS = (
    b"Lambda-Runtime-Aws-Request-Id: req-1\r\n"
    b"Lambda-Runtime-Deadline-Ms: 1700000000000\r\n"
    b"Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:f\r\n"
    b"Lambda-Runtime-Trace-Id: Root=1-abc\r\n"
    b"Lambda-Runtime-Client-Context: {\"custom\": {}}\r\n"
    b"Lambda-Runtime-Cognito-Identity: {\"cognitoIdentityId\": \"id\"}\r\n"
    b"Lambda-Runtime-Aws-Tenant-Id: t-1\r\n"
)


def reply(status: str = "200 OK", headers: bytes = b"", body: bytes = b"", version: bytes = b"HTTP/1.1") -> bytes:
    return version + b" " + status.encode() + b"\r\n" + headers + b"Content-Length: %d\r\n\r\n" % len(body) + body


class ScriptedServer:
    """Answers each request with the next scripted reply (raw bytes; None: close the connection
    without answering, as a server does with an idle keep-alive connection) and records it."""

    def __init__(self, replies: list[bytes | None]) -> None:
        self.replies = list(replies)
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.replies:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn, conn.makefile("rb") as reader:
                while self.replies:
                    request = self._read_request(reader)
                    if request is None:
                        break
                    self.requests.append(request)
                    answer = self.replies.pop(0)
                    if answer is None:
                        break
                    conn.sendall(answer)
                    if b"Connection: close" in answer or answer.startswith(b"HTTP/1.0"):
                        break

    @staticmethod
    def _read_request(reader: BinaryIO) -> tuple[str, dict[str, str], bytes] | None:
        line = reader.readline()
        if not line:
            return None
        headers = {}
        while (header := reader.readline()) not in (b"\r\n", b""):
            name, _, value = header.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = reader.read(int(headers.get("content-length", "0")))
        return line.decode().strip(), headers, body

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def server_for() -> Iterator[type[ScriptedServer]]:
    made: list[ScriptedServer] = []

    class Made(ScriptedServer):
        def __init__(self, replies: list[bytes | None]) -> None:
            super().__init__(replies)
            made.append(self)

    yield Made
    for server in made:
        server.close()


def test_next_invocation_reads_the_event_and_its_headers(server_for: type[ScriptedServer]) -> None:
    server = server_for([reply(headers=EVENT_HEADERS + b"Content-Type: application/json\r\n", body=b'{"a": 1}'),
                         reply(headers=b"Lambda-Runtime-Aws-Request-Id: req-2\r\nLambda-Runtime-Deadline-Ms: soon\r\n")])
    client = RuntimeApiClient(server.address)
    invocation = client.next_invocation()
    assert (invocation.request_id, invocation.body, invocation.content_type, invocation.deadline_ms,
            invocation.function_arn, invocation.trace_id, invocation.client_context, invocation.cognito_identity,
            invocation.tenant_id) == (
        "req-1", b'{"a": 1}', "application/json", 1700000000000, "arn:aws:lambda:us-east-1:000000000000:function:f",
        "Root=1-abc", '{"custom": {}}', '{"cognitoIdentityId": "id"}', "t-1",
    )
    second = client.next_invocation()  # optional headers absent, an unparsable deadline
    assert (second.request_id, second.body, second.content_type, second.deadline_ms, second.function_arn,
            second.trace_id, second.tenant_id) == ("req-2", b"", None, 0, "", None, None)
    assert server.connections == 1  # keep-alive
    request_line, headers, _ = server.requests[0]
    assert request_line == f"GET {NEXT} HTTP/1.1"
    assert headers["host"] == server.address and headers["user-agent"].startswith("aws-lambda-python/")


def test_next_answered_with_the_restart_header_asks_for_a_restart(server_for: type[ScriptedServer]) -> None:
    server = server_for([reply(headers=b"Lambda-Runtime-Cloudmicro-Restart: 1\r\n")])
    with pytest.raises(RestartRequested):
        RuntimeApiClient(server.address).next_invocation()


@pytest.mark.parametrize(
    ("answer", "message"),
    [(reply("403 Forbidden", body=b'{"errorType": "x"}'), "GET /invocation/next answered HTTP 403: b'{\"errorType\": \"x\"}'"),
     (reply(), "GET /invocation/next answered without Lambda-Runtime-Aws-Request-Id")],
)
def test_a_next_answer_the_runtime_cannot_go_on_with(server_for: type[ScriptedServer], answer: bytes,
                                                      message: str) -> None:
    server = server_for([answer])
    with pytest.raises(RuntimeApiError) as error:
        RuntimeApiClient(server.address).next_invocation()
    assert str(error.value) == message


def test_chunked_bodies_trailers_and_interim_responses(server_for: type[ScriptedServer]) -> None:
    chunked = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n" + EVENT_HEADERS
               + b"Transfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{\"a\"\r\n4\r\n: 1}\r\n0\r\nTrailer: x\r\n\r\n")
    server = server_for([chunked])
    assert RuntimeApiClient(server.address).next_invocation().body == b'{"a": 1}'


def test_a_body_ended_by_the_connection_and_http_1_0_close_it(server_for: type[ScriptedServer]) -> None:
    until_close = b"HTTP/1.1 200 OK\r\n" + EVENT_HEADERS + b"Connection: close\r\n\r\n[1]"
    server = server_for([until_close, reply(headers=EVENT_HEADERS, body=b"[2]", version=b"HTTP/1.0"),
                         reply(headers=EVENT_HEADERS, body=b"[3]")])
    client = RuntimeApiClient(server.address)
    assert [client.next_invocation().body for _ in range(3)] == [b"[1]", b"[2]", b"[3]"]
    assert server.connections == 3


def test_posts(server_for: type[ScriptedServer]) -> None:
    server = server_for([reply("202 Accepted")] * 3)
    client = RuntimeApiClient(server.address)
    client.post_response("req-1", b'{"ok": true}', "application/json")
    client.post_error("req-2", '{"errorType": "ValueError"}', '{"exceptions": []}', "ValueError")
    client.post_init_error('{"errorType": "Runtime.ImportModuleError"}', "Runtime.ImportModuleError")
    (response_line, response, response_body), (error_line, error, error_body), (init_line, init, init_body) = (
        server.requests
    )
    assert (response_line, response["content-type"], response["content-length"], response_body) == (
        "POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1", "application/json", "12", b'{"ok": true}',
    )
    assert error_line == "POST /2018-06-01/runtime/invocation/req-2/error HTTP/1.1"
    assert (error["content-type"], error["lambda-runtime-function-error-type"],
            error["lambda-runtime-function-xray-error-cause"], error_body) == (
        "application/json", "ValueError", '{"exceptions": []}', b'{"errorType": "ValueError"}',
    )
    assert init_line == "POST /2018-06-01/runtime/init/error HTTP/1.1"
    assert "content-type" not in init and init["lambda-runtime-function-error-type"] == "Runtime.ImportModuleError"
    assert init_body == b'{"errorType": "Runtime.ImportModuleError"}'


def test_an_xray_cause_of_a_mebibyte_or_more_is_dropped(server_for: type[ScriptedServer]) -> None:
    server = server_for([reply("202 Accepted")])
    RuntimeApiClient(server.address).post_error("req", "{}", "x" * runtime_api.XRAY_ERROR_CAUSE_MAX_BYTES, "E")
    assert server.requests[0][1]["lambda-runtime-function-xray-error-cause"] == ""


def test_a_refused_post_is_reported_and_the_loop_goes_on(server_for: type[ScriptedServer],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    server = server_for([reply("400 Bad Request", body=b'{"errorType": "InvalidRequestID"}')])
    RuntimeApiClient(server.address).post_response("req", b"1", "application/json")
    assert capsys.readouterr().err == (
        "cloudmicro runtime: POST /2018-06-01/runtime/invocation/req/response answered HTTP 400: "
        "b'{\"errorType\": \"InvalidRequestID\"}'\n"
    )


def test_a_reused_connection_closed_by_the_server_is_retried_at_once(server_for: type[ScriptedServer]) -> None:
    server = server_for([reply("202 Accepted"), None, reply(headers=EVENT_HEADERS, body=b"{}")])
    client = RuntimeApiClient(server.address)
    client.post_response("req-0", b"1", "application/json")
    assert client.next_invocation().request_id == "req-1"
    assert server.connections == 2
    assert [line for line, _headers, _body in server.requests][1:] == [f"GET {NEXT} HTTP/1.1"] * 2


def test_an_unreachable_runtime_api_fails_after_a_few_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_api, "CONNECT_BACKOFF_S", 0.0)
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RuntimeApiError) as error:
        RuntimeApiClient(f"127.0.0.1:{port}").next_invocation()
    assert str(error.value).startswith(f"cannot reach the Runtime API at 127.0.0.1:{port} after 5 attempts: ")


def test_parse_address() -> None:
    assert parse_address("127.0.0.1:9001") == ("127.0.0.1", 9001)
    assert parse_address("[::1]:9001") == ("::1", 9001)
    assert parse_address(":9001") == ("127.0.0.1", 9001)
    for bad in ("localhost", "localhost:http"):
        with pytest.raises(RuntimeApiError, match="AWS_LAMBDA_RUNTIME_API must be host:port"):
            parse_address(bad)
