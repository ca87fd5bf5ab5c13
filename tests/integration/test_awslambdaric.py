"""AWS's own runtime client (awslambdaric, used by the official AWS base images) runs unchanged
against our Runtime API, as a custom runtime (``provided.al2023`` with a ``bootstrap`` file)."""

from __future__ import annotations

import base64
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import lambda_client

APP = '''
import logging
import os
logger = logging.getLogger()

def handler(event, context):
    logger.warning("ric says hi")
    if event.get("fail"):
        raise KeyError("missing")
    return {"got": event, "request_id": context.aws_request_id,
            "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 3000,
            "arn": context.invoked_function_arn, "execution_env": os.environ.get("AWS_EXECUTION_ENV")}
'''

BOOTSTRAP = """#!/bin/sh
export PYTHONPATH="$LAMBDA_TASK_ROOT/vendor"
exec python3 -m awslambdaric app.handler
"""


def _vendor(target: Path) -> None:
    """Copy awslambdaric and its dependencies from this environment (no network needed)."""
    site = Path(importlib.util.find_spec("awslambdaric").origin).parent.parent
    target.mkdir()
    for name in ("awslambdaric", "simplejson"):
        shutil.copytree(site / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    for pattern in ("runtime_client*.so", "snapshot_restore_py.py"):
        for path in site.glob(pattern):
            shutil.copy2(path, target / path.name)


@pytest.fixture
def ric_functions(tmp_path) -> Path:
    folder = tmp_path / "functions" / "ric"
    folder.mkdir(parents=True)
    (folder / "app.py").write_text(APP)
    (folder / "function.json").write_text(json.dumps({"Runtime": "provided.al2023", "Handler": "app.handler"}))
    bootstrap = folder / "bootstrap"
    bootstrap.write_text(BOOTSTRAP)
    bootstrap.chmod(0o755)
    _vendor(folder / "vendor")
    return tmp_path / "functions"


@pytest.mark.parametrize("executor", ["docker", "process"])
def test_awslambdaric_works_against_the_runtime_api(executor, ric_functions, make_server, request):
    if executor == "docker":
        request.getfixturevalue("docker_engine")
    client = lambda_client(make_server(ric_functions, executor))
    for n in range(3):  # several invocations through one warm environment
        response = client.invoke(FunctionName="ric", Payload=json.dumps({"n": n}), LogType="Tail")
        result = json.loads(response["Payload"].read())
        assert "FunctionError" not in response, result
        assert result["got"] == {"n": n}
        assert result["request_id"] == response["ResponseMetadata"]["RequestId"]
        assert result["remaining_ok"] is True
        assert result["arn"].endswith(":function:ric")
        assert result["execution_env"] is None  # AWS does not define it for OS-only (provided) runtimes
        log = base64.b64decode(response["LogResult"]).decode()
        assert f"\t{result['request_id']}\tric says hi" in log
    response = client.invoke(FunctionName="ric", Payload=b'{"fail": true}')
    error = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "KeyError"
    assert error["errorMessage"] == "'missing'"
