"""Function URL configuration operations (CreateFunctionUrlConfig, GetFunctionUrlConfig,
UpdateFunctionUrlConfig, DeleteFunctionUrlConfig, ListFunctionUrlConfigs) on AWS's routes; the
model is emulator/domain/function_urls.py. The URLs point at the control plane's own port."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from emulator.api import validation
from emulator.api.deps import plane_of
from emulator.api.wire import json_body, json_response
from emulator.domain.errors import InvalidParameterValueException, ResourceNotFoundException, ValidationException
from emulator.domain.function_urls import NO_SUCH_FUNCTION, NO_SUCH_RESOURCE, FunctionUrlConfig
from emulator.domain.functions import FunctionConfig, parse_function_name

router = APIRouter()
_PATH = "/2021-10-31/functions/{function_name}/url"
#: FunctionUrlQualifier's pattern: an alias name, never $LATEST nor a version number
_QUALIFIER_PATTERN = r"((?!^\d+$)^[0-9a-zA-Z-_]+$)"


def _target(request: Request, operation: str, function_name: str, body: dict[str, Any],
            missing: str) -> tuple[FunctionConfig, str | None]:
    """The function an operation is about and the URL's qualifier, after the model's checks;
    ResourceNotFoundException(``missing``, AWS's text for that operation) when there is none."""
    qualifier = request.query_params.get("Qualifier")
    validation.check(operation, {**body, "FunctionName": function_name, "Qualifier": qualifier})
    ref = parse_function_name(function_name)
    if ref is None:  # the model's pattern let it through: the registry's check names it
        plane_of(request).registry.get(function_name)
        raise ResourceNotFoundException(missing)
    if ref.qualifier and qualifier and ref.qualifier != qualifier:
        raise InvalidParameterValueException(
            "The derived qualifier from the function name does not match the specified qualifier.")
    qualifier = qualifier or ref.qualifier
    if qualifier is not None and (qualifier == "$LATEST" or qualifier.isdigit()):
        raise ValidationException(
            f"1 validation error detected: Value '{qualifier}' at 'qualifier' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {_QUALIFIER_PATTERN}")
    registry = plane_of(request).registry
    if ref.name not in registry:
        raise ResourceNotFoundException(missing)
    function = registry.get(ref.name)
    if qualifier is not None:  # an alias (emulator/domain/versions.py): it must exist
        try:
            registry.versions.alias(function, qualifier)
        except ResourceNotFoundException:
            raise ResourceNotFoundException(missing) from None
    return function, qualifier


def _shape(request: Request, config: FunctionUrlConfig, *, created: bool = False) -> dict[str, Any]:
    settings = plane_of(request).settings
    return config.to_aws(settings.port, settings.region, created=created)


@router.post(_PATH)
async def create_function_url_config(function_name: str, request: Request) -> Response:
    body = await json_body(request)
    function, qualifier = _target(request, "CreateFunctionUrlConfig", function_name, body, NO_SUCH_FUNCTION)
    config = plane_of(request).function_urls.create(function, body, qualifier)
    return json_response(_shape(request, config, created=True), 201)


@router.get(_PATH)
async def get_function_url_config(function_name: str, request: Request) -> Response:
    function, qualifier = _target(request, "GetFunctionUrlConfig", function_name, {}, NO_SUCH_RESOURCE)
    return json_response(_shape(request, plane_of(request).function_urls.get(function.name, qualifier)))


@router.put(_PATH)
async def update_function_url_config(function_name: str, request: Request) -> Response:
    body = await json_body(request)
    function, qualifier = _target(request, "UpdateFunctionUrlConfig", function_name, body, NO_SUCH_FUNCTION)
    config = plane_of(request).function_urls.update(function.name, body, qualifier)
    return json_response(_shape(request, config))


@router.delete(_PATH)
async def delete_function_url_config(function_name: str, request: Request) -> Response:
    function, qualifier = _target(request, "DeleteFunctionUrlConfig", function_name, {}, NO_SUCH_RESOURCE)
    plane_of(request).function_urls.delete(function.name, qualifier)
    return Response(status_code=204)


@router.get("/2021-10-31/functions/{function_name}/urls")
async def list_function_url_configs(function_name: str, request: Request) -> Response:
    params = request.query_params
    max_items: int | None = None
    if params.get("MaxItems") is not None:
        try:
            max_items = int(params["MaxItems"])
        except ValueError:
            raise InvalidParameterValueException(f"MaxItems must be a number, not {params['MaxItems']!r}") from None
    validation.check("ListFunctionUrlConfigs", {"FunctionName": function_name, "MaxItems": max_items})
    ref = parse_function_name(function_name)
    registry = plane_of(request).registry
    if ref is None or ref.name not in registry:
        raise ResourceNotFoundException(NO_SUCH_FUNCTION)
    page, marker = plane_of(request).function_urls.list(ref.name, params.get("Marker"), max_items)
    result: dict[str, Any] = {"FunctionUrlConfigs": [_shape(request, config) for config in page]}
    if marker is not None:
        result["NextMarker"] = marker
    return json_response(result)
