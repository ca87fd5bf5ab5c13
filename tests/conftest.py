"""Shared fixtures: real control planes on ephemeral ports (started with the project's own pytest
plugin, emulator/testing/pytest_plugin.py, each in a child process), boto3 clients bound to them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from emulator.config import Settings
from emulator.executors.docker import docker_client
from emulator.testing.local_cloud import LocalCloud
from emulator.testing.pytest_plugin import client as plugin_client

ROOT = Path(__file__).resolve().parent.parent
TEST_FUNCTIONS = ROOT / "tests" / "functions"


def aws_error(call, **kwargs) -> dict:
    """The AWS error of a call that must fail with HTTP 400."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response
    return response["Error"]


def lambda_client(endpoint: str, timeout: float = 60):
    """The plugin's boto3 client, never retrying (a test counts every invoke it sends)."""
    return plugin_client(endpoint, "lambda", retries={"max_attempts": 1, "mode": "standard"}, read_timeout=timeout)


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


class ServerOutput:
    """What the control planes of one test wrote to their logs since the last :meth:`read`
    (what ``capfd`` gave when they ran in the test's own process)."""

    def __init__(self) -> None:
        self._clouds: list[LocalCloud] = []
        self._offsets: dict[Path, int] = {}

    def add(self, cloud: LocalCloud) -> None:
        self._clouds.append(cloud)
        self._offsets[cloud.log_path] = 0

    def read(self) -> str:
        parts = []
        for cloud in self._clouds:
            text = cloud.log_since(self._offsets[cloud.log_path])
            self._offsets[cloud.log_path] += len(text.encode())
            parts.append(text)
        return "".join(parts)


@pytest.fixture
def make_server(cloudmicro_test_server, tmp_path):
    """Start an extra control plane (the plugin's, for this test) with its own functions folder:
    ``make_server(dir, executor)`` returns its endpoint; ``make_server.output.read()`` what the
    control planes it started logged since the last read."""
    output = ServerOutput()

    def start(functions_dir: Path, executor: str = "docker", **overrides) -> str:
        # the test's own state folder (tests look at state/deps), not the project's cache
        settings = {"state_dir": tmp_path / "state", "deps_dir": None, "idle_timeout": 600, **overrides}
        cloud = cloudmicro_test_server(functions_dir=functions_dir, executor=executor, **settings)
        output.add(cloud)
        return cloud.endpoint

    start.output = output  # type: ignore[attr-defined]
    return start
