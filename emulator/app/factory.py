"""The control plane app: ``create_app(settings)`` wires routers and the lifespan
(executor, function registry, warm pool, per-environment Runtime API ports, reaper, hot reload)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator

from fastapi import FastAPI

from emulator.api import admin, errors, esm_api, event_invoke_api, lambda_api, policy_api, runtime_api
from emulator.app.gateway import AwsGateway
from emulator.aws.seeding import SeedStatus, seed_in_background, wait_for_endpoint
from emulator.config import Settings
from emulator.domain.policies import Policies
from emulator.domain.registry import FunctionRegistry
from emulator.esm.manager import EventSourceManager
from emulator.esm.poller import Blocking
from emulator.executors.base import Executor
from emulator.executors.docker import DockerExecutor, docker_client
from emulator.executors.process import ProcessExecutor
from emulator.invocation.async_queue import AsyncInvoker, EventInvokeConfigs, EventStore
from emulator.invocation.cloudwatch import CloudWatchLogs, LogsClient, ReadYourWrites
from emulator.invocation.destinations import Destinations
from emulator.invocation.live_echo import LiveEcho
from emulator.invocation.logs import LogStore
from emulator.invocation.pool import EnvironmentPool
from emulator.invocation.runtime_ports import RuntimePorts
from emulator.invocation.service import InvokeService
from emulator.moto import delivery as moto_delivery
from emulator.moto.backends import make_backend
from emulator.reload.reloader import Reloader
from emulator.reload.watcher import resolve_mode
from emulator.schedules.service import Schedules

log = logging.getLogger(__name__)


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


def create_runtime_app(ports: RuntimePorts) -> FastAPI:
    """The Runtime API app, served on every environment's own port."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.ports = ports
    app.include_router(runtime_api.router)
    errors.install(app)
    return app


def create_app(settings: Settings, *, echo_logs: bool = True) -> FastAPI:
    aws = make_backend(settings.moto_url, settings.moto_patches)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        executor = build_executor(settings)
        registry = FunctionRegistry(settings.functions_dir, settings.state_dir, settings.region, settings.account_id)
        registry.load_folders()
        ports = RuntimePorts(settings.host if settings.host != "0.0.0.0" else "127.0.0.1")
        ports.bind_app(create_runtime_app(ports))
        pool = EnvironmentPool(executor, ports, settings)
        logs = LogStore()
        echo = LiveEcho(sys.stderr) if echo_logs else None  # each line as it is printed
        if echo is not None:
            pool.observer = echo
            logs.listen(echo.finished)
        # function logs in CloudWatch Logs, written in the background straight to moto (the
        # embedded one from the first Logs API request on: see emulator/invocation/cloudwatch.py)
        cloudwatch = (CloudWatchLogs(LogsClient(aws, settings.region), eager=aws.mode != "embedded")
                      if settings.cloudwatch_logs else None)
        app.state.cloudwatch = cloudwatch
        if cloudwatch is not None:
            logs.listen(cloudwatch.add)
            cloudwatch.start()
        state = app.state
        state.settings, state.executor, state.registry = settings, executor, registry
        state.ports, state.pool, state.logs, state.aws = ports, pool, logs, aws
        state.policies = Policies(settings.state_dir / "policies.json")
        state.invoker = InvokeService(registry, pool, executor, logs)
        blocking = Blocking(settings.function_endpoint, settings.region)
        state.async_invoker = AsyncInvoker(
            registry, state.invoker,
            Destinations(blocking, lambda arn, payload: state.async_invoker.submit(arn, payload)),
            EventInvokeConfigs(settings.state_dir / "event-invoke-configs.json"),
            EventStore(settings.state_dir / "async-events"),
            retry_delay=settings.async_retry_delay, max_concurrency=settings.max_environments_per_function,
        )
        state.invoker.events = state.async_invoker
        state.mappings = EventSourceManager(registry, state.invoker, blocking, settings.state_dir)
        state.mappings.load()
        embedded = aws.mode == "embedded"
        state.schedules = Schedules(
            blocking, lambda arn, payload, source: state.async_invoker.submit(arn, payload), embedded=embedded,
            # control planes in one process share the embedded moto: the newest fires (deliveries go to it)
            active=lambda: not embedded or moto_delivery.endpoint() == settings.function_endpoint)
        if isinstance(executor, DockerExecutor):
            removed = await executor.cleanup_orphans()
            if removed:
                log.info("removed %d container(s) left by a control plane that died", removed)
        loop = asyncio.get_running_loop()
        background = [loop.create_task(pool.reap_forever())]
        state.seeding = SeedStatus()
        if settings.seed_on_start:
            background.append(loop.create_task(seed_in_background(
                settings.function_endpoint, settings.region, settings.db_gen_dir, state.seeding)))

        async def start_pollers() -> None:
            """Once the endpoint answers (they call it): the events a previous run left queued
            (start() skips the ones this run queued already), the pollers and the schedules."""
            try:
                await asyncio.to_thread(wait_for_endpoint, settings.function_endpoint)
            except Exception as exc:  # noqa: BLE001 - start them anyway; say why they may fail
                log.error("the control plane's endpoint %s did not answer its health check (%s); "
                          "starting the asynchronous queue, event source mappings and schedules "
                          "anyway: their calls to it may fail", settings.function_endpoint, exc)
            for part, start in (("asynchronous queue", state.async_invoker.start),
                                ("event source mappings", state.mappings.start),
                                ("schedules", state.schedules.start)):
                try:
                    start()
                except Exception:
                    log.exception("could not start the %s", part)

        background.append(loop.create_task(start_pollers()))
        # hot reload: saved function folders make new revisions (emulator/reload/reloader.py)
        state.reloader = None
        if settings.watch != "off":
            state.reloader = Reloader(registry, pool, resolve_mode(settings.watch, settings.functions_dir),
                                      notice=echo.notice if echo is not None else None)
            state.reloader.start()
            state.invoker.reloads = state.reloader  # a runtime that read a half-saved file runs again
        # the embedded moto delivers S3/SNS/EventBridge events to us (an external one is told by its env)
        delivery = moto_delivery.configure(settings.function_endpoint) if aws.mode == "embedded" else None
        try:
            yield
        finally:
            if delivery is not None:
                moto_delivery.release(delivery)
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            # in order: what feeds the queue, then the queue (it reports through `blocking`),
            # then the thread pool they all use
            await state.schedules.close()
            await state.mappings.close()
            await state.async_invoker.close()
            blocking.close()
            if state.reloader is not None:
                await state.reloader.close()
            await pool.close()
            if cloudwatch is not None:
                await cloudwatch.close()  # the last lines, now that no invocation runs
            await aws.aclose()

    app = FastAPI(title="Cloudmicro", lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(lambda_api.router)
    app.include_router(esm_api.router)
    app.include_router(event_invoke_api.router)
    app.include_router(policy_api.router)
    app.include_router(admin.router)
    errors.install(app)
    app.add_middleware(AwsGateway, aws=ReadYourWrites(aws, lambda: getattr(app.state, "cloudwatch", None)))
    return app
