"""The front door lists API Gateway APIs and load balancers after each deployment, but asks the
embedded moto only once it holds something of those services (asking makes their clients, apps
and URL maps: CPU a template's first deployment would wait for)."""

from __future__ import annotations

import asyncio

from emulator.app import plane
from emulator.moto import backends


def test_a_listing_answers_empty_until_the_embedded_moto_holds_the_service(monkeypatch):
    asked: list[str] = []
    used: set[str] = set()

    async def listing() -> list[str]:
        asked.append("asked")
        return ["abc123"]

    monkeypatch.setattr(plane.moto_backends, "used", lambda service: service in used)
    apis = plane._when_used(listing, ("apigateway", "apigatewayv2"), embedded=True)
    assert asyncio.run(apis()) == [] and asked == []
    used.add("apigatewayv2")
    assert asyncio.run(apis()) == ["abc123"] and asked == ["asked"]
    external = plane._when_used(listing, ("elbv2",), embedded=False)  # a moto of its own: always asked
    assert asyncio.run(external()) == ["abc123"]


def test_used_tells_an_imported_backend_from_one_that_holds_state():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.elbv2.models import elbv2_backends

    elbv2_backends.reset()
    assert not backends.used("elbv2")  # imported (CloudFormation's engine imports every model), empty
    elbv2_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]  # a backend made, as a request makes it
    assert backends.used("elbv2")
    elbv2_backends.reset()
