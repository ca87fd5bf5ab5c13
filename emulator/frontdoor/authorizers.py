"""Who may call a route: API Gateway's authorizers, API keys and IAM auth, before the integration.

REST APIs (v1), per method (``authorizationType``):

* ``CUSTOM``: a Lambda authorizer, ``TOKEN`` (the identity source header, checked against
  ``identityValidationExpression``) or ``REQUEST`` (headers, query, path, stage variables). The
  returned IAM policy is evaluated against the method ARN (an explicit Deny wins, then an Allow,
  else no access); results are cached per identity for ``authorizerResultTtlInSeconds``
  (default 300, 0: none) and the cached policy is evaluated again for each method ARN. The
  ``context`` and ``principalId`` reach the integration in ``requestContext.authorizer``.
* ``AWS_IAM``: the request must be SigV4-signed (locally any credentials sign).
* ``apiKeyRequired``: ``x-api-key`` (or the authorizer's ``usageIdentifierKey`` when the API's
  key source is ``AUTHORIZER``) must be an enabled key in a usage plan for the API's stage.

HTTP APIs (v2), per route (``AuthorizationType``):

* ``JWT``: the token (``Bearer`` or bare) is verified against the issuer's JWKS
  (``{issuer}/.well-known/openid-configuration`` -> ``jwks_uri``, fetched and cached), its
  ``iss``, ``aud`` (or ``client_id``), ``exp`` and ``nbf``, and the route's scopes.
* ``CUSTOM``: a Lambda authorizer, payload 1.0 or 2.0, simple responses or IAM policies, cached.

Answers as API Gateway gives them: 401 ``Unauthorized``, 403 (``Forbidden``, or the REST policy
messages), 500 for an authorizer that fails or answers nonsense (the reason logged).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from emulator.domain.errors import LambdaError
from emulator.frontdoor.apis import Api, Method
from emulator.frontdoor.request import HttpRequest
from emulator.frontdoor.responses import HttpResponse
from emulator.invocation.invocation import Invocation
from emulator.invocation.service import InvokeService

if TYPE_CHECKING:
    from joserfc.jwk import KeySet

log = logging.getLogger(__name__)

_LAMBDA_URI = re.compile(r"^arn:aws[\w-]*:apigateway:[\w-]+:lambda:path/[\d-]+/functions/(?P<fn>.+)/invocations$")
_SIGNED = re.compile(r"^AWS4-HMAC-SHA256 Credential=[^/\s]+/")
_JWKS_TTL = 3600.0


@dataclass(frozen=True)
class Allowed:
    """The caller may go on; ``context`` becomes ``requestContext.authorizer``."""

    context: dict[str, Any] | None = None
    usage_key: str | None = None


class Denied(Exception):
    """The answer to send instead of calling the integration."""

    def __init__(self, status: int, body: dict[str, Any], error_type: str) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.error_type = error_type


def unauthorized() -> Denied:
    return Denied(401, {"message": "Unauthorized"}, "UnauthorizedException")


def forbidden() -> Denied:
    return Denied(403, {"message": "Forbidden"}, "ForbiddenException")


def _config_error() -> Denied:
    return Denied(500, {"message": None}, "AuthorizerConfigurationException")


def as_response(denied: Denied, extra: tuple[tuple[str, str], ...] = ()) -> HttpResponse:
    headers = (("Content-Type", "application/json"), ("x-amzn-ErrorType", denied.error_type), *extra)
    return HttpResponse(denied.status, headers, json.dumps(denied.body, separators=(",", ":")).encode())


# --- IAM policies --------------------------------------------------------------------------------


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def evaluate_policy(policy: Any, arn: str) -> str:
    """``"Deny"``, ``"Allow"`` or ``"None"`` for ``execute-api:Invoke`` on ``arn``; ValueError for a
    document that is no policy."""
    if not isinstance(policy, dict) or "Statement" not in policy:
        raise ValueError("the policyDocument has no Statement")
    allowed = False
    for statement in _listed(policy["Statement"]):
        if not isinstance(statement, dict):
            raise ValueError("a Statement is not an object")
        actions = [str(a) for a in _listed(statement.get("Action"))]
        if not any(_matches(a, "execute-api:Invoke") for a in actions):
            continue
        if not any(_matches(str(r), arn) for r in _listed(statement.get("Resource"))):
            continue
        effect = statement.get("Effect")
        if effect == "Deny":
            return "Deny"
        if effect == "Allow":
            allowed = True
    return "Allow" if allowed else "None"


def _stringified(context: Any) -> dict[str, Any]:
    """An authorizer's context as API Gateway passes it on: string, number and boolean values."""
    if context is None:
        return {}
    if not isinstance(context, dict) or any(isinstance(v, (dict, list)) for v in context.values()):
        raise ValueError("the context must map names to strings, numbers or booleans")
    return dict(context)


