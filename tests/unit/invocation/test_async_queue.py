"""The asynchronous invocation queue: retries, event age, destinations, dead letters, restarts
(fake executor and fake destinations: logic only; tests/integration/test_async_invoke.py runs
the real thing)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from emulator.config import Settings
from emulator.domain.errors import (
    InvalidRequestContentException,
    LambdaError,
    RequestTooLargeException,
    ServiceException,
)
from emulator.domain.event_invoke import EventInvokeConfig, parse_event_invoke_config
from emulator.domain.registry import FunctionRegistry
from emulator.invocation.async_queue import AsyncInvoker, EventInvokeConfigs, EventStore, QueuedEvent
from emulator.invocation.destinations import AsyncOutcome, invocation_record, s3_record_key
from emulator.invocation.logs import LogStore
from emulator.invocation.pool import EnvironmentPool
from emulator.invocation.service import InvokeService
from tests.unit.fakes import FakeExecutor, FakePorts, FunctionFailure, function

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
        queue, dest, pool, _settings = make_queue(tmp_path, record, config={
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


def test_the_api_config_wins_over_function_json_and_persists(tmp_path):
    path = tmp_path / "configs.json"
    configs = EventInvokeConfigs(path)
    fn = function("fn", event_invoke_config={"MaximumRetryAttempts": 1})
    assert configs.effective(fn).maximum_retry_attempts == 1
    configs.put(fn, EventInvokeConfig(ARN, maximum_retry_attempts=0, explicit_retries=True))
    assert EventInvokeConfigs(path).effective(fn).maximum_retry_attempts == 0
    assert configs.effective(function("other")).maximum_retry_attempts == 2


def test_a_function_json_config_is_the_config_get_list_update_and_delete_act_on(tmp_path):
    path = tmp_path / "configs.json"
    configs = EventInvokeConfigs(path)
    fn = function("fn", event_invoke_config={"MaximumRetryAttempts": 1})
    first = configs.get(fn)
    assert first is not None and first.to_aws()["MaximumRetryAttempts"] == 1
    time.sleep(0.01)
    assert configs.get(fn).to_aws()["LastModified"] == first.to_aws()["LastModified"]  # stays put
    assert EventInvokeConfigs(path).get(fn).last_modified == first.last_modified  # also after a restart
    assert first.to_aws()["FunctionArn"] == ARN + ":$LATEST"

    assert configs.delete(fn)  # Delete removes what Get returned ...
    assert configs.get(fn) is None and not configs.delete(fn)
    assert EventInvokeConfigs(path).get(fn) is None  # ... also after a restart ...
    assert configs.effective(fn).maximum_retry_attempts == 2  # (AWS's defaults apply)
    edited = function("fn", event_invoke_config={"MaximumRetryAttempts": 0})
    assert configs.get(edited).maximum_retry_attempts == 0  # ... until function.json's changes

    # the latest change wins: an API put over the file's, then the file edited again
    configs.put(edited, EventInvokeConfig(ARN, maximum_event_age=60, explicit_age=True))
    assert configs.get(edited).maximum_event_age == 60
    again = function("fn", event_invoke_config={"MaximumRetryAttempts": 2})
    assert configs.get(again).maximum_retry_attempts == 2 and configs.get(again).maximum_event_age == 21600


def test_configs_stored_by_the_first_format_still_load(tmp_path):
    path = tmp_path / "configs.json"
    path.write_text(json.dumps({"fn": {"FunctionArn": ARN, "LastModified": 5.0, "MaximumRetryAttempts": 0,
                                       "DestinationConfig": {"OnSuccess": {}, "OnFailure": {}}}}))
    fn = function("fn", event_invoke_config={"MaximumRetryAttempts": 1})
    assert EventInvokeConfigs(path).get(fn).maximum_retry_attempts == 0


def test_an_event_accepted_before_start_runs_once(tmp_path):
    """The control plane serves before start() runs: an Event accepted then is on disk already."""
    calls: list[bytes] = []

    async def record(env, payload):
        calls.append(payload)
        await asyncio.sleep(0.05)
        return payload

    async def scenario():
        queue, dest, pool, _ = make_queue(tmp_path, record, config={
            "DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:123456789012:ok"}}})
        await queue.submit("fn", {"n": 1})
        assert queue.start() == 0 and queue.start() == 0
        await settled(queue)
        await asyncio.sleep(0.2)  # a second copy would have run by now
        assert calls == [b'{"n": 1}'] and len(dest.reports) == 1
        assert queue.status()["queued"] == 0 and queue.status()["succeeded"] == 1
        await pool.close()

    asyncio.run(scenario())


def test_start_resumes_the_events_of_a_previous_run_alongside_new_ones(tmp_path):
    calls: list[bytes] = []

    async def record(env, payload):
        calls.append(payload)
        return payload

    async def scenario():
        queue, _, pool, _ = make_queue(tmp_path, record)
        queue.store.save(QueuedEvent("req-old", "fn", '{"old": 1}', enqueued_at=time.time()))
        await queue.submit("fn", {"new": 1})
        assert queue.start() == 1
        await settled(queue)
        await asyncio.sleep(0.1)
        assert sorted(calls) == [b'{"new": 1}', b'{"old": 1}']
        await pool.close()

    asyncio.run(scenario())


def test_submit_has_the_invoke_apis_payload_checks(tmp_path):
    async def scenario():
        queue, _, pool, _ = make_queue(tmp_path, lambda env, payload: asyncio.sleep(0, result=payload))
        with pytest.raises(RequestTooLargeException, match="too large for the Event invocation type"):
            await queue.submit("fn", b'"' + b"x" * (1024 * 1024) + b'"')
        with pytest.raises(InvalidRequestContentException, match="Could not parse request body into json"):
            await queue.submit("fn", b"not json")
        await queue.submit("fn", b"x" * 0)  # empty: {} as for Invoke
        assert queue.status()["accepted"] == 1
        await settled(queue)
        await pool.close()

    asyncio.run(scenario())


def test_an_event_that_expires_after_a_failed_attempt_keeps_its_last_response(tmp_path):
    async def scenario():
        queue = None

        async def failing_then_time_passes(env, payload):
            queue.set_offset(61)  # the event is now older than its MaximumEventAgeInSeconds
            return FunctionFailure("nope")

        queue, dest, pool, _ = make_queue(tmp_path, failing_then_time_passes, config={
            "MaximumEventAgeInSeconds": 60,
            "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:f"}}})
        await queue.submit("fn", {"n": 1})
        await settled(queue)
        [(_, outcome)] = dest.reports
        assert outcome.condition == "EventAgeExceeded" and outcome.attempts == 1
        record = invocation_record(outcome)
        assert record["requestContext"]["approximateInvokeCount"] == 1
        assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                             "functionError": "Unhandled"}
        assert record["responsePayload"]["errorMessage"] == "nope"
        await pool.close()

    asyncio.run(scenario())


def test_a_throttled_event_waits_without_using_an_attempt(tmp_path):
    calls: list[bytes] = []

    async def record(env, payload):
        calls.append(payload)
        return payload

    async def scenario():
        queue, dest, pool, _ = make_queue(tmp_path, record, config={
            "MaximumRetryAttempts": 0,
            "DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:123456789012:ok"}}})
        queue.registry.put_concurrency("fn", 1)
        fn = queue.registry.get("fn")
        with queue.service.lease(fn):  # a synchronous invoke holds the one slot
            await queue.submit("fn", {"n": 1})
            while queue.status().get("throttled", 0) < 3:
                await asyncio.sleep(0.01)
            assert calls == []
        await settled(queue)
        [(_, outcome)] = dest.reports
        assert outcome.condition == "Success" and outcome.attempts == 1 and calls == [b'{"n": 1}']
        await pool.close()

    asyncio.run(scenario())


def test_platform_errors_warn_once_per_event(tmp_path, caplog):
    async def scenario():
        queue, _dest, pool, _ = make_queue(tmp_path, lambda env, payload: asyncio.sleep(0, result=payload))
        failures = iter(range(4))
        real = queue._run

        async def broken(function, event):
            if next(failures, None) is not None:
                raise ServiceException("the image could not be built")
            return await real(function, event)

        queue._run = broken  # type: ignore[method-assign]
        with caplog.at_level(logging.DEBUG, logger="emulator.invocation.async_queue"):
            await queue.submit("fn", {"n": 1})
            await settled(queue)
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        debug = [r for r in caplog.records if r.levelno == logging.DEBUG and "could not be built" in r.getMessage()]
        assert len(warnings) == 1 and "further errors for this event" in warnings[0].getMessage()
        assert len(debug) == 3 and queue.status()["platform_errors"] == 4 and queue.status()["succeeded"] == 1
        await pool.close()

    asyncio.run(scenario())


def test_s3_record_key_layout():
    key = s3_record_key(ARN, "2024-05-06T10:00:30.123Z")
    prefix = "aws/lambda/async/fn/2024/05/06/2024-05-06T10.00.30-"
    assert key.startswith(prefix) and str(uuid.UUID(key[len(prefix):])) == key[len(prefix):]


@pytest.mark.parametrize("request_, error", [
    ({"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:s3:::failures"}}}, None),
    ({"DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:s3:::failures"}}}, "An S3 bucket can only be"),
    ({"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:events:us-east-1:123456789012:rule/r"}}},
     "The destination ARN"),
    ({"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:events:us-east-1:123456789012:event-bus/b"}}}, None),
    ({"DestinationConfig": {"OnSuccess": {"Destination": ARN}}}, "destination for itself"),
    ({"DestinationConfig": {"OnSuccess": {"Destination": ARN + ":$LATEST"}}}, "destination for itself"),
    ({"DestinationConfig": {"OnSuccess": {"Destination": ARN + "2"}}}, None),
    ({"MaximumEventAgeInSeconds": 59}, "greater than or equal to 60"),
    ({"MaximumEventAgeInSeconds": 21601}, "less than or equal to 21600"),
    ({"MaximumEventAgeInSeconds": 60}, None),
    ({"MaximumEventAgeInSeconds": 21600}, None),
])
def test_event_invoke_config_validation(request_, error):
    if error is None:
        assert parse_event_invoke_config(ARN, request_).to_aws()["FunctionArn"] == ARN + ":$LATEST"
    else:
        with pytest.raises(LambdaError, match=re.escape(error)):
            parse_event_invoke_config(ARN, request_)
