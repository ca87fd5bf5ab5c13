"""The schedules' loops (emulator/schedules/service.py) with a fake thread pool and a
timetable fed by hand: a bad firing never stops the loop, and shutdown is quiet and final."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from emulator.schedules.service import Schedules
from emulator.schedules.timetable import RULE, SCHEDULE, ScheduleSpec


class FakeClients:
    """Runs the call at once; refuses, as a shut-down ThreadPoolExecutor does, once closed."""

    def __init__(self) -> None:
        self.closed = False
        self.calls = 0

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.closed:
            raise RuntimeError("cannot schedule new futures after shutdown")
        self.calls += 1
        await asyncio.sleep(0)
        return fn(*args, **kwargs)

    def client(self, service: str) -> Any:  # pragma: no cover - _read is replaced
        raise AssertionError("no AWS in these tests")


def schedule(name: str, expression: str) -> ScheduleSpec:
    return ScheduleSpec(kind=SCHEDULE, name=name, group="default",
                        arn=f"arn:aws:scheduler:us-east-1:123456789012:schedule/default/{name}",
                        expression=expression, created=time.time(),
                        target={"Arn": "arn:aws:lambda:us-east-1:123456789012:function:fn", "Input": "{}"})


def make(specs: list[ScheduleSpec]) -> tuple[Schedules, FakeClients, list[str]]:
    sent: list[str] = []

    async def submit(arn: str, payload: bytes, source: str) -> str:
        sent.append(source)
        return "req"

    clients = FakeClients()
    schedules = Schedules(clients, submit, embedded=False, interval=0.02)  # type: ignore[arg-type]
    schedules._read = lambda services: {RULE: [], SCHEDULE: list(specs)}  # type: ignore[method-assign]
    return schedules, clients, sent


def test_close_is_quiet_and_final(caplog):
    async def scenario() -> None:
        schedules, clients, _ = make([schedule("s", "rate(1 day)")])
        schedules.start()
        while clients.calls < 3:  # a few refreshes
            await asyncio.sleep(0.01)
        await schedules.close()
        clients.closed = True  # the app shuts the thread pool down after close()
        await schedules.refresh()  # nothing: no RuntimeError
        schedules.start()  # nothing: not started again
        await asyncio.sleep(0.1)
        assert all(task.done() for task in schedules._loops)

    with caplog.at_level(logging.WARNING):
        asyncio.run(scenario())
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_failing_pass_of_the_firing_loop_does_not_stop_it(caplog):
    async def scenario() -> list[str]:
        schedules, _, sent = make([schedule("first", "rate(1 day)")])
        real_due = schedules.timetable.due
        failures = iter([RuntimeError("the timetable broke")])

        def due(now: float) -> list[Any]:
            error = next(failures, None)
            if error is not None:
                raise error
            return real_due(now)

        schedules.timetable.due = due  # type: ignore[method-assign]
        schedules.start()
        deadline = time.monotonic() + 5
        while len(sent) < 1:  # a Scheduler rate fires at creation, once the loop is back
            assert time.monotonic() < deadline, "the firing loop stopped"
            await asyncio.sleep(0.01)
        await schedules.close()
        return sent

    with caplog.at_level(logging.ERROR):
        assert asyncio.run(scenario()) == ["EventBridge Scheduler schedule first"]
    assert any("firing failed" in r.getMessage() for r in caplog.records)


def test_a_schedule_past_year_9999_does_not_stop_the_others():
    async def scenario() -> list[str]:
        schedules, _, sent = make([schedule("vast", "rate(5000000 days)"), schedule("daily", "rate(1 day)")])
        schedules.start()
        deadline = time.monotonic() + 5
        while len(sent) < 2:
            assert time.monotonic() < deadline, sent
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # the loop goes on after planning 'vast' past year 9999
        assert not schedules._loops[1].done()
        await schedules.close()
        return sent

    assert sorted(asyncio.run(scenario())) == ["EventBridge Scheduler schedule daily",
                                              "EventBridge Scheduler schedule vast"]


def test_an_embedded_moto_is_read_only_for_services_that_hold_state():
    async def submit(arn: str, payload: bytes, source: str) -> str:
        return "req"

    state = {"events": False, "scheduler": False}
    schedules = Schedules(FakeClients(), submit, embedded=True, used=state.__getitem__)  # type: ignore[arg-type]
    assert schedules._services() == set()  # imported by CloudFormation's engine, never used: nothing to read
    state["events"] = True
    assert schedules._services() == {RULE}
    state["scheduler"] = True
    assert schedules._services() == {RULE, SCHEDULE}
    external = Schedules(FakeClients(), submit, embedded=False, used=state.__getitem__)  # type: ignore[arg-type]
    state.update(events=False, scheduler=False)
    assert external._services() == {RULE, SCHEDULE}  # another process's moto: always read


def test_a_backend_is_used_once_made_for_an_account():
    import moto.events.models as events

    from emulator.moto import backends

    events.events_backends["123456789012"]["us-east-1"]  # what any request does
    assert backends.used("events")