# --- the cache -------------------------------------------------------------------------------------


class _Cache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[tuple[str, ...], tuple[float, Any]] = {}

    def get(self, key: tuple[str, ...]) -> Any:
        found = self._entries.get(key)
        if found is None:
            return None
        expires, value = found
        if self._clock() >= expires:
            del self._entries[key]
            return None
        return value

    def put(self, key: tuple[str, ...], value: Any, ttl: float) -> None:
        if ttl > 0:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key] = (self._clock() + ttl, value)


# --- the authorizers ---------------------------------------------------------------------------------


class Authorizers:
    """Runs a route's authorization before its integration (see the module doc)."""

    def __init__(self, service: InvokeService, region: str, account_id: str,
                 api_keys: Callable[[Api, str], Awaitable[frozenset[str]]] | None = None) -> None:
        self.service = service
        self.region = region
        self.account_id = account_id
        self.api_keys = api_keys
        self._results = _Cache()
        self._jwks: dict[str, tuple[float, KeySet]] = {}  # (joserfc is loaded by the first JWT: ~10 MB)

    def clear(self) -> None:
        self._results = _Cache()

    def method_arn(self, api: Api, stage: str, method: str, path: str) -> str:
        return f"arn:aws:execute-api:{self.region}:{self.account_id}:{api.id}/{stage}/{method}/{path.lstrip('/')}"

    # --- REST -----------------------------------------------------------------------------------

    async def rest(self, api: Api, stage: str, method: Method, request: HttpRequest, *, path: str,
                   event: Mapping[str, Any]) -> Allowed:
        """Raises Denied, else what the integration gets."""
        kind = method.authorization_type
        allowed = Allowed()
        if kind == "AWS_IAM" and not _SIGNED.match(request.header("authorization") or ""):
            raise Denied(403, {"message": "Missing Authentication Token"}, "MissingAuthenticationTokenException")
        if kind == "CUSTOM":
            allowed = await self._rest_lambda(api, stage, method, request, path, event)
        if method.api_key_required:
            key = (allowed.usage_key if api.raw.get("apiKeySource") == "AUTHORIZER"
                   else request.header("x-api-key"))
            if not key or self.api_keys is None or key not in await self.api_keys(api, stage):
                raise forbidden()
        return allowed

    async def _rest_lambda(self, api: Api, stage: str, method: Method, request: HttpRequest, path: str,
                           event: Mapping[str, Any]) -> Allowed:
        authorizer = api.authorizers.get(method.authorizer_id or "")
        if authorizer is None:
            log.warning("execute-api %s: the method's authorizer %s does not exist", api.id, method.authorizer_id)
            raise _config_error()
        arn = self.method_arn(api, stage, request.method, path)
        kind = authorizer.get("type", "TOKEN")
        sources = [s.strip() for s in str(authorizer.get("identitySource") or "").split(",") if s.strip()]
        identity = [_rest_identity(source, request, event) for source in sources]
        if kind == "TOKEN":
            token = identity[0] if identity else request.header("authorization")
            if not token:
                raise unauthorized()
            pattern = authorizer.get("identityValidationExpression")
            if pattern and not re.fullmatch(pattern, token):
                raise unauthorized()
            payload: dict[str, Any] = {"type": "TOKEN", "authorizationToken": token, "methodArn": arn}
            key = (api.id, authorizer["id"], token)
        else:
            if sources and any(value is None for value in identity):
                raise unauthorized()
            payload = {"type": "REQUEST", "methodArn": arn, **{k: event[k] for k in (
                "resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
                "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext") if k in event}}
            key = (api.id, authorizer["id"], *(v or "" for v in identity))
        ttl = float(authorizer.get("authorizerResultTtlInSeconds", 300) if sources or kind == "TOKEN" else 0)
        result = self._results.get(key)
        if result is None:
            result = await self._call(api, str(authorizer.get("authorizerUri", "")), payload)
            self._results.put(key, result, ttl)
        return self._policy_outcome(api, result, arn)

    def _policy_outcome(self, api: Api, result: Any, arn: str) -> Allowed:
        try:
            if not isinstance(result, dict) or "principalId" not in result:
                raise ValueError("the answer has no principalId")
            verdict = evaluate_policy(result.get("policyDocument"), arn)
            context = _stringified(result.get("context"))
        except ValueError as error:
            log.warning("execute-api %s: the authorizer's answer is not valid (%s): %s", api.id, error,
                        json.dumps(result)[:300])
            raise _config_error() from None
        if verdict == "Deny":
            raise Denied(403, {"Message": "User is not authorized to access this resource with an explicit deny"},
                         "AccessDeniedException")
        if verdict != "Allow":
            raise Denied(403, {"Message": "User is not authorized to access this resource"}, "AccessDeniedException")
        return Allowed({**context, "principalId": result["principalId"]}, result.get("usageIdentifierKey"))

    # --- HTTP APIs ---------------------------------------------------------------------------------

    async def http(self, api: Api, stage: str, method: Method, request: HttpRequest, event: Mapping[str, Any],
                   route_key: str) -> Allowed:
        kind = method.authorization_type
        if kind in ("NONE", ""):
            return Allowed()
        if kind == "AWS_IAM":
            if not _SIGNED.match(request.header("authorization") or ""):
                raise forbidden()
            return Allowed()
        authorizer = api.authorizers.get(method.authorizer_id or "")
        if authorizer is None:
            log.warning("execute-api %s: the route's authorizer %s does not exist", api.id, method.authorizer_id)
            raise _config_error()
        if kind == "JWT":
            return await self._jwt(api, authorizer, method, request)
        return await self._http_lambda(api, stage, authorizer, request, event, route_key)

    async def _jwt(self, api: Api, authorizer: Mapping[str, Any], method: Method, request: HttpRequest) -> Allowed:
        from joserfc import jwt
        from joserfc.errors import JoseError

        sources = authorizer.get("IdentitySource") or ["$request.header.Authorization"]
        token = _http_identity(sources[0], request) if sources else None
        if not token:
            raise unauthorized()
        token = token.removeprefix("Bearer ").removeprefix("bearer ").strip()
        config = authorizer.get("JwtConfiguration") or {}
        issuer = str(config.get("Issuer", "")).rstrip("/")
        try:
            keys = await self._keys(issuer)
            decoded = jwt.decode(token, keys, algorithms=["RS256", "RS384", "RS512", "ES256", "ES384"])
        except (JoseError, ValueError, httpx.HTTPError, KeyError) as error:
            log.warning("execute-api %s: JWT refused: %s", api.id, error)
            raise unauthorized() from None
        claims = decoded.claims
        now = time.time()
        audiences = set(config.get("Audience") or [])
        token_audiences = set(_listed(claims.get("aud"))) | ({claims["client_id"]} if "client_id" in claims else set())
        expired = "exp" in claims and float(claims["exp"]) <= now
        early = "nbf" in claims and float(claims["nbf"]) > now
        if (str(claims.get("iss", "")).rstrip("/") != issuer or (audiences and not audiences & token_audiences)
                or expired or early):
            log.warning("execute-api %s: JWT refused: issuer, audience or time does not match", api.id)
            raise unauthorized()
        wanted = set(method.raw.get("AuthorizationScopes") or [])
        scopes = claims.get("scope", "").split() if isinstance(claims.get("scope"), str) else _listed(claims.get("scp"))
        if wanted and not wanted & set(scopes):
            raise forbidden()
        return Allowed({"jwt": {"claims": {k: v if isinstance(v, str) else json.dumps(v) for k, v in claims.items()},
                                "scopes": scopes or None}})

    async def _keys(self, issuer: str) -> KeySet:
        from joserfc.jwk import KeySet

        cached = self._jwks.get(issuer)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        async with httpx.AsyncClient(timeout=5) as client:
            discovery = (await client.get(f"{issuer}/.well-known/openid-configuration")).raise_for_status().json()
            jwks = (await client.get(discovery["jwks_uri"])).raise_for_status().json()
        keys = KeySet.import_key_set(jwks)
        self._jwks[issuer] = (time.monotonic() + _JWKS_TTL, keys)
        return keys

    async def _http_lambda(self, api: Api, stage: str, authorizer: Mapping[str, Any], request: HttpRequest,
                           event: Mapping[str, Any], route_key: str) -> Allowed:
        sources = list(authorizer.get("IdentitySource") or [])
        identity = [_http_identity(source, request) for source in sources]
        if any(value is None for value in identity):
            raise unauthorized()
        path = event.get("rawPath") or event.get("path") or "/"
        arn = self.method_arn(api, stage, request.method, str(path))
        version = authorizer.get("AuthorizerPayloadFormatVersion", "2.0")
        if version == "2.0":
            payload: dict[str, Any] = {"version": "2.0", "type": "REQUEST", "routeArn": arn,
                                       "identitySource": identity, **{k: v for k, v in event.items() if k not in (
                                           "version", "body", "isBase64Encoded")}}
            payload["routeKey"] = route_key
        else:
            payload = {"version": "1.0", "type": "REQUEST", "methodArn": arn,
                       "identitySource": ",".join(v or "" for v in identity),
                       "authorizationToken": identity[0] if identity else None,
                       **{k: v for k, v in event.items() if k not in ("version", "body", "isBase64Encoded")}}
        key = (api.id, str(authorizer.get("AuthorizerId")), *(v or "" for v in identity))
        ttl = float(authorizer.get("AuthorizerResultTtlInSeconds", 0) or 0) if sources else 0
        result = self._results.get(key)
        if result is None:
            result = await self._call(api, str(authorizer.get("AuthorizerUri", "")), payload)
            self._results.put(key, result, ttl)
        if authorizer.get("EnableSimpleResponses") and version == "2.0":
            if not isinstance(result, dict) or not isinstance(result.get("isAuthorized"), bool):
                log.warning("execute-api %s: the authorizer's simple response has no isAuthorized boolean", api.id)
                raise _config_error()
            if not result["isAuthorized"]:
                raise forbidden()
            try:
                return Allowed({"lambda": _stringified(result.get("context"))})
            except ValueError:
                raise _config_error() from None
        allowed = self._policy_outcome(api, result, arn)
        context = dict(allowed.context or {})
        principal = context.pop("principalId", None)
        return Allowed({"lambda": context, "principalId": principal})

    # --- the Lambda call -------------------------------------------------------------------------

    async def _call(self, api: Api, uri: str, payload: dict[str, Any]) -> Any:
        matched = _LAMBDA_URI.match(uri)
        target = matched["fn"] if matched else uri
        try:
            function = await self.service.resolve(target)
            executed = await self.service.execute(Invocation(function, json.dumps(payload).encode()))
        except LambdaError as error:
            log.warning("execute-api %s: the authorizer %s cannot be called: %s", api.id, target, error)
            raise _config_error() from None
        result = executed.result
        if result.function_error:
            if _error_message(result.payload) == "Unauthorized":
                raise unauthorized()
            log.warning("execute-api %s: the authorizer failed: %s", api.id,
                        result.payload[:300].decode(errors="replace"))
            raise _config_error()
        try:
            return json.loads(result.payload)
        except ValueError:
            log.warning("execute-api %s: the authorizer's answer is not JSON", api.id)
            raise _config_error() from None


