"""One loopback port per environment for its Runtime API.

AWS's runtime clients (``awslambdaric`` among them) only know ``AWS_LAMBDA_RUNTIME_API``
(a host:port), so the port is what tells environments apart: each environment gets its
own listening socket, served by the same ASGI app (the control plane's Runtime API
router) through uvicorn's HTTP protocol. The app finds the environment by the local port
of the connection, so an environment can only ever see its own invocations.

Functions share the host's network, so any of them could open another environment's port: when
the executor gave the environment's runtime a user id of its own (``env.uid``), a connection
from any other uid is closed before it is read (:mod:`emulator.executors.sockets`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Any, cast

import uvicorn
from uvicorn.server import ServerState

from emulator.executors import sockets
from emulator.invocation.environment import Environment

log = logging.getLogger(__name__)


class RuntimePorts:
    """Opens and closes per-environment Runtime API listeners."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._app: Any = None
        self._config: uvicorn.Config | None = None
        self._state = ServerState()
        self._servers: dict[str, asyncio.AbstractServer] = {}
        self.by_port: dict[int, Environment] = {}

    def bind_app(self, app: Any) -> None:
        """The ASGI app that serves the Runtime API routes."""
        self._app = app
        self._config = uvicorn.Config(
            app, lifespan="off", log_level="warning", access_log=False, proxy_headers=False,
            http="httptools", timeout_keep_alive=3600,
        )
        self._config.load()

    async def open(self, env: Environment) -> None:
        assert self._config is not None, "bind_app() first"
        config = self._config
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.setblocking(False)

        def http() -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self._state, app_state={}, _loop=loop
            )

        def protocol() -> asyncio.Protocol:
            return _OwnRuntimeOnly(env, http)

        server = await loop.create_server(protocol if sockets.can_tell() else http, sock=sock, backlog=16)
        env.port = sock.getsockname()[1]
        self.by_port[env.port] = env
        self._servers[env.id] = server

    def close(self, env: Environment) -> None:
        server = self._servers.pop(env.id, None)
        self.by_port.pop(env.port, None)
        if server is not None:
            server.close()  # open connections end with the runtime process

    def environment_for(self, port: int) -> Environment | None:
        return self.by_port.get(port)


class _OwnRuntimeOnly(asyncio.Protocol):
    """Serves a connection (with ``make``'s protocol) only when it comes from the environment's
    own runtime: the connecting socket's owner is ``env.uid`` (when the environment has one)."""

    def __init__(self, env: Environment, make: Callable[[], asyncio.Protocol]) -> None:
        self._env = env
        self._make = make
        self._inner: asyncio.Protocol | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        expected = self._env.uid
        if expected is not None:
            peer, server = transport.get_extra_info("peername"), transport.get_extra_info("sockname")
            owner = sockets.peer_uid(peer, server) if peer and server else None
            if owner != expected:
                log.warning("Runtime API of %s (environment %s): refused a connection from uid %s, which is not "
                            "the environment's runtime", self._env.function.name, self._env.id[:8], owner)
                cast(asyncio.Transport, transport).abort()
                return
        self._inner = self._make()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._inner is not None:
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()
