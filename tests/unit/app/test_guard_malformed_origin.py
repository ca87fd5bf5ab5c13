"""Regression (emulator/app/guard.py): an Origin urllib cannot split makes the guard raise
(a 500 from the server) instead of answering 403 like every other origin it does not allow."""

from __future__ import annotations

from tests.unit.app.test_guard import FUNCTIONS, call


def test_an_origin_that_is_no_url_gets_403():
    for origin in ("http://[::1", "http://[attacker.example]"):
        reply = call(FUNCTIONS, headers={"origin": origin})
        assert (reply.status, reply.reached_app) == (403, False), origin
