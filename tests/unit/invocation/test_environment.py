"""The execution environment state machine: validate, then transition."""

from __future__ import annotations

import asyncio
import json

import pytest

from emulator.invocation.environment import Environment, EnvState, RuntimeApiError
from emulator.invocation.invocation import Invocation
from tests.unit.fakes import function


def run(coro):
    return asyncio.run(coro)


def make_env(**fields) -> tuple[Environment, list[Environment]]:
    dead: list[Environment] = []
    return Environment(function(**fields), on_dead=dead.append), dead


def test_a_round_trip_moves_starting_idle_busy_idle():
    async def scenario():
        env, _ = make_env()
        assert env.state is EnvState.STARTING
        inv = Invocation(env.function, b'{"x": 1}')
        env.assign(inv)
        got = await env.next_invocation()
        assert got is inv and env.state is EnvState.BUSY
        assert inv.deadline_ms > 0
        env.respond(inv.request_id, b'"ok"')
        assert env.state is EnvState.IDLE
        result = await inv.future
        assert result.payload == b'"ok"' and result.function_error is None
        assert env.init_duration_ms is not None

    run(scenario())


def test_answers_are_validated_before_any_transition():
    async def scenario():
        env, _ = make_env()
        inv = Invocation(env.function, b"{}")
        env.assign(inv)
        await env.next_invocation()
        with pytest.raises(RuntimeApiError) as err:
            env.respond("not-a-request-id", b"{}")
        assert err.value.status == 400 and err.value.error_type == "InvalidRequestID"
        with pytest.raises(RuntimeApiError) as err:
            await env.next_invocation()
        assert err.value.status == 403
        assert env.state is EnvState.BUSY and not inv.done
        env.respond(inv.request_id, b"1")
        with pytest.raises(RuntimeApiError) as err:
            env.respond(inv.request_id, b"2")
        assert err.value.status == 403 and err.value.error_type == "InvalidStateTransition"
        assert (await inv.future).payload == b"1"

    run(scenario())


def test_a_request_id_of_another_environment_is_403():
    async def scenario():
        env, _ = make_env()
        env.foreign_request = lambda request_id: request_id == "theirs"
        with pytest.raises(RuntimeApiError) as err:
            env.respond("theirs", b"{}")
        assert err.value.status == 403

    run(scenario())


def test_init_error_is_only_allowed_during_init_and_fails_the_pending_invocation():
    async def scenario():
        env, dead = make_env()
        inv = Invocation(env.function, b"{}")
        env.assign(inv)
        env.init_failed(b'{"errorType": "Runtime.ImportModuleError"}')
        result = await inv.future
        assert result.function_error == "Unhandled" and result.fatal
        assert dead == [env] and not env.alive

        other, _ = make_env()
        other.assign(Invocation(other.function, b"{}"))
        await other.next_invocation()
        with pytest.raises(RuntimeApiError) as err:
            other.init_failed(b"{}")
        assert err.value.status == 403

    run(scenario())


def test_timeout_answers_at_the_deadline_and_kills_the_environment():
    async def scenario():
        env, dead = make_env(timeout=1)
        inv = Invocation(env.function, b"{}")
        env.assign(inv)
        await env.next_invocation()
        loop = asyncio.get_running_loop()
        started = loop.time()
        result = await inv.future
        assert 0.9 < loop.time() - started < 1.5
        body = json.loads(result.payload)
        assert body["errorType"] == "Sandbox.Timedout"
        assert body["errorMessage"] == f"RequestId: {inv.request_id} Error: Task timed out after 1.00 seconds"
        assert result.report_status == "Status: timeout"
        assert dead == [env]

    run(scenario())


def test_exit_fails_pending_work_with_runtime_exit_error():
    async def scenario():
        env, _ = make_env()
        inv = Invocation(env.function, b"{}")
        env.assign(inv)
        await env.next_invocation()
        env.exited("signal: killed", out_of_memory=True)
        result = await inv.future
        body = json.loads(result.payload)
        assert body == {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {inv.request_id} Error: Runtime exited with error: signal: killed",
        }
        assert "Runtime.OutOfMemory" in result.report_status
        late = Invocation(env.function, b"{}")
        env.assign(late)
        assert json.loads((await late.future).payload)["errorType"] == "Runtime.ExitError"

    run(scenario())


def test_output_written_before_the_answer_belongs_to_the_invocation():
    async def scenario():
        import os

        env, _ = make_env()
        read, write = os.pipe()
        env.read_output_from(read)
        os.write(write, b"during init\n")
        inv = Invocation(env.function, b"{}")
        env.assign(inv)
        await env.next_invocation()
        os.write(write, b"during the invocation\n")
        env.respond(inv.request_id, b"{}")  # no event-loop turn in between: drained on answer
        await inv.future
        assert bytes(env.init_output) == b"during init\n"
        assert bytes(inv.output) == b"during the invocation\n"
        os.close(write)
        env.kill("test over")

    run(scenario())


# --------------------------------------------------------------------------- the transition table


def test_the_table_lists_every_move_and_nothing_leaves_dead():
    from emulator.invocation.environment import TRANSITIONS

    assert set(TRANSITIONS) == set(EnvState)
    assert TRANSITIONS[EnvState.STARTING] == {EnvState.IDLE, EnvState.DEAD}
    assert TRANSITIONS[EnvState.IDLE] == {EnvState.BUSY, EnvState.STARTING, EnvState.DEAD}
    assert TRANSITIONS[EnvState.BUSY] == {EnvState.IDLE, EnvState.DEAD}
    assert TRANSITIONS[EnvState.DEAD] == set()


def test_a_move_the_table_does_not_list_is_an_error_and_changes_nothing():
    from emulator.invocation.environment import IllegalTransition

    async def scenario():
        env, _ = make_env()
        with pytest.raises(IllegalTransition, match="starting -> busy is not a transition"):
            env._move(EnvState.BUSY)
        assert env.state is EnvState.STARTING
        env.kill("test")
        with pytest.raises(IllegalTransition, match="dead -> idle is not a transition"):
            env._move(EnvState.IDLE)
        assert env.state is EnvState.DEAD

    run(scenario())


def test_work_for_an_environment_that_has_some_is_an_error_not_an_assert():
    from emulator.invocation.environment import IllegalTransition

    async def scenario():
        env, _ = make_env()
        first = Invocation(env.function, b"{}")
        env.assign(first)
        with pytest.raises(IllegalTransition, match="while it has work"):
            env.assign(Invocation(env.function, b"{}"))
        with pytest.raises(IllegalTransition, match="cannot restart in place while it has work"):
            env.renew(env.function)
        assert await env.next_invocation() is first  # the first one is untouched

    run(scenario())


def test_restarting_in_place_is_only_for_an_idle_environment():
    from emulator.invocation.environment import IllegalTransition

    async def scenario():
        env, _ = make_env()
        with pytest.raises(IllegalTransition, match="starting -> starting"):
            env.renew(env.function)  # still initialising
        inv = Invocation(env.function, b"{}")
        env.assign(inv)
        await env.next_invocation()
        env.respond(inv.request_id, b"null")
        env.renew(env.function)  # idle: allowed
        assert env.state is EnvState.STARTING

    run(scenario())
