"""Running the control plane: in the foreground (``cloudmicro serve``) or in a background
thread for the length of one command or test session (:class:`BackgroundServer`)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from emulator import startup_gc
from emulator.api.deps import Plane, installed
from emulator.app import create_app
from emulator.aws.botocore_data import share_loader
from emulator.config import Settings
from emulator.frontdoor.server import HEADER_NAMES, REASON


class _StatusLines(dict[int, bytes]):
    """uvicorn's status lines, with the reason phrase the front door asks for (an ALB target's
    ``statusDescription``): uvicorn writes ``STATUS_LINE[status]`` while the answer is started,
    in the task that started it, where :data:`emulator.frontdoor.server.REASON` is set."""

    def __missing__(self, status: int) -> bytes:
        return b"HTTP/1.1 %d \r\n" % status

    def __getitem__(self, status: int) -> bytes:
        wanted, reason = REASON.get()
        if reason is not None and wanted == status:
            return b"HTTP/1.1 %d %s\r\n" % (status, reason.encode("latin-1"))
        return dict.__getitem__(self, status) if status in self else self.__missing__(status)


def custom_reason_phrases() -> None:
    """Let the front door's answers carry their own reason phrase (once per process)."""
    from uvicorn.protocols.http import httptools_impl

    if not isinstance(httptools_impl.STATUS_LINE, _StatusLines):
        httptools_impl.STATUS_LINE = _StatusLines(httptools_impl.STATUS_LINE)


def header_spellings() -> None:
    """Keep each request header's name as the client spelled it, next to the lower-cased one ASGI
    gives (``scope["cloudmicro.header_names"]``): a REST API's event carries the client's spelling,
    as API Gateway sends it (once per process)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    original = HttpToolsProtocol.on_header
    if getattr(original, "cloudmicro", False):
        return

    def on_header(self: HttpToolsProtocol, name: bytes, value: bytes) -> None:
        self.scope.setdefault(HEADER_NAMES, []).append(name)  # type: ignore[misc]
        original(self, name, value)

    on_header.cloudmicro = True  # type: ignore[attr-defined]
    HttpToolsProtocol.on_header = on_header  # type: ignore[method-assign]


def uvicorn_config(settings: Settings, app: FastAPI) -> uvicorn.Config:
    custom_reason_phrases()
    header_spellings()
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http="httptools",
        loop="uvloop",
        log_level="warning",
        access_log=False,
        server_header=False,  # AWS's answers name no uvicorn (an ALB's own pages say awselb/2.0)
        timeout_keep_alive=30,
        timeout_graceful_shutdown=5,
    )


class PlaneServer(uvicorn.Server):
    """uvicorn's server that, asked to stop, first stops the control plane's callers of the
    endpoint (schedules, pollers, the asynchronous queue), then stops listening: none of them is
    left calling an endpoint that is gone (an error line at the end of every command)."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app
        startup_gc.hold()  # listening is part of the start
        self._held = True

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            if self._held:
                self._held = False
                startup_gc.done()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if getattr(self._app.state, "plane", None) is not None:
            await installed(self._app).stop_callers()
        await super().shutdown(sockets)


def serve(settings: Settings) -> None:
    """Serve until interrupted (SIGINT, SIGTERM), or until the process named by
    ``CLOUDMICRO_EXIT_WITH_PARENT`` is gone (a test session that started this one died)."""
    parent = os.environ.get("CLOUDMICRO_EXIT_WITH_PARENT")
    if parent and parent.isdigit():
        threading.Thread(target=_exit_with_parent, args=(int(parent),), name="cloudmicro-parent",
                         daemon=True).start()
    share_loader()  # this process's botocore Sessions read botocore's data once
    app = create_app(settings)
    PlaneServer(uvicorn_config(settings, app), app).run()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn stops as on Ctrl-C: environments are removed


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class BackgroundServer:
    """A control plane in a background thread: ``with BackgroundServer(settings) as endpoint:``."""

    def __init__(self, settings: Settings, *, echo_logs: bool = False, ready_timeout: float = 30) -> None:
        if settings.port == 0:
            from dataclasses import replace

            settings = replace(settings, port=free_port(settings.host))
        self.settings = settings
        self.app = create_app(settings, echo_logs=echo_logs)
        self.server = PlaneServer(uvicorn_config(settings, self.app), self.app)
        self.server.config.loop = "asyncio"
        self._thread = threading.Thread(target=self._run, name="cloudmicro-server", daemon=True)
        self._ready_timeout = ready_timeout
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve())
        except BaseException as exc:  # noqa: BLE001 - reported to the caller of start()
            self._error = exc

    @property
    def endpoint(self) -> str:
        return self.settings.endpoint

    @property
    def plane(self) -> Plane:
        """The running control plane's services (tests reach into them: the queue's clock...)."""
        return installed(self.app)

    def start(self) -> str:
        self._thread.start()
        waited = 0.0
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the control plane did not start: {self._error!r}")
            self._thread.join(0.01)
            waited += 0.01
            if waited > self._ready_timeout:
                raise RuntimeError("the control plane did not start in time")
        return self.endpoint

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(30)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType] | None) -> None:
        self.stop()
