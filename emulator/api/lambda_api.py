"""The Lambda API: Invoke and the function control operations, on AWS's routes."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from emulator.api import validation
from emulator.api.admin import code_location
from emulator.api.deps import plane_of
from emulator.api.wire import json_body as _body
from emulator.api.wire import json_response as _json
from emulator.domain.errors import InvalidParameterValueException
from emulator.domain.functions import LATEST, FunctionConfig, parse_function_name
from emulator.domain.registry import FunctionRegistry
from emulator.domain.tags import check_tags
from emulator.invocation.invoke_api import InvokeRequest

router = APIRouter()

_CREATING = {"StateReason": "The function is being created.", "StateReasonCode": "Creating"}
_LIST_HIDDEN = ("State", "StateReason", "StateReasonCode", "LastUpdateStatus")


def _registry(request: Request) -> FunctionRegistry:
    return plane_of(request).registry


def _changed(request: Request, function: FunctionConfig) -> Response:
    """An update's answer: AWS reports the update as in progress (GetFunction then shows it done)."""
    plane_of(request).pool.drop_function(function.name)
    config = function.to_aws() | {
        "LastUpdateStatus": "InProgress",
        "LastUpdateStatusReason": "The function is being created.",
        "LastUpdateStatusReasonCode": "Creating",
    }
    return _json(config)


# --- Invoke ---------------------------------------------------------------------------


async def invoke(request: Request) -> Response:
    headers = request.headers
    validation.check("Invoke", {"FunctionName": request.path_params["function_name"],
                                "Qualifier": request.query_params.get("Qualifier")})
    outcome = await plane_of(request).invoker.invoke(
        InvokeRequest(
            function_name=request.path_params["function_name"],
            payload=await request.body(),
            invocation_type=headers.get("x-amz-invocation-type", "RequestResponse"),
            log_type=headers.get("x-amz-log-type", "None"),
            client_context=headers.get("x-amz-client-context"),
            qualifier=request.query_params.get("Qualifier"),
        )
    )
    reply = {"x-amzn-RequestId": outcome.request_id, "X-Amz-Executed-Version": outcome.executed_version}
    if outcome.function_error:
        reply["X-Amz-Function-Error"] = outcome.function_error
    if outcome.log_result is not None:
        reply["X-Amz-Log-Result"] = outcome.log_result
    return Response(outcome.payload, status_code=outcome.status, headers=reply, media_type="application/json")


# A plain (Starlette) route: Invoke is the hot path and needs no FastAPI parameter parsing.
router.add_route("/2015-03-31/functions/{function_name}/invocations", invoke, methods=["POST"])


# --- functions ------------------------------------------------------------------------


@router.post("/2015-03-31/functions")
async def create_function(request: Request) -> Response:
    registry = _registry(request)
    body = await _body(request)
    validation.check("CreateFunction", body)
    name = registry.check_create(body)
    staged = await asyncio.to_thread(registry.stage_code, name, body.get("Code"))  # unzips: off the loop
    tags = check_tags(body["Tags"]) if body.get("Tags") is not None else None
    function = registry.create(body, staged)
    plane_of(request).tags.forget(function.name)
    if tags:
        plane_of(request).tags.tag(function.name, tags)
    return _json(function.to_aws() | {"State": "Pending", **_CREATING}, 201)


@router.get("/2015-03-31/functions")
async def list_functions(request: Request) -> Response:
    functions = _registry(request).list()
    marker = request.query_params.get("Marker")
    try:
        max_items = int(request.query_params.get("MaxItems", "50"))
    except ValueError:
        raise InvalidParameterValueException("MaxItems must be a number") from None
    if marker:
        functions = [f for f in functions if f.name > marker]
    page, rest = functions[: max(1, min(max_items, 10000))], functions[max(1, min(max_items, 10000)):]
    items = [{k: v for k, v in f.to_aws().items() if k not in _LIST_HIDDEN} for f in page]
    result: dict[str, Any] = {"Functions": items}
    if rest:
        result["NextMarker"] = page[-1].name
    return _json(result)


def _qualifier(function_name: str, request: Request) -> str | None:
    """The Qualifier parameter, or the one in the function's name (the registry checks they agree)."""
    ref = parse_function_name(function_name)
    return request.query_params.get("Qualifier") or (ref.qualifier if ref is not None else None)


