"""Each environment is alone: a function cannot reach another environment's Runtime API, the
control plane's admin routes, or the admin token; it still reaches the AWS endpoint and other
functions through the Lambda API. For both executors (the process executor runs as root here,
so its functions run as users of their own).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.testing.pytest_plugin import admin_request
from tests.conftest import lambda_client
from tests.integration.isolation_probe import forge, write_probe_functions


@pytest.fixture(scope="module")
def functions() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="cloudmicro-isolation-", dir="/tmp"))
    write_probe_functions(folder)
    yield folder
    for path in folder.parent.glob(f"{folder.name}*"):
        shutil.rmtree(path, ignore_errors=True)


def _environments(endpoint: str) -> list[dict]:
    import urllib.request

    with urllib.request.urlopen(admin_request(endpoint + "/_cloudmicro/environments"), timeout=10) as reply:
        return json.loads(reply.read())


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
    assert forge(env["port"]).startswith("closed")
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
