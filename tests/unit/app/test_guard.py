"""The endpoint serves this machine's clients only (emulator/app/guard.py): what a web page elsewhere,
or a DNS-rebinding name, gets instead of the control plane, and the CORS answers local pages get."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from emulator.app.guard import LocalOnly

FUNCTIONS = "/2015-03-31/functions"
INVOKE = "/2015-03-31/functions/fn/invocations"


class Reply:
    def __init__(self, messages: list[dict[str, Any]], reached: list[dict[str, Any]]) -> None:
        start = messages[0]
        self.status: int = start["status"]
        self.headers = {name.decode(): value.decode() for name, value in start.get("headers", [])}
        self.body = b"".join(message.get("body", b"") for message in messages[1:])
        self.reached_app = bool(reached)

    def json(self) -> Any:
        return json.loads(self.body)


def call(path: str = FUNCTIONS, *, method: str = "GET", headers: dict[str, str] | None = None,
         kind: str = "http", **guard: Any) -> Reply:
    """One request through LocalOnly around an app that answers 200 "inner"."""
    reached: list[dict[str, Any]] = []

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        reached.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-inner", b"yes")]})
        await send({"type": "http.response.body", "body": b"inner"})

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    given = {"host": "localhost:4566", **(headers or {})}
    scope = {"type": kind, "method": method, "path": path, "query_string": b"",
             "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in given.items() if v is not None]}
    asyncio.run(LocalOnly(inner, **guard)(scope, receive, send))
    return Reply(sent, reached)


def test_local_host_names_reach_the_app():
    for host in ("localhost:4566", "LOCALHOST", "127.0.0.1:4566", "[::1]:4566", "api.localhost:4566",
                 "192.168.1.20:4566", "host.docker.internal:4566"):
        reply = call(headers={"host": host})
        assert (reply.status, reply.body, reply.reached_app) == (200, b"inner", True), host


def test_a_rebinding_name_gets_403_and_never_reaches_the_app():
    reply = call(headers={"host": "attacker.example:4566"})
    assert (reply.status, reply.reached_app) == (403, False)
    assert reply.headers["x-amzn-errortype"] == "Forbidden"
    assert "'attacker.example:4566' is not a local name" in reply.json()["message"]
    assert "CLOUDMICRO_ALLOWED_HOSTS" in reply.json()["message"]


def test_localhost_lookalikes_are_not_local():
    for host in ("localhost.attacker.example", "notlocalhost", "localhost.:4566"):
        assert call(headers={"host": host}).status == 403, host


def test_configured_host_names_are_served():
    assert call(headers={"host": "Devbox.LAN:4566"}, hosts=["devbox.lan"]).status == 200
    assert call(headers={"host": "other.lan:4566"}, hosts=["devbox.lan"]).status == 403


def test_a_request_without_host_is_served():
    assert call(headers={"host": None}).reached_app


def test_local_origins_on_any_port_are_allowed_and_named_in_the_response():
    for origin in ("http://localhost:3000", "https://app.localhost", "http://127.0.0.1:8080", "http://127.9.9.9",
                   "http://[::1]:5173"):
        reply = call(headers={"origin": origin})
        assert reply.status == 200, origin
        assert reply.headers["access-control-allow-origin"] == origin
        assert reply.headers["vary"] == "Origin"
        assert "x-amz-function-error" in reply.headers["access-control-expose-headers"]


def test_other_origins_get_403_before_anything_runs():
    for origin in ("https://attacker.example", "null", "http://localhost.attacker.example", "file://",
                   "ftp://localhost", "http://0.0.0.0:3000"):
        reply = call(method="POST", path=INVOKE, headers={"origin": origin, "content-type": "application/json"})
        assert (reply.status, reply.reached_app) == (403, False), origin
        assert "CLOUDMICRO_CORS_ORIGINS" in reply.json()["message"]


def test_configured_origins_are_allowed_whatever_their_case_or_trailing_slash():
    reply = call(headers={"origin": "https://App.Example.com"}, origins=["https://app.example.com/"])
    assert reply.status == 200
    assert reply.headers["access-control-allow-origin"] == "https://App.Example.com"


def test_a_lambda_preflight_is_answered_by_the_guard():
    reply = call(INVOKE, method="OPTIONS", headers={
        "origin": "http://localhost:3000", "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-amz-date"})
    assert (reply.status, reply.reached_app) == (200, False)
    assert reply.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert reply.headers["access-control-allow-headers"] == "content-type,x-amz-date"
    assert "POST" in reply.headers["access-control-allow-methods"]
    assert reply.headers["access-control-max-age"] == "600"


def test_the_json_apis_at_the_root_get_cors_and_preflights_too():
    preflight = call("/", method="OPTIONS", headers={"origin": "http://localhost:3000",
                                                     "access-control-request-method": "POST"})
    assert (preflight.status, preflight.reached_app) == (200, False)
    assert "access-control-allow-headers" not in preflight.headers
    request = call("/", method="POST", headers={"origin": "http://localhost:3000",
                                                "content-type": "application/x-amz-json-1.0"})
    assert request.reached_app
    assert request.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_s3_keeps_its_own_cors_rules():
    unsigned = call("/bucket/key", method="OPTIONS", headers={"origin": "http://localhost:3000",
                                                             "access-control-request-method": "PUT"})
    signed = call("/", headers={"origin": "http://localhost:3000", "authorization":
                                "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request, SignedHeaders=host"})
    for reply in (unsigned, signed):
        assert reply.reached_app
        assert "access-control-allow-origin" not in reply.headers


def test_lambda_refuses_a_body_a_page_could_send_without_a_preflight():
    for media in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        reply = call(INVOKE, method="POST", headers={"content-type": media})
        assert (reply.status, reply.reached_app) == (415, False), media
        assert reply.headers["x-amzn-errortype"] == "UnsupportedMediaTypeException"
        assert reply.json() == {"Type": "User", "message": f"The content type of the Invoke request body is not JSON "
                                f"({media.split(';')[0]}): send it as application/json."}
    other = call(FUNCTIONS, method="POST", headers={"content-type": "text/plain"})
    assert other.status == 415
    assert "content type of the request body" in other.json()["message"]


def test_lambda_takes_json_blobs_and_no_content_type():
    for media in ("application/json; charset=utf-8", "APPLICATION/JSON", "application/vnd.api+json",
                  "application/octet-stream", "binary/octet-stream", "application/x-amz-json-1.1", None):
        assert call(INVOKE, method="POST", headers={"content-type": media}).reached_app, media


def test_websockets_are_checked_too_and_other_scopes_pass():
    assert call(kind="websocket", headers={"origin": "https://attacker.example"}).status == 403
    assert call(kind="websocket", headers={"origin": "http://localhost:3000"}).reached_app
    assert call(kind="lifespan", headers={"host": "attacker.example"}).reached_app
