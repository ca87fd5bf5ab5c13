"""API Gateway inside moto, as the front door needs it (runs in moto's threads, during the call):

* CreateRestApi keeps the ``binaryMediaTypes`` it is given, CreateAuthorizer its
  ``identityValidationExpression``;
* an HTTP API's quick create: CreateApi with ``Target`` (and ``RouteKey``, default
  ``$default``) makes the Lambda proxy integration (payload 2.0), the route and the auto-deployed
  ``$default`` stage, as API Gateway does;
* an id pinned with the tag ``_custom_id_`` (moto does it for REST APIs; the same for HTTP APIs),
  so scripts and tests keep stable URLs;
* ``ApiEndpoint`` is the local URL that serves the API,
  ``http://{apiId}.execute-api.localhost:{port}`` (the control plane's port, known from the
  delivery endpoint).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from emulator.moto import delivery
from emulator.moto.patching import Patch, PatchSet

CUSTOM_ID_TAG = "_custom_id_"


def local_endpoint(api_id: str) -> str:
    endpoint = delivery.endpoint() or "http://127.0.0.1:4566"
    port = urlsplit(endpoint).port or 4566
    return f"http://{api_id}.execute-api.localhost:{port}"


def _create_api(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def create_api(self: Any) -> Any:
        params = json.loads(self.body or "{}")
        tags = params.get("tags") or {}
        custom = tags.get(CUSTOM_ID_TAG)
        status, headers, body = original(self)
        created = json.loads(body)
        backend = self.apigatewayv2_backend
        api = backend.apis[created["apiId"]]
        if custom and custom not in backend.apis:
            backend.apis.pop(api.api_id)
            api.api_id = custom
            backend.apis[custom] = api
        target = params.get("target")
        if target and api.protocol_type == "HTTP":
            integration = api.create_integration(
                connection_type="INTERNET", description="", integration_method="POST", integration_type="AWS_PROXY",
                integration_uri=target, payload_format_version="2.0", credentials_arn=params.get("credentialsArn"),
                timeout_in_millis="30000")
            api.create_route(api_key_required=False, authorization_scopes=[], route_key=params.get("routeKey")
                             or "$default", target=f"integrations/{integration.id}", authorization_type="NONE")
            api.create_stage({"stageName": "$default", "autoDeploy": True})
        return status, headers, json.dumps(api.to_json())

    return create_api


def _create_rest_api(original: Callable[..., Any]) -> Callable[..., Any]:
    """CreateRestApi keeping ``binaryMediaTypes`` (moto takes them only from UpdateRestApi)."""
    @functools.wraps(original)
    def create_rest_api(self: Any) -> Any:
        status, headers, body = original(self)
        wanted = self._get_param("binaryMediaTypes")
        if status == 200 and wanted:
            created = json.loads(body)
            api = self.backend.get_rest_api(created["id"])
            api.binaryMediaTypes = list(wanted)
            body = json.dumps(api.to_dict())
        return status, headers, body

    return create_rest_api


def _authorizer_init(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto passes ``identityValidationExpression`` as ``identiy_validation_expression`` (sic)
    and the Authorizer reads ``identity_validation_expression``: keep it."""
    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        if "identiy_validation_expression" in kwargs:
            kwargs.setdefault("identity_validation_expression", kwargs.pop("identiy_validation_expression"))
        original(self, *args, **kwargs)

    return init


def _to_json(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def to_json(self: Any) -> Any:
        answer = original(self)
        answer["apiEndpoint"] = local_endpoint(self.api_id)
        answer["apiId"] = self.api_id
        return answer

    return to_json


def _patches() -> Iterator[Patch]:
    from moto.apigateway.models import Authorizer
    from moto.apigateway.responses import APIGatewayResponse
    from moto.apigatewayv2.models import Api
    from moto.apigatewayv2.responses import ApiGatewayV2Response

    yield Patch(APIGatewayResponse, "create_rest_api", _create_rest_api)
    yield Patch(Authorizer, "__init__", _authorizer_init)
    yield Patch(ApiGatewayV2Response, "create_api", _create_api)
    yield Patch(Api, "to_json", _to_json)


#: HTTP API quick create, custom ids and local endpoints
PATCHES = PatchSet("apigateway", _patches)
