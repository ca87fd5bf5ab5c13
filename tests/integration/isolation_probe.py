"""The isolation probe, shared by ``test_isolation`` and ``bench/safety_bench.py``: a *spy*
function that tries another environment's Runtime API, the admin routes and a file only the
control plane's user may read, and a *victim* whose environment it aims at."""

from __future__ import annotations

import json
import socket
from pathlib import Path

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


def write_probe_functions(folder: Path) -> None:
    """``spy`` and ``victim`` in ``folder``, readable by anyone (the process executor's functions
    run as users of their own: a folder only root can enter would keep them root), and a secret
    file of the control plane's user (0600) in the spy's folder."""
    folder.chmod(0o755)
    for name, code in (("spy", SPY), ("victim", VICTIM)):
        (folder / name).mkdir()
        (folder / name / "app.py").write_text(code)
        (folder / name / "function.json").write_text(json.dumps({"Handler": "app.handler", "Timeout": 30}))
        for path in (folder / name, *(folder / name).iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
    (folder / "spy" / "secret").write_text("the control plane user's secret")
    (folder / "spy" / "secret").chmod(0o600)


def forge(port: int) -> str:
    """What the test process itself (root, another user than any environment) gets."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
            conn.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
            return "answered" if conn.recv(64) else "closed"
    except OSError as exc:
        return "closed: " + type(exc).__name__
