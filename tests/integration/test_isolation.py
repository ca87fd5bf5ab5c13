"""Each environment is alone: a function cannot reach another environment's Runtime API, the
control plane's admin routes, or the admin token; it still reaches the AWS endpoint and other
functions through the Lambda API. For both executors (the process executor runs as root here,
so its functions run as users of their own).
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.testing.pytest_plugin import admin_request
from tests.conftest import lambda_client

SPY = '''
import json, os, socket, urllib.error, urllib.request

import boto3


def _runtime_api(port):
    """Answer an invocation of the environment on ``port`` (a forged result, if it let us)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
            conn.sendall(b"POST /2018-06-01/runtime/invocation/stolen/response HTTP/1.1\\r\\n"
                         b"Host: x\\r\\nContent-Length: 2\\r\\n\\r\\n{}")
            data = conn.recv(64)
        return "answered: " + data.decode(errors="replace").split("\\r\\n")[0] if data else "closed"
    except OSError as exc:
        return "closed: " + type(exc).__name__


def _admin(method, path):
    request = urllib.request.Request(os.environ["AWS_ENDPOINT_URL"] + path, method=method, data=b"{}" if method != "GET" else None,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as err:
        return err.code


def handler(event, context):
    out = {"uid": os.getuid()}
    out["runtime_api"] = [_runtime_api(port) for port in event.get("ports", [])]
    out["admin"] = {f"{m} {p}": _admin(m, p) for m, p in (
        ("GET", "/_cloudmicro/environments"), ("POST", "/_cloudmicro/reset"),
        ("PUT", "/_cloudmicro/schedules/clock"), ("GET", "/_cloudmicro/invocations/x/log"))}
    try:  # a file of the control plane's user, mode 0600 (as the admin token in the state folder)
        with open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "secret")) as handle:
            out["secret"] = "read: " + handle.read()[:4]
    except OSError as exc:
        out["secret"] = type(exc).__name__
    # what a function may do: call AWS and other functions through the endpoint
    out["victim"] = json.loads(boto3.client("lambda").invoke(FunctionName="victim")["Payload"].read())
    out["tables"] = "TableNames" in boto3.client("dynamodb").list_tables()
    return out
'''

VICTIM = '''
def handler(event, context):
    return {"victim": context.aws_request_id}
'''


@pytest.fixture(scope="module")
def functions() -> Iterator[Path]:
    """A functions folder anyone can read (the process executor's functions run as users of
    their own: a folder only root can enter would keep them root)."""
    folder = Path(tempfile.mkdtemp(prefix="cloudmicro-isolation-", dir="/tmp"))
    folder.chmod(0o755)
    for name, code in (("spy", SPY), ("victim", VICTIM)):
        (folder / name).mkdir()
        (folder / name / "app.py").write_text(code)
        (folder / name / "function.json").write_text(json.dumps({"Handler": "app.handler", "Timeout": 30}))
        for path in (folder / name, *(folder / name).iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
    (folder / "spy" / "secret").write_text("the control plane user's secret")
    (folder / "spy" / "secret").chmod(0o600)
    yield folder
    for path in folder.parent.glob(f"{folder.name}*"):
        shutil.rmtree(path, ignore_errors=True)


def _environments(endpoint: str) -> list[dict]:
    import urllib.request

    with urllib.request.urlopen(admin_request(endpoint + "/_cloudmicro/environments"), timeout=10) as reply:
        return json.loads(reply.read())


def _forge(port: int) -> str:
    """What the test process itself (root, another user than any environment) gets."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
            conn.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
            return "answered" if conn.recv(64) else "closed"
    except OSError as exc:
        return "closed: " + type(exc).__name__


@pytest.mark.parametrize("executor", ["docker", "process"])
def test_a_function_cannot_reach_another_environment_or_the_admin_routes(make_server, functions, executor, request):
    if executor == "docker":
        request.getfixturevalue("docker_engine")
    state = functions.parent / f"{functions.name}-state-{executor}"  # its runtime files too: open to others
    endpoint = make_server(functions, executor, state_dir=state)
    client = lambda_client(endpoint)
    victim = json.loads(client.invoke(FunctionName="victim")["Payload"].read())  # warm, waiting on /next
    [env] = [e for e in _environments(endpoint) if e["function"] == "victim"]
    reply = client.invoke(FunctionName="spy", Payload=json.dumps({"ports": [env["port"]]}))
    out = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, out
    assert out["uid"] != 0
    # another environment's Runtime API: the connection is closed before it is read
    assert all(result.startswith("closed") for result in out["runtime_api"]), out
    assert _forge(env["port"]).startswith("closed")
    # the admin routes want the local user's token, which the function cannot read (0600)
    assert set(out["admin"].values()) == {403}, out
    assert out["secret"] == "PermissionError", out
    # what it may do still works: the victim answers the spy's Lambda call, and AWS calls work
    assert set(out["victim"]) == {"victim"} and out["tables"] is True
    # and the victim is whole: its environment still answers its own invocations
    again = json.loads(client.invoke(FunctionName="victim")["Payload"].read())
    assert set(again) == {"victim"} and again != victim
    envs = [e for e in _environments(endpoint) if e["function"] == "victim"]
    assert env["id"] in {e["id"] for e in envs}
