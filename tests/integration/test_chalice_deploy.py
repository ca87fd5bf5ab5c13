"""The real ``chalice deploy`` CLI against the endpoint: a small app (two routes, one with a path
parameter) deploys (IAM role, CreateFunction with Chalice's zip, ImportRestApi from its Swagger
2.0 document, deployment of stage ``api``), is served through the front door, and deploys again
after a change (PutRestApi overwrite, UpdateFunctionCode, ListTags/TagResource), and `chalice
delete` removes the function and the API.

Chalice honours ``AWS_ENDPOINT_URL`` through botocore (>= 1.31 reads it for every client), so no
Chalice option is needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from emulator.testing.pytest_plugin import client as plugin_client

APP = '''
from chalice import Chalice

app = Chalice(app_name="shelf")


@app.route("/")
def index():
    return {"hello": "GREETING"}


@app.route("/books/{book_id}", methods=["GET"])
def book(book_id):
    return {"book": book_id, "query": app.current_request.query_params}
'''


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory, cloudmicro_server: Any, docker_engine: Any) -> str:
    root = tmp_path_factory.mktemp("chalice")
    (root / "functions").mkdir()
    return str(cloudmicro_server(functions_dir=root / "functions", executor="docker", state_dir=root / "state",
                                 deps_dir=None, seed_on_start=False, idle_timeout=600))


def make_app(folder: Path, greeting: str) -> None:
    (folder / ".chalice").mkdir(parents=True, exist_ok=True)
    (folder / "app.py").write_text(APP.replace("GREETING", greeting))
    (folder / "requirements.txt").write_text("")
    (folder / ".chalice" / "config.json").write_text(json.dumps(
        {"version": "2.0", "app_name": "shelf", "stages": {"dev": {"api_gateway_stage": "api"}}}))


def deploy(folder: Path, endpoint: str, command: str = "deploy") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", HOME=str(folder))
    chalice = Path(sys.executable).parent / "chalice"
    return subprocess.run([str(chalice), command], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def rest_api_id(folder: Path) -> str:
    deployed = json.loads((folder / ".chalice" / "deployed" / "dev.json").read_text())
    return next(r["rest_api_id"] for r in deployed["resources"] if r["resource_type"] == "rest_api")


def test_chalice_deploys_serves_deploys_again_and_deletes(endpoint: str, tmp_path: Path) -> None:
    app = tmp_path / "shelf"
    make_app(app, "world")
    first = deploy(app, endpoint)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Rest API URL" in first.stdout
    api_id = rest_api_id(app)

    apigw = plugin_client(endpoint, "apigateway")
    paths = {r["path"]: r for r in apigw.get_resources(restApiId=api_id, embed=["methods"])["items"]}
    assert set(paths) == {"/", "/books", "/books/{book_id}"}
    method = paths["/books/{book_id}"]["resourceMethods"]["GET"]
    assert method["requestParameters"] == {"method.request.path.book_id": True}
    assert method["methodIntegration"]["type"] == "AWS_PROXY"
    assert method["methodIntegration"]["uri"].endswith("function:shelf-dev/invocations")
    assert plugin_client(endpoint, "lambda").get_function(FunctionName="shelf-dev")["Configuration"][
        "Runtime"].startswith("python3.")

    base = f"{endpoint}/_aws/execute-api/{api_id}/api"
    assert requests.get(f"{base}/", timeout=120).json() == {"hello": "world"}
    answer = requests.get(f"{base}/books/42?lang=it", timeout=120)
    assert answer.status_code == 200 and answer.json() == {"book": "42", "query": {"lang": "it"}}
    assert requests.get(f"{base}/nowhere", timeout=60).status_code == 403  # API Gateway's missing route

    make_app(app, "again")
    second = deploy(app, endpoint)
    assert second.returncode == 0, second.stdout + second.stderr
    assert rest_api_id(app) == api_id
    assert requests.get(f"{base}/", timeout=120).json() == {"hello": "again"}
    assert requests.get(f"{base}/books/7", timeout=120).json()["book"] == "7"
    tags = plugin_client(endpoint, "lambda").list_tags(
        Resource="arn:aws:lambda:us-east-1:123456789012:function:shelf-dev")["Tags"]
    assert tags["aws-chalice"].endswith(":stage=dev:app=shelf")

    deleted = deploy(app, endpoint, "delete")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    names = [f["FunctionName"] for f in plugin_client(endpoint, "lambda").list_functions()["Functions"]]
    assert "shelf-dev" not in names
    assert api_id not in [a["id"] for a in apigw.get_rest_apis()["items"]]
    gone = requests.get(f"{base}/", timeout=60)
    assert gone.status_code == 404 and "No API has the id" in gone.json()["message"]


def test_chalice_package_output_runs_through_cloudformation(tmp_path: Path) -> None:
    """``chalice package`` writes a SAM template and a deployment zip; ``cloudmicro dev --template``
    deploys it through the local CloudFormation (SAM transform, the zip unpacked as the code) and
    its route answers through the front door."""
    from emulator.app.server import free_port
    from tests.conftest import ROOT
    from tests.integration.test_dev_command import Dev

    app = tmp_path / "shelf"
    make_app(app, "packaged")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CLOUDMICRO_"))}
    env.update(AWS_DEFAULT_REGION="us-east-1", HOME=str(app))
    chalice = Path(sys.executable).parent / "chalice"
    packaged = subprocess.run([str(chalice), "package", "out"], cwd=app, env=env, capture_output=True, text=True,
                              timeout=300, check=False)
    assert packaged.returncode == 0, packaged.stdout + packaged.stderr
    assert (app / "out" / "sam.json").is_file() and (app / "out" / "deployment.zip").is_file()
    port = free_port()
    env.update(CLOUDMICRO_STATE_DIR=str(tmp_path / "state"), CLOUDMICRO_SEED_ON_START="false",
               PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "dev", "--port", str(port), "--executor", "docker",
                             "--template", "out/sam.json", "--stack-name", "shelf"], cwd=app, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dev = Dev(proc, f"http://127.0.0.1:{port}")
    try:
        dev.expect("cloudmicro: stack shelf: CREATE_COMPLETE", timeout=120)
        api_id = dev.expect("RestAPIId = ").split(" = ", 1)[1].strip()
        answer = requests.get(f"{dev.endpoint}/_aws/execute-api/{api_id}/api/", timeout=120)
        assert answer.status_code == 200 and answer.json() == {"hello": "packaged"}, answer.text
    finally:
        proc.terminate()
        proc.wait(30)
