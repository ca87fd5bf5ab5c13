"""The invoke service and warm pool, with a fake executor (logic only)."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import replace
from pathlib import Path

import pytest

from emulator.config import Settings
from emulator.domain.errors import (
    InvalidRequestContentException,
    RequestTooLargeException,
    ResourceNotFoundException,
    TooManyRequestsException,
)
from emulator.domain.registry import FunctionRegistry
from emulator.invocation.invocation import Invocation
from emulator.invocation.invoke_api import Invoker, InvokeRequest
from emulator.invocation.logs import InvocationLog, LogStore
from emulator.invocation.pool import EnvironmentPool
from emulator.invocation.service import InvokeService
from emulator.invocation.service import Reloads as ReloadsProtocol
from tests.unit.fakes import FakeExecutor, FakePorts


class NoQueue:
    async def enqueue(self, inv: Invocation) -> None:
        raise AssertionError("no Event invokes expected")


class Service:
    """The invocation seam and the Invoke operation, as these tests drive them."""

    def __init__(self, seam: InvokeService) -> None:
        self.seam = seam
        self.events: object = NoQueue()

    @property
    def active(self) -> dict[str, int]:
        return self.seam.active

    @property
    def logs(self):
        return self.seam.logs

    @property
    def reloads(self) -> ReloadsProtocol | None:
        return self.seam.reloads

    @reloads.setter
    def reloads(self, reloads: ReloadsProtocol) -> None:
        self.seam.reloads = reloads

    async def invoke(self, request: InvokeRequest):
        return await Invoker(self.seam, self.events).invoke(request)  # type: ignore[arg-type]

    async def run(self, inv: Invocation) -> tuple[InvocationLog, object]:
        executed = await self.seam.execute(inv)
        return executed.log, executed.result


def make_service(tmp_path: Path, executor: FakeExecutor, **settings_fields):
    folder = tmp_path / "functions" / "fn"
    folder.mkdir(parents=True)
    (folder / "fn.py").write_text("def fn_handler(e, c):\n    return e\n")
    settings = replace(Settings(), functions_dir=tmp_path / "functions", state_dir=tmp_path / "state",
                       **settings_fields)
    registry = FunctionRegistry(settings.functions_dir, settings.state_dir, "us-east-1", "123456789012")
    registry.load_folders()
    pool = EnvironmentPool(executor, FakePorts(), settings)  # type: ignore[arg-type]
    return Service(InvokeService(registry, pool, executor, LogStore())), registry, pool


def test_warm_environments_are_reused_and_cold_ones_launched_in_parallel(tmp_path):
    async def slow(env, payload):
        await asyncio.sleep(0.05)
        return payload

    async def scenario():
        executor = FakeExecutor(slow)
        service, _, pool = make_service(tmp_path, executor)
        first = await service.invoke(InvokeRequest("fn", b'{"n": 1}'))
        assert first.status == 200 and first.payload == b'{"n": 1}'
        await service.invoke(InvokeRequest("fn", b"{}"))
        assert len(executor.launched) == 1
        await asyncio.gather(*(service.invoke(InvokeRequest("fn", b"{}")) for _ in range(4)))
        assert len(executor.launched) == 4  # one warm + three new
        await pool.close()

    asyncio.run(scenario())


def test_environments_of_an_old_revision_are_not_reused(tmp_path):
    async def scenario():
        executor = FakeExecutor()
        service, registry, pool = make_service(tmp_path, executor)
        await service.invoke(InvokeRequest("fn", b"{}"))
        registry.update_configuration("fn", {"Timeout": 9})
        await service.invoke(InvokeRequest("fn", b"{}"))
        assert len(executor.launched) == 2
        assert executor.launched[0] in executor.destroyed
        await pool.close()

    asyncio.run(scenario())


def test_reserved_concurrency_is_a_lease(tmp_path):
    async def scenario():
        release = asyncio.Event()

        async def blocked(env, payload):
            await release.wait()
            return payload

        executor = FakeExecutor(blocked)
        service, registry, pool = make_service(tmp_path, executor)
        registry.put_concurrency("fn", 1)
        first = asyncio.ensure_future(service.invoke(InvokeRequest("fn", b"{}")))
        await asyncio.sleep(0.01)
        with pytest.raises(TooManyRequestsException) as err:
            await service.invoke(InvokeRequest("fn", b"{}"))
        assert err.value.body()["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        release.set()
        assert (await first).status == 200
        assert service.active["fn"] == 0
        await pool.close()

    asyncio.run(scenario())


def test_requests_are_validated_before_anything_runs(tmp_path):
    async def scenario():
        executor = FakeExecutor()
        service, _, pool = make_service(tmp_path, executor)
        with pytest.raises(ResourceNotFoundException):
            await service.invoke(InvokeRequest("missing", b"{}"))
        with pytest.raises(InvalidRequestContentException):
            await service.invoke(InvokeRequest("fn", b"{nope"))
        with pytest.raises(RequestTooLargeException):
            await service.invoke(InvokeRequest("fn", b"1" * (6 * 1024 * 1024 + 1)))
        with pytest.raises(RequestTooLargeException) as err:
            await service.invoke(InvokeRequest("fn", b"1" * (1024 * 1024 + 1), invocation_type="Event"))
        assert "for the Event invocation type (limit 1048576 bytes)" in err.value.message
        with pytest.raises(InvalidRequestContentException):
            await service.invoke(InvokeRequest("fn", b"{}", client_context="%%%"))
        assert (await service.invoke(InvokeRequest("fn", b"{}", invocation_type="DryRun"))).status == 204
        assert executor.launched == []
        await pool.close()

    asyncio.run(scenario())


def test_tail_log_is_base64_of_the_last_4kb_with_report(tmp_path):
    async def scenario():
        executor = FakeExecutor()
        service, _, pool = make_service(tmp_path, executor)
        outcome = await service.invoke(InvokeRequest("fn", b"{}", log_type="Tail"))
        log = base64.b64decode(outcome.log_result or "").decode()
        assert log.startswith(f"START RequestId: {outcome.request_id} Version: $LATEST\n")
        assert f"\nEND RequestId: {outcome.request_id}\n" in log
        report = log.splitlines()[-1]
        assert report.startswith(f"REPORT RequestId: {outcome.request_id}\tDuration: ")
        assert "\tMemory Size: 128 MB\tMax Memory Used: 42 MB\tInit Duration: " in report
        assert report.endswith(" ms\t")
        await pool.close()

    asyncio.run(scenario())


def test_event_invokes_go_to_the_event_queue(tmp_path):
    async def scenario():
        seen: list[bytes] = []

        async def record(env, payload):
            seen.append(payload)
            return b"null"

        executor = FakeExecutor(record)
        service, _, pool = make_service(tmp_path, executor)
        queued: list = []

        class Queue:
            async def enqueue(self, inv):
                queued.append(inv)
                await service.run(inv)

        service.events = Queue()
        outcome = await service.invoke(InvokeRequest("fn", b'{"e": 1}', invocation_type="Event"))
        assert outcome.status == 202 and outcome.request_id == queued[0].request_id
        assert seen == [b'{"e": 1}']
        assert service.logs.get(outcome.request_id) is not None
        await pool.close()

    asyncio.run(scenario())


def test_idle_environments_are_reaped(tmp_path):
    async def scenario():
        executor = FakeExecutor()
        service, _, pool = make_service(tmp_path, executor, idle_timeout=5)
        await service.invoke(InvokeRequest("fn", b"{}"))
        assert pool.reap() == 0
        import time

        assert pool.reap(now=time.monotonic() + 6) == 1
        await asyncio.sleep(0)
        assert executor.destroyed == executor.launched
        await pool.close()

    asyncio.run(scenario())


def test_a_burst_starts_few_environments_at_once_and_reuses_the_warm_ones(tmp_path):
    """200 invokes at once on a pool that may start 2 environments at a time: never more than
    2 initialise together, and the invokes waiting for a start slot take warm environments."""
    async def quick(env, payload):
        await asyncio.sleep(0.005)
        return payload

    async def scenario():
        executor = FakeExecutor(quick, init_seconds=0.05)
        service, _, pool = make_service(tmp_path, executor, max_starting=2)
        most_starting = 0

        async def watch():
            nonlocal most_starting
            while True:
                most_starting = max(most_starting, pool.starting)
                await asyncio.sleep(0.001)

        watcher = asyncio.get_running_loop().create_task(watch())
        replies = await asyncio.gather(*(service.invoke(InvokeRequest("fn", b'{"n": %d}' % n)) for n in range(200)))
        watcher.cancel()
        assert [r.payload for r in replies] == [b'{"n": %d}' % n for n in range(200)]
        assert most_starting == 2
        assert pool.starting == 0
        # 200 invokes of 5 ms while environments take 50 ms to start: most ran warm
        assert 2 <= len(executor.launched) < 40
        await pool.close()

    asyncio.run(scenario())


def test_a_start_slot_is_freed_when_an_environment_dies_during_init(tmp_path):
    async def scenario():
        executor = FakeExecutor(init_seconds=10)
        service, _registry, pool = make_service(tmp_path, executor, max_starting=1)
        first = asyncio.get_running_loop().create_task(service.invoke(InvokeRequest("fn", b"{}")))
        while not executor.launched:
            await asyncio.sleep(0.001)
        second = asyncio.get_running_loop().create_task(service.invoke(InvokeRequest("fn", b"{}")))
        await asyncio.sleep(0.02)
        assert len(executor.launched) == 1  # the second waits for the only start slot
        executor.init_seconds = 0
        executor.launched[0].exited("exit status 1")
        reply = await first
        assert reply.function_error == "Unhandled"  # Runtime.ExitError
        assert (await second).payload == b"{}"
        assert len(executor.launched) == 2
        await pool.close()

    asyncio.run(scenario())


def test_environments_busy_when_their_function_changes_are_destroyed_when_they_finish(tmp_path):
    release = asyncio.Event

    async def scenario():
        gate = release()

        async def held(env, payload):
            await gate.wait()
            return payload

        executor = FakeExecutor(held)
        service, _registry, pool = make_service(tmp_path, executor)
        running = asyncio.get_running_loop().create_task(service.invoke(InvokeRequest("fn", b"{}")))
        while not pool.environments("fn") or pool.environments("fn")[0].current is None:
            await asyncio.sleep(0.001)
        [env] = pool.environments("fn")
        pool.drop_function("fn")  # e.g. a reload while the invocation runs
        gate.set()
        assert (await running).status == 200  # it finishes on the old code ...
        await asyncio.sleep(0)
        assert env in executor.destroyed and pool.environments("fn") == []  # ... and then goes
        await pool.close()

    asyncio.run(scenario())


class Reloads:
    """Hot reload as the service sees it: ``current`` swaps in a newer function."""

    def __init__(self, registry: FunctionRegistry) -> None:
        self.registry = registry
        self.newer: dict[str, object] = {}
        self.asked: list[str] = []

    async def current(self, function):
        self.asked.append(function.name)
        newer = self.newer.pop(function.name, None)
        if newer is not None:
            self.registry.replace(newer)
        return self.registry.get(function.name) if function.name in self.registry else None

    async def appeared(self, function_name: str) -> bool:
        self.asked.append(f"appeared {function_name}")
        return function_name in self.registry

    async def retry_after_save(self, function, launched_at):
        return None


def test_every_invoke_asks_for_the_function_as_its_files_are_now(tmp_path):
    async def scenario():
        executor = FakeExecutor()
        service, registry, pool = make_service(tmp_path, executor)
        reloads = service.reloads = Reloads(registry)
        await service.invoke(InvokeRequest("fn", b"{}"))
        newer = registry.get("fn").changed(timeout=9)
        reloads.newer["fn"] = newer
        await service.invoke(InvokeRequest("fn", b"{}"))
        assert [env.function.revision_id for env in executor.launched][-1] == newer.revision_id
        assert len(executor.launched) == 2  # the warm environment of the old revision is not used
        # an event (or a batch) that waited runs on the function as it is when it runs
        newest = registry.get("fn").changed(timeout=10)
        reloads.newer["fn"] = newest
        _, result = await service.run(Invocation(newer, b"{}"))
        assert result.function_error is None
        assert executor.launched[-1].function.revision_id == newest.revision_id
        # a function known only once its folder is loaded
        with pytest.raises(ResourceNotFoundException):
            await service.invoke(InvokeRequest("later", b"{}"))
        assert "appeared later" in reloads.asked
        registry.create({"FunctionName": "later", "Runtime": "python3.11", "Handler": "fn.fn_handler",
                         "Code": {"S3Bucket": "hot-reload", "S3Key": str(tmp_path / "functions" / "fn")}})
        assert (await service.invoke(InvokeRequest("later", b"{}"))).status == 200
        await pool.close()

    asyncio.run(scenario())


def test_a_new_revision_restarts_idle_runtimes_in_place_when_only_the_code_changed(tmp_path):
    async def scenario():
        executor = FakeExecutor()
        executor.renew = True
        service, registry, pool = make_service(tmp_path, executor)
        first = await service.invoke(InvokeRequest("fn", b"{}", log_type="Tail"))
        [env] = pool.environments("fn")
        new = registry.get("fn").changed()
        registry.replace(new)
        assert pool.renew(new) == 1
        again = await service.invoke(InvokeRequest("fn", b'{"n": 2}', log_type="Tail"))
        assert again.payload == b'{"n": 2}'
        assert executor.launched == [env] and executor.restarts == [env]  # no new environment
        assert env.function.revision_id == new.revision_id
        assert "Init Duration" in base64.b64decode(again.log_result).decode()  # it started afresh
        third = await service.invoke(InvokeRequest("fn", b"{}", log_type="Tail"))
        assert "Init Duration" not in base64.b64decode(third.log_result).decode()
        assert "Init Duration" in base64.b64decode(first.log_result).decode()
        await pool.close()

    asyncio.run(scenario())


def test_a_new_revision_that_needs_a_new_environment_gets_one(tmp_path):
    async def scenario():
        executor = FakeExecutor()  # renewable() says no (e.g. its variables changed)
        service, registry, pool = make_service(tmp_path, executor)
        await service.invoke(InvokeRequest("fn", b"{}"))
        [old] = pool.environments("fn")
        new = registry.get("fn").changed()
        registry.replace(new)
        assert pool.renew(new) == 0
        await service.invoke(InvokeRequest("fn", b"{}"))
        assert old in executor.destroyed and len(executor.launched) == 2 and executor.restarts == []
        await pool.close()

    asyncio.run(scenario())
