"""ImportRestApi and PutRestApi from OpenAPI 3 and Swagger 2.0 documents (JSON or YAML), as
API Gateway reads them (runs in moto's threads, during the call).

moto 5.2.5 takes OpenAPI 3 only (a Swagger document gets "Only OpenAPI 3.x.x are currently
supported", and one without ``info.description`` a ``KeyError``), drops the
``x-amazon-apigateway-*`` extensions but the integration, and has no base path handling. This
reads the document into a plan first (:mod:`emulator.moto.openapi_plan`: every error found before
anything changes), then builds the API through moto's own backend calls (create_resource,
put_method, put_method_response, put_integration, put_integration_response, create_authorizer,
create_model), so GetResources, GetAuthorizers, exports and the front door see the result:

* ``mode=import`` (POST /restapis) makes a new API; PutRestApi (PUT /restapis/{id}) with
  ``mode=overwrite`` replaces the API's resources, methods, authorizers and models (its stages
  and deployments stay) and with ``mode=merge`` (the default) adds the document's and replaces
  the methods and authorizers it redefines;
* ``basepath=ignore`` (default), ``prepend`` or ``split``, with the base path from Swagger's
  ``basePath`` or OpenAPI 3's ``servers`` (a ``basePath`` variable, else the url's path);
* ``failonwarnings=true`` refuses a document with warnings, which are otherwise returned in the
  answer's ``warnings``;
* a bad document gets API Gateway's ``BadRequestException`` naming the problem; a failed
  PutRestApi leaves the API as it was.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

from emulator.moto.openapi_plan import DocumentError, MethodPlan, Plan, plan_document
from emulator.moto.patching import Patch, PatchSet

BASEPATH_MODES = ("ignore", "prepend", "split")


def _bad_request(message: str) -> Exception:
    from moto.apigateway.exceptions import BadRequestException

    return BadRequestException(message)


def _text(body: Any) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    return body or ""


def _flag(value: Any) -> bool:
    return str(value or "").lower() == "true"


def _query(response: Any, name: str) -> str | None:
    values = response.querystring.get(name)
    return values[0] if values else None


def _plan(response: Any) -> Plan:
    basepath = (_query(response, "basepath") or "ignore").lower()
    if basepath not in BASEPATH_MODES:
        raise _bad_request(f"Invalid basepath parameter value: '{basepath}'. "
                           "Valid values are: ignore, prepend, split")
    try:
        plan = plan_document(_text(response.body), basepath)
    except DocumentError as error:
        raise _bad_request(str(error)) from None
    if plan.warnings and _flag(_query(response, "failonwarnings")):
        raise _bad_request("Warnings found during import:\n\t" + "\n\t".join(plan.warnings))
    return plan


def _answer(api: Any, plan: Plan) -> tuple[int, dict[str, str], str]:
    answer = api.to_dict()
    if plan.warnings:
        answer["warnings"] = list(plan.warnings)
    return 201 if plan.created else 200, {}, json.dumps(answer)


def _import_rest_api(_original: Callable[..., Any]) -> Callable[..., Any]:
    def import_rest_api(self: Any) -> Any:
        plan = _plan(self)
        plan.created = True
        if not plan.title:
            raise _bad_request("Errors found during import:\n\tThe document has no info.title (the API's name)")
        backend = self.backend
        api = backend.create_rest_api(name=plan.title, description=plan.description or "")
        try:
            _guarded(backend, api, plan, overwrite=True)
        except Exception:
            backend.apis.pop(api.id, None)
            raise
        return _answer(api, plan)

    return import_rest_api


def _put_rest_api(_original: Callable[..., Any]) -> Callable[..., Any]:
    def put_rest_api(self: Any) -> Any:
        from moto.apigateway.exceptions import InvalidOpenApiModeException

        api_id = self.path.split("/restapis/", 1)[1].split("/")[0]
        backend = self.backend
        api = backend.get_rest_api(api_id)  # NotFoundException for an unknown id
        mode = (_query(self, "mode") or "merge").lower()
        if mode not in ("merge", "overwrite"):
            raise InvalidOpenApiModeException()
        plan = _plan(self)
        kept = _snapshot(api)
        try:
            _guarded(backend, api, plan, overwrite=mode == "overwrite")
        except Exception:
            vars(api).update(kept)
            raise
        return _answer(api, plan)

    return put_rest_api


_STATE = ("name", "description", "binaryMediaTypes", "api_key_source", "policy", "endpoint_configuration",
          "minimum_compression_size", "disableExecuteApiEndpoint", "resources", "authorizers", "models",
          "default", "root_resource_id", "request_validators", "gateway_responses")


def _snapshot(api: Any) -> dict[str, Any]:
    return {name: copy.deepcopy(vars(api)[name]) for name in _STATE if name in vars(api)}


def _guarded(backend: Any, api: Any, plan: Plan, *, overwrite: bool) -> None:
    """:func:`_build`, whose unforeseen failure is the document's BadRequestException, not a 500."""
    from werkzeug.exceptions import HTTPException

    try:
        _build(backend, api, plan, overwrite=overwrite)
    except HTTPException:
        raise
    except Exception as error:
        raise _bad_request(f"Errors found during import:\n\t{type(error).__name__}: {error}") from error


