"""ImportApi and ReimportApi for HTTP APIs from OpenAPI 3 (or 2.0) documents, JSON or YAML
(runs in moto's threads, during the call).

moto 5.2.5 has no ImportApi (NotImplementedError), and its ReimportApi keeps the integration
type as written (``aws_proxy``: API Gateway answers ``AWS_PROXY``), makes ``X-AMAZON-APIGATEWAY-ANY-
METHOD /path`` routes, reads ``parameters`` as a method, drops ``timeoutInMillis`` and the
authorizers, and deletes the stages. Here each operation (``x-amazon-apigateway-any-method`` is
``ANY``) becomes a route, with its ``x-amazon-apigateway-integration`` (type, uri, httpMethod,
payloadFormatVersion, timeoutInMillis, connectionType/Id, credentials, requestParameters,
tlsConfig) and its authorizer (``x-amazon-apigateway-authorizer`` of type ``jwt`` or
``request`` on the security scheme); ``basepath`` is read as for REST APIs. ReimportApi replaces
routes, integrations, authorizers and models and keeps the stages. Bad documents get
BadRequestException.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

from emulator.moto.openapi_plan import ANY_METHOD, VERBS, DocumentError, mapping, parse, path_prefix
from emulator.moto.patching import Patch, PatchSet


def _bad_request(message: str) -> Exception:
    from moto.apigatewayv2.exceptions import BadRequestException

    return BadRequestException(message)


def _document(response: Any) -> tuple[dict[str, Any], str]:
    try:
        params = json.loads(response.body or "{}")
    except ValueError:
        raise _bad_request("The request body must be JSON with the OpenAPI document in 'body'") from None
    text = params.get("body") if isinstance(params, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise _bad_request("'body' (the OpenAPI document) is required")
    basepath = (response._get_param("basepath") or "ignore").lower()
    if basepath not in ("ignore", "prepend", "split"):
        raise _bad_request(f"Invalid basepath '{basepath}': ignore, prepend or split")
    try:
        document = parse(text)
        if "openapi" not in document and "swagger" not in document:
            raise DocumentError("Invalid OpenAPI input: the document has no 'openapi' version")
        prefix = path_prefix(document, basepath)
        _check(document)
    except DocumentError as error:
        raise _bad_request(str(error)) from None
    return document, prefix


def _check(document: dict[str, Any]) -> None:
    paths = document.get("paths") or {}
    if not isinstance(paths, dict):
        raise DocumentError("Errors found during import:\n\t'paths' must be an object")
    for path, item in paths.items():
        if not isinstance(item, dict) or not (str(path).startswith("/") or path == "$default"):
            raise DocumentError(f"Errors found during import:\n\tInvalid path '{path}'")
        for key, operation in item.items():
            spec = operation.get("x-amazon-apigateway-integration") if isinstance(operation, dict) else None
            if (key in VERBS or key == ANY_METHOD) and spec is not None and (
                    not isinstance(spec, dict) or not spec.get("type")):
                raise DocumentError(f"Errors found during import:\n\tpaths.'{path}'({key}): the "
                                    "x-amazon-apigateway-integration needs a type")


def build(api: Any, document: dict[str, Any], prefix: str) -> None:
    """The document's routes, integrations and authorizers, made through moto's Api calls."""
    for name in ("authorizers", "integrations", "models", "routes"):
        getattr(api, name).clear()
    info = mapping(document.get("info"))
    if info.get("title") is not None:
        api.name = str(info["title"])
    if info.get("version") is not None:
        api.version = str(info["version"])
    if info.get("description") is not None:
        api.description = str(info["description"])
    if isinstance(document.get("x-amazon-apigateway-cors"), dict):
        api.cors_configuration = document["x-amazon-apigateway-cors"]
    schemes = (document.get("components") or {}).get("securitySchemes") or document.get("securityDefinitions") or {}
    authorizers = {name: _authorizer(api, name, scheme) for name, scheme in schemes.items()
                   if isinstance(scheme, dict) and isinstance(scheme.get("x-amazon-apigateway-authorizer"), dict)}
    for path, item in (document.get("paths") or {}).items():
        for key, operation in item.items():
            if (key not in VERBS and key != ANY_METHOD) or not isinstance(operation, dict):
                continue
            verb = "ANY" if key == ANY_METHOD else key.upper()
            route_key = "$default" if path == "$default" else f"{verb} {(prefix + path).rstrip('/') or '/'}"
            target = None
            spec = operation.get("x-amazon-apigateway-integration")
            if isinstance(spec, dict):
                target = f"integrations/{_integration(api, spec).id}"
            authorization_type, authorizer_id, scopes = "NONE", None, []
            for requirement in operation.get("security", document.get("security")) or []:
                for name, wanted in (requirement or {}).items():
                    if name in authorizers:
                        authorizer = authorizers[name]
                        authorization_type = "JWT" if authorizer.authorizer_type == "JWT" else "CUSTOM"
                        authorizer_id, scopes = authorizer.id, list(wanted or [])
            api.create_route(api_key_required=False, authorization_scopes=scopes, route_key=route_key,
                             target=target, authorization_type=authorization_type, authorizer_id=authorizer_id,
                             operation_name=operation.get("operationId"))


def _integration(api: Any, spec: dict[str, Any]) -> Any:
    kind = str(spec["type"]).upper()
    return api.create_integration(
        connection_type=str(spec.get("connectionType") or "INTERNET"),
        description=str(spec.get("description") or ""),
        integration_method=str(spec.get("httpMethod") or "POST").upper(), integration_type=kind,
        integration_uri=spec.get("uri"), connection_id=spec.get("connectionId"),
        credentials_arn=spec.get("credentials"), payload_format_version=str(spec.get("payloadFormatVersion") or "1.0"),
        integration_subtype=spec.get("integrationSubtype"), request_parameters=spec.get("requestParameters"),
        response_parameters=spec.get("responseParameters"),
        timeout_in_millis=str(spec.get("timeoutInMillis") or 30000), tls_config=spec.get("tlsConfig"))


def _authorizer(api: Any, name: str, scheme: dict[str, Any]) -> Any:
    spec = scheme["x-amazon-apigateway-authorizer"]
    kind = str(spec.get("type", "")).upper()
    if kind not in ("JWT", "REQUEST"):
        raise _bad_request(f"Errors found during import:\n\tUnable to create authorizer '{name}': type must be "
                           "jwt or request")
    identity = spec.get("identitySource")
    return api.create_authorizer(
        auth_creds_arn=spec.get("authorizerCredentials"),
        auth_payload_format_version=spec.get("authorizerPayloadFormatVersion"),
        auth_result_ttl=spec.get("authorizerResultTtlInSeconds"), authorizer_type=kind,
        authorizer_uri=spec.get("authorizerUri"), enable_simple_response=spec.get("enableSimpleResponses"),
        identity_source=[s.strip() for s in identity.split(",")] if isinstance(identity, str) else identity,
        identity_validation_expr=spec.get("identityValidationExpression"), jwt_config=spec.get("jwtConfiguration"),
        name=name)


def _guarded(build_: Callable[..., None], *args: Any) -> None:
    """``build_``, whose unforeseen failure is the document's BadRequestException, not a 500."""
    from werkzeug.exceptions import HTTPException

    try:
        build_(*args)
    except HTTPException:
        raise
    except Exception as error:
        raise _bad_request(f"Errors found during import:\n\t{type(error).__name__}: {error}") from error


