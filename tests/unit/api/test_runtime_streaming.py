"""The Runtime API's streaming-mode response, in process (ASGI, no sockets): the caps. (Trailers
need uvicorn's parser: tests/integration/test_response_streaming.py has them.)"""

from __future__ import annotations

import asyncio
import json

import httpx

from emulator.api import runtime_api
from emulator.app.runtime import create_runtime_app
from emulator.invocation.environment import Environment
from emulator.invocation.invocation import Invocation
from emulator.invocation.streaming import ResponseStream
from tests.unit.fakes import function

STREAMING = {"Lambda-Runtime-Function-Response-Mode": "streaming", "Content-Type": "text/event-stream"}


class OnePort:
    def __init__(self, env: Environment) -> None:
        self.env = env

    def environment_for(self, port: int) -> Environment:
        return self.env


async def post_streamed(stream: ResponseStream | None, pieces: list[bytes]) -> tuple[httpx.Response, Invocation]:
    env = Environment(function(), on_dead=lambda env: None)
    inv = Invocation(env.function, b"{}", stream=stream)
    env.assign(inv)
    await env.next_invocation()

    async def body():
        for piece in pieces:
            yield piece

    transport = httpx.ASGITransport(app=create_runtime_app(OnePort(env)))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://runtime") as client:
        response = await client.post(f"{runtime_api.PREFIX}/invocation/{inv.request_id}/response",
                                     content=body(), headers=STREAMING)
    return response, inv


def test_a_streamed_response_over_the_streaming_cap_fails_the_invocation(monkeypatch):
    monkeypatch.setattr(runtime_api, "MAX_STREAMED_RESPONSE", 10)

    async def scenario():
        stream = ResponseStream()
        reader = asyncio.create_task(_read(stream))
        response, inv = await post_streamed(stream, [b"123456", b"789012"])
        assert response.status_code == 413
        result = await inv.future
        assert result.function_error == "Unhandled"
        assert json.loads(result.payload)["errorType"] == "Function.ResponseSizeTooLarge"
        assert "(10 bytes)" in json.loads(result.payload)["errorMessage"]
        assert stream.content_type == "text/event-stream"
        stream.finish()  # the seam's part
        assert await reader == [b"123456"]

    asyncio.run(scenario())


def test_without_a_reader_a_streamed_response_is_gathered_into_the_result():
    async def scenario():
        response, inv = await post_streamed(None, [b"abc", b"def"])
        assert response.status_code == 202
        assert (await inv.future).payload == b"abcdef"

    asyncio.run(scenario())


def test_without_a_reader_the_buffered_cap_holds(monkeypatch):
    monkeypatch.setattr(runtime_api, "MAX_RESPONSE_PAYLOAD", 4)

    async def scenario():
        response, inv = await post_streamed(None, [b"abc", b"def"])
        assert response.status_code == 413
        assert json.loads((await inv.future).payload)["errorType"] == "Function.ResponseSizeTooLarge"

    asyncio.run(scenario())


async def _read(stream: ResponseStream) -> list[bytes]:
    return [chunk async for chunk in stream]
