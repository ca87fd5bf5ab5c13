"""The Cloudmicro pytest plugin: a local AWS for a project's integration tests.

Installed with the package (entry point ``pytest11``), so a project's tests need no setup:

    def test_hello(cloudmicro_invoke):
        assert cloudmicro_invoke("hello", {"first_name": "A", "last_name": "B"})["message"] == "Hello A B!"

    def test_table(cloudmicro_client):
        assert "words" in cloudmicro_client("dynamodb").list_tables()["TableNames"]

Fixtures
--------
``cloudmicro_endpoint``  (session) the endpoint URL of a control plane started for the session
    on an ephemeral loopback port, serving the project's ``functions/`` and seeded from its
    ``db_gen/``; torn down at the end. Set ``CLOUDMICRO_TEST_ENDPOINT`` to use one that is
    already running instead (e.g. the compose stack).
``cloudmicro_client``  a factory: ``cloudmicro_client("s3")`` is a boto3 client bound to it.
``cloudmicro_invoke``  ``cloudmicro_invoke(name, event)``: a RequestResponse invoke; returns
    the function's result, or raises :class:`FunctionError` when the function failed.
``cloudmicro_server``  (session) a factory starting extra control planes:
    ``cloudmicro_server(functions_dir=..., executor="process")`` returns an endpoint.

Options: ``--cloudmicro-project DIR`` (default: pytest's rootdir, or the folder pytest runs
in, whichever has ``functions/``) and
``--cloudmicro-executor auto|docker|process`` (default: ``CLOUDMICRO_EXECUTOR`` or auto). Other
settings come from the ``CLOUDMICRO_*`` environment variables as for ``cloudmicro serve``.
Nothing is imported from the emulator until a fixture is used.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

TEST_ENDPOINT_VARIABLE = "CLOUDMICRO_TEST_ENDPOINT"


class FunctionError(AssertionError):
    """The invoked function failed; ``error`` is its error payload (errorType, errorMessage...)."""

    def __init__(self, function: str, error: Any) -> None:
        super().__init__(f"{function} failed: {json.dumps(error)}")
        self.function = function
        self.error = error


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cloudmicro", "Cloudmicro: a local AWS for integration tests")
    group.addoption("--cloudmicro-project", default=None,
                    help="the project folder (functions/, db_gen/); default: the rootdir")
    group.addoption("--cloudmicro-executor", default=None, choices=("auto", "docker", "process"),
                    help="how functions run (default: CLOUDMICRO_EXECUTOR or auto)")


def _wait_for_seeding(endpoint: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(endpoint + "/_cloudmicro/health", timeout=5) as reply:
            seed = json.load(reply)["seed"]
        if seed["status"] not in ("idle", "seeding"):
            if seed.get("errors"):
                raise RuntimeError(f"db_gen seeding failed: {seed['errors']}")
            return
        time.sleep(0.05)
    raise RuntimeError("db_gen seeding did not finish in time")


def _project_dir(config: pytest.Config) -> Path:
    """--cloudmicro-project, else the first of rootdir and the invocation folder holding functions/."""
    chosen = config.getoption("cloudmicro_project")
    if chosen:
        return Path(chosen).resolve()
    for candidate in (config.rootpath, config.invocation_params.dir):
        if (candidate / "functions").is_dir():
            return candidate.resolve()
    return config.rootpath.resolve()


@pytest.fixture(scope="session")
def cloudmicro_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                      ) -> Iterator[Callable[..., str]]:
    from emulator.config import Settings
    from emulator.server import BackgroundServer

    project = _project_dir(request.config)
    executor = request.config.getoption("cloudmicro_executor")
    servers: list[BackgroundServer] = []

    def start(**overrides: Any) -> str:
        settings = Settings.from_env(executor=executor)
        settings = replace(settings, port=0, project_dir=project, functions_dir=project / "functions",
                           db_gen_dir=project / "db_gen",
                           state_dir=tmp_path_factory.mktemp("cloudmicro"))
        settings = replace(settings, **overrides)
        server = BackgroundServer(settings)
        servers.append(server)
        endpoint = server.start()
        if settings.seed_on_start:
            _wait_for_seeding(endpoint)
        return endpoint

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def cloudmicro_endpoint(cloudmicro_server: Callable[..., str]) -> str:
    external = os.environ.get(TEST_ENDPOINT_VARIABLE)
    return external.rstrip("/") if external else cloudmicro_server()


@pytest.fixture(scope="session")
def cloudmicro_client(cloudmicro_endpoint: str) -> Callable[[str], Any]:
    import boto3
    from botocore.config import Config

    clients: dict[str, Any] = {}
    region = os.environ.get("CLOUDMICRO_REGION", "us-east-1")

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = boto3.client(
                service, endpoint_url=cloudmicro_endpoint, region_name=region,
                aws_access_key_id="test", aws_secret_access_key="test",
                config=Config(retries={"max_attempts": 2, "mode": "standard"}, read_timeout=900),
            )
        return clients[service]

    return client


@pytest.fixture(scope="session")
def cloudmicro_invoke(cloudmicro_client: Callable[[str], Any]) -> Callable[[str, Any], Any]:
    def invoke(function: str, event: Any = None) -> Any:
        reply = cloudmicro_client("lambda").invoke(FunctionName=function, Payload=json.dumps(event or {}))
        body = reply["Payload"].read()
        result = json.loads(body) if body else None
        if reply.get("FunctionError"):
            raise FunctionError(function, result)
        return result

    return invoke
