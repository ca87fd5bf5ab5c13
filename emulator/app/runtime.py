"""The Runtime API app, served on every execution environment's own port (see
:mod:`emulator.invocation.runtime_ports`)."""

from __future__ import annotations

from fastapi import FastAPI

from emulator.api import errors, runtime_api
from emulator.api.deps import install_ports
from emulator.invocation.runtime_ports import RuntimePorts


def create_runtime_app(ports: RuntimePorts) -> FastAPI:
    """The Runtime API app; it finds an environment by the port a request came in on."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    install_ports(app, ports)
    app.include_router(runtime_api.router)
    errors.install(app)
    return app
