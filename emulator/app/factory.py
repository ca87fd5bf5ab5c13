"""The control plane app: ``create_app(settings)`` wires the routers, the gateway that sends every
other AWS API to moto, and the lifespan that starts and stops the :class:`ControlPlane`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from emulator.api import (
    admin,
    errors,
    esm_api,
    event_invoke_api,
    function_url_api,
    lambda_api,
    layers_api,
    policy_api,
    stream_invoke_api,
    tags_api,
    versions_api,
)
from emulator.api.deps import install
from emulator.app.gateway import AwsGateway
from emulator.app.guard import LocalOnly
from emulator.app.plane import ControlPlane
from emulator.config import Settings
from emulator.frontdoor.server import FrontDoor
from emulator.invocation.cloudwatch import CloudWatchLogs, ReadYourWrites
from emulator.moto.backends import make_backend


def create_app(settings: Settings, *, echo_logs: bool = True) -> FastAPI:
    aws = make_backend(settings.moto_url, settings.moto_patches)
    started: list[ControlPlane] = []  # the control plane, while the app runs

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        plane = await ControlPlane.start(settings, aws, echo_logs=echo_logs)
        install(app, plane)
        started.append(plane)
        try:
            yield
        finally:
            started.clear()
            await plane.aclose()

    def cloudwatch() -> CloudWatchLogs | None:
        return started[0].cloudwatch if started else None

    app = FastAPI(title="Cloudmicro", lifespan=lifespan, redirect_slashes=False,  # gateway.py serves "/x/" as "/x"
                  openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(lambda_api.router)
    app.include_router(versions_api.router)
    app.include_router(stream_invoke_api.router)
    app.include_router(esm_api.router)
    app.include_router(event_invoke_api.router)
    app.include_router(policy_api.router)
    app.include_router(tags_api.router)
    app.include_router(layers_api.router)
    app.include_router(function_url_api.router)
    app.include_router(admin.router)
    app.include_router(admin.admin)
    errors.install(app)
    # every Logs API request first writes the function logs still pending (read your own writes)
    app.add_middleware(AwsGateway, aws=ReadYourWrites(aws, cloudwatch))
    # API Gateway APIs and function URLs (emulator/frontdoor/), before the AWS APIs
    app.add_middleware(FrontDoor, doorman=lambda: started[0].frontdoor if started else None)
    # outermost: only this machine's clients, and no page from another origin (emulator/app/guard.py)
    app.add_middleware(LocalOnly, hosts=(settings.host, *settings.allowed_hosts), origins=settings.cors_origins)
    return app
