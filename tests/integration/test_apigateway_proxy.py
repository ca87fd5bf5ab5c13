"""API Gateway REST (v1) and HTTP (v2) APIs created through the endpoint with boto3 are served
for real on the one endpoint: by Host (``{id}.execute-api.localhost``), by path
(``/_aws/execute-api/{id}``) and in LocalStack's legacy form; the events validate against AWS
Lambda Powertools' models; answers for unknown routes, stages and bad Lambda responses are API
Gateway's own. Raw HTTP (``http.client``) and ``requests``, as curl and apps call them.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel, APIGatewayProxyEventV2Model

from emulator.testing.pytest_plugin import client as plugin_client

ROLE = "arn:aws:iam::123456789012:role/lambda-role"
WEB = '''
import base64, json

def handler(event, context):
    query = event.get("queryStringParameters") or {}
    if query.get("answer") == "garbage":
        return "not a proxy response"
    if query.get("answer") == "raise":
        raise RuntimeError("the handler failed")
    if query.get("answer") == "binary":
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "isBase64Encoded": True,
                "body": base64.b64encode(bytes(range(256))).decode()}
    return {"statusCode": 201, "headers": {"X-From": "web"}, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": json.dumps({"event": event})}
'''
PLAIN = '''
def handler(event, context):
    return {"route": event["routeKey"], "params": event.get("pathParameters")}
'''
SLOW = '''
import time

def handler(event, context):
    time.sleep(3)
    return {"statusCode": 200, "body": "late"}
'''


def lambda_uri(name: str) -> str:
    return ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            f"arn:aws:lambda:us-east-1:123456789012:function:{name}/invocations")


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory, cloudmicro_server: Any, docker_engine: Any) -> str:
    functions = tmp_path_factory.mktemp("frontdoor") / "functions"
    for name, code in (("web", WEB), ("plain", PLAIN), ("held", PLAIN), ("slow", SLOW)):
        (functions / name).mkdir(parents=True)
        (functions / name / "app.py").write_text(code)
        (functions / name / "function.json").write_text(json.dumps({"Handler": "app.handler"}))
    return str(cloudmicro_server(functions_dir=functions, executor="docker", state_dir=functions.parent / "state",
                                 deps_dir=None, seed_on_start=False, idle_timeout=600))


@pytest.fixture(scope="module")
def rest_api(endpoint: str) -> Iterator[str]:
    apigw = plugin_client(endpoint, "apigateway")
    api = apigw.create_rest_api(name="shop", tags={"_custom_id_": "shopapi"}, binaryMediaTypes=["image/png"])
    api_id = api["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    items = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="items")["id"]
    item = apigw.create_resource(restApiId=api_id, parentId=items, pathPart="{id}")["id"]
    proxy = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="{proxy+}")["id"]
    for resource, method in ((item, "GET"), (proxy, "ANY"), (items, "POST")):
        apigw.put_method(restApiId=api_id, resourceId=resource, httpMethod=method, authorizationType="NONE")
        apigw.put_integration(restApiId=api_id, resourceId=resource, httpMethod=method, type="AWS_PROXY",
                              integrationHttpMethod="POST", uri=lambda_uri("web"))
    apigw.create_deployment(restApiId=api_id, stageName="dev", variables={"color": "blue"})
    yield api_id


def raw(endpoint: str, method: str, path: str, host: str | None = None, body: bytes | None = None,
        headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """A request as curl sends it (``host``: the Host header, e.g. ``id.execute-api.localhost``)."""
    parsed = urllib.parse.urlsplit(endpoint)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    sent = {**(headers or {})}
    if host is not None:
        sent["Host"] = f"{host}:{parsed.port}"
    connection.request(method, path, body=body, headers=sent)
    reply = connection.getresponse()
    data = reply.read()
    connection.close()
    return reply.status, {k.lower(): v for k, v in reply.getheaders()}, data


def test_a_rest_api_proxy_route_gets_awss_event_by_host_by_path_and_legacy(endpoint: str, rest_api: str) -> None:
    forms = [
        ("/dev/items/42?a=1&a=2&b=x%20y", f"{rest_api}.execute-api.localhost"),
        (f"/_aws/execute-api/{rest_api}/dev/items/42?a=1&a=2&b=x%20y", None),
        (f"/restapis/{rest_api}/dev/_user_request_/items/42?a=1&a=2&b=x%20y", None),
    ]
    for path, host in forms:
        status, headers, body = raw(endpoint, "GET", path, host, headers={"X-Multi": "one", "Cookie": "c=1"})
        assert status == 201, body
        assert headers["x-from"] == "web"
        event = json.loads(body)["event"]
        APIGatewayProxyEventModel.model_validate(event)
        assert event["resource"] == "/items/{id}" and event["path"] == "/items/42" and event["httpMethod"] == "GET"
        assert event["pathParameters"] == {"id": "42"}
        assert event["queryStringParameters"] == {"a": "2", "b": "x y"}
        assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x y"]}
        assert event["stageVariables"] == {"color": "blue"}
        # a REST API keeps the client's spelling of header names (HTTP APIs lower-case them)
        assert event["headers"]["X-Multi"] == "one" and event["multiValueHeaders"]["X-Multi"] == ["one"]
        context = event["requestContext"]
        assert context["stage"] == "dev" and context["apiId"] == rest_api and context["path"] == "/dev/items/42"
        assert context["resourcePath"] == "/items/{id}" and context["identity"]["sourceIp"] == "127.0.0.1"
        assert event["body"] is None and event["isBase64Encoded"] is False


def test_greedy_paths_any_methods_and_bodies(endpoint: str, rest_api: str) -> None:
    body = json.dumps({"n": 1}).encode()
    status, _, data = raw(endpoint, "PATCH", f"/_aws/execute-api/{rest_api}/dev/a/b/c", body=body,
                          headers={"Content-Type": "application/json"})
    assert status == 201, data
    event = json.loads(data)["event"]
    APIGatewayProxyEventModel.model_validate(event)
    assert event["resource"] == "/{proxy+}" and event["pathParameters"] == {"proxy": "a/b/c"}
    assert event["httpMethod"] == "PATCH" and json.loads(event["body"]) == {"n": 1}
    # a literal resource wins over the greedy one: POST /items is its own method
    reply = requests.post(f"{endpoint}/_aws/execute-api/{rest_api}/dev/items", json={"x": 1}, timeout=60)
    assert reply.status_code == 201 and json.loads(reply.text)["event"]["resource"] == "/items"


def test_binary_bodies_both_ways(endpoint: str, rest_api: str) -> None:
    png = bytes(range(256))
    reply = requests.post(f"{endpoint}/_aws/execute-api/{rest_api}/dev/upload", data=png,
                          headers={"Content-Type": "image/png"}, timeout=60)
    event = json.loads(reply.text)["event"]
    assert event["isBase64Encoded"] is True and event["body"] == __import__("base64").b64encode(png).decode()
    reply = requests.get(f"{endpoint}/_aws/execute-api/{rest_api}/dev/img?answer=binary",
                         headers={"Accept": "image/png"}, timeout=60)
    assert reply.status_code == 200 and reply.content == png


def test_api_gateways_own_answers(endpoint: str, rest_api: str) -> None:
    base = f"/_aws/execute-api/{rest_api}"
    assert raw(endpoint, "DELETE", f"{base}/dev/items/42")[::2] == (403, b'{"message":"Missing Authentication Token"}')
    assert raw(endpoint, "GET", f"{base}/prod/items/42")[::2] == (403, b'{"message":"Forbidden"}')
    status, _, data = raw(endpoint, "GET", f"{base}/dev/x?answer=garbage")
    assert (status, json.loads(data)) == (502, {"message": "Internal server error"})
    status, _, data = raw(endpoint, "GET", f"{base}/dev/x?answer=raise")
    assert (status, json.loads(data)) == (502, {"message": "Internal server error"})
    # over API Gateway's 10 MB payload limit: 413 before any function runs
    status, _, data = raw(endpoint, "POST", f"{base}/dev/x", body=b"x" * (10 * 1024 * 1024 + 1))
    assert status == 413, data
    # and the endpoint still serves
    assert raw(endpoint, "GET", f"{base}/dev/items/1")[0] == 201


def test_an_http_api_quick_create_serves_its_target(endpoint: str) -> None:
    v2 = plugin_client(endpoint, "apigatewayv2")
    api = v2.create_api(Name="quick", ProtocolType="HTTP", Target="arn:aws:lambda:us-east-1:123456789012:function:web",
                        Tags={"_custom_id_": "quickapi"})
    assert api["ApiId"] == "quickapi"
    port = urllib.parse.urlsplit(endpoint).port
    assert api["ApiEndpoint"] == f"http://quickapi.execute-api.localhost:{port}"
    status, _, data = raw(endpoint, "GET", "/any/path?x=1&x=2", "quickapi.execute-api.localhost",
                                headers={"Cookie": "a=1; b=2"})
    assert status == 201, data
    event = json.loads(data)["event"]
    APIGatewayProxyEventV2Model.model_validate(event)
    assert event["version"] == "2.0" and event["routeKey"] == "$default" and event["rawPath"] == "/any/path"
    assert event["rawQueryString"] == "x=1&x=2" and event["queryStringParameters"] == {"x": "1,2"}
    assert event["cookies"] == ["a=1", "b=2"] and event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["http"]["method"] == "GET"


def test_http_api_routes_with_parameters_and_the_v2_response_inference(endpoint: str) -> None:
    v2 = plugin_client(endpoint, "apigatewayv2")
    api_id = v2.create_api(Name="routes", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", PayloadFormatVersion="2.0",
                                        IntegrationUri="arn:aws:lambda:us-east-1:123456789012:function:plain")
    v2.create_route(ApiId=api_id, RouteKey="GET /pets/{id}", Target=f"integrations/{integration['IntegrationId']}")
    v2.create_stage(ApiId=api_id, StageName="live", AutoDeploy=True)
    reply = requests.get(f"{endpoint}/_aws/execute-api/{api_id}/live/pets/7", timeout=60)
    # a result without statusCode: 200, JSON, the result as the body
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/json")
    assert reply.json() == {"route": "GET /pets/{id}", "params": {"id": "7"}}
    missing = requests.get(f"{endpoint}/_aws/execute-api/{api_id}/live/cats", timeout=60)
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})


def test_changes_are_served_at_once(endpoint: str, rest_api: str) -> None:
    apigw = plugin_client(endpoint, "apigateway")
    assert raw(endpoint, "GET", f"/_aws/execute-api/{rest_api}/stage2/items/1")[0] == 403
    apigw.create_deployment(restApiId=rest_api, stageName="stage2")
    assert raw(endpoint, "GET", f"/_aws/execute-api/{rest_api}/stage2/items/1")[0] == 201


def test_cloudmicro_list_and_the_routes_listing_give_every_routes_url(endpoint: str, rest_api: str,
                                                                     make_server: Any, tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    port = urllib.parse.urlsplit(endpoint).port
    routes = requests.get(f"{endpoint}/_cloudmicro/routes", timeout=60).json()["Routes"]
    mine = {(r["Stage"], r["Route"]): r for r in routes if r["Id"] == rest_api}
    assert mine[("dev", "GET /items/{id}")]["Url"] == f"http://{rest_api}.execute-api.localhost:{port}/dev/items/{{id}}"
    assert mine[("dev", "ANY /{proxy+}")]["PathUrl"] == (
        f"http://127.0.0.1:{port}/_aws/execute-api/{rest_api}/dev/{{proxy+}}")
    listed = subprocess.run([sys.executable, "-m", "emulator", "list", "--endpoint", endpoint],
                            capture_output=True, text=True, timeout=120, env={**os.environ})
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if "GET /items/{id}" in line and "/dev/" in line)
    assert line.split()[:3] == [rest_api, "REST", "dev"]
    assert line.endswith(f"http://{rest_api}.execute-api.localhost:{port}/dev/items/{{id}}")
    # a control plane says each route's URL as it comes (what `cloudmicro dev` shows)
    functions = tmp_path / "functions"
    (functions / "page").mkdir(parents=True)
    (functions / "page" / "app.py").write_text(WEB)
    (functions / "page" / "function.json").write_text(json.dumps({"Handler": "app.handler",
                                                                 "FunctionUrl": {"AuthType": "NONE"}}))
    other = make_server(functions, "process", seed_on_start=False)
    plugin_client(other, "apigatewayv2").create_api(Name="said", ProtocolType="HTTP", Tags={"_custom_id_": "saidapi"},
                                                    Target="arn:aws:lambda:us-east-1:123456789012:function:page")
    other_port = urllib.parse.urlsplit(other).port
    deadline = time.monotonic() + 10
    said = ""
    while time.monotonic() < deadline and "saidapi" not in said:
        said += make_server.output.read()
        time.sleep(0.1)
    assert f"HTTP saidapi $default: $default -> http://saidapi.execute-api.localhost:{other_port}/" in said, said
    assert f".lambda-url.us-east-1.localhost:{other_port}/" in said, said


def test_test_invoke_method_answers_as_aws_does(endpoint: str, rest_api: str) -> None:
    apigw = plugin_client(endpoint, "apigateway")
    resources = {r["path"]: r["id"] for r in apigw.get_resources(restApiId=rest_api)["items"]}
    answer = apigw.test_invoke_method(restApiId=rest_api, resourceId=resources["/items/{id}"], httpMethod="GET",
                                      pathWithQueryString="/items/9?a=1", headers={"X-Test": "yes"},
                                      stageVariables={"color": "red"})
    assert answer["status"] == 201 and answer["headers"]["X-From"] == "web"
    event = json.loads(answer["body"])["event"]
    assert event["pathParameters"] == {"id": "9"} and event["queryStringParameters"] == {"a": "1"}
    assert event["requestContext"]["stage"] == "test-invoke-stage" and event["stageVariables"] == {"color": "red"}
    assert "Method completed with status: 201" in answer["log"] and answer["latency"] >= 0
    # the AWS CLI v2 from Debian sends the same call
    import os
    import subprocess

    done = subprocess.run(["/usr/bin/aws", "apigateway", "test-invoke-method", "--rest-api-id", rest_api,
                           "--resource-id", resources["/{proxy+}"], "--http-method", "ANY",
                           "--path-with-query-string", "/a/b?answer=garbage", "--endpoint-url", endpoint],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                               "AWS_DEFAULT_REGION": "us-east-1"})
    assert done.returncode == 0, done.stderr
    cli = json.loads(done.stdout)
    assert cli["status"] == 502 and json.loads(cli["body"]) == {"message": "Internal server error"}
    with pytest.raises(apigw.exceptions.NotFoundException):
        apigw.test_invoke_method(restApiId=rest_api, resourceId="nope", httpMethod="GET")


def test_a_missing_function_and_a_throttled_one_get_api_gateways_answers(endpoint: str) -> None:
    apigw = plugin_client(endpoint, "apigateway")
    plugin_client(endpoint, "lambda").put_function_concurrency(FunctionName="held", ReservedConcurrentExecutions=0)
    api = apigw.create_rest_api(name="faults")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    for part, target in (("ghost", "no-such-function"), ("held", "held")):
        resource = apigw.create_resource(restApiId=api, parentId=root, pathPart=part)["id"]
        apigw.put_method(restApiId=api, resourceId=resource, httpMethod="GET", authorizationType="NONE")
        apigw.put_integration(restApiId=api, resourceId=resource, httpMethod="GET", type="AWS_PROXY",
                              integrationHttpMethod="POST", uri=lambda_uri(target))
    apigw.create_deployment(restApiId=api, stageName="dev")
    ghost = requests.get(f"{endpoint}/_aws/execute-api/{api}/dev/ghost", timeout=60)
    assert (ghost.status_code, ghost.json()) == (500, {"message": "Internal server error"})
    held = requests.get(f"{endpoint}/_aws/execute-api/{api}/dev/held", timeout=60)
    assert (held.status_code, held.json()) == (429, {"message": "Too Many Requests"})
    assert requests.get(f"{endpoint}/_aws/execute-api/{api}/dev/ghost", timeout=60).status_code == 500  # still up


def test_the_integration_timeout_gives_504_and_the_function_runs_on(endpoint: str) -> None:
    apigw = plugin_client(endpoint, "apigateway")
    api = apigw.create_rest_api(name="timeouts")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    resource = apigw.create_resource(restApiId=api, parentId=root, pathPart="slow")["id"]
    apigw.put_method(restApiId=api, resourceId=resource, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=resource, httpMethod="GET", type="AWS_PROXY",
                          integrationHttpMethod="POST", uri=lambda_uri("slow"), timeoutInMillis=1000)
    apigw.create_deployment(restApiId=api, stageName="dev")
    started = time.monotonic()
    reply = requests.get(f"{endpoint}/_aws/execute-api/{api}/dev/slow", timeout=60)
    elapsed = time.monotonic() - started
    assert (reply.status_code, reply.json()) == (504, {"message": "Endpoint request timed out"})
    assert 1.0 <= elapsed < 2.5, elapsed  # API Gateway's timeout (1 s here; 29 s by default), not the function's


def test_an_http_api_http_proxy_route_passes_the_request_and_answer_through(endpoint: str) -> None:
    """HTTP_PROXY (HTTP APIs): the greedy path variable fills the integration URI, the query string
    and headers go along, the backend's status, headers and body come back; a backend that cannot
    be reached is the HTTP API's 500."""
    import http.server
    import socketserver
    import threading

    seen: list[dict[str, Any]] = []

    class Backend(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            seen.append({"method": self.command, "path": self.path, "header": self.headers.get("x-shop"),
                         "body": self.rfile.read(length).decode()})
            body = b'{"served": "backend"}'
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Backend", "yes")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Backend)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        v2 = plugin_client(endpoint, "apigatewayv2")
        api_id = v2.create_api(Name="proxied", ProtocolType="HTTP")["ApiId"]
        backend = v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY",
                                        PayloadFormatVersion="1.0",
                                        IntegrationUri=f"http://127.0.0.1:{server.server_address[1]}/shop/{{proxy}}")
        gone = v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="GET",
                                     PayloadFormatVersion="1.0", IntegrationUri="http://127.0.0.1:9/nothing")
        mapped = v2.create_integration(
            ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY", PayloadFormatVersion="1.0",
            IntegrationUri=f"http://127.0.0.1:{server.server_address[1]}/unused",
            RequestParameters={"overwrite:path": "/orders/${request.path.id}", "append:header.x-shop": "$request.querystring.shop",
                               "remove:querystring.shop": "''", "append:querystring.from": "${context.routeKey}"},
            ResponseParameters={"201": {"overwrite:statuscode": "202", "remove:header.x-backend": "''",
                                        "append:header.x-served": "$response.body.served"}})
        v2.create_route(ApiId=api_id, RouteKey="ANY /pets/{proxy+}", Target=f"integrations/{backend['IntegrationId']}")
        v2.create_route(ApiId=api_id, RouteKey="GET /gone", Target=f"integrations/{gone['IntegrationId']}")
        v2.create_route(ApiId=api_id, RouteKey="GET /mapped/{id}", Target=f"integrations/{mapped['IntegrationId']}")
        v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)

        reply = requests.post(f"{endpoint}/_aws/execute-api/{api_id}/pets/dogs/7?color=brown&size=s",
                              data=b"woof", headers={"X-Shop": "north"}, timeout=60)
        assert (reply.status_code, reply.json(), reply.headers["x-backend"]) == (201, {"served": "backend"}, "yes")
        assert reply.headers["apigw-requestid"]
        assert seen == [{"method": "POST", "path": "/shop/dogs/7?color=brown&size=s", "header": "north",
                         "body": "woof"}]
        changed = requests.get(f"{endpoint}/_aws/execute-api/{api_id}/mapped/42?shop=south&keep=1", timeout=60)
        assert (changed.status_code, changed.headers["x-served"], "x-backend" in changed.headers) == (
            202, "backend", False)  # ResponseParameters for the backend's 201
        assert seen[-1] == {"method": "GET", "path": "/orders/42?keep=1&from=GET+%2Fmapped%2F%7Bid%7D",
                            "header": "south", "body": ""}  # RequestParameters
        unreachable = requests.get(f"{endpoint}/_aws/execute-api/{api_id}/gone", timeout=60)
        assert (unreachable.status_code, unreachable.json()) == (500, {"message": "Internal Server Error"})
    finally:
        server.shutdown()
        server.server_close()
