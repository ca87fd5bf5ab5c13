"""Lambda's tag operations (TagResource, UntagResource, ListTags) on AWS's routes
(``/2017-03-31/tags/{ARN}``); the model is emulator/domain/tags.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from emulator.api.deps import plane_of
from emulator.api.wire import json_body, json_response
from emulator.domain.errors import InvalidParameterValueException

router = APIRouter()
_PATH = "/2017-03-31/tags/{arn:path}"


def _function_name(request: Request, arn: str) -> str:
    if not arn.startswith("arn:"):
        raise InvalidParameterValueException(f"The resource ARN is not valid: {arn}")
    return plane_of(request).registry.get(arn).name  # ResourceNotFoundException for an unknown function


@router.get(_PATH)
async def list_tags(arn: str, request: Request) -> Response:
    name = _function_name(request, arn)
    return json_response({"Tags": plane_of(request).tags.list(name)})


@router.post(_PATH)
async def tag_resource(arn: str, request: Request) -> Response:
    name = _function_name(request, arn)
    body = await json_body(request)
    plane_of(request).tags.tag(name, body.get("Tags"))
    return Response(status_code=204)


@router.delete(_PATH)
async def untag_resource(arn: str, request: Request) -> Response:
    name = _function_name(request, arn)
    plane_of(request).tags.untag(name, request.query_params.getlist("tagKeys"))
    return Response(status_code=204)
