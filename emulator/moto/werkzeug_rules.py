"""moto's Flask apps without the URL builders they never use compiled up front.

moto serves each AWS service from a Flask app of its own, made at the service's first request;
werkzeug compiles every URL rule's *builder* (the code ``url_for`` runs) as it adds the rule,
by generating and compiling Python source, about 2.5 ms a rule: 1.6 s of CPU for the 640 rules
a CloudFormation deployment's services bring, though moto never builds a URL. Here a rule's
builder is compiled the first time it is used instead (the matching code is untouched).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from emulator.moto.patching import Patch, PatchSet


def _lazy_builder(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def compile_builder(rule: Any, append_unknown: bool = True) -> Callable[..., Any]:
        compiled: list[Callable[..., Any]] = []

        def build(bound_rule: Any, *args: Any, **kwargs: Any) -> Any:
            if not compiled:
                compiled.append(original(bound_rule, append_unknown).__get__(bound_rule, None))
            return compiled[0](*args, **kwargs)

        return build

    return compile_builder


def _patches() -> Iterator[Patch]:
    from werkzeug.routing.rules import Rule

    yield Patch(Rule, "_compile_builder", _lazy_builder)


#: a speed-up only (optional: skipped with another moto)
PATCHES = PatchSet("werkzeug-lazy-builders", _patches, optional=True)
