"""Log lines on a terminal, and the per-function cursors ``cloudmicro logs -f`` reads with."""

from __future__ import annotations

import asyncio

from emulator.invocation import log_style
from emulator.invocation.logs import InvocationLog, LogStore

LOG = (
    "START RequestId: r1 Version: $LATEST\n"
    "hello\n"
    "[ERROR] ValueError: boom\rTraceback (most recent call last):\r\u00a0\u00a0File \"/var/task/a.py\", line 1\n"
    "Traceback (most recent call last):\n"
    '  File "a.py", line 2, in f\n'
    "KeyError: 'x'\n"
    "after\n"
    "END RequestId: r1\n"
    "REPORT RequestId: r1\tDuration: 1.00 ms\t\n"
)


def test_lines_are_classified():
    kinds = [kind for kind, _ in log_style.classify(LOG)]
    assert kinds == ["platform", "plain", "error", "error", "error", "error", "error", "error", "plain",
                     "platform", "platform"]


def test_plain_output_is_the_log_unchanged():
    assert log_style.styled(LOG, colour=False) == "".join(line + "\n" for line in LOG.splitlines())
    assert "\x1b" not in log_style.styled(LOG, colour=False, prefix="[fn] ")


def test_coloured_output():
    out = log_style.styled(LOG, colour=True)
    assert f"{log_style.DIM}START RequestId: r1" in out
    assert f"{log_style.RED}[ERROR] ValueError: boom" in out
    assert "\nhello\n" in out


def entry(name: str, n: int) -> InvocationLog:
    return InvocationLog(name, f"{name}-{n}", f"START RequestId: {name}-{n}\n")


def test_since_and_follow():
    async def scenario():
        store = LogStore()
        for n in range(3):
            store.add(entry("a", n))
            store.add(entry("b", n))
        recent, cursor = store.since("a", None, limit=2)
        assert [e.request_id for e in recent] == ["a-1", "a-2"]
        assert store.since("a", cursor) == ([], cursor)
        waiting = asyncio.create_task(store.follow("a", cursor, wait=5))
        await asyncio.sleep(0.01)
        store.add(entry("b", 9))  # another function's log does not end the wait
        await asyncio.sleep(0.01)
        assert not waiting.done()
        store.add(entry("a", 3))
        new, after = await asyncio.wait_for(waiting, 1)
        assert [e.request_id for e in new] == ["a-3"] and after > cursor
        store.clear()
        store.add(entry("a", 4))
        assert [e.request_id for e in store.since("a", after)[0]] == ["a-4"]  # numbers go on after clear
        assert (await store.follow("a", store.since("a", None)[1], wait=0.05))[0] == []

    asyncio.run(scenario())


class _Env:
    def __init__(self, name: str, env_id: str) -> None:
        self.id = env_id
        self.function = type("F", (), {"name": name, "version": "$LATEST"})()


class _Inv:
    def __init__(self, request_id: str) -> None:
        self.request_id = request_id


def test_live_echo_shows_lines_as_they_come():
    import io

    from emulator.invocation.live_echo import LiveEcho

    stream = io.StringIO()
    echo = LiveEcho(stream)
    env = _Env("fn", "e1")
    echo.output(env, b"init says hi\n")
    echo.started(env, _Inv("r1"))
    echo.output(env, b"one\ntw")
    assert stream.getvalue().splitlines() == ["[fn] init says hi", "[fn] START RequestId: r1 Version: $LATEST",
                                              "[fn] one"]
    echo.output(env, b"o\nthr")
    text = "START RequestId: r1 Version: $LATEST\none\ntwo\nthr\nlate notice\nEND RequestId: r1\nREPORT RequestId: r1\tx\n"
    echo.finished(InvocationLog("fn", "r1", text, platform_log="late notice"))
    assert stream.getvalue().splitlines()[3:] == ["[fn] two", "[fn] thr", "[fn] late notice",
                                                  "[fn] END RequestId: r1", "[fn] REPORT RequestId: r1\tx"]
    echo.notice("reloaded fn")
    assert stream.getvalue().endswith("cloudmicro: reloaded fn\n")
