"""Parsing JSON that callers send: nesting too deep for Python's parser is bad input, not a crash.

``json.loads`` raises ``RecursionError`` (a ``RuntimeError``) on an array or object nested some
thousand levels deep, which every caller here would let through as a 500. ``loads`` turns it into
the ``ValueError`` those callers already answer as "not valid JSON".
"""

from __future__ import annotations

import json
from typing import Any


class TooDeep(ValueError):
    """JSON nested deeper than the parser goes."""


def loads(text: str | bytes | bytearray, **options: Any) -> Any:
    """``json.loads``, raising ``TooDeep`` (a ``ValueError``) where it would recurse too deep."""
    try:
        return json.loads(text, **options)
    except RecursionError:
        raise TooDeep("the JSON is nested too deeply to parse") from None