def _configuration(function: FunctionConfig, qualifier: str | None) -> dict[str, Any]:
    """FunctionConfiguration as GetFunction answers it: asked for $LATEST by name, its ARN says so."""
    config = function.to_aws()
    if qualifier == LATEST:
        config["FunctionArn"] = f"{function.arn}:{LATEST}"
    return config


@router.get("/2015-03-31/functions/{function_name}")
async def get_function(function_name: str, request: Request) -> Response:
    function = _registry(request).get(function_name, request.query_params.get("Qualifier"))
    result: dict[str, Any] = {
        "Configuration": _configuration(function, _qualifier(function_name, request)),
        "Code": {
            "RepositoryType": "S3",
            "Location": code_location(str(request.base_url), plane_of(request), function.name),
        },
    }
    tags = plane_of(request).tags.list(function.name)
    if tags:
        result["Tags"] = tags
    if function.reserved_concurrency is not None:
        result["Concurrency"] = {"ReservedConcurrentExecutions": function.reserved_concurrency}
    return _json(result)


@router.get("/2015-03-31/functions/{function_name}/configuration")
async def get_function_configuration(function_name: str, request: Request) -> Response:
    function = _registry(request).get(function_name, request.query_params.get("Qualifier"))
    return _json(_configuration(function, _qualifier(function_name, request)))


@router.put("/2015-03-31/functions/{function_name}/code")
async def update_function_code(function_name: str, request: Request) -> Response:
    registry = _registry(request)
    body = await _body(request)
    validation.check("UpdateFunctionCode", {**body, "FunctionName": function_name})
    name = registry.latest(function_name).name
    staged = await asyncio.to_thread(registry.stage_code, name, body)  # unzips: off the loop
    return _changed(request, registry.update_code(function_name, body, staged))


@router.put("/2015-03-31/functions/{function_name}/configuration")
async def update_function_configuration(function_name: str, request: Request) -> Response:
    body = await _body(request)
    validation.check("UpdateFunctionConfiguration", {**body, "FunctionName": function_name})
    return _changed(request, _registry(request).update_configuration(function_name, body))


@router.delete("/2015-03-31/functions/{function_name}")
async def delete_function(function_name: str, request: Request) -> Response:
    plane = plane_of(request)
    qualifier = _qualifier(function_name, request)
    if qualifier is not None and qualifier != LATEST:  # one version (an alias: not deletable so)
        latest = plane.registry.get(parse_function_name(function_name).name)  # type: ignore[union-attr]
        if not qualifier.isdigit():
            raise InvalidParameterValueException("Deletion of aliases is not currently supported.")
        plane.registry.versions.delete_version(latest, qualifier)
        plane.pool.drop_key(f"{latest.name}:{qualifier}")
        return Response(status_code=204)
    if qualifier == LATEST:
        raise InvalidParameterValueException("$LATEST version cannot be deleted without deleting the function.")
    function = plane.registry.delete(function_name)
    plane.pool.drop_function(function.name, versions=True)
    plane.async_queue.configs.forget(function.name)
    plane.policies.forget(function.name)
    plane.tags.forget(function.name)
    plane.function_urls.forget(function.name)
    return Response(status_code=204)


# --- concurrency ----------------------------------------------------------------------


@router.put("/2017-10-31/functions/{function_name}/concurrency")
async def put_function_concurrency(function_name: str, request: Request) -> Response:
    body = await _body(request)
    function = _registry(request).put_concurrency(function_name, body.get("ReservedConcurrentExecutions"))
    return _json({"ReservedConcurrentExecutions": function.reserved_concurrency})


@router.get("/2019-09-30/functions/{function_name}/concurrency")
async def get_function_concurrency(function_name: str, request: Request) -> Response:
    function = _registry(request).get(function_name)
    if function.reserved_concurrency is None:
        return _json({})
    return _json({"ReservedConcurrentExecutions": function.reserved_concurrency})


@router.delete("/2017-10-31/functions/{function_name}/concurrency")
async def delete_function_concurrency(function_name: str, request: Request) -> Response:
    _registry(request).delete_concurrency(function_name)
    return Response(status_code=204)
