"""The event source mapping operations of the Lambda API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from emulator.api import validation
from emulator.api.deps import plane_of
from emulator.api.wire import json_body as _body
from emulator.api.wire import json_response as _json
from emulator.domain.errors import InvalidParameterValueException
from emulator.esm.manager import EventSourceManager

router = APIRouter(prefix="/2015-03-31/event-source-mappings")


def _manager(request: Request) -> EventSourceManager:
    return plane_of(request).mappings


@router.post("")
@router.post("/", include_in_schema=False)
async def create_event_source_mapping(request: Request) -> Response:
    body = await _body(request)
    validation.check("CreateEventSourceMapping", body)
    return _json(await _manager(request).create(body), 202)


@router.get("")
@router.get("/", include_in_schema=False)
async def list_event_source_mappings(request: Request) -> Response:
    manager = _manager(request)
    query = request.query_params
    mappings = manager.list(query.get("FunctionName"), query.get("EventSourceArn"))
    try:
        max_items = max(1, min(int(query.get("MaxItems", "100")), 10000))
        start = int(query.get("Marker", "0"))
    except ValueError:
        raise InvalidParameterValueException("Marker and MaxItems must be numbers") from None
    page = mappings[start:start + max_items]
    result: dict[str, Any] = {"EventSourceMappings": [manager.describe(m) for m in page]}
    if start + max_items < len(mappings):
        result["NextMarker"] = str(start + max_items)
    return _json(result)


@router.get("/{uuid}")
async def get_event_source_mapping(uuid: str, request: Request) -> Response:
    manager = _manager(request)
    return _json(manager.describe(manager.get(uuid)))


@router.put("/{uuid}")
async def update_event_source_mapping(uuid: str, request: Request) -> Response:
    body = await _body(request)
    validation.check("UpdateEventSourceMapping", {**body, "UUID": uuid})
    return _json(await _manager(request).update(uuid, body), 202)


@router.delete("/{uuid}")
async def delete_event_source_mapping(uuid: str, request: Request) -> Response:
    return _json(await _manager(request).delete(uuid), 202)
