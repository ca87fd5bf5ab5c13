"""What the routers need of the control plane, as one typed dependency.

:class:`Plane` names the services the routers use (the composition root,
:class:`emulator.app.plane.ControlPlane`, has them all); a router takes ``plane: PlaneDep`` (or,
for the plain Starlette routes on the hot path, calls :func:`plane_of`). The app installs its
control plane with :func:`install`, which is where the types are checked; this module is the
only one that touches ``app.state``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Protocol, cast

from fastapi import Depends, FastAPI, Request

from emulator.aws.backend import AwsBackend
from emulator.aws.seeding import SeedStatus
from emulator.config import Settings
from emulator.domain.function_urls import FunctionUrls
from emulator.domain.policies import Policies
from emulator.domain.registry import FunctionRegistry
from emulator.domain.tags import FunctionTags
from emulator.esm.manager import EventSourceManager
from emulator.executors.base import Executor
from emulator.invocation.async_queue import AsyncInvoker
from emulator.invocation.invoke_api import Invoker
from emulator.invocation.logs import LogStore
from emulator.invocation.pool import EnvironmentPool
from emulator.invocation.runtime_ports import RuntimePorts
from emulator.reload.reloader import Reloader
from emulator.schedules.service import Schedules


class RouteListing(Protocol):
    """The front door (emulator/frontdoor/service.py), as the admin routes list its routes."""

    async def routes(self, port: int) -> Sequence[SupportsJson]: ...


class SupportsJson(Protocol):
    def to_json(self) -> dict[str, str]: ...


class Plane(Protocol):
    """The control plane's services the routers use."""

    @property
    def settings(self) -> Settings: ...
    @property
    def aws(self) -> AwsBackend: ...
    @property
    def executor(self) -> Executor: ...
    @property
    def registry(self) -> FunctionRegistry: ...
    @property
    def pool(self) -> EnvironmentPool: ...
    @property
    def logs(self) -> LogStore: ...
    @property
    def policies(self) -> Policies: ...
    @property
    def tags(self) -> FunctionTags: ...
    @property
    def function_urls(self) -> FunctionUrls: ...
    @property
    def reloader(self) -> Reloader | None: ...
    @property
    def invoker(self) -> Invoker: ...
    @property
    def async_queue(self) -> AsyncInvoker: ...
    @property
    def mappings(self) -> EventSourceManager: ...
    @property
    def schedules(self) -> Schedules: ...
    @property
    def seeding(self) -> SeedStatus: ...
    @property
    def admin_token(self) -> str: ...
    @property
    def frontdoor(self) -> RouteListing: ...
    async def stop_callers(self) -> None: ...


def install(app: FastAPI, plane: Plane) -> None:
    """Make ``plane`` the one the app's routers get."""
    app.state.plane = plane


def plane_of(request: Request) -> Plane:
    """The control plane serving ``request``."""
    return installed(request.app)


def installed(app: FastAPI) -> Plane:
    """The control plane :func:`install` gave ``app``."""
    return cast(Plane, app.state.plane)


PlaneDep = Annotated[Plane, Depends(plane_of)]


def install_ports(app: FastAPI, ports: RuntimePorts) -> None:
    """Make ``ports`` the ones the Runtime API app finds environments by."""
    app.state.ports = ports


def ports_of(request: Request) -> RuntimePorts:
    """The per-environment ports of the Runtime API app serving ``request``."""
    return cast(RuntimePorts, request.app.state.ports)
