"""Layer versions on AWS's routes: PublishLayerVersion, GetLayerVersion, GetLayerVersionByArn,
ListLayerVersions, ListLayers, DeleteLayerVersion, and a version's policy (AddLayerVersionPermission,
GetLayerVersionPolicy, RemoveLayerVersionPermission) (the model: emulator/domain/layer_versions.py).

``Content`` is ``ZipFile`` (unpacked in a thread, as CreateFunction's code) or the ``hot-reload``
bucket with ``S3Key`` a local folder, used live. ``Content.Location`` is a signed link to the
version's zip, valid for ten minutes, as GetFunction's ``Code.Location`` is.
https://docs.aws.amazon.com/lambda/latest/api/API_PublishLayerVersion.html and the pages beside it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from emulator.api import validation
from emulator.api.admin import require_signed_or_admin, signed_query, zip_folder
from emulator.api.deps import plane_of
from emulator.api.wire import json_body, json_response, paged
from emulator.domain.code_upload import HOT_RELOAD_BUCKET, stage
from emulator.domain.errors import InvalidParameterValueException
from emulator.domain.layer_versions import LayerVersion, LayerVersions

router = APIRouter()
_LAYERS = "/2018-10-31/layers"
_VERSIONS = _LAYERS + "/{layer_name}/versions"


def _store(request: Request) -> LayerVersions:
    return plane_of(request).registry.layer_versions


def _location(request: Request, version: LayerVersion) -> str:
    """A signed link to the version's zip (``/_cloudmicro/layer-code/<name>/<version>.zip``)."""
    query = signed_query(plane_of(request), _signed_name(version.name, str(version.version)))
    return f"{request.base_url}_cloudmicro/layer-code/{quote(version.name)}/{version.version}.zip?{query}"


def _signed_name(name: str, version: str) -> str:
    return f"layer/{name}/{version}"


@router.post(_VERSIONS)
async def publish_layer_version(layer_name: str, request: Request) -> Response:
    body = await json_body(request)
    validation.check("PublishLayerVersion", {**body, "LayerName": layer_name})
    if not isinstance(body.get("Content"), Mapping):
        raise InvalidParameterValueException("Content is required: {\"ZipFile\": <base64 zip>} or "
                                             f'{{"S3Bucket": "{HOT_RELOAD_BUCKET}", "S3Key": "/abs/folder"}}')
    store = _store(request)
    name = store.name_of(layer_name)
    staged = await asyncio.to_thread(stage, body["Content"], store.code_dir / name,  # unzips: off the loop
                                     plane_of(request).registry.roots, "Content")
    version = store.publish(name, body, staged)
    return json_response(version.to_aws(_location(request, version)), 201)


@router.get(_VERSIONS)
async def list_layer_versions(layer_name: str, request: Request) -> Response:
    query = request.query_params
    runtime, architecture = query.get("CompatibleRuntime"), query.get("CompatibleArchitecture")
    validation.check("ListLayerVersions", {"LayerName": layer_name, "CompatibleRuntime": runtime,
                                           "CompatibleArchitecture": architecture})
    matching = [v for v in _store(request).versions(layer_name) if v.matches(runtime, architecture)]
    page, marker = paged(request, matching, lambda v: str(v.version))
    result: dict[str, Any] = {"LayerVersions": [v.list_item() for v in page]}
    if marker:
        result["NextMarker"] = marker
    return json_response(result)


@router.get(_VERSIONS + "/{version_number}")
async def get_layer_version(layer_name: str, version_number: str, request: Request) -> Response:
    validation.check("GetLayerVersion", {"LayerName": layer_name})
    version = _store(request).get(layer_name, version_number)
    return json_response(version.to_aws(_location(request, version)))


@router.delete(_VERSIONS + "/{version_number}")
async def delete_layer_version(layer_name: str, version_number: str, request: Request) -> Response:
    validation.check("DeleteLayerVersion", {"LayerName": layer_name})
    _store(request).delete(layer_name, version_number)
    return Response(status_code=204)


@router.post(_VERSIONS + "/{version_number}/policy")
async def add_layer_version_permission(layer_name: str, version_number: str, request: Request) -> Response:
    body = await json_body(request)
    validation.check("AddLayerVersionPermission", {**body, "LayerName": layer_name})
    statement, revision = _store(request).add_permission(layer_name, version_number, body,
                                                         request.query_params.get("RevisionId"))
    return json_response({"Statement": json.dumps(statement, separators=(",", ":")), "RevisionId": revision}, 201)


@router.get(_VERSIONS + "/{version_number}/policy")
async def get_layer_version_policy(layer_name: str, version_number: str, request: Request) -> Response:
    validation.check("GetLayerVersionPolicy", {"LayerName": layer_name})
    document, revision = _store(request).policy(layer_name, version_number)
    return json_response({"Policy": json.dumps(document, separators=(",", ":")), "RevisionId": revision})


@router.delete(_VERSIONS + "/{version_number}/policy/{statement_id}")
async def remove_layer_version_permission(layer_name: str, version_number: str, statement_id: str,
                                          request: Request) -> Response:
    validation.check("RemoveLayerVersionPermission", {"LayerName": layer_name, "StatementId": statement_id})
    _store(request).remove_permission(layer_name, version_number, statement_id, request.query_params.get("RevisionId"))
    return Response(status_code=204)


@router.get(_LAYERS)
async def list_layers_or_get_by_arn(request: Request) -> Response:
    """ListLayers, and GetLayerVersionByArn (``?find=LayerVersion&Arn=...``: the same path)."""
    query = request.query_params
    if query.get("find") == "LayerVersion":
        arn = query.get("Arn") or ""
        validation.check("GetLayerVersionByArn", {"Arn": arn})
        version = _store(request).by_arn(arn)
        return json_response(version.to_aws(_location(request, version)))
    runtime, architecture = query.get("CompatibleRuntime"), query.get("CompatibleArchitecture")
    validation.check("ListLayers", {"CompatibleRuntime": runtime, "CompatibleArchitecture": architecture})
    store = _store(request)
    latest = []
    for newest in store.latest():
        match = next((v for v in store.versions(newest.name) if v.matches(runtime, architecture)), None)
        if match is not None:
            latest.append(match)
    page, marker = paged(request, latest, lambda v: v.name)
    result: dict[str, Any] = {"Layers": [{"LayerName": v.name, "LayerArn": v.layer_arn,
                                          "LatestMatchingVersion": v.list_item()} for v in page]}
    if marker:
        result["NextMarker"] = marker
    return json_response(result)


@router.get("/_cloudmicro/layer-code/{name}/{version}.zip")
async def layer_code(name: str, version: str, request: Request) -> Response:
    """A layer version's content as a zip: with the signed link its Content.Location gave, or the admin token."""
    plane = plane_of(request)
    require_signed_or_admin(request, plane, _signed_name(name, version))
    found = _store(request).get(name, version)
    zipped = await asyncio.to_thread(zip_folder, found.folder, plane.settings.state_dir)
    return Response(zipped, media_type="application/zip")
