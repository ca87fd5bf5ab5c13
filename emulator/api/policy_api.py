"""Resource-based policy operations (AddPermission, GetPolicy, RemovePermission) on AWS's
routes; the model is emulator/domain/policies.py."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from emulator.api.deps import plane_of
from emulator.api.wire import json_body, json_response
from emulator.domain.functions import FunctionConfig
from emulator.domain.policies import Policies

router = APIRouter()
_PATH = "/2015-03-31/functions/{function_name}/policy"


def _lookup(request: Request, function_name: str) -> tuple[FunctionConfig, Policies]:
    plane = plane_of(request)
    function = plane.registry.get(function_name, request.query_params.get("Qualifier"))
    return function, plane.policies


@router.post(_PATH)
async def add_permission(function_name: str, request: Request) -> Response:
    function, policies = _lookup(request, function_name)
    statement = policies.add(function, await json_body(request))
    return json_response({"Statement": json.dumps(statement, separators=(",", ":"))}, 201)


@router.get(_PATH)
async def get_policy(function_name: str, request: Request) -> Response:
    function, policies = _lookup(request, function_name)
    document = policies.policy(function)
    return json_response({"Policy": json.dumps(document, separators=(",", ":")), "RevisionId": function.revision_id})


@router.delete(_PATH + "/{statement_id}")
async def remove_permission(function_name: str, statement_id: str, request: Request) -> Response:
    function, policies = _lookup(request, function_name)
    policies.remove(function, statement_id, request.query_params.get("RevisionId"))
    return Response(status_code=204)
