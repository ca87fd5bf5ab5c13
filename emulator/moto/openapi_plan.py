"""An OpenAPI 3 or Swagger 2.0 document read as API Gateway's import reads it, into a
:class:`Plan`: the API's settings, models, authorizers and each path's methods, in API Gateway's
own terms (requestParameters, requestModels, integration fields as PutIntegration takes them).

Pure: no moto. Errors (the import fails) raise :class:`DocumentError` with API Gateway's
"Errors found during import" wording; what API Gateway only warns about goes in
:attr:`Plan.warnings`. Extensions read: ``x-amazon-apigateway-integration``, ``-any-method``,
``-binary-media-types``, ``-api-key-source``, ``-policy``, ``-minimum-compression-size``,
``-endpoint-configuration``, ``-auth``, and ``-authorizer`` / ``-authtype`` on security schemes
(Swagger's ``securityDefinitions``, OpenAPI 3's ``components.securitySchemes``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

VERBS = {"get", "put", "post", "delete", "options", "head", "patch"}
ANY_METHOD = "x-amazon-apigateway-any-method"
INTEGRATION_TYPES = {"AWS", "AWS_PROXY", "HTTP", "HTTP_PROXY", "MOCK"}
AUTHORIZER_TYPES = {"token": "TOKEN", "request": "REQUEST", "cognito_user_pools": "COGNITO_USER_POOLS"}
PATH_PART = re.compile(r"^\{?[a-zA-Z0-9._\-:]+\+?\}?$")
MODEL_NAME = re.compile(r"^[a-zA-Z0-9]+$")


class DocumentError(ValueError):
    """The document cannot be imported (API Gateway's BadRequestException)."""



def mapping(value: Any) -> dict[str, Any]:
    """``value`` when it is an object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _errors(*problems: str) -> DocumentError:
    return DocumentError("Errors found during import:\n\t" + "\n\t".join(problems))


@dataclass
class MethodPlan:
    authorization_type: str = "NONE"
    authorizer: str | None = None
    authorization_scopes: list[str] = field(default_factory=list)
    api_key_required: bool = False
    operation_name: str | None = None
    request_parameters: dict[str, bool] = field(default_factory=dict)
    request_models: dict[str, str] = field(default_factory=dict)
    #: status code -> {"models": {type: model}, "parameters": {"method.response.header.X": False}}
    responses: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: PutIntegration's fields, and "responses": [PutIntegrationResponse's fields]
    integration: dict[str, Any] | None = None


@dataclass
class Plan:
    title: str | None
    description: str | None
    settings: dict[str, Any] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorizers: dict[str, dict[str, Any]] = field(default_factory=dict)
    paths: dict[str, dict[str, MethodPlan]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    created: bool = False


def parse(text: str) -> dict[str, Any]:
    """The document, from JSON or YAML."""
    try:
        document = json.loads(text)
    except ValueError:
        import yaml

        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise DocumentError(f"Invalid OpenAPI input: the document is neither JSON nor YAML ({error})") from None
    if not isinstance(document, dict):
        raise DocumentError("Invalid OpenAPI input: the document must be a JSON or YAML object")
    return document


def plan_document(text: str, basepath: str = "ignore") -> Plan:
    return _Reader(parse(text), basepath).plan()


class _Reader:
    def __init__(self, document: dict[str, Any], basepath: str) -> None:
        self.doc = document
        self.basepath = basepath
        swagger, openapi = document.get("swagger"), document.get("openapi")
        if swagger is not None:
            if str(swagger) != "2.0":
                raise DocumentError(f"Invalid OpenAPI input: unsupported Swagger version '{swagger}' (2.0 is)")
            self.v3 = False
        elif openapi is not None:
            if not str(openapi).startswith("3."):
                raise DocumentError(f"Invalid OpenAPI input: unsupported OpenAPI version '{openapi}' (3.0 is)")
            self.v3 = True
        else:
            raise DocumentError("Invalid OpenAPI input: the document has neither 'swagger: \"2.0\"' nor "
                                "'openapi: 3.0.x'")
        components = document.get("components") if self.v3 else None
        self.components = components if isinstance(components, dict) else {}
        self.warnings: list[str] = []

    # -- the whole document

    def plan(self) -> Plan:
        info = mapping(self.doc.get("info"))
        title = info.get("title")
        plan = Plan(title=str(title) if title is not None else None,
                    description=str(info["description"]) if info.get("description") is not None else None)
        plan.settings = self._settings()
        plan.models = self._models()
        schemes = self._schemes()
        plan.authorizers = {name: self._authorizer(name, scheme) for name, scheme in schemes.items()
                            if isinstance(scheme.get("x-amazon-apigateway-authorizer"), dict)}
        prefix = self._prefix()
        paths = self.doc.get("paths") or {}
        if not isinstance(paths, dict):
            raise _errors("'paths' must be an object")
        if prefix:
            plan.paths[prefix] = {}
        problems: list[str] = []
        for path, item in paths.items():
            full = self._path(str(path), prefix, problems)
            if full is None:
                continue
            if not isinstance(item, dict):
                problems.append(f"Path '{path}' must be an object")
                continue
            plan.paths.setdefault(full, {}).update(self._methods(str(path), item, schemes, plan.models))
        problems += _sibling_conflicts(plan.paths)
        if problems:
            raise _errors(*problems)
        plan.warnings = self.warnings
        return plan

    def _settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {}
        doc = self.doc
        if "x-amazon-apigateway-binary-media-types" in doc:
            kinds = doc["x-amazon-apigateway-binary-media-types"]
            if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
                raise _errors("x-amazon-apigateway-binary-media-types must be a list of media types")
            settings["binaryMediaTypes"] = kinds
        if "x-amazon-apigateway-api-key-source" in doc:
            source = str(doc["x-amazon-apigateway-api-key-source"]).upper()
            if source not in ("HEADER", "AUTHORIZER"):
                raise _errors(f"Invalid x-amazon-apigateway-api-key-source '{source}': HEADER or AUTHORIZER")
            settings["apiKeySource"] = source
        if "x-amazon-apigateway-policy" in doc:
            policy = doc["x-amazon-apigateway-policy"]
            settings["policy"] = policy if isinstance(policy, str) else json.dumps(policy)
        if "x-amazon-apigateway-minimum-compression-size" in doc:
            try:
                settings["minimumCompressionSize"] = int(doc["x-amazon-apigateway-minimum-compression-size"])
            except (TypeError, ValueError):
                raise _errors("x-amazon-apigateway-minimum-compression-size must be an integer") from None
        config = doc.get("x-amazon-apigateway-endpoint-configuration")
        if isinstance(config, dict):
            settings["endpointConfiguration"] = {k: v for k, v in config.items()
                                                 if k in ("types", "vpcEndpointIds", "disableExecuteApiEndpoint")}
        return settings

    def _models(self) -> dict[str, dict[str, Any]]:
        schemas = self.components.get("schemas") if self.v3 else self.doc.get("definitions")
        models: dict[str, dict[str, Any]] = {}
        for name, schema in (schemas or {}).items() if isinstance(schemas, dict) else ():
            if not MODEL_NAME.match(str(name)):
                self.warnings.append(f"Unable to create model for '{name}': Model name must be alphanumeric")
            elif isinstance(schema, dict):
                models[str(name)] = schema
        return models

    def _schemes(self) -> dict[str, dict[str, Any]]:
        schemes = self.components.get("securitySchemes") if self.v3 else self.doc.get("securityDefinitions")
        if not isinstance(schemes, dict):
            return {}
        return {str(name): scheme for name, scheme in schemes.items() if isinstance(scheme, dict)}

    def _authorizer(self, name: str, scheme: dict[str, Any]) -> dict[str, Any]:
        spec = scheme["x-amazon-apigateway-authorizer"]
        kind = AUTHORIZER_TYPES.get(str(spec.get("type", "")).lower())
        if kind is None:
            raise _errors(f"Unable to create authorizer '{name}': type must be token, request or "
                          f"cognito_user_pools, not '{spec.get('type')}'")
        authorizer: dict[str, Any] = {"type": kind, "authorizerResultTtlInSeconds": 300}
        for key in ("authorizerUri", "authorizerCredentials", "identitySource", "identityValidationExpression",
                    "providerARNs"):
            if spec.get(key) is not None:
                authorizer[key] = spec[key]
        if spec.get("authorizerResultTtlInSeconds") is not None:
            authorizer["authorizerResultTtlInSeconds"] = int(spec["authorizerResultTtlInSeconds"])
        if scheme.get("x-amazon-apigateway-authtype") is not None:
            authorizer["authType"] = str(scheme["x-amazon-apigateway-authtype"])
        if "identitySource" not in authorizer and kind != "REQUEST" and scheme.get("in", "header") == "header" \
                and scheme.get("name"):
            authorizer["identitySource"] = f"method.request.header.{scheme['name']}"
        if kind in ("TOKEN", "REQUEST") and not authorizer.get("authorizerUri"):
            raise _errors(f"Unable to create authorizer '{name}': authorizerUri is required")
        if kind == "COGNITO_USER_POOLS" and not authorizer.get("providerARNs"):
            raise _errors(f"Unable to create authorizer '{name}': providerARNs is required")
        return authorizer

    # -- paths

    def _base_path(self) -> str:
        if not self.v3:
            return str(self.doc.get("basePath") or "")
        servers = [s for s in self.doc.get("servers") or [] if isinstance(s, dict)]
        for server in servers:
            variables = server.get("variables") or {}
            if isinstance(variables, dict) and isinstance(variables.get("basePath"), dict):
                return str(variables["basePath"].get("default") or "")
        if not servers:
            return ""
        url = str(servers[0].get("url") or "")
        for var, spec in (servers[0].get("variables") or {}).items():
            if isinstance(spec, dict):
                url = url.replace("{" + str(var) + "}", str(spec.get("default", "")))
        return urlsplit(url).path if "://" in url else url

    def _prefix(self) -> str:
        parts = [p for p in self._base_path().split("/") if p]
        if self.basepath == "ignore" or not parts:
            return ""
        if self.basepath == "split":
            parts = parts[1:]
        return "/" + "/".join(parts) if parts else ""

    def _path(self, path: str, prefix: str, problems: list[str]) -> str | None:
        if not path.startswith("/"):
            problems.append(f"Invalid resource path '{path}': it must start with '/'")
            return None
        full = (prefix + path).rstrip("/") or "/"
        parts = [p for p in full.split("/") if p]
        for index, part in enumerate(parts):
            if not PATH_PART.match(part) or (part.endswith("+}") and index != len(parts) - 1):
                problems.append(f"Invalid resource path '{path}': path part '{part}' is not valid (a-zA-Z0-9._-:, "
                                "{name} for a parameter, {name+} last only)")
                return None
        return full

    def _methods(self, path: str, item: dict[str, Any], schemes: dict[str, dict[str, Any]],
                 models: dict[str, Any]) -> dict[str, MethodPlan]:
        shared: list[Any] = item["parameters"] if isinstance(item.get("parameters"), list) else []
        methods: dict[str, MethodPlan] = {}
        for key, operation in item.items():
            verb = "ANY" if key == ANY_METHOD else key.upper() if key in VERBS else None
            if verb is None:
                if key not in ("parameters", "summary", "description", "servers") and not key.startswith("x-"):
                    self.warnings.append(f"Unsupported path item '{key}' at paths.'{path}' (ignored)")
                continue
            if not isinstance(operation, dict):
                raise _errors(f"paths.'{path}'.{key} must be an object")
            methods[verb] = self._method(path, key, operation, shared, schemes, models)
        return methods

    def _method(self, path: str, key: str, op: dict[str, Any], shared: list[Any],
                schemes: dict[str, dict[str, Any]], models: dict[str, Any]) -> MethodPlan:
        where = f"paths.'{path}'({key})"
        method = MethodPlan(operation_name=op.get("operationId"))
        parameters: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*shared, *(op.get("parameters") or [])]:
            parameter = self._resolve(raw)
            if isinstance(parameter, dict) and "name" in parameter:
                parameters[(str(parameter.get("in")), str(parameter["name"]))] = parameter
        consumes = op.get("consumes") or self.doc.get("consumes") or ["application/json"]
        for (place, name), parameter in parameters.items():
            required = bool(parameter.get("required", False))
            if place == "path":
                method.request_parameters[f"method.request.path.{name}"] = True
            elif place == "query":
                method.request_parameters[f"method.request.querystring.{name}"] = required
            elif place == "header":
                method.request_parameters[f"method.request.header.{name}"] = required
            elif place == "body":
                model = self._model_of(parameter.get("schema"), models, f"{where}.parameters.{name}.schema")
                if model:
                    method.request_models.update({kind: model for kind in consumes})
        if self.v3 and op.get("requestBody") is not None:
            body = self._resolve(op["requestBody"])
            for kind, media in ((body or {}).get("content") or {}).items():
                model = self._model_of((media or {}).get("schema"), models, f"{where}.requestBody.{kind}.schema")
                if model:
                    method.request_models[str(kind)] = model
        produces = op.get("produces") or self.doc.get("produces") or ["application/json"]
        for code, response in (op.get("responses") or {}).items():
            code = str(code)
            if not re.fullmatch(r"[1-5]\d\d", code):
                continue
            response = self._resolve(response) or {}
            answer: dict[str, Any] = {"models": {}, "parameters": {
                f"method.response.header.{header}": False for header in (response.get("headers") or {})}}
            if self.v3:
                for kind, media in (response.get("content") or {}).items():
                    model = self._model_of((media or {}).get("schema"), models, f"{where}.responses.{code}.content")
                    if model:
                        answer["models"][str(kind)] = model
            else:
                model = self._model_of(response.get("schema"), models, f"{where}.responses.{code}.schema")
                if model:
                    answer["models"] = {kind: model for kind in produces}
            method.responses[code] = answer
        self._security(method, op, schemes, where)
        integration = op.get("x-amazon-apigateway-integration")
        if integration is not None:
            method.integration = self._integration(integration, where)
        return method

    def _resolve(self, value: Any) -> Any:
        """A local ``$ref`` (``#/parameters/x``, ``#/components/requestBodies/x``...) followed."""
        seen = 0
        while isinstance(value, dict) and isinstance(value.get("$ref"), str) and seen < 10:
            ref = value["$ref"]
            if not ref.startswith("#/"):
                return None
            target: Any = self.doc
            for part in ref[2:].split("/"):
                target = target.get(part) if isinstance(target, dict) else None
            value, seen = target, seen + 1
        return value

    def _model_of(self, schema: Any, models: dict[str, Any], where: str) -> str | None:
        if not isinstance(schema, dict) or not isinstance(schema.get("$ref"), str):
            return None
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in models:
            self.warnings.append(f"Parse issue: attribute {where}.{schema['$ref']} is missing")
            return None
        return name

    def _security(self, method: MethodPlan, op: dict[str, Any], schemes: dict[str, dict[str, Any]],
                  where: str) -> None:
        requirements = op.get("security", self.doc.get("security")) or []
        for requirement in requirements if isinstance(requirements, list) else []:
            for name, scopes in (requirement or {}).items() if isinstance(requirement, dict) else ():
                scheme = schemes.get(str(name))
                if scheme is None:
                    self.warnings.append(f"{where}: security scheme '{name}' is not defined (ignored)")
                    continue
                authorizer = scheme.get("x-amazon-apigateway-authorizer")
                authtype = str(scheme.get("x-amazon-apigateway-authtype", "")).lower()
                if isinstance(authorizer, dict):
                    kind = AUTHORIZER_TYPES.get(str(authorizer.get("type", "")).lower())
                    method.authorization_type = "COGNITO_USER_POOLS" if kind == "COGNITO_USER_POOLS" else "CUSTOM"
                    method.authorizer = str(name)
                    if kind == "COGNITO_USER_POOLS" and scopes:
                        method.authorization_scopes = [str(s) for s in scopes]
                elif authtype == "awssigv4":
                    method.authorization_type = "AWS_IAM"
                elif scheme.get("type") == "apiKey":
                    method.api_key_required = True
            if method.authorization_type != "NONE" or method.api_key_required:
                break
        auth = op.get("x-amazon-apigateway-auth")
        if isinstance(auth, dict) and auth.get("type"):
            method.authorization_type = str(auth["type"]).upper()

    def _integration(self, spec: Any, where: str) -> dict[str, Any]:
        if not isinstance(spec, dict):
            raise _errors(f"{where}.x-amazon-apigateway-integration must be an object")
        kind = str(spec.get("type", "")).upper()
        if kind not in INTEGRATION_TYPES:
            raise _errors(f"{where}: invalid integration type '{spec.get('type')}' "
                          "(aws, aws_proxy, http, http_proxy or mock)")
        integration: dict[str, Any] = {"type": kind}
        if spec.get("uri") is not None:
            integration["uri"] = str(spec["uri"])
        elif kind != "MOCK":
            raise _errors(f"{where}: the {kind} integration has no uri")
        if spec.get("httpMethod") is not None:
            integration["httpMethod"] = str(spec["httpMethod"]).upper()
        if spec.get("passthroughBehavior") is not None:
            integration["passthroughBehavior"] = str(spec["passthroughBehavior"]).upper()
        if spec.get("timeoutInMillis") is not None:
            try:
                timeout = int(spec["timeoutInMillis"])
            except (TypeError, ValueError):
                raise _errors(f"{where}: timeoutInMillis must be an integer") from None
            if not 50 <= timeout <= 29000:
                self.warnings.append(f"{where}: timeoutInMillis {timeout} is outside 50-29000 (kept)")
            integration["timeoutInMillis"] = timeout
        for key in ("credentials", "requestTemplates", "requestParameters", "contentHandling", "cacheNamespace",
                    "cacheKeyParameters", "connectionType", "tlsConfig"):
            if spec.get(key) is not None:
                integration[key] = spec[key]
        responses = []
        for pattern, response in (spec.get("responses") or {}).items():
            if not isinstance(response, dict) or response.get("statusCode") is None:
                raise _errors(f"{where}: integration response '{pattern}' has no statusCode")
            answer = {"statusCode": str(response["statusCode"])}
            if pattern != "default":
                answer["selectionPattern"] = str(pattern)
            for key in ("responseTemplates", "responseParameters", "contentHandling"):
                if response.get(key) is not None:
                    answer[key] = response[key]
            responses.append(answer)
        integration["responses"] = responses
        return integration


def _sibling_conflicts(paths: dict[str, Any]) -> list[str]:
    """API Gateway allows one variable path part among siblings."""
    variables: dict[str, str] = {}
    problems: list[str] = []
    for path in paths:
        parts = [p for p in path.split("/") if p]
        for index, part in enumerate(parts):
            if part.startswith("{"):
                parent = "/" + "/".join(parts[:index])
                other = variables.setdefault(parent, part)
                if other != part:
                    problems.append(f"A sibling ({other}) of this resource already has a variable path part -- "
                                    f"only one is allowed: {path}")
    return sorted(set(problems))


def path_prefix(document: dict[str, Any], basepath: str) -> str:
    """What ``basepath`` (ignore, prepend, split) puts before each of the document's paths."""
    return _Reader(document, basepath)._prefix()