def _build(backend: Any, api: Any, plan: Plan, *, overwrite: bool) -> None:
    """The plan made real through moto's backend calls (errors are moto's BadRequestExceptions)."""
    if overwrite:
        root = api.default
        root.resource_methods = {}
        api.resources = {root.id: root}
        api.authorizers = {}
        api.models = {}
        api.binaryMediaTypes = []
    settings = plan.settings
    if plan.title:
        api.name = plan.title
    if plan.description is not None:
        api.description = plan.description
    if "binaryMediaTypes" in settings:
        wanted = list(settings["binaryMediaTypes"])
        api.binaryMediaTypes = wanted if overwrite else api.binaryMediaTypes + [
            kind for kind in wanted if kind not in api.binaryMediaTypes]
    if "apiKeySource" in settings:
        api.api_key_source = settings["apiKeySource"]
    if "policy" in settings:
        api.policy = settings["policy"]
    if "minimumCompressionSize" in settings:
        api.minimum_compression_size = settings["minimumCompressionSize"]
    if "endpointConfiguration" in settings:
        config = dict(settings["endpointConfiguration"])
        if "disableExecuteApiEndpoint" in config:
            api.disableExecuteApiEndpoint = bool(config.pop("disableExecuteApiEndpoint"))
        if config.get("types"):
            api.endpoint_configuration = config
    for name, schema in plan.models.items():
        api.models.pop(name, None)
        backend.create_model(api.id, name, "application/json", schema.get("description", ""), json.dumps(schema))
    authorizer_ids = _authorizers(backend, api, plan)
    for path, methods in plan.paths.items():
        resource = _resource(backend, api, path)
        for verb, method in methods.items():
            _method(backend, api.id, resource.id, verb, method, authorizer_ids)


def _authorizers(backend: Any, api: Any, plan: Plan) -> dict[str, str]:
    ids: dict[str, str] = {}
    for name, spec in plan.authorizers.items():
        for existing in [a for a in api.authorizers.values() if a.name == name]:
            api.authorizers.pop(existing.id)
        authorizer = backend.create_authorizer(
            api.id, name, spec["type"], provider_arns=spec.get("providerARNs"), auth_type=spec.get("authType"),
            authorizer_uri=spec.get("authorizerUri"), authorizer_credentials=spec.get("authorizerCredentials"),
            identity_source=spec.get("identitySource"),
            identiy_validation_expression=spec.get("identityValidationExpression"),
            authorizer_result_ttl=spec.get("authorizerResultTtlInSeconds"))
        # (moto's RestAPI.create_authorizer passes the expression under a misspelt name, and loses it)
        authorizer.identity_validation_expression = spec.get("identityValidationExpression")
        ids[name] = authorizer.id
    return ids


def _resource(backend: Any, api: Any, path: str) -> Any:
    """The resource at ``path``, made with its missing ancestors."""
    resource = api.default
    walked = ""
    for part in [p for p in path.split("/") if p]:
        walked += "/" + part
        found = api.get_resource_for_path(walked)
        resource = found or backend.create_resource(function_id=api.id, parent_resource_id=resource.id,
                                                    path_part=part)
    return resource


def _method(backend: Any, api_id: str, resource_id: str, verb: str, method: MethodPlan,
            authorizer_ids: dict[str, str]) -> None:
    backend.get_resource(api_id, resource_id).resource_methods.pop(verb, None)
    authorizer_id = authorizer_ids.get(method.authorizer) if method.authorizer else None
    backend.put_method(api_id, resource_id, verb, method.authorization_type,
                       api_key_required=method.api_key_required,
                       request_parameters=method.request_parameters or None,
                       request_models=method.request_models or None, operation_name=method.operation_name,
                       authorizer_id=authorizer_id, authorization_scopes=method.authorization_scopes or None)
    for code, response in method.responses.items():
        backend.put_method_response(api_id, resource_id, verb, code, response_models=response.get("models") or None,
                                    response_parameters=response.get("parameters") or None)
    integration = method.integration
    if integration is None:
        return
    backend.put_integration(
        function_id=api_id, resource_id=resource_id, method_type=verb, integration_type=integration["type"],
        uri=integration.get("uri", ""), integration_method=integration.get("httpMethod", ""),
        credentials=integration.get("credentials"), request_templates=integration.get("requestTemplates"),
        passthrough_behavior=integration.get("passthroughBehavior"), tls_config=integration.get("tlsConfig"),
        cache_namespace=integration.get("cacheNamespace"), timeout_in_millis=integration.get("timeoutInMillis"),
        request_parameters=integration.get("requestParameters"), content_handling=integration.get("contentHandling"),
        connection_type=integration.get("connectionType"))
    stored = backend.get_integration(api_id, resource_id, verb)
    if integration.get("cacheKeyParameters"):
        stored.cache_key_parameters = integration["cacheKeyParameters"]
    for response in integration.get("responses", ()):
        backend.put_integration_response(
            function_id=api_id, resource_id=resource_id, method_type=verb, status_code=response["statusCode"],
            selection_pattern=response.get("selectionPattern"), response_templates=response.get("responseTemplates"),
            response_parameters=response.get("responseParameters"), content_handling=response.get("contentHandling"))


def _patches() -> Iterator[Patch]:
    from moto.apigateway.responses import APIGatewayResponse

    yield Patch(APIGatewayResponse, "import_rest_api", lambda original: functools.wraps(original)(
        _import_rest_api(original)))
    yield Patch(APIGatewayResponse, "put_rest_api", lambda original: functools.wraps(original)(
        _put_rest_api(original)))


#: ImportRestApi and PutRestApi from Swagger 2.0 and OpenAPI 3 documents
PATCHES = PatchSet("apigateway-import", _patches)
