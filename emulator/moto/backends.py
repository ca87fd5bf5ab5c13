"""moto behind the endpoint: embedded (a WSGI app in this process) or external (a URL).

Both are :class:`emulator.aws.backend.AwsBackend`: ASGI apps with the same small interface, so
the gateway does not care which. The embedded one prepares the patches each request's service
needs (:mod:`.services`) and gives the control plane's own clients an in-process transport.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

import httpx

from emulator.aws.backend import AwsBackend
from emulator.aws.clients import LocalSqs, Transport
from emulator.aws.requests import signed_service
from emulator.moto.services import bucket_cors_only, prepare, prepare_app
from emulator.moto.sqs_direct import MotoSqs
from emulator.moto.transport import InProcessTransport

log = logging.getLogger(__name__)

class EmbeddedMoto:
    """moto's server app in this process; backends load lazily, per service, on first use."""

    mode = "embedded"

    def __init__(self, patched: bool = True) -> None:
        from a2wsgi import WSGIMiddleware
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        from emulator.moto import boto_data, sqs_speed, werkzeug_rules

        if patched:
            sqs_speed.apply()
            boto_data.PATCHES.apply()
            werkzeug_rules.PATCHES.apply()
        bucket_cors_only()

        def make_app(service: Any) -> Any:
            prepare_app(str(service))  # an unsigned request's service is known only here
            return create_backend_app(service)

        self._dispatcher = DomainDispatcherApplication(make_app)
        self._app = WSGIMiddleware(self._dispatcher, workers=64)  # type: ignore[arg-type]  # long polls hold a worker each

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        prepare(signed_service(scope))
        await self._app(scope, receive, send)  # type: ignore[arg-type]

    async def health(self) -> dict[str, Any]:
        return {"mode": self.mode, "status": "running", "services_loaded": sorted(self._dispatcher.app_instances)}

    def transport(self) -> Transport:
        """moto in this process, for the control plane's own clients (no socket, no HTTP)."""
        return InProcessTransport(self._dispatcher, prepare)

    def local_sqs(self) -> LocalSqs:
        """The pollers' ReceiveMessage and DeleteMessageBatch on moto's backend, without a request."""
        return MotoSqs()

    async def reset(self) -> None:
        from moto.moto_api import _internal

        await asyncio.to_thread(_internal.moto_api_backend.reset)

    async def aclose(self) -> None:
        return None


class ExternalMoto:
    """A moto server elsewhere (e.g. the compose stack's ``moto`` service), proxied."""

    mode = "external"

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.AsyncClient(base_url=self.url, timeout=httpx.Timeout(60, connect=5))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        url = path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in (b"content-length",)]
        try:
            upstream = await self._client.request(scope["method"], url, content=bytes(body), headers=headers)
        except httpx.HTTPError as exc:
            payload = json.dumps({"message": f"the moto server at {self.url} did not answer: {exc}"}).encode()
            await send({"type": "http.response.start", "status": 502,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": payload})
            return
        skip = {b"content-length", b"transfer-encoding", b"connection", b"content-encoding"}
        out = [(k.lower(), v) for k, v in upstream.headers.raw if k.lower() not in skip]
        content = upstream.content
        out.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": upstream.status_code, "headers": out})
        await send({"type": "http.response.body", "body": content})

    def transport(self) -> Transport | None:
        """None: the control plane's own clients go over HTTP, through the endpoint."""
        return None

    def local_sqs(self) -> LocalSqs | None:
        return None

    async def health(self) -> dict[str, Any]:
        try:
            reply = await self._client.get("/moto-api/data.json", timeout=2)
            status = "running" if reply.status_code == 200 else f"HTTP {reply.status_code}"
        except httpx.HTTPError as exc:
            status = f"unreachable: {exc}"
        return {"mode": self.mode, "url": self.url, "status": status}

    async def reset(self) -> None:
        await self._client.post("/moto-api/reset")

    async def aclose(self) -> None:
        await self._client.aclose()


def make_backend(moto_url: str | None, patched: bool = True) -> AwsBackend:
    return ExternalMoto(moto_url) if moto_url else EmbeddedMoto(patched)


#: the moto module and backend registry of the services a control plane may need to read
_BACKENDS = {"events": ("moto.events.models", "events_backends"),
             "scheduler": ("moto.scheduler.models", "scheduler_backends"),
             "apigateway": ("moto.apigateway.models", "apigateway_backends"),
             "apigatewayv2": ("moto.apigatewayv2.models", "apigatewayv2_backends"),
             "elbv2": ("moto.elbv2.models", "elbv2_backends")}


def used(service: str) -> bool:
    """Whether this process's moto holds any state of ``service`` (its backend was made for some
    account): a module that was only imported (CloudFormation's engine imports every model)
    holds none, and reading it would make its app and load its model for nothing."""
    module_name, attribute = _BACKENDS[service]
    module = sys.modules.get(module_name)
    return bool(module is not None and getattr(module, attribute, None))
