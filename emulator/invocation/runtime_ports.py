"""One loopback port per environment for its Runtime API.

AWS's runtime clients (``awslambdaric`` among them) only know ``AWS_LAMBDA_RUNTIME_API``
(a host:port), so the port is what tells environments apart: each environment gets its
own listening socket, served by the same ASGI app (the control plane's Runtime API
router) through uvicorn's HTTP protocol. The app finds the environment by the local port
of the connection, so an environment can only ever see its own invocations.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from emulator.invocation.environment import Environment


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

        def protocol() -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self._state, app_state={}, _loop=loop
            )

        server = await loop.create_server(protocol, sock=sock, backlog=16)
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
