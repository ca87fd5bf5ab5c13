"""The asynchronous invocation queue: retries, event age, destinations, dead letters, restarts
(fake executor and fake destinations: logic only; tests/integration/test_async_invoke.py runs
the real thing)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path

from emulator.config import Settings
from emulator.domain.event_invoke import EventInvokeConfig
from emulator.domain.registry import FunctionRegistry
from emulator.invocation.async_queue import AsyncInvoker, EventInvokeConfigs, EventStore, QueuedEvent
from emulator.invocation.destinations import AsyncOutcome, invocation_record
from emulator.invocation.logs import LogStore
from emulator.invocation.pool import EnvironmentPool
from emulator.invocation.service import InvokeService

from .fakes import FakeExecutor, FakePorts, FunctionFailure

ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"


class FakeDestinations:
    def __init__(self) -> None:
        self.reports: list[tuple[str, AsyncOutcome]] = []
        self.dead: list[tuple[str, AsyncOutcome]] = []

    async def report(self, destination: str, outcome: AsyncOutcome) -> None:
        self.reports.append((destination, outcome))

    async def dead_letter(self, target: str, outcome: AsyncOutcome) -> None:
        self.dead.append((target, outcome))


def make_queue(tmp_path: Path, handler, *, config: dict | None = None, dlq: str | None = None):
    folder = tmp_path / "functions" / "fn"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fn.py").write_text("def fn_handler(e, c):\n    return e\n")
    raw = {}
    if config is not None:
        raw["EventInvokeConfig"] = config
    if dlq:
        raw["DeadLetterConfig"] = {"TargetArn": dlq}
    (folder / "function.json").write_text(json.dumps(raw))
    settings = replace(Settings(), functions_dir=tmp_path / "functions", state_dir=tmp_path / "state")
    registry = FunctionRegistry(settings.functions_dir, settings.state_dir, "us-east-1", "123456789012")
    registry.load_folders()
    executor = FakeExecutor(handler)
    pool = EnvironmentPool(executor, FakePorts(), settings)  # type: ignore[arg-type]
    service = InvokeService(registry, pool, executor, LogStore())
    destinations = FakeDestinations()
    queue = AsyncInvoker(registry, service, destinations,  # type: ignore[arg-type]
                         EventInvokeConfigs(settings.state_dir / "configs.json"),
                         EventStore(settings.state_dir / "async-events"),
                         retry_delay=0.01, max_concurrency=4)
    return queue, destinations, pool, settings


async def settled(queue: AsyncInvoker, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while queue.status()["queued"] and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert queue.status()["queued"] == 0, queue.status()


def test_a_failing_event_is_tried_three_times_then_goes_to_on_failure_and_the_dlq(tmp_path):
    attempts: list[bytes] = []

    async def failing(env, payload):
        attempts.append(payload)
        return FunctionFailure("nope")

    async def scenario():
        queue, dest, pool, _ = make_queue(
            tmp_path, failing, dlq="arn:aws:sqs:us-east-1:123456789012:dlq",
            config={"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:f"}}})
        request_id = await queue.submit("fn", {"n": 1})
        await settled(queue)
        assert attempts == [b'{"n": 1}'] * 3
        [(target, outcome)] = dest.reports
        assert target.endswith(":f") and outcome.condition == "RetriesExhausted" and outcome.attempts == 3
        assert outcome.request_id == request_id
        [(dlq, dead)] = dest.dead
        assert dlq.endswith(":dlq") and dead.error_message() == "nope"
        await pool.close()

    asyncio.run(scenario())


def test_maximum_retry_attempts_zero_runs_once_and_success_goes_to_on_success(tmp_path):
    calls: list[bytes] = []

    async def flaky(env, payload):
        calls.append(payload)
        return FunctionFailure() if b"fail" in payload else b'{"ok": true}'

    async def scenario():
        queue, dest, pool, _ = make_queue(tmp_path, flaky, config={
            "MaximumRetryAttempts": 0,
            "DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:sns:us-east-1:123456789012:s"},
                                  "OnFailure": {"Destination": "arn:aws:sns:us-east-1:123456789012:f"}}})
        await queue.submit("fn", {"fail": 1})
        await queue.submit("fn", {"ok": 1})
        await settled(queue)
        assert len(calls) == 2
        conditions = sorted((d.rsplit(":", 1)[1], o.condition, o.attempts) for d, o in dest.reports)
        assert conditions == [("f", "RetriesExhausted", 1), ("s", "Success", 1)]
        await pool.close()

    asyncio.run(scenario())


def test_an_event_older_than_its_maximum_age_is_not_run(tmp_path):
    calls: list[bytes] = []

    async def record(env, payload):
        calls.append(payload)
        return payload

    async def scenario():
        queue, dest, pool, settings = make_queue(tmp_path, record, config={
            "MaximumEventAgeInSeconds": 60,
            "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:f"}}})
        old = QueuedEvent("req-old", "fn", '{"old": 1}', enqueued_at=time.time() - 61)
        queue.store.save(old)
        assert queue.start() == 1
        await settled(queue)
        assert calls == []
        [(_, outcome)] = dest.reports
        assert outcome.condition == "EventAgeExceeded" and outcome.attempts == 0
        record_ = invocation_record(outcome)
        assert "responseContext" not in record_ and record_["requestPayload"] == {"old": 1}
        await pool.close()

    asyncio.run(scenario())


def test_queued_events_survive_a_restart_and_run_once(tmp_path):
    calls: list[bytes] = []
    async def scenario():
        started = asyncio.Event()

        async def stuck(env, payload):
            started.set()
            await asyncio.sleep(3600)

        queue, _, pool, settings = make_queue(tmp_path, stuck)
        for n in range(3):
            await queue.submit("fn", {"n": n})
        await asyncio.wait_for(started.wait(), 5)
        await queue.close()  # "crash" with all three unfinished
        await pool.close()
        assert len(list((settings.state_dir / "async-events").glob("*.json"))) == 3

        async def record(env, payload):
            calls.append(payload)
            return payload

        (tmp_path / "functions" / "fn" / "function.json").unlink()
        again, _, pool2, _ = make_queue(tmp_path, record)
        assert again.start() == 3
        await settled(again)
        assert sorted(calls) == [b'{"n": 0}', b'{"n": 1}', b'{"n": 2}']
        assert list((settings.state_dir / "async-events").glob("*.json")) == []
        await pool2.close()

    asyncio.run(scenario())


def test_reserved_concurrency_zero_sends_events_to_failure_targets_without_running(tmp_path):
    calls: list[bytes] = []

    async def record(env, payload):
        calls.append(payload)
        return payload

    async def scenario():
        queue, dest, pool, _ = make_queue(tmp_path, record, dlq="arn:aws:sns:us-east-1:123456789012:dlq")
        queue.registry.put_concurrency("fn", 0)
        await queue.submit("fn", {"n": 1})
        await settled(queue)
        assert calls == [] and len(dest.dead) == 1 and dest.dead[0][1].attempts == 0
        await pool.close()

    asyncio.run(scenario())


def test_event_invoke_configs_persist_and_the_api_one_wins_over_function_json(tmp_path):
    path = tmp_path / "configs.json"
    configs = EventInvokeConfigs(path)
    queue_dir = tmp_path / "q"
    EventStore(queue_dir)
    from tests.unit.fakes import function

    fn = function("fn", event_invoke_config={"MaximumRetryAttempts": 1})
    assert configs.effective(fn).maximum_retry_attempts == 1
    configs.put(fn, EventInvokeConfig(ARN, maximum_retry_attempts=0, explicit_retries=True))
    assert EventInvokeConfigs(path).effective(fn).maximum_retry_attempts == 0
    assert configs.delete("fn") and not EventInvokeConfigs(path).delete("fn")
    assert configs.effective(function("other")).maximum_retry_attempts == 2
