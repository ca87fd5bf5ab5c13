"""JSON in and out for the routers: one reply helper, one request-body parser."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from emulator.domain import json_text
from emulator.domain.errors import InvalidRequestContentException


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
