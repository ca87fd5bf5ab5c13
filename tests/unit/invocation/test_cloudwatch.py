"""The CloudWatch Logs writer, with a fake Logs API (logic only): lines to events, batches
within AWS's limits, background flushes, retries, resets, and the flush at close."""

from __future__ import annotations

import asyncio
from typing import Any

from emulator.invocation.cloudwatch import (
    EVENT_OVERHEAD,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_EVENT_BYTES,
    MAX_HELD,
    CloudWatchLogs,
    LogEvent,
    LogsApiError,
    batches,
    log_events,
)
from emulator.invocation.logs import InvocationLog, format_log

STREAM = "2026/11/23/[$LATEST]0123456789abcdef0123456789abcdef"


class FakeLogs:
    """Records calls; keeps groups and streams as CloudWatch Logs would; can be told to fail."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.failures = 0
        self.closed = False

    async def call(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((action, body))
        if self.failures:
            self.failures -= 1
            raise LogsApiError("ServiceUnavailableException", "try later")
        group = body["logGroupName"]
        if action == "CreateLogGroup":
            if group in self.groups:
                raise LogsApiError("ResourceAlreadyExistsException", "exists")
            self.groups[group] = {}
        elif action == "CreateLogStream":
            if group not in self.groups:
                raise LogsApiError("ResourceNotFoundException", "no group")
            self.groups[group].setdefault(body["logStreamName"], [])
        elif action == "PutLogEvents":
            stream = self.groups.get(group, {}).get(body["logStreamName"])
            if stream is None:
                raise LogsApiError("ResourceNotFoundException", "The specified log stream does not exist.")
            timestamps = [e["timestamp"] for e in body["logEvents"]]
            assert timestamps == sorted(timestamps), "events out of order in one batch"
            stream += body["logEvents"]
        return {}

    async def aclose(self) -> None:
        self.closed = True

    def messages(self, group: str = "/aws/lambda/fn", stream: str = STREAM) -> list[str]:
        return [e["message"] for e in self.groups[group][stream]]


def entry(request_id: str = "r1", output: bytes = b"hello\nworld\n", init: bytes = b"",
          started: int = 1_000_000, ended: int = 1_000_050) -> InvocationLog:
    text = format_log(request_id=request_id, output=output, platform_log="", duration_ms=50.0, memory_size=128,
                      max_memory_mb=20, init_ms=100.0 if init else None, init_output=init)
    return InvocationLog("fn", request_id, text, log_stream=STREAM, init_at=started - 100,
                         started_at=started, ended_at=ended)


def test_one_event_per_line_stamped_by_phase():
    events = log_events(entry(init=b"loading\n"))
    assert [e.message for e in events] == [
        "loading\n", "START RequestId: r1 Version: $LATEST\n", "hello\n", "world\n", "END RequestId: r1\n",
        "REPORT RequestId: r1\tDuration: 50.00 ms\tBilled Duration: 150 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 20 MB\tInit Duration: 100.00 ms\t\n",
    ]
    assert [e.timestamp for e in events] == [999_900, 1_000_000, 1_000_000, 1_000_000, 1_000_050, 1_000_050]


def test_an_empty_printed_line_is_an_event_and_a_huge_one_is_clipped():
    events = log_events(entry(output=b"\n" + b"x" * (MAX_EVENT_BYTES + 10) + b"\n"))
    assert events[1].message == "\n"
    assert len(events[2].message.encode()) == MAX_EVENT_BYTES


def test_batches_keep_within_the_count_size_and_span_limits():
    many = [LogEvent(1, "x\n")] * (MAX_BATCH_EVENTS + 5)
    assert [len(b) for b in batches(many)] == [MAX_BATCH_EVENTS, 5]
    big = [LogEvent(1, "y" * 200_000)] * 6
    sizes = [sum(len(e.message) + EVENT_OVERHEAD for e in b) for b in batches(big)]
    assert sizes and all(size <= MAX_BATCH_BYTES for size in sizes) and len(sizes) == 2
    day = 24 * 3600 * 1000
    assert [len(b) for b in batches([LogEvent(0, "a"), LogEvent(day - 1, "b"), LogEvent(day, "c")])] == [2, 1]


def test_close_writes_what_is_pending_creating_group_and_stream():
    async def scenario() -> FakeLogs:
        fake = FakeLogs()
        writer = CloudWatchLogs(fake)  # type: ignore[arg-type]
        writer.start()
        writer.add(entry("r1"))
        writer.add(entry("r2", started=1_000_100, ended=1_000_150))
        await writer.close()  # before the first 200 ms flush
        return fake

    fake = asyncio.run(scenario())
    assert [a for a, _ in fake.calls] == ["CreateLogGroup", "CreateLogStream", "PutLogEvents"]
    assert fake.messages().count("END RequestId: r1\n") == 1 and fake.messages()[-2] == "END RequestId: r2\n"
    assert fake.closed


def test_lines_are_flushed_in_the_background_in_one_request_per_stream():
    async def scenario() -> FakeLogs:
        fake = FakeLogs()
        writer = CloudWatchLogs(fake, interval=0.05)  # type: ignore[arg-type]
        writer.start()
        for n in range(20):
            writer.add(entry(f"r{n}"))
        for _ in range(100):
            if fake.groups.get("/aws/lambda/fn", {}).get(STREAM):
                break
            await asyncio.sleep(0.01)
        puts = [b for a, b in fake.calls if a == "PutLogEvents"]
        assert len(puts) == 1 and len(puts[0]["logEvents"]) == 20 * 5
        await writer.close()
        return fake

    asyncio.run(scenario())


def test_a_failed_write_keeps_the_lines_and_tries_again():
    async def scenario() -> FakeLogs:
        fake = FakeLogs()
        writer = CloudWatchLogs(fake)  # type: ignore[arg-type]
        writer.add(entry("r1"))
        fake.failures = 1
        assert await writer.flush() is False
        writer.add(entry("r2", started=900_000, ended=900_010))  # older: sorted ahead in the batch
        assert await writer.flush() is True
        await writer.close()
        return fake

    fake = asyncio.run(scenario())
    messages = fake.messages()
    assert len(messages) == 10
    assert messages[0] == "START RequestId: r2 Version: $LATEST\n"
    assert messages.count("START RequestId: r1 Version: $LATEST\n") == 1


def test_a_group_deleted_by_a_reset_is_created_again():
    async def scenario() -> FakeLogs:
        fake = FakeLogs()
        writer = CloudWatchLogs(fake)  # type: ignore[arg-type]
        writer.add(entry("r1"))
        await writer.flush()
        fake.groups.clear()  # cloudmicro reset
        writer.add(entry("r2"))
        assert await writer.flush() is True
        await writer.close()
        return fake

    fake = asyncio.run(scenario())
    assert fake.messages()[0] == "START RequestId: r2 Version: $LATEST\n"
    assert [a for a, _ in fake.calls][-4:] == ["PutLogEvents", "CreateLogGroup", "CreateLogStream", "PutLogEvents"]


def test_an_entry_without_a_stream_is_ignored():
    async def scenario() -> FakeLogs:
        fake = FakeLogs()
        writer = CloudWatchLogs(fake)  # type: ignore[arg-type]
        writer.add(InvocationLog("fn", "r1", "START RequestId: r1 Version: $LATEST\n"))
        await writer.close()
        return fake

    assert asyncio.run(scenario()).calls == []


def test_a_lazy_writer_holds_the_latest_logs_until_the_first_read():
    async def scenario() -> tuple[FakeLogs, CloudWatchLogs]:
        fake = FakeLogs()
        writer = CloudWatchLogs(fake, interval=0.01, eager=False)  # type: ignore[arg-type]
        writer.start()
        for n in range(MAX_HELD + 2):  # two invocations too many
            writer.add(entry(f"r{n}"))
        await asyncio.sleep(0.05)
        assert fake.calls == []  # nothing written (moto not woken) before a read
        await writer.before_read()
        await writer.close()
        return fake, writer

    fake, writer = asyncio.run(scenario())
    messages = fake.messages()
    assert len(messages) == MAX_HELD * 5 and writer.dropped == 10
    assert messages[0] == "START RequestId: r2 Version: $LATEST\n"


def test_a_lazy_writer_never_read_writes_nothing_at_close():
    async def scenario() -> FakeLogs:
        fake = FakeLogs()
        writer = CloudWatchLogs(fake, eager=False)  # type: ignore[arg-type]
        writer.add(entry("r1"))
        await writer.close()
        return fake

    assert asyncio.run(scenario()).calls == []
