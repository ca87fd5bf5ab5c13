"""The asynchronous invocation configuration API (Put/Get/Update/Delete/List
FunctionEventInvokeConfig), on AWS's routes. A function.json ``EventInvokeConfig`` is the
function's configuration as far as all five are concerned (see ``EventInvokeConfigs``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from emulator.api.deps import plane_of
from emulator.api.wire import json_body, json_response
from emulator.domain.errors import ResourceNotFoundException
from emulator.domain.event_invoke import parse_event_invoke_config
from emulator.domain.functions import FunctionConfig
from emulator.invocation.async_queue import EventInvokeConfigs

router = APIRouter()
_PATH = "/2019-09-25/functions/{function_name}/event-invoke-config"


def _lookup(request: Request, function_name: str) -> tuple[FunctionConfig, EventInvokeConfigs]:
    plane = plane_of(request)
    function = plane.registry.get(function_name, request.query_params.get("Qualifier"))
    return function, plane.async_queue.configs


def _missing(function: FunctionConfig) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"The function {function.arn} doesn't have an EventInvokeConfig")


@router.put(_PATH)
async def put_event_invoke_config(function_name: str, request: Request) -> Response:
    function, configs = _lookup(request, function_name)
    config = parse_event_invoke_config(function.arn, await json_body(request))
    return json_response(configs.put(function, config).to_aws())


@router.post(_PATH)
async def update_event_invoke_config(function_name: str, request: Request) -> Response:
    function, configs = _lookup(request, function_name)
    current = configs.get(function)
    if current is None:
        raise _missing(function)
    config = parse_event_invoke_config(function.arn, await json_body(request), base=current)
    return json_response(configs.put(function, config).to_aws())


@router.get(_PATH)
async def get_event_invoke_config(function_name: str, request: Request) -> Response:
    function, configs = _lookup(request, function_name)
    config = configs.get(function)
    if config is None:
        raise _missing(function)
    return json_response(config.to_aws())


@router.delete(_PATH)
async def delete_event_invoke_config(function_name: str, request: Request) -> Response:
    function, configs = _lookup(request, function_name)
    if not configs.delete(function):
        raise _missing(function)
    return Response(status_code=204)


@router.get(_PATH + "/list")
async def list_event_invoke_configs(function_name: str, request: Request) -> Response:
    function, configs = _lookup(request, function_name)
    config = configs.get(function)
    return json_response({"FunctionEventInvokeConfigs": [config.to_aws()] if config else []})