def _error_message(payload: bytes) -> str:
    try:
        answer = json.loads(payload)
    except ValueError:
        return ""
    return str(answer.get("errorMessage", "")) if isinstance(answer, dict) else ""


def _rest_identity(source: str, request: HttpRequest, event: Mapping[str, Any]) -> str | None:
    """The value of a REST identity source (``method.request.header.X``,
    ``method.request.querystring.x``, ``stageVariables.x``, ``context.x``)."""
    if source.startswith("method.request.header."):
        return request.header(source.removeprefix("method.request.header."))
    if source.startswith("method.request.querystring."):
        name = source.removeprefix("method.request.querystring.")
        return next((v for k, v in reversed(request.query_pairs()) if k == name), None)
    if source.startswith("stageVariables."):
        return (event.get("stageVariables") or {}).get(source.removeprefix("stageVariables."))
    if source.startswith("context."):
        value = (event.get("requestContext") or {}).get(source.removeprefix("context."))
        return None if value is None else str(value)
    return None


def _http_identity(source: str, request: HttpRequest) -> str | None:
    """The value of an HTTP API identity source (``$request.header.X``, ``$request.querystring.x``)."""
    if source.startswith("$request.header."):
        return request.header(source.removeprefix("$request.header."))
    if source.startswith("$request.querystring."):
        name = source.removeprefix("$request.querystring.")
        return next((v for k, v in reversed(request.query_pairs()) if k == name), None)
    return None
