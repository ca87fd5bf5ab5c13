"""Apps written with AWS Lambda Powertools' event handlers run unchanged behind the front door:
``APIGatewayRestResolver`` behind a REST API, ``APIGatewayHttpResolver`` behind an HTTP API and
``LambdaFunctionUrlResolver`` behind a function URL resolve their routes, path parameters, query
strings, bodies, cookies and errors, in Docker. Powertools is vendored into the functions' folder
(copied from this venv), as a team would ship it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import aws_lambda_powertools
import jmespath
import pytest
import requests
import typing_extensions

from emulator.testing.pytest_plugin import client as plugin_client

APP = '''
from aws_lambda_powertools.event_handler import {resolver}
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

app = {resolver}()


@app.get("/items/<item_id>")
def get_item(item_id):
    return {{"id": item_id, "q": app.current_event.get_query_string_value("q"), "kind": "{resolver}"}}


@app.post("/items")
def add_item():
    return {{"added": app.current_event.json_body}}, 201


@app.get("/missing")
def missing():
    raise NotFoundError("no such thing")


def handler(event, context):
    return app.resolve(event, context)
'''
RESOLVERS = {"restapp": "APIGatewayRestResolver", "httpapp": "APIGatewayHttpResolver",
             "urlapp": "LambdaFunctionUrlResolver"}


def vendor(folder: Path) -> None:
    for module in (aws_lambda_powertools, jmespath):
        shutil.copytree(Path(module.__file__).parent, folder / module.__name__,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(typing_extensions.__file__, folder)


@pytest.fixture(scope="module")
def urls(tmp_path_factory: pytest.TempPathFactory, cloudmicro_server: Any, docker_engine: Any) -> dict[str, str]:
    functions = tmp_path_factory.mktemp("powertools") / "functions"
    for name, resolver in RESOLVERS.items():
        folder = functions / name
        folder.mkdir(parents=True)
        (folder / "app.py").write_text(APP.format(resolver=resolver))
        declared: dict[str, Any] = {"Handler": "app.handler", "Timeout": 30}
        if name == "urlapp":
            declared["FunctionUrl"] = {"AuthType": "NONE"}
        (folder / "function.json").write_text(json.dumps(declared))
        vendor(folder)
    endpoint = str(cloudmicro_server(functions_dir=functions, executor="docker", state_dir=functions.parent / "state",
                                     deps_dir=None, seed_on_start=False, idle_timeout=600))
    apigw = plugin_client(endpoint, "apigateway")
    rest = apigw.create_rest_api(name="pt")["id"]
    root = apigw.get_resources(restApiId=rest)["items"][0]["id"]
    proxy = apigw.create_resource(restApiId=rest, parentId=root, pathPart="{proxy+}")["id"]
    apigw.put_method(restApiId=rest, resourceId=proxy, httpMethod="ANY", authorizationType="NONE")
    apigw.put_integration(restApiId=rest, resourceId=proxy, httpMethod="ANY", type="AWS_PROXY",
                          integrationHttpMethod="POST",
                          uri="arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                              "arn:aws:lambda:us-east-1:123456789012:function:restapp/invocations")
    apigw.create_deployment(restApiId=rest, stageName="prod")
    http_api = plugin_client(endpoint, "apigatewayv2").create_api(
        Name="pt", ProtocolType="HTTP", Target="arn:aws:lambda:us-east-1:123456789012:function:httpapp")["ApiId"]
    url_id = plugin_client(endpoint, "lambda").get_function_url_config(FunctionName="urlapp")["FunctionUrl"]
    url_id = url_id.split("//", 1)[1].split(".", 1)[0]
    return {"APIGatewayRestResolver": f"{endpoint}/_aws/execute-api/{rest}/prod",
            "APIGatewayHttpResolver": f"{endpoint}/_aws/execute-api/{http_api}",
            "LambdaFunctionUrlResolver": f"{endpoint}/_aws/lambda-url/{url_id}"}


@pytest.mark.parametrize("resolver", list(RESOLVERS.values()))
def test_powertools_routes_resolve_behind_the_front_door(urls: dict[str, str], resolver: str) -> None:
    base = urls[resolver]
    got = requests.get(f"{base}/items/a%20b?q=search", timeout=120)
    assert got.status_code == 200, got.text
    # HTTP APIs decode the path they send; REST APIs and function URLs send it as the client did
    # (live captures: github.com/hotsock/voker/pull/8), and Powertools routes on that path
    decoded = resolver == "APIGatewayHttpResolver"
    assert got.json() == {"id": "a b" if decoded else "a%20b", "q": "search", "kind": resolver}
    added = requests.post(f"{base}/items", json={"name": "x"}, timeout=60)
    assert (added.status_code, added.json()) == (201, {"added": {"name": "x"}})
    missing = requests.get(f"{base}/missing", timeout=60)
    assert missing.status_code == 404 and missing.json()["message"] == "no such thing"
    unrouted = requests.delete(f"{base}/nowhere", timeout=60)
    assert unrouted.status_code == 404  # Powertools' own "Not found" for a route it does not have
