"""``HTTP_PROXY`` integrations: the request passed to an HTTP endpoint, and its answer passed back,
as they are (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-http.html).

The integration URI may name the route's path variables (``/pets/{petID}``, a greedy
``{proxy}``); the request's query string is kept; hop-by-hop headers are not passed on. Used by
HTTP APIs; REST APIs' ``HTTP_PROXY`` shares the header rule (emulator/frontdoor/integrations.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from emulator.frontdoor.request import HttpRequest

#: headers that belong to one connection, not to the request or answer passed on
HOP_BY_HOP = frozenset({"host", "connection", "keep-alive", "transfer-encoding", "content-length", "upgrade",
                        "te", "trailer", "proxy-authorization", "proxy-connection", "content-encoding"})


@dataclass(frozen=True)
class Forwarded:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def fill_path(template: str, *sources: Mapping[str, str]) -> str:
    """``{name}``/``{name+}`` placeholders of an integration URI, each from the first of
    ``sources`` that has it (URL-quoted, ``/`` kept); a name none has stays as written."""
    def value(matched: re.Match[str]) -> str:
        name = matched[1].rstrip("+")
        found = next((source[name] for source in sources if name in source), None)
        return matched[0] if found is None else quote(found, safe="/")

    return re.sub(r"\{([^}]+)\}", value, template)


def target_url(template: str, path_params: Mapping[str, str], raw_query: str) -> str:
    """The integration URI with ``{name}``/``{name+}`` filled from the route's path variables,
    and the request's query string."""
    url = fill_path(template, path_params)
    if raw_query:
        url += ("&" if "?" in url else "?") + raw_query
    return url


async def forward(request: HttpRequest, url: str, method: str, timeout: float) -> Forwarded:
    """Send ``request`` (its method unless the integration names one; ``ANY`` is the request's)
    to ``url``; the answer as it came. Raises httpx's errors (a timeout: ``TimeoutException``)."""
    method = request.method if method in ("", "ANY") else method
    headers = [(key, value) for key, value in request.headers if key.lower() not in HOP_BY_HOP]
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        reply = await client.request(method, url, content=request.body, headers=headers)
    answer = tuple((k, v) for k, v in reply.headers.multi_items() if k.lower() not in HOP_BY_HOP)
    return Forwarded(reply.status_code, answer, reply.content)