def _import_api(_original: Any) -> Callable[..., Any]:
    def import_api(self: Any) -> Any:
        document, prefix = _document(self)
        info = mapping(document.get("info"))
        if not info.get("title"):
            raise _bad_request("Errors found during import:\n\tThe document has no info.title (the API's name)")
        backend = self.apigatewayv2_backend
        api = backend.create_api(
            api_key_selection_expression=None, cors_configuration=None, description=None,
            disable_schema_validation=None, disable_execute_api_endpoint=None, name=str(info["title"]),
            protocol_type="HTTP", route_selection_expression=None, tags=None, version=None)
        try:
            _guarded(build, api, document, prefix)
        except Exception:
            backend.delete_api(api.api_id)
            raise
        return 201, {}, json.dumps(api.to_json())

    return import_api


def _reimport_api(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def reimport_api(self: Any) -> Any:
        api = self.apigatewayv2_backend.get_api(self.path.rstrip("/").split("/")[-1])
        document, prefix = _document(self)
        kept = {name: dict(getattr(api, name)) for name in ("authorizers", "integrations", "models", "routes")}
        try:
            _guarded(build, api, document, prefix)
        except Exception:
            for name, items in kept.items():
                getattr(api, name).clear()
                getattr(api, name).update(items)
            raise
        return 201, {}, json.dumps(api.to_json())

    return reimport_api


def _patches() -> Iterator[Patch]:
    from moto.apigatewayv2.responses import ApiGatewayV2Response

    yield Patch(ApiGatewayV2Response, "import_api", _import_api, new=True)
    yield Patch(ApiGatewayV2Response, "reimport_api", _reimport_api)


#: HTTP APIs' ImportApi and ReimportApi
PATCHES = PatchSet("apigatewayv2-import", _patches)
