"""moto's URL rules: builders compiled on first use, matching and building unchanged."""

from __future__ import annotations

from werkzeug.routing import Map, Rule

from emulator.moto import werkzeug_rules


def test_rules_match_and_build_as_before_with_lazy_builders():
    assert werkzeug_rules.PATCHES.apply()
    try:
        urls = Map([Rule("/2015-03-31/functions/<name>/invocations", endpoint="invoke"),
                    Rule("/queues/<int:n>", endpoint="queue")]).bind("localhost")
        assert urls.match("/2015-03-31/functions/fn/invocations") == ("invoke", {"name": "fn"})
        assert urls.match("/queues/7") == ("queue", {"n": 7})
        assert urls.build("invoke", {"name": "fn"}) == "/2015-03-31/functions/fn/invocations"
        assert urls.build("queue", {"n": 3, "extra": "x"}) == "/queues/3?extra=x"  # the unknown-values builder
    finally:
        werkzeug_rules.PATCHES.undo()
