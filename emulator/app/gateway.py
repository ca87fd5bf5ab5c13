"""One endpoint for everything: Lambda requests go to the control plane's own routes,
every other AWS API to moto.

A request is Lambda's when its SigV4 credential scope names the ``lambda`` service (header
or presigned query), or, unsigned, when its path is one of Lambda's API paths or
``/_cloudmicro``. Everything else is moto's. This is a plain ASGI middleware (no body
buffering, a header scan per request).

Older SDKs spell some Lambda paths with a trailing slash (the AWS CLI 2.9 in Debian bookworm
lists functions with ``GET /2015-03-31/functions/``); a Lambda path is served with or without
it, never redirected (a 307 is an error to those clients).
"""

from __future__ import annotations

from typing import Any

from emulator.aws.requests import signed_service

_LAMBDA_PATHS = (
    "/_cloudmicro", "/2015-03-31/functions", "/2017-10-31/functions", "/2019-09-30/functions",
    "/2014-11-13/functions", "/2015-03-31/event-source-mappings", "/2016-08-19/account-settings",
    "/2017-03-31/tags", "/2019-09-25/functions", "/2021-10-31/functions", "/2021-11-15/functions", "/2018-10-31/layers",
)


def is_lambda_request(scope: dict[str, Any]) -> bool:
    service = signed_service(scope)
    if service is not None:
        return service == "lambda" or scope["path"].startswith("/_cloudmicro")
    return scope["path"].startswith(_LAMBDA_PATHS)


class AwsGateway:
    """ASGI middleware: the wrapped app serves Lambda; ``aws`` (moto) serves the rest."""

    def __init__(self, app: Any, aws: Any) -> None:
        self.app = app
        self.aws = aws

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not is_lambda_request(scope):
            await self.aws(scope, receive, send)
            return
        path = scope.get("path", "")
        if len(path) > 1 and path.endswith("/"):
            scope = without_trailing_slash(scope)
        await self.app(scope, receive, send)


def without_trailing_slash(scope: dict[str, Any]) -> dict[str, Any]:
    """The request with its path's trailing slashes gone (``/2015-03-31/functions/`` -> ``.../functions``)."""
    path = scope["path"].rstrip("/") or "/"
    raw = scope.get("raw_path")
    changed = {**scope, "path": path}
    if isinstance(raw, bytes):
        changed["raw_path"] = raw.rstrip(b"/") or b"/"
    return changed
