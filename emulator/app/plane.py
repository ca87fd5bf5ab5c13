"""The control plane as one object: every service it owns, built once, started and closed in order.

:meth:`ControlPlane.start` builds the services from the settings, each given what it needs when it
is made (no service is wired to another after construction), in this order: the executor and
the registry; the Runtime API ports and the warm pool; the logs (live echo, CloudWatch Logs);
hot reload; the invocation seam and the Invoke operation; the asynchronous queue and its
destinations; the event source mappings; the schedules. Then it starts what runs in the
background: the reaper, db_gen seeding, hot reload, and, once the endpoint answers, the queue,
the pollers and the schedules. :meth:`ControlPlane.aclose` stops them the other way round: what
feeds the queue, the queue, the AWS clients they report through, hot reload, the environments,
the last log lines, the AWS backend.

The routers reach it through one typed dependency (:mod:`emulator.api.deps`).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.app.runtime import create_runtime_app
from emulator.aws.backend import AwsBackend
from emulator.aws.clients import AwsClients
from emulator.aws.seeding import SeedStatus, endpoint_answers, reseed_when_lost, seed_in_background
from emulator.config import Settings
from emulator.domain.admin_token import ensure_token
from emulator.domain.function_urls import FunctionUrls
from emulator.domain.policies import Policies
from emulator.domain.registry import FunctionRegistry
from emulator.domain.tags import FunctionTags
from emulator.esm.manager import EventSourceManager
from emulator.executors.base import Executor
from emulator.executors.docker import DockerExecutor, docker_client
from emulator.executors.process import ProcessExecutor
from emulator.frontdoor.alb import AlbCatalog, AlbDoor
from emulator.frontdoor.alb_reader import MotoLoadBalancers
from emulator.frontdoor.apis import Api, ApiCatalog
from emulator.frontdoor.authorizers import Authorizers
from emulator.frontdoor.moto_reader import MotoApis
from emulator.frontdoor.service import ApiGatewayDoor, FrontDoorService, FunctionUrlDoor, Place
from emulator.invocation.async_queue import AsyncInvoker, EventInvokeConfigs, EventStore
from emulator.invocation.cloudwatch import CloudWatchLogs, LogsClient
from emulator.invocation.destinations import Destinations
from emulator.invocation.invoke_api import Invoker
from emulator.invocation.live_echo import LiveEcho
from emulator.invocation.logs import LogStore
from emulator.invocation.pool import EnvironmentPool
from emulator.invocation.runtime_ports import RuntimePorts
from emulator.invocation.service import InvokeService
from emulator.moto import backends as moto_backends
from emulator.moto import delivery as moto_delivery
from emulator.reload.reloader import Reloader
from emulator.reload.watcher import resolve_mode
from emulator.schedules.service import Schedules

log = logging.getLogger(__name__)


def _api_gateway(clients: AwsClients, service: InvokeService, place: Place) -> ApiGatewayDoor:
    """The API Gateway front door: APIs read from moto, authorizers, API keys."""
    moto = MotoApis(clients)
    catalog = ApiCatalog(moto.read)

    async def api_keys(api: Api, stage: str) -> frozenset[str]:
        keys: frozenset[str] = await catalog.memo(("keys", api.id, stage), lambda: moto.api_keys(api.id, stage))
        return keys

    return ApiGatewayDoor(catalog, service, place, Authorizers(service, place.region, place.account_id, api_keys),
                          clients)


def _when_used(listing: Callable[[], Awaitable[list[str]]], services: tuple[str, ...], embedded: bool
               ) -> Callable[[], Awaitable[list[str]]]:
    """``listing``, answering an empty list at once while this process's moto holds nothing of
    ``services``: the front door lists routes after each deployment, and asking moto about a
    service nobody used makes its client, its app and its URL map (0.2 s of CPU for API Gateway
    and load balancers, in the middle of a template's first deployment). A moto of its own
    (``--moto-url``) is always asked."""
    async def listed() -> list[str]:
        if embedded and not any(moto_backends.used(service) for service in services):
            return []
        return await listing()

    return listed


class NoDockerEngine(RuntimeError):
    """``--executor docker`` was asked for and no engine answers."""


def build_executor(settings: Settings) -> Executor:
    """Docker when an engine answers (or when asked), else the process executor."""
    if settings.executor in ("auto", "docker"):
        client = docker_client()
        if client is not None:
            return DockerExecutor(settings, client)
        if settings.executor == "docker":
            raise NoDockerEngine(
                "no Docker engine answers (is dockerd running? is DOCKER_HOST right?); "
                "start one or use --executor process"
            )
        log.warning("no Docker engine answers; running functions as local processes")
    return ProcessExecutor(settings)


@dataclass
class ControlPlane:
    """Every service of one control plane."""

    settings: Settings
    aws: AwsBackend
    clients: AwsClients
    executor: Executor
    registry: FunctionRegistry
    ports: RuntimePorts
    pool: EnvironmentPool
    logs: LogStore
    cloudwatch: CloudWatchLogs | None
    policies: Policies
    #: functions' tags (TagResource, ListTags, CreateFunction's Tags)
    tags: FunctionTags
    #: function URL configurations (the API's and function.json's), by function and by url-id
    function_urls: FunctionUrls
    reloader: Reloader | None
    #: the invocation seam: every way in runs an invocation through it
    service: InvokeService
    #: the Invoke operation (sync, Event, DryRun)
    invoker: Invoker
    async_queue: AsyncInvoker
    mappings: EventSourceManager
    schedules: Schedules
    seeding: SeedStatus
    #: what the admin routes ask for (emulator/domain/admin_token.py)
    admin_token: str
    #: API Gateway APIs and function URLs, served (emulator/frontdoor/)
    frontdoor: FrontDoorService
    _background: list[asyncio.Task[Any]] = field(default_factory=list)
    _delivery: object | None = None
    _callers_stopped: bool = False

    @classmethod
    async def start(cls, settings: Settings, aws: AwsBackend, *, echo_logs: bool = True) -> ControlPlane:
        """Build every service, then start them (see the module doc)."""
        plane = cls.build(settings, aws, echo_logs=echo_logs)
        await plane._start()
        return plane

    @classmethod
    def build(cls, settings: Settings, aws: AwsBackend, *, echo_logs: bool = True) -> ControlPlane:
        executor = build_executor(settings)
        registry = FunctionRegistry(settings.functions_dir, settings.state_dir, settings.region, settings.account_id,
                                roots=(settings.project_dir, *settings.code_roots))
        registry.load_folders()
        # URLs declared in function.json follow the registry (start, hot reload, deletes)
        place = Place(settings.region, settings.account_id)
        function_urls = FunctionUrls(settings.state_dir / "function-urls.json")
        function_urls.sync(registry.list())
        registry.on_change(lambda: function_urls.sync(registry.list()))
        ports = RuntimePorts(settings.host if settings.host != "0.0.0.0" else "127.0.0.1")
        ports.bind_app(create_runtime_app(ports))
        echo = LiveEcho(sys.stderr) if echo_logs else None  # each line as it is printed
        pool = EnvironmentPool(executor, ports, settings, observer=echo)
        logs = LogStore()
        if echo is not None:
            logs.listen(echo.finished)
        # function logs in CloudWatch Logs, written in the background straight to moto (the
        # embedded one from the first Logs API request on: see emulator/invocation/cloudwatch.py)
        cloudwatch = (CloudWatchLogs(LogsClient(aws, settings.region), eager=aws.mode != "embedded")
                      if settings.cloudwatch_logs else None)
        if cloudwatch is not None:
            logs.listen(cloudwatch.add)
        # hot reload: saved function folders make new revisions (emulator/reload/reloader.py)
        reloader = (Reloader(registry, pool, resolve_mode(settings.watch, settings.functions_dir),
                             notice=echo.notice if echo is not None else None)
                    if settings.watch != "off" else None)
        service = InvokeService(registry, pool, executor, logs, reloads=reloader)
        # the control plane's own AWS calls: in process with the embedded moto; straight to an
        # external moto server (through the endpoint, its gateway would only pass them on)
        clients = AwsClients(settings.moto_url or settings.function_endpoint, settings.region,
                             transport=aws.transport(), local_sqs=aws.local_sqs())
        async_queue = AsyncInvoker(
            registry, service, Destinations(clients),
            EventInvokeConfigs(settings.state_dir / "event-invoke-configs.json"),
            EventStore(settings.state_dir / "async-events"),
            retry_delay=settings.async_retry_delay, max_concurrency=settings.max_environments_per_function,
        )
        embedded = aws.mode == "embedded"
        schedules = Schedules(
            clients, lambda arn, payload, source: async_queue.submit(arn, payload), embedded=embedded,
            used=moto_backends.used if embedded else None,
            # control planes in one process share the embedded moto: the newest fires (deliveries go to it)
            active=lambda: not embedded or moto_delivery.endpoint() == settings.function_endpoint)
        return cls(
            settings=settings, aws=aws, clients=clients, executor=executor, registry=registry, ports=ports,
            pool=pool, logs=logs, cloudwatch=cloudwatch, policies=Policies(settings.state_dir / "policies.json"),
            tags=FunctionTags(settings.state_dir / "tags.json"),
            function_urls=function_urls, reloader=reloader, service=service, invoker=Invoker(service, async_queue),
            async_queue=async_queue,
            mappings=EventSourceManager(registry, service, clients, settings.state_dir), schedules=schedules,
            seeding=SeedStatus(), admin_token=settings.admin_token or ensure_token(settings.state_dir),
            frontdoor=FrontDoorService(_api_gateway(clients, service, place),
                                       FunctionUrlDoor(function_urls, service, place),
                                       AlbDoor(AlbCatalog(MotoLoadBalancers(clients).read), service),
                                       _when_used(MotoApis(clients).ids, ("apigateway", "apigatewayv2"), embedded),
                                       notice=echo.notice if echo is not None else None,
                                       list_albs=_when_used(MotoLoadBalancers(clients).names, ("elbv2",), embedded)),
        )

    async def _start(self) -> None:
        settings = self.settings
        if self.cloudwatch is not None:
            self.cloudwatch.start()
        self.mappings.load()
        if isinstance(self.executor, DockerExecutor):
            removed = await self.executor.cleanup_orphans()
            if removed:
                log.info("removed %d container(s) left by a control plane that died", removed)
        loop = asyncio.get_running_loop()
        self._background.append(loop.create_task(self.pool.reap_forever()))
        if settings.seed_on_start:
            self._background.append(loop.create_task(seed_in_background(
                settings.function_endpoint, settings.region, settings.db_gen_dir, self.seeding)))
        if self.aws.mode == "external":  # a moto server that restarts has lost its tables
            self._background.append(loop.create_task(reseed_when_lost(
                settings.function_endpoint, settings.region, settings.db_gen_dir, self.seeding, self._table_names)))
        self._background.append(loop.create_task(self._start_pollers()))
        self._background.append(loop.create_task(self.frontdoor.announce_forever(settings.port)))
        if self.reloader is not None:
            self.reloader.start()
        # the embedded moto delivers S3/SNS/EventBridge events to us (an external one is told by its env)
        if self.aws.mode == "embedded":
            self._delivery = moto_delivery.configure(settings.function_endpoint)

    async def _start_pollers(self) -> None:
        """Once the endpoint answers (they call it): the events a previous run left queued
        (start() skips the ones this run queued already), the pollers and the schedules."""
        endpoint = self.settings.function_endpoint
        try:
            await endpoint_answers(endpoint)
        except Exception as exc:  # noqa: BLE001 - start them anyway; say why they may fail
            log.error("the control plane's endpoint %s did not answer its health check (%s); "
                      "starting the asynchronous queue, event source mappings and schedules "
                      "anyway: their calls to it may fail", endpoint, exc)
        for part, start in (("asynchronous queue", self.async_queue.start),
                            ("event source mappings", self.mappings.start),
                            ("schedules", self.schedules.start)):
            try:
                start()
            except Exception:
                log.exception("could not start the %s", part)

    async def _table_names(self) -> set[str]:
        dynamodb = self.clients.client("dynamodb")
        names: set[str] = set()
        start: dict[str, str] = {}
        while True:
            page = await self.clients.call(dynamodb.list_tables, **start)
            names.update(page.get("TableNames", []))
            if not page.get("LastEvaluatedTableName"):
                return names
            start = {"ExclusiveStartTableName": page["LastEvaluatedTableName"]}

    async def stop_callers(self) -> None:
        """Stop what calls the endpoint (the schedules, the pollers, the asynchronous queue), in
        that order: what feeds the queue, then the queue. The server calls it before it stops
        listening, so none of them is left calling an endpoint that is gone; once only."""
        if self._callers_stopped:
            return
        self._callers_stopped = True
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.schedules.close()
        await self.mappings.close()
        await self.async_queue.close()

    async def aclose(self) -> None:
        """Stop everything, in order (see the module doc)."""
        if self._delivery is not None:
            moto_delivery.release(self._delivery)
        await self.stop_callers()
        self.clients.close()  # the thread pool the callers used
        if self.reloader is not None:
            await self.reloader.close()
        await self.pool.close()
        if self.cloudwatch is not None:
            await self.cloudwatch.close()  # the last lines, now that no invocation runs
        await self.aws.aclose()
