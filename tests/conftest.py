"""Shared fixtures: real control planes on ephemeral ports (started with the project's own pytest
plugin, emulator/testing/pytest_plugin.py), boto3 clients bound to them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from emulator.config import Settings
from emulator.executors.docker import docker_client
from emulator.server import BackgroundServer

ROOT = Path(__file__).resolve().parent.parent
TEST_FUNCTIONS = ROOT / "tests" / "functions"


def lambda_client(endpoint: str, timeout: float = 60):
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=timeout,
                      max_pool_connections=32),
    )


def _settings(tmp: Path, executor: str, functions_dir: Path = TEST_FUNCTIONS) -> Settings:
    return replace(
        Settings.from_env(),
        port=0,
        executor=executor,  # type: ignore[arg-type]
        functions_dir=functions_dir,
        state_dir=tmp / "state",
        idle_timeout=600,
    )


@pytest.fixture(scope="session")
def docker_engine():
    """The Docker engine; tests that need it fail (never skip) when it is missing."""
    client = docker_client()
    if client is None:
        pytest.fail("no Docker engine answers: the Docker-backed tests need one (see .ci/run)")
    return client


@pytest.fixture(scope="session")
def docker_endpoint(docker_engine, cloudmicro_server) -> str:
    """A control plane for the session (the pytest plugin's), running tests/functions in Docker."""
    return cloudmicro_server(executor="docker", functions_dir=TEST_FUNCTIONS)


@pytest.fixture(scope="session")
def process_endpoint(cloudmicro_server) -> str:
    """The same, running tests/functions as local processes."""
    return cloudmicro_server(executor="process", functions_dir=TEST_FUNCTIONS)


@pytest.fixture(params=["docker", "process"])
def endpoint(request) -> str:
    """Each test using this runs against both executors."""
    return request.getfixturevalue(f"{request.param}_endpoint")


@pytest.fixture
def client(endpoint):
    return lambda_client(endpoint)


@pytest.fixture
def docker_lambda(docker_endpoint):
    return lambda_client(docker_endpoint)


@pytest.fixture
def make_server(tmp_path):
    """Start an extra control plane with its own functions folder: ``make_server(dir, executor)``."""
    servers: list[BackgroundServer] = []

    def start(functions_dir: Path, executor: str = "docker", **overrides) -> str:
        server = BackgroundServer(replace(_settings(tmp_path, executor, functions_dir), **overrides))
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
