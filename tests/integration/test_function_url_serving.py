"""Function URLs are served for real: a folder function whose function.json declares a URL
answers at once, by Host (``{urlId}.lambda-url.{region}.localhost``) and by path
(``/_aws/lambda-url/{urlId}``), with Lambda's event (validated by Powertools' model) and its
response inference; AWS_IAM URLs want a SigV4-signed request; the URL's CORS settings answer
preflights; oversized bodies get 413 and failing functions 502; saving the code changes the
answer with no build step.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import requests
from aws_lambda_powertools.utilities.parser.models import LambdaFunctionUrlModel
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from emulator.testing.pytest_plugin import client as plugin_client

SITE = '''
def handler(event, context):
    query = event.get("queryStringParameters") or {}
    if "fail" in query:
        raise ValueError("broken on purpose")
    if "plain" in query:
        return {"hello": "world"}
    return {"statusCode": 202, "headers": {"X-Version": "1"}, "cookies": ["s=1; Path=/", "t=2"],
            "body": __import__("json").dumps({"event": event})}
'''
CORS = {"AllowOrigins": ["http://localhost:3000"], "AllowMethods": ["GET", "POST"], "AllowHeaders": ["x-custom"],
        "ExposeHeaders": ["x-version"], "MaxAge": 300}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, cloudmicro_server: Any, docker_engine: Any
         ) -> tuple[str, str, Path]:
    functions = tmp_path_factory.mktemp("urls") / "functions"
    (functions / "site").mkdir(parents=True)
    (functions / "site" / "app.py").write_text(SITE)
    (functions / "site" / "function.json").write_text(json.dumps(
        {"Handler": "app.handler", "FunctionUrl": {"AuthType": "NONE", "Cors": CORS}}))
    endpoint = str(cloudmicro_server(functions_dir=functions, executor="docker", state_dir=functions.parent / "state",
                                     deps_dir=None, seed_on_start=False, idle_timeout=600))
    url = plugin_client(endpoint, "lambda").get_function_url_config(FunctionName="site")["FunctionUrl"]
    return endpoint, url, functions / "site"


def host_request(endpoint: str, url: str, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> tuple[int, list[tuple[str, str]], bytes]:
    """A request to ``url``'s Host, sent to the endpoint's address (``*.localhost`` names need no
    resolver that way), as curl --resolve would."""
    port = urllib.parse.urlsplit(endpoint).port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(method, path, body=body, headers={"Host": urllib.parse.urlsplit(url).netloc, **(headers or {})})
    reply = connection.getresponse()
    data = reply.read()
    connection.close()
    return reply.status, reply.getheaders(), data


def test_a_declared_url_answers_by_host_and_by_path_with_lambdas_event(site: tuple[str, str, Path]) -> None:
    endpoint, url, _ = site
    parsed = urllib.parse.urlsplit(url)
    url_id = parsed.hostname.split(".")[0]  # type: ignore[union-attr]
    assert parsed.hostname == f"{url_id}.lambda-url.us-east-1.localhost" and len(url_id) == 32
    status, headers, data = host_request(endpoint, url, "POST", "/orders/7?x=1&x=2", b'{"n": 1}',
                                         {"Content-Type": "application/json", "Cookie": "a=1"})
    assert status == 202, data
    assert [v for k, v in headers if k.lower() == "set-cookie"] == ["s=1; Path=/", "t=2"]
    event = json.loads(data)["event"]
    LambdaFunctionUrlModel.model_validate(event)
    assert event["routeKey"] == "$default" and event["rawPath"] == "/orders/7" and event["rawQueryString"] == "x=1&x=2"
    assert event["queryStringParameters"] == {"x": "1,2"} and event["cookies"] == ["a=1"]
    assert event["body"] == '{"n": 1}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["accountId"] == "anonymous" and context["apiId"] == url_id and context["stage"] == "$default"
    assert context["http"]["method"] == "POST" and context["http"]["path"] == "/orders/7"
    by_path = requests.get(f"{endpoint}/_aws/lambda-url/{url_id}/a/b?plain=1", timeout=60)
    assert by_path.status_code == 200 and by_path.json() == {"hello": "world"}  # the response inference
    assert by_path.headers["content-type"].startswith("application/json")


def test_cors_failures_and_limits(site: tuple[str, str, Path]) -> None:
    endpoint, url, _ = site
    url_id = urllib.parse.urlsplit(url).hostname.split(".")[0]  # type: ignore[union-attr]
    base = f"{endpoint}/_aws/lambda-url/{url_id}"
    preflight = requests.options(f"{base}/x", headers={"Origin": "http://localhost:3000",
                                                       "Access-Control-Request-Method": "POST",
                                                       "Access-Control-Request-Headers": "X-Custom"}, timeout=60)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert preflight.headers["access-control-allow-methods"] == "GET,POST"
    assert preflight.headers["access-control-allow-headers"] == "X-Custom"
    assert preflight.headers["access-control-max-age"] == "300"
    allowed = requests.get(f"{base}/x", headers={"Origin": "http://localhost:3000"}, timeout=60)
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert allowed.headers["access-control-expose-headers"] == "x-version"
    other = requests.get(f"{base}/x", headers={"Origin": "http://localhost:4000"}, timeout=60)
    assert other.status_code == 202 and "access-control-allow-origin" not in other.headers
    failed = requests.get(f"{base}/x?fail=1", timeout=60)
    assert (failed.status_code, failed.text) == (502, "Internal Server Error")
    large = requests.post(f"{base}/x", data=b"x" * (6 * 1024 * 1024 + 1), timeout=60)
    assert large.status_code == 413
    assert requests.get(f"{endpoint}/_aws/lambda-url/{'0' * 32}/", timeout=60).status_code == 404
    assert requests.get(f"{base}/x?plain=1", timeout=60).json() == {"hello": "world"}  # still serving


def test_saving_the_code_changes_the_answer(site: tuple[str, str, Path]) -> None:
    endpoint, url, folder = site
    url_id = urllib.parse.urlsplit(url).hostname.split(".")[0]  # type: ignore[union-attr]
    (folder / "app.py").write_text(SITE.replace('"X-Version": "1"', '"X-Version": "2"'))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        reply = requests.get(f"{endpoint}/_aws/lambda-url/{url_id}/", timeout=60)
        if reply.headers.get("x-version") == "2":
            break
    assert reply.headers["x-version"] == "2"
    (folder / "app.py").write_text(SITE)


def test_an_aws_iam_url_wants_a_signed_request(site: tuple[str, str, Path]) -> None:
    endpoint, _, _ = site
    lam = plugin_client(endpoint, "lambda")
    lam.create_function(FunctionName="private", Runtime="python3.11", Handler="app.handler",
                        Role="arn:aws:iam::123456789012:role/r",
                        Code={"ZipFile": _zip({"app.py": SITE})})
    url = lam.create_function_url_config(FunctionName="private", AuthType="AWS_IAM")["FunctionUrl"]
    url_id = urllib.parse.urlsplit(url).hostname.split(".")[0]  # type: ignore[union-attr]
    target = f"{endpoint}/_aws/lambda-url/{url_id}/secret"
    unsigned = requests.get(target, timeout=60)
    assert unsigned.status_code == 403 and unsigned.json() == {"Message": "Forbidden"}
    signed = AWSRequest(method="GET", url=target)
    SigV4Auth(Credentials("AKIDLOCAL", "secret"), "lambda", "us-east-1").add_auth(signed)
    reply = requests.get(target, headers=dict(signed.headers), timeout=60)
    assert reply.status_code == 202, reply.text
    context = reply.json()["event"]["requestContext"]
    assert context["accountId"] == "123456789012" and context["authorizer"]["iam"]["accessKey"] == "AKIDLOCAL"
    LambdaFunctionUrlModel.model_validate(reply.json()["event"])


def _zip(files: dict[str, str]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()
