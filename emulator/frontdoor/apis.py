"""The APIs as the front door serves them: REST APIs (v1) and HTTP APIs (v2), read from the
local API Gateway (moto) and kept until something changes them.

Every request that can change an API (a non-read API Gateway, CloudFormation or reset request)
passes through the endpoint, which calls :meth:`ApiCatalog.changed`; the next front-door request
reads the API again. So a request costs a dict lookup, and a change is seen at once.

A stage serves the API as it is now, not as it was at its deployment: moto keeps no deployment
snapshots, and locally the latest definition is what a developer means. A stage must exist
(CreateDeployment with a stage name, CreateStage, or an HTTP API's auto-deploy ``$default``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Integration:
    type: str  # AWS_PROXY, AWS, MOCK, HTTP, HTTP_PROXY
    uri: str = ""
    http_method: str = ""
    payload_format: str = "1.0"
    request_templates: Mapping[str, str] = field(default_factory=dict)
    timeout_ms: int = 29_000
    #: the integration as API Gateway describes it (REST: ``methodIntegration`` with its
    #: ``integrationResponses``; HTTP API: GetIntegration's item), for what the fields above omit
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Method:
    http_method: str
    authorization_type: str = "NONE"
    api_key_required: bool = False
    authorizer_id: str | None = None
    integration: Integration | None = None
    #: the method (REST) or route (HTTP API) as API Gateway describes it
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Resource:
    id: str
    path: str  # "/items/{id}"
    methods: Mapping[str, Method]


@dataclass(frozen=True)
class Route:
    """A path template, with what each method does there (REST: a resource's methods; HTTP API:
    the routes sharing a path, by method or ANY)."""

    template: str
    segments: tuple[str, ...]
    methods: Mapping[str, Method]
    resource_id: str = ""


@dataclass(frozen=True)
class Api:
    id: str
    kind: str  # "REST" | "HTTP"
    name: str
    routes: tuple[Route, ...]
    stages: Mapping[str, Mapping[str, str]]  # stage name -> stage variables
    binary_media_types: tuple[str, ...] = ()
    default_route: Method | None = None  # HTTP API's "$default" route
    #: the API as API Gateway describes it (GetRestApi / GetApi: CORS, API key source, ...)
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)
    #: its authorizers by id (GetAuthorizers' items)
    authorizers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)
    _tree: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for route in self.routes:
            node = self._tree
            for segment in route.segments:
                node = node.setdefault(segment if not segment.startswith("{") else _kind(segment), {})
            node[""] = route

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        """The most specific route for ``path`` (a literal segment before ``{param}``, before
        ``{greedy+}``, as API Gateway picks), and the path parameters it binds."""
        segments = [s for s in path.split("/") if s] if path != "/" else []
        found = _walk(self._tree, segments, 0)
        if found is None:
            return None
        route = found
        params: dict[str, str] = {}
        for index, template in enumerate(route.segments):
            if template.endswith("+}"):
                params[template[1:-2]] = "/".join(segments[index:])
                break
            if template.startswith("{"):
                params[template[1:-1]] = segments[index]
        return route, params


def _kind(segment: str) -> str:
    return "{+}" if segment.endswith("+}") else "{}"


def _walk(node: dict[str, Any], segments: list[str], index: int) -> Route | None:
    if index == len(segments):
        return node.get("")  # (a greedy "{proxy+}" takes one segment at least)
    segment = segments[index]
    for key in (segment, "{}"):
        child = node.get(key)
        if child is not None:
            found = _walk(child, segments, index + 1)
            if found is not None:
                return found
    greedy = node.get("{+}")
    if greedy is not None and "" in greedy:
        return greedy[""]
    return None


def segments_of(template: str) -> tuple[str, ...]:
    return tuple(s for s in template.split("/") if s)


Reader = Callable[[str], Awaitable[Api | None]]


class ApiCatalog:
    """The APIs by id, read on first use and again after :meth:`changed`."""

    def __init__(self, read: Reader) -> None:
        self._read = read
        self._apis: dict[str, Api | None] = {}
        self._generation = 0
        self._lock = asyncio.Lock()
        self._memo: dict[tuple[str, ...], Any] = {}

    def changed(self) -> None:
        """Something may have changed an API: read them again when next asked."""
        self._generation += 1
        self._apis = {}
        self._memo = {}

    async def memo(self, key: tuple[str, ...], read: Callable[[], Awaitable[Any]]) -> Any:
        """What ``read`` gives, kept until the next change (API keys, usage plans)."""
        if key not in self._memo:
            generation = self._generation
            value = await read()
            if generation == self._generation:
                self._memo[key] = value
            return value
        return self._memo[key]

    async def get(self, api_id: str) -> Api | None:
        if api_id in self._apis:
            return self._apis[api_id]
        async with self._lock:
            if api_id in self._apis:
                return self._apis[api_id]
            generation = self._generation
            try:
                api = await self._read(api_id)
            except Exception:
                log.exception("reading the API %s from the local API Gateway", api_id)
                return None
            if generation == self._generation:  # not changed while it was read
                self._apis[api_id] = api
            return api
