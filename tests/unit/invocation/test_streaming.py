"""The response stream of one invocation (emulator/invocation/streaming.py) and how the seam
begins and ends it, with a fake executor (logic only; tests/integration/test_response_streaming.py
proves the feature)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest

from emulator.domain.errors import TooManyRequestsException
from emulator.invocation.invocation import Invocation
from emulator.invocation.streaming import ResponseStream, error_details, error_type_of
from tests.unit.fakes import FakeExecutor, FunctionFailure
from tests.unit.invocation.test_service import make_service


async def read_all(stream: ResponseStream) -> list[bytes]:
    return [chunk async for chunk in stream]


def test_chunks_come_out_in_order_as_they_are_put():
    async def scenario():
        stream = ResponseStream()
        stream.open("text/plain")
        reader = asyncio.create_task(read_all(stream))
        for i in range(3):
            await stream.put(f"c{i}".encode())
            await asyncio.sleep(0)
        stream.finish()
        assert await reader == [b"c0", b"c1", b"c2"]
        assert (stream.total, stream.content_type, stream.error_type) == (6, "text/plain", None)

    asyncio.run(scenario())


def test_a_slow_reader_holds_the_writer_back_and_memory_stays_bounded():
    async def scenario():
        stream = ResponseStream(buffer_limit=10)
        await stream.put(b"x" * 6)
        await stream.put(b"x" * 6)  # 12 buffered: at the limit now
        third = asyncio.create_task(stream.put(b"y" * 6))
        await asyncio.sleep(0.01)
        assert not third.done()  # waits for the reader
        iterator = aiter(stream)
        assert await anext(iterator) == b"x" * 6
        await asyncio.wait_for(third, 1)  # room again
        stream.finish()
        assert [c async for c in iterator] == [b"x" * 6, b"y" * 6]

    asyncio.run(scenario())


def test_a_finish_releases_a_waiting_writer_and_later_chunks_are_dropped():
    async def scenario():
        stream = ResponseStream(buffer_limit=1)
        await stream.put(b"a")
        waiting = asyncio.create_task(stream.put(b"b"))
        await asyncio.sleep(0)
        stream.finish("Sandbox.Timedout", b"{}")
        await asyncio.wait_for(waiting, 1)
        await stream.put(b"c")
        stream.finish()  # the first end wins
        assert await read_all(stream) == [b"a"]
        assert (stream.error_type, stream.error_body) == ("Sandbox.Timedout", b"{}")

    asyncio.run(scenario())


def test_an_abandoned_stream_drops_what_the_runtime_writes_without_waiting():
    async def scenario():
        stream = ResponseStream(buffer_limit=1)
        await stream.put(b"a")
        stream.abandon()
        await asyncio.wait_for(stream.put(b"b" * 100), 1)
        assert stream.total == 101

    asyncio.run(scenario())


def test_settle_makes_a_buffered_answer_one_chunk_and_an_error_its_type():
    async def scenario():
        buffered = ResponseStream()
        buffered.settle(b'{"ok": 1}', failed=False)
        assert await read_all(buffered) == [b'{"ok": 1}']
        streamed = ResponseStream()
        streamed.open(None)
        streamed.settle(b"", failed=False)
        assert await read_all(streamed) == []
        failed = ResponseStream()
        failed.settle(b'{"errorType": "KeyError", "errorMessage": "x"}', failed=True)
        assert await read_all(failed) == []
        assert failed.error_type == "KeyError"

    asyncio.run(scenario())


def test_error_documents_give_their_type_and_message():
    assert error_type_of(b"not json") == "Unhandled"
    assert error_type_of(b'{"errorMessage": "m"}') == "Unhandled"
    assert error_details(b'{"errorType": "E", "errorMessage": "boom"}') == "boom"
    assert error_details(b"plain words") == "plain words"
    assert error_details(None) == ""


def test_the_seam_begins_the_stream_and_ends_it_with_the_result(tmp_path):
    async def scenario():
        async def answer(env, payload):
            return FunctionFailure("nope") if json.loads(payload).get("fail") else b'{"fine": true}'

        service, registry, pool = make_service(tmp_path, FakeExecutor(answer))
        stream = ResponseStream()
        inv = Invocation(registry.get("fn"), b"{}", stream=stream)
        task = asyncio.create_task(service.seam.execute(inv))
        await asyncio.wait_for(stream.begun(), 5)
        assert stream.request_id == inv.request_id
        assert await read_all(stream) == [b'{"fine": true}']  # a buffered answer: one chunk
        await task
        failing = ResponseStream()
        await service.seam.execute(Invocation(registry.get("fn"), b'{"fail": true}', stream=failing))
        assert failing.finished and failing.error_type == "RuntimeError"
        await pool.close()

    asyncio.run(scenario())


def test_an_error_of_the_seam_ends_the_stream_with_its_code(tmp_path):
    async def scenario():
        service, registry, pool = make_service(tmp_path, FakeExecutor())
        throttled = replace(registry.get("fn"), reserved_concurrency=0)
        stream = ResponseStream()
        with pytest.raises(TooManyRequestsException):
            await service.seam.execute(Invocation(throttled, b"{}", stream=stream))
        assert stream.finished and stream.error_type == "TooManyRequestsException"
        await stream.begun()  # a caller waiting for the start is not left waiting
        await pool.close()

    asyncio.run(scenario())
