"""Environments: Runtime API isolation, container lifecycle, orphan cleanup, the process fallback."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request

import pytest

from emulator.app.server import BackgroundServer
from emulator.config import Settings
from emulator.executors.docker import LABEL, OWNER_LABEL, owner_id
from emulator.testing.pytest_plugin import admin_request
from tests.conftest import TEST_FUNCTIONS, lambda_client


def _get(url: str, timeout: float = 5) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(admin_request(url) if "/_cloudmicro/" in url else url, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        body = err.read()
        try:
            return err.code, json.loads(body or b"null")
        except ValueError:
            return err.code, {"raw": body.decode(errors="replace")}


def _post(url: str, body: bytes) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def _environments(endpoint: str, function: str) -> list[dict]:
    return [e for e in _get(endpoint + "/_cloudmicro/environments")[1] if e["function"] == function]


def test_an_environment_cannot_answer_for_another(endpoint):
    client = lambda_client(endpoint)
    results: list[dict] = []
    calls = [threading.Thread(target=lambda: results.append(json.loads(
        client.invoke(FunctionName="slow", Payload=b'{"seconds": 1.5}')["Payload"].read()))) for _ in range(2)]
    for call in calls:
        call.start()
    deadline = time.monotonic() + 10
    while True:
        busy = [e for e in _environments(endpoint, "slow") if e["request_id"]]
        if len(busy) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert len(busy) >= 2, busy
    first, second = busy[0], busy[1]
    forged = f"http://127.0.0.1:{second['port']}/2018-06-01/runtime/invocation/{first['request_id']}/response"
    if second["uid"] not in (None, os.geteuid()):
        # the environment's runtime has a user id of its own: nobody else's connection is read
        assert second["uid"] != first["uid"]
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            _post(forged, b'"forged"')
    else:
        # the same user (a process executor not run by root): the request ids tell them apart
        status, body = _post(forged, b'"forged"')
        assert status == 403, body
        assert body["errorType"] == "InvalidRequestID"
        status, body = _post(f"http://127.0.0.1:{second['port']}/2018-06-01/runtime/invocation/nope/response", b"1")
        assert (status, body["errorType"]) == (400, "InvalidRequestID")
    for call in calls:
        call.join()
    assert results == [{"slept": 1.5}, {"slept": 1.5}]
    # the Runtime API is not served on the main endpoint
    status, _ = _get(endpoint + "/2018-06-01/runtime/invocation/next", timeout=2)
    assert status == 404


def test_event_invokes_really_run(client, endpoint):
    response = client.invoke(FunctionName="echo", InvocationType="Event", Payload=b'{"async": true}')
    request_id = response["ResponseMetadata"]["RequestId"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(admin_request(f"{endpoint}/_cloudmicro/invocations/{request_id}/log")) as resp:
                log = resp.read().decode()
                break
        except urllib.error.HTTPError:
            time.sleep(0.05)
    else:
        pytest.fail("the Event invocation never ran")
    assert f"REPORT RequestId: {request_id}" in log


def test_containers_are_labelled_and_removed_on_shutdown(docker_engine, tmp_path):
    settings = Settings.from_env(port=0, executor="docker", functions_dir=TEST_FUNCTIONS, state_dir=tmp_path)
    server = BackgroundServer(settings)
    endpoint = server.start()
    try:
        lambda_client(endpoint).invoke(FunctionName="echo")
        ours = docker_engine.containers.list(filters={"label": [LABEL, "cloudmicro.function=echo"]})
        ours = [c for c in ours if c.labels.get(OWNER_LABEL) == owner_id()]
        assert ours, "the warm container should be running"
        container = ours[0]
        assert container.attrs["HostConfig"]["Memory"] == 256 * 1024 * 1024
        assert container.attrs["HostConfig"]["NetworkMode"] == "host"
        mounts = {m["Destination"]: m for m in container.attrs["Mounts"]}
        assert mounts["/var/task"]["RW"] is False
        assert mounts["/var/task"]["Source"] == str(TEST_FUNCTIONS / "echo")
    finally:
        server.stop()
    remaining = [c.id for c in docker_engine.containers.list(all=True, filters={"label": LABEL})
                 if c.id == container.id]
    assert remaining == []


def test_containers_of_a_dead_control_plane_are_cleaned_up_on_start(docker_engine, tmp_path):
    from emulator.executors.images import ensure_python_image

    image = ensure_python_image(docker_engine, "python3.11", Settings.from_env())
    own = owner_id().split(":")
    dead_owner = f"{own[0]}:{own[1]}:999999:1"
    orphan = docker_engine.containers.create(image, command=["true"], labels={LABEL: "true", OWNER_LABEL: dead_owner})
    alive_elsewhere = docker_engine.containers.create(
        image, command=["true"], labels={LABEL: "true", OWNER_LABEL: f"{own[0]}:another-pid-namespace:1:1"})
    try:
        settings = Settings.from_env(port=0, executor="docker", functions_dir=TEST_FUNCTIONS, state_dir=tmp_path)
        with BackgroundServer(settings):
            ids = {c.id for c in docker_engine.containers.list(all=True, filters={"label": LABEL})}
            assert orphan.id not in ids
            assert alive_elsewhere.id in ids
    finally:
        alive_elsewhere.remove(force=True)


def test_process_executor_is_the_fallback_without_docker(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker-here.sock")
    settings = Settings.from_env(port=0, executor="auto", functions_dir=TEST_FUNCTIONS, state_dir=tmp_path)
    with BackgroundServer(settings) as endpoint:
        assert _get(endpoint + "/_cloudmicro/health")[1]["lambda"]["executor"] == "process"
        response = lambda_client(endpoint).invoke(FunctionName="echo", Payload=b'{"p": 1}')
        assert json.loads(response["Payload"].read())["event"] == {"p": 1}


def test_asking_for_docker_without_an_engine_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker-here.sock")
    settings = Settings.from_env(port=0, executor="docker", functions_dir=TEST_FUNCTIONS, state_dir=tmp_path)
    with pytest.raises(RuntimeError, match="did not start"):
        BackgroundServer(settings, ready_timeout=10).start()


def test_idle_environments_are_reaped(docker_engine, make_server):
    endpoint = make_server(TEST_FUNCTIONS, "docker", idle_timeout=1.5)
    lambda_client(endpoint).invoke(FunctionName="echo")
    [env] = _environments(endpoint, "echo")
    container = docker_engine.containers.get(env["handle"])
    deadline = time.monotonic() + 15
    while _environments(endpoint, "echo"):
        assert time.monotonic() < deadline, "the idle environment was never reaped"
        time.sleep(0.1)
    deadline = time.monotonic() + 15
    while True:
        try:
            docker_engine.containers.get(container.id)
        except Exception:  # noqa: BLE001 - NotFound: removed
            break
        assert time.monotonic() < deadline, "the reaped container was not removed"
        time.sleep(0.1)
