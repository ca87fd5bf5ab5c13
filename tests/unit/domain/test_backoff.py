"""Exponential backoff (emulator/domain/backoff.py), written once for every retry loop."""

from __future__ import annotations

import asyncio

import pytest

from emulator.domain.backoff import Backoff, delay


def test_waits_double_up_to_the_cap():
    backoff = Backoff(0.5, 10.0)
    assert [backoff.next() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert backoff.attempts == 7


def test_reset_starts_again_from_the_first_wait():
    backoff = Backoff(0.1, 1.0)
    backoff.next()
    backoff.next()
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next() == 0.1


def test_another_factor():
    backoff = Backoff(1.0, 100.0, factor=3.0)
    assert [backoff.next() for _ in range(4)] == [1.0, 3.0, 9.0, 27.0]


def test_jitter_stays_between_zero_and_the_wait():
    backoff = Backoff(1.0, 8.0, jitter=True)
    for ceiling in (1.0, 2.0, 4.0, 8.0, 8.0):
        assert 0.0 <= backoff.next() <= ceiling


def test_the_delay_of_an_attempt_counted_elsewhere():
    assert [delay(n, 0.05, 5.0) for n in (0, 1, 2, 3, 8, 9)] == [0.0, 0.05, 0.1, 0.2, 5.0, 5.0]
    assert delay(100_000, 0.05, 5.0) == 5.0  # no overflow however many attempts


def test_wait_sleeps_the_next_wait(monkeypatch: pytest.MonkeyPatch):
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    backoff = Backoff(0.25, 1.0)
    asyncio.run(backoff.wait())
    asyncio.run(backoff.wait())
    assert slept == [0.25, 0.5]
