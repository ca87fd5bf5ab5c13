"""Reads an API from the local API Gateway (moto) through the AWS API, in the shapes of
:mod:`emulator.frontdoor.apis`: a REST API's resources (methods and integrations embedded) and
stages; an HTTP API's routes, integrations and stages."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from emulator.aws.clients import AwsClients
from emulator.frontdoor.apis import Api, Integration, Method, Route, segments_of


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in ("NotFoundException", "NotFound", "404")


class MotoApis:
    """``await MotoApis(clients).read(api_id)``: the API, or None when there is none."""

    def __init__(self, clients: AwsClients) -> None:
        self.clients = clients

    async def read(self, api_id: str) -> Api | None:
        rest = await self._rest(api_id)
        return rest if rest is not None else await self._http(api_id)

    async def ids(self) -> list[str]:
        """Every REST and HTTP API's id."""
        rest = await self.clients.call(self.clients.client("apigateway").get_rest_apis, limit=500)
        http = await self.clients.call(self.clients.client("apigatewayv2").get_apis, MaxResults="500")
        return [a["id"] for a in rest.get("items", [])] + [a["ApiId"] for a in http.get("Items", [])]

    async def api_keys(self, api_id: str, stage: str) -> frozenset[str]:
        """The values of the enabled API keys of the usage plans that include ``api_id``'s ``stage``."""
        client = self.clients.client("apigateway")
        plans = (await self.clients.call(client.get_usage_plans, limit=500)).get("items", [])
        key_ids: set[str] = set()
        for plan in plans:
            if any(s.get("apiId") == api_id and s.get("stage") == stage for s in plan.get("apiStages") or []):
                keys = await self.clients.call(client.get_usage_plan_keys, usagePlanId=plan["id"], limit=500)
                key_ids.update(k["id"] for k in keys.get("items", []))
        if not key_ids:
            return frozenset()
        keys = (await self.clients.call(client.get_api_keys, includeValues=True, limit=500)).get("items", [])
        return frozenset(k["value"] for k in keys if k["id"] in key_ids and k.get("enabled") and k.get("value"))

    async def _rest(self, api_id: str) -> Api | None:
        client = self.clients.client("apigateway")
        try:
            api = await self.clients.call(client.get_rest_api, restApiId=api_id)
        except ClientError as error:
            if _missing(error):
                return None
            raise
        items: list[dict[str, Any]] = []
        position: dict[str, str] = {}
        while True:
            page = await self.clients.call(client.get_resources, restApiId=api_id, embed=["methods"], limit=500,
                                           **position)
            items.extend(page.get("items", []))
            if not page.get("position"):
                break
            position = {"position": page["position"]}
        stages = await self.clients.call(client.get_stages, restApiId=api_id)
        authorizers = await self.clients.call(client.get_authorizers, restApiId=api_id)
        routes = []
        for item in items:
            methods = {name: _rest_method(name, method) for name, method in (item.get("resourceMethods") or {}).items()}
            routes.append(Route(item["path"], segments_of(item["path"]), methods, item["id"]))
        return Api(api_id, "REST", api.get("name", ""), tuple(routes),
                   {s["stageName"]: dict(s.get("variables") or {}) for s in stages.get("item", [])},
                   tuple(api.get("binaryMediaTypes") or ()), raw=_plain(api),
                   authorizers={a["id"]: _plain(a) for a in authorizers.get("items", [])})

    async def _http(self, api_id: str) -> Api | None:
        client = self.clients.client("apigatewayv2")
        try:
            api = await self.clients.call(client.get_api, ApiId=api_id)
        except ClientError as error:
            if _missing(error):
                return None
            raise
        if api.get("ProtocolType") != "HTTP":
            return None
        routes = (await self.clients.call(client.get_routes, ApiId=api_id, MaxResults="500")).get("Items", [])
        listed = await self.clients.call(client.get_integrations, ApiId=api_id, MaxResults="500")
        integrations = {i["IntegrationId"]: _http_integration(i) for i in listed.get("Items", [])}
        stages = (await self.clients.call(client.get_stages, ApiId=api_id, MaxResults="500")).get("Items", [])
        authorizers = [await self.clients.call(client.get_authorizer, ApiId=api_id, AuthorizerId=authorizer_id)
                       for authorizer_id in {r["AuthorizerId"] for r in routes if r.get("AuthorizerId")}]
        by_path: dict[str, dict[str, Method]] = {}
        default: Method | None = None
        for route in routes:
            target = route.get("Target", "")
            integration = integrations.get(target.removeprefix("integrations/")) if target else None
            key = route.get("RouteKey", "")
            if key == "$default":
                default = Method("ANY", route.get("AuthorizationType", "NONE"), False, route.get("AuthorizerId"),
                                 integration, _plain(route))
                continue
            method, _, path = key.partition(" ")
            by_path.setdefault(path, {})[method] = Method(method, route.get("AuthorizationType", "NONE"), False,
                                                          route.get("AuthorizerId"), integration, _plain(route))
        return Api(api_id, "HTTP", api.get("Name", ""),
                   tuple(Route(path, segments_of(path), methods) for path, methods in by_path.items()),
                   {s["StageName"]: dict(s.get("StageVariables") or {}) for s in stages},
                   default_route=default, raw=_plain(api),
                   authorizers={a["AuthorizerId"]: _plain(a) for a in authorizers})


def _plain(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "ResponseMetadata"}


def _rest_method(name: str, method: dict[str, Any]) -> Method:
    integration = method.get("methodIntegration")
    return Method(
        name, method.get("authorizationType", "NONE"), bool(method.get("apiKeyRequired")), method.get("authorizerId"),
        None if not integration else Integration(
            integration.get("type", ""), integration.get("uri", ""), integration.get("httpMethod", ""), "1.0",
            dict(integration.get("requestTemplates") or {}), int(integration.get("timeoutInMillis") or 29_000),
            raw=integration),
        raw={key: value for key, value in method.items() if key != "methodIntegration"})


def _http_integration(item: dict[str, Any]) -> Integration:
    return Integration(item.get("IntegrationType", ""), item.get("IntegrationUri", ""),
                       item.get("IntegrationMethod", ""), item.get("PayloadFormatVersion", "2.0"),
                       dict(item.get("RequestTemplates") or {}), int(item.get("TimeoutInMillis") or 30_000), raw=item)
