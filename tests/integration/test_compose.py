"""The compose stack: `docker-compose up -d`, a function invoked from the host, torn down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.app.server import free_port
from emulator.executors.docker import LABEL
from tests.conftest import ROOT, lambda_client


def base_image(docker_engine) -> str:
    """The base the stack builds from: the official image if present, else the offline one."""
    wanted = os.environ.get("CLOUDMICRO_BASE_IMAGE", "python:3.11-slim-bookworm")
    try:
        docker_engine.images.get(wanted)
        return wanted
    except Exception:  # noqa: BLE001 - not here: fall back as scripts/setup does
        return "cloudmicro/base:bookworm"


def untag_images(docker_engine, project: str) -> None:
    """Remove the image tags a compose project's build made (``<project>_<service>``; ``-`` with
    Compose v2): each test run names its projects after its pid, so without this every run left
    a set of tags behind (190 here after a day of runs, holding images a plain prune keeps). The
    layers under them stay (``noprune``): they are the next build's cache."""
    for image in docker_engine.images.list():
        for tag in image.tags:
            if tag.rsplit(":", 1)[0].startswith((f"{project}_", f"{project}-")):
                docker_engine.images.remove(tag, noprune=True)


def compose_project(project: str, port: int, docker_engine) -> Callable[..., subprocess.CompletedProcess]:
    """``docker-compose -p project ...`` from the checkout, on ``port``."""
    env = {**os.environ, "PWD": str(ROOT), "CLOUDMICRO_PORT": str(port), "CLOUDMICRO_BASE_IMAGE": base_image(docker_engine)}

    def compose(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run(["docker-compose", "-p", project, *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout)
    return compose


@pytest.fixture(scope="module")
def stack(docker_engine):
    project = f"cmtest{os.getpid()}"
    port = free_port()
    compose = compose_project(project, port, docker_engine)
    up = compose("up", "-d", "--build")
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    endpoint = f"http://127.0.0.1:{port}"
    try:
        yield endpoint, compose
    finally:
        down = compose("down", "--remove-orphans", timeout=300)
        untag_images(docker_engine, project)
        assert down.returncode == 0, down.stderr


def test_compose_stack_serves_functions_and_seeded_tables(stack, docker_engine):
    endpoint, compose = stack
    health = json.loads(urllib.request.urlopen(endpoint + "/_cloudmicro/health", timeout=5).read())
    assert health["aws"] == {"mode": "external", "url": health["aws"]["url"], "status": "running"}
    assert health["lambda"]["executor"] == "docker"

    # the one-shot init service seeded db_gen and exited 0
    deadline = time.monotonic() + 120
    while True:
        init_id = compose("ps", "-q", "init").stdout.strip()
        state = docker_engine.containers.get(init_id).attrs["State"] if init_id else {}
        if state.get("Status") == "exited":
            break
        assert time.monotonic() < deadline, compose("logs", "init").stdout
        time.sleep(0.5)
    assert state["ExitCode"] == 0, compose("logs", "init").stdout
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    assert ddb.scan(TableName="words", Select="COUNT")["Count"] > 0

    # cloudmicro invoke from the host: it reads the stack's admin token from the project's state
    # folder (the session's, which the pytest plugin put in the environment, is another's)
    host_env = {k: v for k, v in os.environ.items() if k != "CLOUDMICRO_ADMIN_TOKEN"}
    done = subprocess.run([sys.executable, "-m", "emulator", "invoke", "hello"], cwd=ROOT,
                          env={**host_env, "CLOUDMICRO_ENDPOINT": endpoint}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"message": "Hello Umberto Boccioni!"}
    assert "REPORT RequestId" in done.stderr

    # boto3 from the host; the function reads the seeded table through the compose moto
    response = lambda_client(endpoint).invoke(FunctionName="getWords")
    assert json.loads(response["Payload"].read())["count"] == ddb.scan(TableName="words", Select="COUNT")["Count"]

    # the original Cloudmicro command
    run = compose("run", "--rm", "-e", "FUNCTION_NAME=hello", "lambda-python", timeout=300)
    assert run.returncode == 0, run.stderr
    assert '{"message": "Hello Umberto Boccioni!"}' in run.stdout


def _words(endpoint: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def test_images_are_the_projects_own(stack, docker_engine):
    _, compose = stack
    config = compose("config")
    assert config.returncode == 0 and "image:" not in config.stdout  # compose names them <project>_<service>
    project = compose("ps", "-q", "cloudmicro").stdout.strip()
    image = docker_engine.containers.get(project).image.tags
    assert any(tag.startswith(f"cmtest{os.getpid()}_cloudmicro") for tag in image), image


def test_a_second_stack_on_a_port_in_use_fails_naming_it_and_touches_nothing(stack, docker_engine):
    endpoint, _ = stack
    port = int(endpoint.rsplit(":", 1)[1])
    ddb = _words(endpoint)
    keys = [{"word": item["word"]} for item in ddb.scan(TableName="words", ProjectionExpression="#w",
                                                                     ExpressionAttributeNames={"#w": "word"})["Items"]]
    for key in keys:  # the first stack's table emptied: a second stack's seeding would fill it
        ddb.delete_item(TableName="words", Key=key)
    second = compose_project(f"cmtest{os.getpid()}b", port, docker_engine)
    try:
        up = second("up", "-d", "--build")
        assert up.returncode != 0, up.stdout[-2000:]
        assert str(port) in up.stderr and "already" in up.stderr, up.stderr[-2000:]
    finally:
        assert second("down", "--remove-orphans", timeout=300).returncode == 0
        untag_images(docker_engine, f"cmtest{os.getpid()}b")
    assert ddb.scan(TableName="words", Select="COUNT")["Count"] == 0  # nobody seeded it
    health = json.loads(urllib.request.urlopen(endpoint + "/_cloudmicro/health", timeout=5).read())
    assert health["aws"]["status"] == "running"  # and the first stack still serves


def test_a_restarted_moto_gets_its_db_gen_tables_back(stack):
    endpoint, compose = stack
    assert compose("restart", "moto", timeout=300).returncode == 0
    ddb = _words(endpoint)
    deadline = time.monotonic() + 90
    while True:  # the control plane notices (every 2 s) and seeds again
        try:
            if ddb.scan(TableName="words", Select="COUNT")["Count"] > 0:
                break
        except ClientError as exc:  # 502 while moto restarts, then no table until the seeding
            assert exc.response["Error"]["Code"] in ("502", "ResourceNotFoundException"), exc
        assert time.monotonic() < deadline, compose("logs", "cloudmicro").stdout[-3000:]
        time.sleep(0.5)


def test_teardown_leaves_no_function_containers(stack, docker_engine):
    from emulator.executors.docker import OWNER_LABEL, owner_id

    endpoint, compose = stack
    lambda_client(endpoint).invoke(FunctionName="hello", Payload=b'{"first_name": "a", "last_name": "b"}')
    theirs = [c.id for c in docker_engine.containers.list(filters={"label": [LABEL, "cloudmicro.function=hello"]})
              if c.labels.get(OWNER_LABEL) != owner_id()]
    assert theirs, "the compose control plane should have a warm container"
    assert compose("down", timeout=300).returncode == 0
    remaining = {c.id for c in docker_engine.containers.list(all=True, filters={"label": LABEL})}
    assert remaining.isdisjoint(theirs)
