"""REST APIs (and HTTP APIs) from OpenAPI documents, imported through the endpoint with boto3:
Swagger 2.0 and OpenAPI 3, JSON and YAML, ImportRestApi and PutRestApi (overwrite, merge), the
``x-amazon-apigateway-*`` extensions and the base path modes; what is built is visible through
GetResources and served through the front door by a real (Docker) function; bad documents get
API Gateway's BadRequestException and the control plane keeps serving.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.exceptions
import pytest
import requests
import yaml

from emulator.testing.pytest_plugin import client as plugin_client

WEB = '''
import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"resource": event.get("resource") or event.get("routeKey"),
            "path": event.get("path") or event.get("rawPath"), "params": event.get("pathParameters")})}
'''
ARN = "arn:aws:lambda:us-east-1:123456789012:function:web"
URI = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{ARN}/invocations"


def integration(**extra: Any) -> dict[str, Any]:
    return {"type": "aws_proxy", "httpMethod": "POST", "uri": URI, "passthroughBehavior": "when_no_match", **extra}


SWAGGER: dict[str, Any] = {
    "swagger": "2.0", "info": {"title": "books", "version": "1"}, "basePath": "/v1",
    "x-amazon-apigateway-binary-media-types": ["image/png"], "x-amazon-apigateway-api-key-source": "HEADER",
    "definitions": {"Book": {"type": "object"}},
    "securityDefinitions": {
        "token": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "custom",
                  "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": URI,
                                                     "authorizerResultTtlInSeconds": 60}},
        "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}},
    "paths": {
        "/books/{id}": {
            "get": {"parameters": [{"name": "id", "in": "path", "required": True, "type": "string"},
                                   {"name": "lang", "in": "query", "type": "string"}],
                    "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Book"}}},
                    "x-amazon-apigateway-integration": integration(timeoutInMillis=5000, responses={
                        "default": {"statusCode": "200"}})},
            "delete": {"security": [{"token": []}], "x-amazon-apigateway-integration": integration()}},
        "/{proxy+}": {"x-amazon-apigateway-any-method": {"security": [{"api_key": []}],
                                                        "x-amazon-apigateway-integration": integration()}},
        "/mock": {"get": {"x-amazon-apigateway-integration": {
            "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": "{}"}}}}}},
    },
}
OPENAPI: dict[str, Any] = {
    "openapi": "3.0.1", "info": {"title": "shelves", "description": "from YAML"},
    "servers": [{"url": "https://example.com/{basePath}", "variables": {"basePath": {"default": "/prod/v2"}}}],
    "paths": {"/shelves/{shelf}": {"x-amazon-apigateway-any-method": {
        "parameters": [{"name": "shelf", "in": "path", "required": True, "schema": {"type": "string"}}],
        "x-amazon-apigateway-integration": integration()}}},
}


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory, cloudmicro_server: Any, docker_engine: Any) -> str:
    functions = tmp_path_factory.mktemp("import") / "functions"
    (functions / "web").mkdir(parents=True)
    (functions / "web" / "app.py").write_text(WEB)
    (functions / "web" / "function.json").write_text(json.dumps({"Handler": "app.handler"}))
    return str(cloudmicro_server(functions_dir=functions, executor="docker", state_dir=functions.parent / "state",
                                 deps_dir=None, seed_on_start=False, idle_timeout=600))


@pytest.fixture(scope="module")
def apigw(endpoint: str) -> Any:
    return plugin_client(endpoint, "apigateway")


def resources(apigw: Any, api_id: str) -> dict[str, dict[str, Any]]:
    return {r["path"]: r for r in apigw.get_resources(restApiId=api_id, embed=["methods"])["items"]}


def test_swagger_json_import_builds_what_api_gateway_builds_and_is_served(endpoint: str, apigw: Any) -> None:
    api = apigw.import_rest_api(body=json.dumps(SWAGGER).encode())
    assert api["name"] == "books" and api["binaryMediaTypes"] == ["image/png"] and api["apiKeySource"] == "HEADER"
    found = resources(apigw, api["id"])
    assert set(found) == {"/", "/books", "/books/{id}", "/{proxy+}", "/mock"}  # basepath=ignore (the default)
    assert found["/"]["id"] == api["rootResourceId"]
    get = found["/books/{id}"]["resourceMethods"]["GET"]
    assert get["requestParameters"] == {"method.request.path.id": True, "method.request.querystring.lang": False}
    assert get["methodResponses"]["200"]["responseModels"] == {"application/json": "Book"}
    assert get["methodIntegration"]["type"] == "AWS_PROXY" and get["methodIntegration"]["uri"] == URI
    assert get["methodIntegration"]["httpMethod"] == "POST"
    assert get["methodIntegration"]["passthroughBehavior"] == "WHEN_NO_MATCH"
    assert get["methodIntegration"]["timeoutInMillis"] == 5000
    assert get["methodIntegration"]["integrationResponses"]["200"]["statusCode"] == "200"
    (authorizer,) = apigw.get_authorizers(restApiId=api["id"])["items"]
    assert authorizer["name"] == "token" and authorizer["type"] == "TOKEN" and authorizer["authType"] == "custom"
    assert authorizer["identitySource"] == "method.request.header.Authorization"
    assert authorizer["authorizerResultTtlInSeconds"] == 60
    delete = found["/books/{id}"]["resourceMethods"]["DELETE"]
    assert delete["authorizationType"] == "CUSTOM" and delete["authorizerId"] == authorizer["id"]
    assert found["/{proxy+}"]["resourceMethods"]["ANY"]["apiKeyRequired"] is True
    mock = apigw.get_integration(restApiId=api["id"], resourceId=found["/mock"]["id"], httpMethod="GET")
    assert mock["type"] == "MOCK" and mock["requestTemplates"] == {"application/json": '{"statusCode": 200}'}
    assert [m["name"] for m in apigw.get_models(restApiId=api["id"])["items"]] == ["Book"]

    apigw.create_deployment(restApiId=api["id"], stageName="dev")
    answer = requests.get(f"{endpoint}/_aws/execute-api/{api['id']}/dev/books/42?lang=it", timeout=120)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"resource": "/books/{id}", "path": "/books/42", "params": {"id": "42"}}


def test_base_path_modes_and_openapi3_yaml(endpoint: str, apigw: Any) -> None:
    prepended = apigw.import_rest_api(body=yaml.safe_dump(SWAGGER).encode(), parameters={"basepath": "prepend"})
    assert {"/v1", "/v1/books/{id}", "/v1/{proxy+}"} <= set(resources(apigw, prepended["id"]))
    split = apigw.import_rest_api(body=yaml.safe_dump(OPENAPI).encode(), parameters={"basepath": "split"})
    assert split["description"] == "from YAML"
    found = resources(apigw, split["id"])
    assert set(found) == {"/", "/v2", "/v2/shelves", "/v2/shelves/{shelf}"}
    assert found["/v2/shelves/{shelf}"]["resourceMethods"]["ANY"]["methodIntegration"]["type"] == "AWS_PROXY"
    apigw.create_deployment(restApiId=split["id"], stageName="prod")
    answer = requests.patch(f"{endpoint}/_aws/execute-api/{split['id']}/prod/v2/shelves/top", timeout=120)
    assert answer.status_code == 200, answer.text
    assert answer.json()["resource"] == "/v2/shelves/{shelf}" and answer.json()["params"] == {"shelf": "top"}


def test_put_rest_api_overwrite_and_merge(endpoint: str, apigw: Any) -> None:
    api = apigw.create_rest_api(name="put")
    apigw.put_rest_api(restApiId=api["id"], mode="overwrite", body=yaml.safe_dump(SWAGGER).encode())
    assert "/books/{id}" in resources(apigw, api["id"])
    apigw.put_rest_api(restApiId=api["id"], mode="overwrite", body=json.dumps(OPENAPI).encode())
    after = apigw.get_rest_api(restApiId=api["id"])
    assert after["name"] == "shelves" and after["rootResourceId"] == api["rootResourceId"]
    assert set(resources(apigw, api["id"])) == {"/", "/shelves", "/shelves/{shelf}"}
    assert apigw.get_authorizers(restApiId=api["id"])["items"] == []
    apigw.put_rest_api(restApiId=api["id"], mode="merge", body=json.dumps(
        {"swagger": "2.0", "info": {"title": "shelves"}, "paths": {"/extra": {"get": {
            "x-amazon-apigateway-integration": integration()}}}}).encode())
    assert set(resources(apigw, api["id"])) == {"/", "/shelves", "/shelves/{shelf}", "/extra"}
    apigw.create_deployment(restApiId=api["id"], stageName="live")
    answer = requests.get(f"{endpoint}/_aws/execute-api/{api['id']}/live/extra", timeout=120)
    assert answer.status_code == 200 and answer.json()["resource"] == "/extra"


@pytest.mark.parametrize("body, says", [
    (b"{not: [json", "neither JSON nor YAML"),
    (b"- a list", "must be a JSON or YAML object"),
    (json.dumps({"info": {"title": "t"}, "paths": {}}).encode(), "neither 'swagger"),
    (json.dumps({"swagger": "2.0", "paths": {}}).encode(), "info.title"),
    (json.dumps({"openapi": "3.0.1", "info": {"title": "t"}, "paths": {"/a": {"get": {
        "x-amazon-apigateway-integration": {"type": "lambda"}}}}}).encode(), "invalid integration type"),
    (json.dumps({"openapi": "3.0.1", "info": {"title": "t"}, "paths": {"/{a}": {}, "/{b}/c": {}}}).encode(),
     "only one is allowed"),
    (json.dumps({"openapi": "3.0.1", "info": {"title": "t"}, "paths": {"/a": {"get": {
        "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": "not-an-arn"}}}}}
                ).encode(), "ARN"),
])
def test_a_bad_document_gets_bad_request_and_the_control_plane_still_serves(endpoint: str, apigw: Any, body: bytes,
                                                                          says: str) -> None:
    before = len(apigw.get_rest_apis(limit=500)["items"])
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        apigw.import_rest_api(body=body)
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "BadRequestException" and says in error["Error"]["Message"], error
    assert len(apigw.get_rest_apis(limit=500)["items"]) == before  # nothing half-made


def test_warnings_answer_or_refuse_with_failonwarnings_and_a_failed_put_changes_nothing(apigw: Any) -> None:
    document = {"openapi": "3.0.1", "info": {"title": "warned"}, "paths": {"/a": {"get": {"responses": {"200": {
        "description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Nope"}}}}}}}}}
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        apigw.import_rest_api(body=json.dumps(document).encode(), failOnWarnings=True)
    assert raised.value.response["Error"]["Message"].startswith("Warnings found during import")
    api = apigw.import_rest_api(body=json.dumps(document).encode())
    assert any("Nope" in warning for warning in api["warnings"])
    with pytest.raises(botocore.exceptions.ClientError):
        apigw.put_rest_api(restApiId=api["id"], mode="overwrite", body=json.dumps(
            {"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/b": {"get": {
                "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": "bad"}}}}}).encode())
    assert set(resources(apigw, api["id"])) == {"/", "/a"} and apigw.get_rest_api(restApiId=api["id"])["name"] == "warned"


def test_http_api_import_and_reimport_make_routes_and_integrations_that_serve(endpoint: str) -> None:
    v2 = plugin_client(endpoint, "apigatewayv2")
    document = {"openapi": "3.0.1", "info": {"title": "http", "version": "1"}, "paths": {
        "/items/{id}": {"get": {"x-amazon-apigateway-integration": {
            "type": "aws_proxy", "httpMethod": "POST", "uri": ARN, "payloadFormatVersion": "2.0",
            "timeoutInMillis": 6000}}}}}
    api = v2.import_api(Body=yaml.safe_dump(document))
    (route,) = v2.get_routes(ApiId=api["ApiId"])["Items"]
    (made,) = v2.get_integrations(ApiId=api["ApiId"])["Items"]
    assert route["RouteKey"] == "GET /items/{id}" and route["Target"] == f"integrations/{made['IntegrationId']}"
    assert made["IntegrationType"] == "AWS_PROXY" and made["PayloadFormatVersion"] == "2.0"
    assert made["TimeoutInMillis"] == 6000
    v2.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    answer = requests.get(f"{endpoint}/_aws/execute-api/{api['ApiId']}/items/9", timeout=120)
    assert answer.status_code == 200 and answer.json()["params"] == {"id": "9"}, answer.text
    document["paths"] = {"/{proxy+}": {"x-amazon-apigateway-any-method": document["paths"]["/items/{id}"]["get"]}}
    v2.reimport_api(ApiId=api["ApiId"], Body=json.dumps(document))
    assert [r["RouteKey"] for r in v2.get_routes(ApiId=api["ApiId"])["Items"]] == ["ANY /{proxy+}"]
    assert [s["StageName"] for s in v2.get_stages(ApiId=api["ApiId"])["Items"]] == ["$default"]
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        v2.import_api(Body="{broken")
    assert raised.value.response["Error"]["Code"] == "BadRequestException"
