"""Which front door a request knocks on, from its Host or its path (no I/O).

On the one endpoint (``127.0.0.1:4566``), these reach an API or a function URL:

* ``http://{apiId}.execute-api.localhost:4566/{stage}/{path}`` (also with a region,
  ``{apiId}.execute-api.{region}.localhost``): an API Gateway REST or HTTP API. An HTTP API's
  ``$default`` stage takes the path without a stage segment.
* ``http://127.0.0.1:4566/_aws/execute-api/{apiId}/{stage}/{path}``: the same, by path, for
  clients that cannot pick a Host (``*.localhost`` names resolve to loopback in browsers and
  curl, not everywhere).
* ``http://127.0.0.1:4566/restapis/{apiId}/{stage}/_user_request_/{path}``: LocalStack's legacy
  form, so scripts written for it keep working.
* ``http://{urlId}.lambda-url.{region}.localhost:4566/{path}`` and
  ``/_aws/lambda-url/{urlId}/{path}``: a function URL.
* ``http://{lbName}.elb.localhost:4566/{path}`` (the load balancer's ``DNSName``) and
  ``/_aws/elb/{lbName}/{path}`` or ``/_aws/elb/{lbName}:{listenerPort}/{path}``: an Application
  Load Balancer (the door's target is ``{lbName}`` or ``{lbName}:{listenerPort}``; which
  listener serves is :mod:`emulator.frontdoor.alb`'s choice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["execute-api", "lambda-url", "alb"]

_EXECUTE_API_PATH = "/_aws/execute-api/"
_LAMBDA_URL_PATH = "/_aws/lambda-url/"
_ELB_PATH = "/_aws/elb/"
_LEGACY = "/restapis/"
_LEGACY_MARK = "/_user_request_"


@dataclass(frozen=True)
class Door:
    """A front-door request: the API (or URL) id, and the path after it (stage included for
    ``execute-api``), decoded and as sent."""

    kind: Kind
    target: str
    path: str
    raw_path: str


def _host(scope: dict[str, Any]) -> str:
    for name, value in scope["headers"]:
        if name == b"host" or name.lower() == b"host":
            return value.decode("latin-1").lower()
    return ""


def _split_raw(raw: str, skip: int) -> str:
    """``raw`` without its first ``skip`` segments (``/a/b/c``, 2 -> ``/c``)."""
    parts = raw.split("/", skip + 1)
    return "/" + parts[skip + 1] if len(parts) > skip + 1 else "/"


def door_of(scope: dict[str, Any]) -> Door | None:
    """The front door ``scope`` is for, or None when it is an AWS API request."""
    path: str = scope["path"]
    host = _host(scope)
    if not host.endswith(".localhost") and ".localhost:" not in host and not path.startswith(("/_aws/", _LEGACY)):
        return None  # an AWS API request (nearly every request): one header scan, no more
    raw_bytes = scope.get("raw_path")
    raw = raw_bytes.decode("latin-1").split("?", 1)[0] if isinstance(raw_bytes, bytes) else path
    if host.endswith(".localhost") or ".localhost:" in host:
        host = host.rsplit(":", 1)[0]
        labels = host.split(".")
        if len(labels) in (3, 4) and labels[1] == "execute-api" and labels[0]:
            return Door("execute-api", labels[0], path, raw)
        if len(labels) == 4 and labels[1] == "lambda-url" and labels[0]:
            return Door("lambda-url", labels[0], path, raw)
        if len(labels) == 3 and labels[1] == "elb" and labels[0]:
            return Door("alb", labels[0], path, raw)
    if path.startswith(_EXECUTE_API_PATH):
        target, _, rest = path[len(_EXECUTE_API_PATH):].partition("/")
        return Door("execute-api", target, "/" + rest, _split_raw(raw, 3)) if target else None
    if path.startswith(_LAMBDA_URL_PATH):
        target, _, rest = path[len(_LAMBDA_URL_PATH):].partition("/")
        return Door("lambda-url", target, "/" + rest, _split_raw(raw, 3)) if target else None
    if path.startswith(_ELB_PATH):
        target, _, rest = path[len(_ELB_PATH):].partition("/")
        return Door("alb", target, "/" + rest, _split_raw(raw, 3)) if target else None
    if path.startswith(_LEGACY) and _LEGACY_MARK in path:
        parts = path.split("/", 4)  # "", "restapis", id, stage, "_user_request_/..."
        if len(parts) == 5 and parts[4].split("/", 1)[0] == _LEGACY_MARK[1:]:
            rest = parts[4][len(_LEGACY_MARK) - 1:] or "/"
            raw_rest = _split_raw(raw, 4)
            return Door("execute-api", parts[2], f"/{parts[3]}{rest}", f"/{parts[3]}{raw_rest}")
    return None
