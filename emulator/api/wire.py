"""JSON in and out for the routers: one reply helper, one request-body parser."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response

from emulator.api import validation
from emulator.domain import json_text
from emulator.domain.errors import InvalidParameterValueException, InvalidRequestContentException

T = TypeVar("T")


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status_code=status, media_type="application/json")


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object ({} when empty); InvalidRequestContentException otherwise."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json_text.loads(raw)
    except ValueError as exc:
        raise InvalidRequestContentException(f"Could not parse request body into json: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidRequestContentException("Could not parse request body into json: expected an object")
    return body


def paged(request: Request, items: Sequence[T], key: Callable[[T], str]) -> tuple[list[T], str | None]:
    """Marker/MaxItems paging: the items after the one whose key is Marker, up to MaxItems."""
    marker = request.query_params.get("Marker")
    raw = request.query_params.get("MaxItems", "50")
    try:
        max_items = int(raw)
    except ValueError:
        raise InvalidParameterValueException(f"MaxItems must be a number, not {raw!r}") from None
    validation.check("ListAliases", {"MaxItems": max_items})  # MaxListItems: 1..10000, AWS's words
    start = 0
    if marker:
        keys = [key(item) for item in items]
        start = keys.index(marker) + 1 if marker in keys else len(items)
    page = list(items[start:start + max_items])
    more = start + max_items < len(items)
    return page, (key(page[-1]) if more and page else None)
