"""Who may call a route, as API Gateway decides it, with real clients and real functions (Docker):
REST Lambda authorizers (TOKEN and REQUEST: IAM policies evaluated against the method ARN,
results cached, the context passed on), API keys in usage plans, AWS_IAM methods; HTTP API JWT
authorizers against a JWKS served locally (issuer, audience, expiry, scopes) and Lambda
authorizers with simple responses.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel, APIGatewayProxyEventV2Model
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from joserfc import jwt
from joserfc.jwk import RSAKey

from emulator.testing.pytest_plugin import client as plugin_client

WEB = '''
import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event)}
'''
TOKEN_AUTHORIZER = '''
CALLS = {"n": 0}

def handler(event, context):
    CALLS["n"] += 1
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}  # REST keeps the client's spelling
    token = event.get("authorizationToken") or headers.get("x-user") or ""
    if token == "unauthorized":
        raise Exception("Unauthorized")
    if token == "broken":
        return "nonsense"
    api = event["methodArn"].split("/")[0]
    effect = "Deny" if token == "deny" else "Allow"
    return {"principalId": "user-" + token, "usageIdentifierKey": None,
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": api + "/*/GET/*"}]},
            "context": {"calls": CALLS["n"], "type": event["type"]}}
'''
SIMPLE_AUTHORIZER = '''
def handler(event, context):
    allowed = event["identitySource"] == ["let-me-in"]
    return {"isAuthorized": allowed, "context": {"who": "simple", "route": event["routeKey"]}}
'''


def uri(name: str) -> str:
    return ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            f"arn:aws:lambda:us-east-1:123456789012:function:{name}/invocations")


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory, cloudmicro_server: Any, docker_engine: Any) -> str:
    functions = tmp_path_factory.mktemp("auth") / "functions"
    for name, code in (("web", WEB), ("tokens", TOKEN_AUTHORIZER), ("simple", SIMPLE_AUTHORIZER)):
        (functions / name).mkdir(parents=True)
        (functions / name / "app.py").write_text(code)
        (functions / name / "function.json").write_text(json.dumps({"Handler": "app.handler"}))
    return str(cloudmicro_server(functions_dir=functions, executor="docker", state_dir=functions.parent / "state",
                                 deps_dir=None, seed_on_start=False, idle_timeout=600))


@pytest.fixture(scope="module")
def rest(endpoint: str) -> dict[str, str]:
    apigw = plugin_client(endpoint, "apigateway")
    api = apigw.create_rest_api(name="guarded")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    token = apigw.create_authorizer(restApiId=api, name="tokens", type="TOKEN", authorizerUri=uri("tokens"),
                                    identitySource="method.request.header.Authorization",
                                    identityValidationExpression="^[a-z]+$", authorizerResultTtlInSeconds=300)["id"]
    request = apigw.create_authorizer(restApiId=api, name="req", type="REQUEST", authorizerUri=uri("tokens"),
                                      identitySource="method.request.header.X-User,method.request.querystring.tenant",
                                      authorizerResultTtlInSeconds=0)["id"]
    for part, auth, extra in (("token", "CUSTOM", {"authorizerId": token}), ("request", "CUSTOM", {"authorizerId": request}),
                              ("keyed", "NONE", {"apiKeyRequired": True}), ("iam", "AWS_IAM", {})):
        resource = apigw.create_resource(restApiId=api, parentId=root, pathPart=part)["id"]
        for method in ("GET", "POST"):
            apigw.put_method(restApiId=api, resourceId=resource, httpMethod=method, authorizationType=auth, **extra)
            apigw.put_integration(restApiId=api, resourceId=resource, httpMethod=method, type="AWS_PROXY",
                                  integrationHttpMethod="POST", uri=uri("web"))
    apigw.create_deployment(restApiId=api, stageName="dev")
    key = apigw.create_api_key(name="k", enabled=True, value="the-key-value-12345678")
    plan = apigw.create_usage_plan(name="p", apiStages=[{"apiId": api, "stage": "dev"}])
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return {"base": f"{endpoint}/_aws/execute-api/{api}/dev", "api": api}


def test_a_token_authorizers_policy_is_evaluated_cached_and_its_context_passed_on(rest: dict[str, str]) -> None:
    base = rest["base"]
    first = requests.get(f"{base}/token", headers={"Authorization": "alice"}, timeout=60)
    assert first.status_code == 200, first.text
    event = json.loads(first.text)
    APIGatewayProxyEventModel.model_validate(event)
    authorizer = event["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "user-alice" and authorizer["type"] == "TOKEN"
    again = json.loads(requests.get(f"{base}/token", headers={"Authorization": "alice"}, timeout=60).text)
    assert again["requestContext"]["authorizer"]["calls"] == authorizer["calls"]  # cached: not called again
    # the cached policy allows GET only: POST is refused with API Gateway's message, from the cache
    post = requests.post(f"{base}/token", headers={"Authorization": "alice"}, timeout=60)
    assert (post.status_code, post.json()) == (403, {"Message": "User is not authorized to access this resource"})
    denied = requests.get(f"{base}/token", headers={"Authorization": "deny"}, timeout=60)
    assert (denied.status_code, denied.json()) == (
        403, {"Message": "User is not authorized to access this resource with an explicit deny"})
    for headers, status, body in (({}, 401, {"message": "Unauthorized"}),
                                  ({"Authorization": "NOT-VALID-123"}, 401, {"message": "Unauthorized"}),
                                  ({"Authorization": "unauthorized"}, 401, {"message": "Unauthorized"}),
                                  ({"Authorization": "broken"}, 500, {"message": None})):
        reply = requests.get(f"{base}/token", headers=headers, timeout=60)
        assert (reply.status_code, reply.json()) == (status, body), headers


def test_a_request_authorizer_wants_every_identity_source(rest: dict[str, str]) -> None:
    base = rest["base"]
    assert requests.get(f"{base}/request", headers={"X-User": "bob"}, timeout=60).status_code == 401
    assert requests.get(f"{base}/request?tenant=t1", timeout=60).status_code == 401
    reply = requests.get(f"{base}/request?tenant=t1", headers={"X-User": "bob"}, timeout=60)
    assert reply.status_code == 200, reply.text
    context = json.loads(reply.text)["requestContext"]["authorizer"]
    assert context["principalId"] == "user-bob" and context["type"] == "REQUEST"
    second = json.loads(requests.get(f"{base}/request?tenant=t1", headers={"X-User": "bob"}, timeout=60).text)
    assert second["requestContext"]["authorizer"]["calls"] > context["calls"]  # TTL 0: called each time


def test_api_keys_and_iam_methods(rest: dict[str, str]) -> None:
    base = rest["base"]
    assert requests.get(f"{base}/keyed", timeout=60).status_code == 403
    assert requests.get(f"{base}/keyed", headers={"x-api-key": "wrong"}, timeout=60).json() == {"message": "Forbidden"}
    assert requests.get(f"{base}/keyed", headers={"x-api-key": "the-key-value-12345678"}, timeout=60).status_code == 200
    unsigned = requests.get(f"{base}/iam", timeout=60)
    assert (unsigned.status_code, unsigned.json()) == (403, {"message": "Missing Authentication Token"})
    signed = AWSRequest(method="GET", url=f"{base}/iam")
    SigV4Auth(Credentials("AKIDLOCAL", "secret"), "execute-api", "us-east-1").add_auth(signed)
    assert requests.get(f"{base}/iam", headers=dict(signed.headers), timeout=60).status_code == 200


@pytest.fixture(scope="module")
def issuer() -> Iterator[tuple[str, RSAKey]]:
    """An OpenID issuer on a local port: its discovery document and JWKS."""
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    documents: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = documents.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body or b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    documents["/.well-known/openid-configuration"] = json.dumps({"issuer": url, "jwks_uri": f"{url}/jwks"}).encode()
    documents["/jwks"] = json.dumps({"keys": [key.as_dict(private=False)]}).encode()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield url, key
    server.shutdown()


def test_an_http_api_jwt_authorizer_checks_signature_issuer_audience_expiry_and_scopes(
        endpoint: str, issuer: tuple[str, RSAKey]) -> None:
    url, key = issuer
    v2 = plugin_client(endpoint, "apigatewayv2")
    api = v2.create_api(Name="jwt", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY", PayloadFormatVersion="2.0",
                                        IntegrationUri="arn:aws:lambda:us-east-1:123456789012:function:web")
    authorizer = v2.create_authorizer(ApiId=api, AuthorizerType="JWT", Name="jwt",
                                      IdentitySource=["$request.header.Authorization"],
                                      JwtConfiguration={"Issuer": url, "Audience": ["my-app"]})["AuthorizerId"]
    v2.create_route(ApiId=api, RouteKey="GET /me", AuthorizationType="JWT", AuthorizerId=authorizer,
                    AuthorizationScopes=["profile:read"], Target=f"integrations/{integration['IntegrationId']}")
    v2.create_stage(ApiId=api, StageName="$default", AutoDeploy=True)
    target = f"{endpoint}/_aws/execute-api/{api}/me"

    def token(**claims: Any) -> str:
        now = int(time.time())
        return jwt.encode({"alg": "RS256", "kid": "k1"}, {"iss": url, "aud": "my-app", "sub": "u1", "exp": now + 600,
                                                          "scope": "profile:read email", **claims}, key)

    good = requests.get(target, headers={"Authorization": f"Bearer {token()}"}, timeout=60)
    assert good.status_code == 200, good.text
    event = json.loads(good.text)
    APIGatewayProxyEventV2Model.model_validate(event)
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] == "u1"
    assert event["requestContext"]["authorizer"]["jwt"]["scopes"] == ["profile:read", "email"]
    other_key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    forged = jwt.encode({"alg": "RS256", "kid": "k1"}, {"iss": url, "aud": "my-app", "exp": int(time.time()) + 60},
                        other_key)
    for headers in ({}, {"Authorization": f"Bearer {token(aud='other')}"},
                    {"Authorization": f"Bearer {token(exp=int(time.time()) - 5)}"},
                    {"Authorization": f"Bearer {token(iss='http://elsewhere')}"}, {"Authorization": f"Bearer {forged}"}):
        reply = requests.get(target, headers=headers, timeout=60)
        assert (reply.status_code, reply.json()) == (401, {"message": "Unauthorized"}), headers
    narrow = requests.get(target, headers={"Authorization": f"Bearer {token(scope='email')}"}, timeout=60)
    assert (narrow.status_code, narrow.json()) == (403, {"message": "Forbidden"})


def test_an_http_api_lambda_authorizer_with_simple_responses(endpoint: str) -> None:
    v2 = plugin_client(endpoint, "apigatewayv2")
    api = v2.create_api(Name="simple", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY", PayloadFormatVersion="2.0",
                                        IntegrationUri="arn:aws:lambda:us-east-1:123456789012:function:web")
    authorizer = v2.create_authorizer(ApiId=api, AuthorizerType="REQUEST", Name="simple",
                                      AuthorizerUri=uri("simple"), AuthorizerPayloadFormatVersion="2.0",
                                      EnableSimpleResponses=True, IdentitySource=["$request.header.Authorization"],
                                      AuthorizerResultTtlInSeconds=0)["AuthorizerId"]
    v2.create_route(ApiId=api, RouteKey="ANY /{proxy+}", AuthorizationType="CUSTOM", AuthorizerId=authorizer,
                    Target=f"integrations/{integration['IntegrationId']}")
    v2.create_stage(ApiId=api, StageName="$default", AutoDeploy=True)
    target = f"{endpoint}/_aws/execute-api/{api}/things/1"
    assert requests.get(target, timeout=60).status_code == 401
    refused = requests.get(target, headers={"Authorization": "nope"}, timeout=60)
    assert (refused.status_code, refused.json()) == (403, {"message": "Forbidden"})
    allowed = requests.get(target, headers={"Authorization": "let-me-in"}, timeout=60)
    assert allowed.status_code == 200, allowed.text
    assert json.loads(allowed.text)["requestContext"]["authorizer"]["lambda"] == {
        "who": "simple", "route": "ANY /{proxy+}"}


def test_an_http_api_lambda_authorizer_answering_with_an_iam_policy(endpoint: str) -> None:
    v2 = plugin_client(endpoint, "apigatewayv2")
    api = v2.create_api(Name="policy", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY", PayloadFormatVersion="2.0",
                                        IntegrationUri="arn:aws:lambda:us-east-1:123456789012:function:web")
    authorizer = v2.create_authorizer(ApiId=api, AuthorizerType="REQUEST", Name="policy",
                                      AuthorizerUri=uri("tokens"), AuthorizerPayloadFormatVersion="1.0",
                                      IdentitySource=["$request.header.Authorization"],
                                      AuthorizerResultTtlInSeconds=0)["AuthorizerId"]
    v2.create_route(ApiId=api, RouteKey="ANY /{proxy+}", AuthorizationType="CUSTOM", AuthorizerId=authorizer,
                    Target=f"integrations/{integration['IntegrationId']}")
    v2.create_stage(ApiId=api, StageName="$default", AutoDeploy=True)
    target = f"{endpoint}/_aws/execute-api/{api}/things/1"
    allowed = requests.get(target, headers={"Authorization": "carol"}, timeout=60)
    assert allowed.status_code == 200, allowed.text
    context = json.loads(allowed.text)["requestContext"]["authorizer"]
    assert context["principalId"] == "user-carol" and context["lambda"]["type"] == "REQUEST"
    posted = requests.post(target, headers={"Authorization": "carol"}, timeout=60)  # the policy allows GET only
    assert (posted.status_code, posted.json()) == (403, {"Message": "User is not authorized to access this resource"})
    denied = requests.get(target, headers={"Authorization": "deny"}, timeout=60)
    assert denied.status_code == 403
