"""Versions and aliases on AWS's routes: PublishVersion, ListVersionsByFunction, CreateAlias,
GetAlias, UpdateAlias, DeleteAlias and ListAliases (the model: emulator/domain/versions.py;
DeleteFunction with a Qualifier, GetFunction's and Invoke's qualifiers are in lambda_api.py).

https://docs.aws.amazon.com/lambda/latest/api/API_PublishVersion.html and the pages beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response

from emulator.api import validation
from emulator.api.deps import plane_of
from emulator.api.wire import json_body, json_response, paged
from emulator.domain.errors import InvalidParameterValueException, LambdaError
from emulator.domain.functions import LATEST, FunctionConfig

router = APIRouter()
_FUNCTION = "/2015-03-31/functions/{function_name}"
#: one PublishVersion at a time: the unchanged-since-the-last-version check and the copy go together
_publishing = asyncio.Lock()
T = TypeVar("T")


async def _latest(request: Request, function_name: str) -> FunctionConfig:
    """The function's $LATEST as its files are now (a save just before the call counts)."""
    plane = plane_of(request)
    function = plane.registry.latest(function_name)
    if plane.reloader is not None:
        current = await plane.reloader.current(function)
        if current is not None:
            return current
    return function


# --- versions -------------------------------------------------------------------------


@router.post(_FUNCTION + "/versions")
async def publish_version(function_name: str, request: Request) -> Response:
    body = await json_body(request)
    validation.check("PublishVersion", {**body, "FunctionName": function_name})
    versions = plane_of(request).registry.versions
    async with _publishing:
        latest = await _latest(request, function_name)
        version = versions.check_publish(latest, body)
        if version is None:
            version = await asyncio.to_thread(versions.publish, latest, body)  # copies the code: off the loop
    return json_response(version.to_aws(), 201)


@router.get(_FUNCTION + "/versions")
async def list_versions_by_function(function_name: str, request: Request) -> Response:
    validation.check("ListVersionsByFunction", {"FunctionName": function_name})
    registry = plane_of(request).registry
    latest = registry.latest(function_name)
    everything = [latest, *registry.versions.published(latest.name)]
    page, marker = paged(request, everything, lambda f: f.version)
    items = []
    for function in page:
        item = function.to_aws()
        if function.version == LATEST:
            item["FunctionArn"] = f"{function.arn}:{LATEST}"
        items.append({k: v for k, v in item.items() if k not in ("State", "LastUpdateStatus")})
    result: dict[str, Any] = {"Versions": items}
    if marker:
        result["NextMarker"] = marker
    return json_response(result)


# --- aliases --------------------------------------------------------------------------


@router.post(_FUNCTION + "/aliases")
async def create_alias(function_name: str, request: Request) -> Response:
    body = await json_body(request)
    validation.check("CreateAlias", {**body, "FunctionName": function_name})
    for member in ("Name", "FunctionVersion"):
        if not isinstance(body.get(member), str):
            raise InvalidParameterValueException(f"{member} is required")
    latest = plane_of(request).registry.latest(function_name)
    alias = plane_of(request).registry.versions.create_alias(latest, body)
    return json_response(alias.to_aws(latest.arn), 201)


@router.get(_FUNCTION + "/aliases")
async def list_aliases(function_name: str, request: Request) -> Response:
    version = request.query_params.get("FunctionVersion")
    validation.check("ListAliases", {"FunctionName": function_name, "FunctionVersion": version})
    latest = plane_of(request).registry.latest(function_name)
    aliases = [a for a in plane_of(request).registry.versions.aliases(latest.name)
               if version is None or a.function_version == version]
    page, marker = paged(request, aliases, lambda a: a.name)
    result: dict[str, Any] = {"Aliases": [alias.to_aws(latest.arn) for alias in page]}
    if marker:
        result["NextMarker"] = marker
    return json_response(result)


@router.get(_FUNCTION + "/aliases/{name}")
async def get_alias(function_name: str, name: str, request: Request) -> Response:
    validation.check("GetAlias", {"FunctionName": function_name, "Name": name})
    latest = plane_of(request).registry.latest(function_name)
    return json_response(plane_of(request).registry.versions.alias(latest, name).to_aws(latest.arn))


@router.put(_FUNCTION + "/aliases/{name}")
async def update_alias(function_name: str, name: str, request: Request) -> Response:
    body = await json_body(request)
    validation.check("UpdateAlias", {**body, "FunctionName": function_name, "Name": name})
    latest = plane_of(request).registry.latest(function_name)
    alias = plane_of(request).registry.versions.update_alias(latest, name, body)
    return json_response(alias.to_aws(latest.arn))


@router.delete(_FUNCTION + "/aliases/{name}")
async def delete_alias(function_name: str, name: str, request: Request) -> Response:
    validation.check("DeleteAlias", {"FunctionName": function_name, "Name": name})
    plane = plane_of(request)
    latest = plane.registry.latest(function_name)
    plane.registry.versions.delete_alias(latest, name)
    with contextlib.suppress(LambdaError):  # the alias's URL goes with it
        plane.function_urls.delete(latest.name, name)
    return Response(status_code=204)
