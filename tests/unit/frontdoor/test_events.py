"""Front-door events (emulator/frontdoor/events.py): each builder's event has AWS's documented shape,
validates against Powertools' pydantic models, and routes through Powertools' resolvers, whose
answer maps back through emulator/frontdoor/responses.py to the HTTP response a client gets."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
from aws_lambda_powertools.event_handler import (
    ALBResolver,
    APIGatewayHttpResolver,
    APIGatewayRestResolver,
    LambdaFunctionUrlResolver,
)
from aws_lambda_powertools.utilities.parser.models import (
    AlbModel,
    APIGatewayProxyEventModel,
    APIGatewayProxyEventV2Model,
    LambdaFunctionUrlModel,
)

from emulator.frontdoor.events import (
    alb_event,
    clf_time,
    default_trace_id,
    function_url_event,
    http_api_event,
    http_api_v1_event,
    is_binary,
    is_binary_content,
    rest_event,
)
from emulator.frontdoor.request import HttpRequest
from emulator.frontdoor.responses import alb_response, function_url_response, http_api_response, rest_response

NOW = datetime(2026, 12, 4, 7, 21, 17, 456000, tzinfo=UTC).timestamp()
TGA = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/my-targets/73e2d6bc24d8a067"
HEADERS = (
    ("Host", "localhost:9000"),
    ("User-Agent", "curl/8.5.0"),
    ("Accept", "*/*"),
    ("X-Multi", "one"),
    ("x-multi", "two"),
    ("Cookie", "session=abc; theme=dark"),
    ("Cookie", "lang=en"),
)


def request(method: str = "GET", raw_path: str = "/items/a%20b/c", query: bytes = b"tag=x&tag=y&q=hello%20world&e=",
            headers: tuple[tuple[str, str], ...] = HEADERS, body: bytes = b"", scheme: str = "http") -> HttpRequest:
    return HttpRequest(method=method, path=unquote(raw_path), raw_path=raw_path, query=query, headers=headers,
                       body=body, source_ip="203.0.113.7", scheme=scheme, host="localhost:9000")


def rest(req: HttpRequest | None = None, **overrides) -> dict:
    options = dict(resource="/items/{proxy+}", path_parameters={"proxy": "a b/c"}, stage="dev", stage_variables=None,
                   api_id="a1b2c3d4e5", account_id="123456789012", request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
                   extended_request_id="CpvA7FmdIAMEbVw=", now=NOW, binary=False,
                   domain_name="a1b2c3d4e5.execute-api.localhost:9000")
    options.update(overrides)
    return rest_event(req or request(), **options)


def http(req: HttpRequest | None = None, **overrides) -> dict:
    options = dict(route_key="GET /items/{id}/{rest+}", raw_path="/items/a%20b/c", stage="$default",
                   path_parameters={"id": "a b", "rest": "c"}, stage_variables=None, api_id="h1t2t3p4a5",
                   account_id="123456789012", request_id="JnHf-jxxIAMEb2A=", now=NOW, binary=False,
                   domain_name="h1t2t3p4a5.execute-api.localhost:9000")
    options.update(overrides)
    return http_api_event(req or request(), **options)


def url(req: HttpRequest | None = None, **overrides) -> dict:
    options = dict(url_id="abcdefghijklmnopqrstuvwxyz012345", region="us-east-1", account_id="123456789012",
                   request_id="e1506fd5-9e7b-434f-bd42-4f8fa224b599", now=NOW, binary=False, auth_type="NONE")
    options.update(overrides)
    return function_url_event(req or request(), **options)


# --------------------------------------------------------------------------- shared rules


def test_clf_time_and_trace_id():
    assert clf_time(NOW) == "04/Dec/2026:07:21:17 +0000"
    assert default_trace_id(NOW, "r") == default_trace_id(NOW, "r")
    assert default_trace_id(NOW, "r").startswith(f"Root=1-{int(NOW):08x}-")


@pytest.mark.parametrize(("content_type", "types", "expected"), [
    ("image/png", ["image/png"], True),
    ("image/png; q=1", ["image/*"], True),
    ("image/png", ["*/*"], True),
    ("image/png", ["*~1*"], True),
    (None, ["*/*"], True),
    (None, ["image/*"], False),
    ("application/json", ["image/*"], False),
    ("application/octet-stream", [], False),
])
def test_rest_binary_media_types(content_type, types, expected):
    assert is_binary(content_type, types) is expected


@pytest.mark.parametrize(("content_type", "expected"), [
    ("text/plain", False), ("text/html; charset=utf-8", False), ("application/json", False),
    ("application/javascript", False), ("application/xml", False), ("Application/JSON; charset=UTF-8", False),
    ("application/octet-stream", True), ("image/png", True), ("application/x-www-form-urlencoded", True),
    ("multipart/form-data; boundary=x", True), (None, True),
])
def test_text_or_binary_for_http_apis_urls_and_albs(content_type, expected):
    assert is_binary_content(content_type) is expected


# --------------------------------------------------------------------------- REST


def test_rest_event_has_payload_1_0_shape():
    event = rest()
    APIGatewayProxyEventModel.model_validate(event)
    assert list(event) == ["resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
                           "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext",
                           "body", "isBase64Encoded"]
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/items/{proxy+}", "/items/a b/c", "GET")
    assert event["headers"]["X-Multi"] == "two" and event["multiValueHeaders"]["X-Multi"] == ["one", "two"]
    assert event["multiValueHeaders"]["Cookie"] == ["session=abc; theme=dark", "lang=en"]
    assert event["headers"]["X-Forwarded-For"] == "203.0.113.7"
    assert (event["headers"]["X-Forwarded-Port"], event["headers"]["X-Forwarded-Proto"]) == ("9000", "http")
    assert event["headers"]["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert event["queryStringParameters"] == {"tag": "y", "q": "hello world", "e": ""}
    assert event["multiValueQueryStringParameters"] == {"tag": ["x", "y"], "q": ["hello world"], "e": [""]}
    assert event["pathParameters"] == {"proxy": "a b/c"}
    assert event["stageVariables"] is None and event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert list(context) == ["accountId", "apiId", "domainName", "domainPrefix", "extendedRequestId", "httpMethod",
                             "identity", "path", "protocol", "requestId", "requestTime", "requestTimeEpoch",
                             "resourceId", "resourcePath", "stage"]
    assert context["path"] == "/dev/items/a b/c" and context["stage"] == "dev"
    assert (context["protocol"], context["requestTime"]) == ("HTTP/1.1", "04/Dec/2026:07:21:17 +0000")
    assert context["requestTimeEpoch"] == int(NOW * 1000)
    assert (context["domainName"], context["domainPrefix"]) == ("a1b2c3d4e5.execute-api.localhost:9000", "a1b2c3d4e5")
    assert (context["extendedRequestId"], context["resourcePath"]) == ("CpvA7FmdIAMEbVw=", "/items/{proxy+}")
    assert len(context["resourceId"]) == 6 and context["resourceId"] == rest()["requestContext"]["resourceId"]
    assert context["identity"] == {
        "accessKey": None, "accountId": None, "caller": None, "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None, "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
        "principalOrgId": None, "sourceIp": "203.0.113.7", "user": None, "userAgent": "curl/8.5.0", "userArn": None}


def test_rest_event_without_headers_query_or_parameters_has_nulls():
    bare = HttpRequest(method="POST", path="/", raw_path="/", query=b"", headers=(), body=b"{}",
                       source_ip="127.0.0.1", host="")
    event = rest(bare, resource="/", path_parameters=None, stage_variables={"env": "local"})
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None and event["stageVariables"] == {"env": "local"}
    assert event["body"] == "{}" and event["requestContext"]["identity"]["userAgent"] is None
    assert set(event["headers"]) == {"X-Amzn-Trace-Id", "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto"}
    assert event["headers"]["X-Forwarded-Port"] == "80"


def test_rest_event_binary_body_authorizer_and_forwarded_chain():
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    req = request("POST", body=png, scheme="https",
                  headers=(("Host", "api.example.com"), ("Content-Type", "image/png"), ("X-Forwarded-For", "10.0.0.1"),
                           ("X-Amzn-Trace-Id", "Root=1-abc")))
    event = rest(req, binary=is_binary("image/png", ["image/*"]), authorizer={"principalId": "user", "claims": None})
    APIGatewayProxyEventModel.model_validate(event)
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == png
    assert event["requestContext"]["authorizer"] == {"principalId": "user", "claims": None}
    assert list(event["requestContext"])[:3] == ["accountId", "apiId", "authorizer"]
    assert event["headers"]["X-Forwarded-For"] == "10.0.0.1, 203.0.113.7"
    assert event["headers"]["X-Amzn-Trace-Id"] == "Root=1-abc"
    assert (event["headers"]["X-Forwarded-Port"], event["headers"]["X-Forwarded-Proto"]) == ("443", "https")


def test_rest_event_routes_through_powertools_and_maps_back():
    app = APIGatewayRestResolver()

    @app.get("/items/<item>/c")
    def get_item(item: str):
        return {"item": item, "tag": app.current_event.get_query_string_value("tag"),
                "tags": app.current_event.get_multi_value_query_string_values("tag")}

    event = rest(rest_event_request := request(raw_path="/items/a%20b/c"))
    assert rest_event_request.path == "/items/a b/c"
    result = app.resolve(event, None)
    response = rest_response(json.dumps(result).encode(), function_error=None, request_id="r", extended_request_id="e",
                             trace_id="Root=1-x")
    assert response.status == 200 and response.header("Content-Type") == "application/json"
    assert json.loads(response.body) == {"item": "a b", "tag": "y", "tags": ["x", "y"]}
    assert response.header("x-amzn-RequestId") == "r" and response.header("x-amz-apigw-id") == "e"

    missing = app.resolve(rest(request(raw_path="/nowhere")), None)
    assert rest_response(json.dumps(missing).encode(), function_error=None, request_id="r", extended_request_id="e",
                         trace_id="t").status == 404


# --------------------------------------------------------------------------- HTTP API 2.0 and 1.0


def test_http_api_event_has_payload_2_0_shape():
    event = http()
    APIGatewayProxyEventV2Model.model_validate(event)
    assert list(event) == ["version", "routeKey", "rawPath", "rawQueryString", "cookies", "headers",
                           "queryStringParameters", "requestContext", "pathParameters", "isBase64Encoded"]
    assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "GET /items/{id}/{rest+}", "/items/a%20b/c")
    assert event["rawQueryString"] == "tag=x&tag=y&q=hello%20world&e="
    assert event["cookies"] == ["session=abc", "theme=dark", "lang=en"]
    assert "cookie" not in event["headers"] and all(name == name.lower() for name in event["headers"])
    assert event["headers"]["x-multi"] == "one,two" and event["headers"]["x-forwarded-for"] == "203.0.113.7"
    assert event["queryStringParameters"] == {"tag": "x,y", "q": "hello world", "e": ""}
    assert event["pathParameters"] == {"id": "a b", "rest": "c"}
    assert "body" not in event and "stageVariables" not in event and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert list(context) == ["accountId", "apiId", "domainName", "domainPrefix", "http", "requestId", "routeKey",
                             "stage", "time", "timeEpoch"]
    assert context["http"] == {"method": "GET", "path": "/items/a b/c", "protocol": "HTTP/1.1",
                               "sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0"}
    assert (context["stage"], context["routeKey"], context["domainPrefix"]) == (
        "$default", "GET /items/{id}/{rest+}", "h1t2t3p4a5")
    assert (context["time"], context["timeEpoch"]) == ("04/Dec/2026:07:21:17 +0000", int(NOW * 1000))


def test_http_api_event_without_extras_and_with_binary_body_stage_and_authorizer():
    bare = HttpRequest(method="POST", path="/upload", raw_path="/dev/upload", query=b"", headers=(("Host", "h"),),
                       body=b"\x00\x01", source_ip="127.0.0.1", host="h")
    jwt = {"jwt": {"claims": {"sub": "42"}, "scopes": None}}
    event = http(bare, route_key="POST /upload", raw_path="/dev/upload", stage="dev", path_parameters=None,
                 stage_variables={"table": "t"}, binary=is_binary_content(None), authorizer=jwt)
    APIGatewayProxyEventV2Model.model_validate(event)
    assert "cookies" not in event and "queryStringParameters" not in event and "pathParameters" not in event
    assert event["rawQueryString"] == "" and event["stageVariables"] == {"table": "t"}
    assert event["body"] == "AAE=" and event["isBase64Encoded"] is True
    assert event["requestContext"]["authorizer"] == jwt and event["requestContext"]["http"]["userAgent"] == ""
    assert event["requestContext"]["http"]["path"] == "/dev/upload"


def test_http_api_event_routes_through_powertools_and_maps_back():
    app = APIGatewayHttpResolver()

    @app.post("/orders/<order_id>")
    def post_order(order_id: str):
        return {"order": order_id, "q": app.current_event.get_query_string_value("q"),
                "body": app.current_event.json_body}

    req = request("POST", raw_path="/dev/orders/7", query=b"q=fast", body=b'{"n": 1}',
                  headers=(("Host", "h"), ("Content-Type", "application/json")))
    event = http(req, route_key="POST /orders/{order_id}", raw_path="/dev/orders/7", stage="dev",
                 path_parameters={"order_id": "7"}, binary=is_binary_content("application/json"))
    assert event["body"] == '{"n": 1}'
    result = app.resolve(event, None)
    response = http_api_response(json.dumps(result).encode(), function_error=None, request_id="rid")
    assert response.status == 200 and response.header("apigw-requestid") == "rid"
    assert json.loads(response.body) == {"order": "7", "q": "fast", "body": {"n": 1}}


def test_http_api_payload_1_0_event():
    event = http_api_v1_event(request(), route_key="GET /items/{id}/{rest+}", raw_path="/items/a%20b/c",
                              stage="$default", path_parameters={"id": "a b", "rest": "c"}, stage_variables=None,
                              api_id="h1t2t3p4a5", account_id="123456789012", request_id="JnHf-jxxIAMEb2A=", now=NOW,
                              binary=False, domain_name="h1t2t3p4a5.execute-api.localhost:9000")
    APIGatewayProxyEventModel.model_validate(event)
    assert (event["version"], event["resource"], event["path"]) == ("1.0", "/items/{id}/{rest+}", "/items/a b/c")
    assert all(name == name.lower() for name in event["headers"])
    assert event["multiValueHeaders"]["x-multi"] == ["one", "two"] and event["headers"]["x-multi"] == "two"
    assert event["headers"]["cookie"] == "lang=en"
    assert event["queryStringParameters"]["tag"] == "y" and event["multiValueQueryStringParameters"]["tag"] == ["x", "y"]
    context = event["requestContext"]
    assert context["resourceId"] is None and context["resourcePath"] == "/items/{id}/{rest+}"
    assert context["extendedRequestId"] == context["requestId"] == "JnHf-jxxIAMEb2A="
    assert context["path"] == "/items/a b/c" and context["stage"] == "$default"

    app = APIGatewayRestResolver()

    @app.get("/items/<item>/c")
    def get_item(item: str):
        return {"item": item}

    result = app.resolve(event, None)
    response = http_api_response(json.dumps(result).encode(), function_error=None, request_id="r", format_version="1.0")
    assert response.status == 200 and json.loads(response.body) == {"item": "a b"}


# --------------------------------------------------------------------------- function URLs


def test_function_url_event_auth_none():
    event = url()
    LambdaFunctionUrlModel.model_validate(event)
    assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "$default", "/items/a%20b/c")
    assert event["cookies"] == ["session=abc", "theme=dark", "lang=en"]
    assert "pathParameters" not in event and "stageVariables" not in event and "body" not in event
    context = event["requestContext"]
    assert list(context) == ["accountId", "apiId", "domainName", "domainPrefix", "http", "requestId", "routeKey",
                             "stage", "time", "timeEpoch"]
    assert (context["accountId"], context["apiId"], context["domainPrefix"]) == (
        "anonymous", "abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345")
    assert context["domainName"] == "localhost:9000"
    assert (context["routeKey"], context["stage"]) == ("$default", "$default")
    assert context["http"]["path"] == "/items/a b/c" and context["time"] == "04/Dec/2026:07:21:17 +0000"


def test_function_url_event_aws_iam_and_binary_body():
    caller = {"accessKey": "AKIAIOSFODNN7EXAMPLE", "accountId": "111122223333", "callerId": "AIDACKCEVSQ6C2EXAMPLE",
              "userArn": "arn:aws:iam::111122223333:user/example-user", "userId": "AIDACKCEVSQ6C2EXAMPLE"}
    req = request("PUT", body=b"\xff\xd8\xff", headers=(("Host", "x.lambda-url.us-east-1.localhost"),
                                                          ("Content-Type", "image/jpeg")))
    event = url(req, auth_type="AWS_IAM", iam=caller, binary=is_binary_content("image/jpeg"))
    LambdaFunctionUrlModel.model_validate(event)
    context = event["requestContext"]
    assert context["accountId"] == "111122223333"
    assert context["authorizer"] == {"iam": {**caller, "cognitoIdentity": None, "principalOrgId": None}}
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\xd8\xff"
    with pytest.raises(ValueError, match="auth_type"):
        url(auth_type="JWT")


def test_function_url_event_routes_through_powertools_and_maps_back():
    app = LambdaFunctionUrlResolver()

    @app.get("/hello/<name>")
    def hello(name: str):
        return {"hello": name, "lang": app.current_event.get_query_string_value("lang")}

    result = app.resolve(url(request(raw_path="/hello/J%C3%BCrgen", query=b"lang=de")), None)
    response = function_url_response(json.dumps(result).encode(), function_error=None, request_id="rid")
    assert response.status == 200 and response.header("x-amzn-RequestId") == "rid"
    # function URLs have no pathParameters: Powertools matches rawPath, which stays percent-encoded
    assert json.loads(response.body) == {"hello": "J%C3%BCrgen", "lang": "de"}


# --------------------------------------------------------------------------- ALB


def test_alb_event_single_value():
    event = alb_event(request(), target_group_arn=TGA, multi_value=False, binary=False)
    AlbModel.model_validate(event)
    assert list(event) == ["requestContext", "httpMethod", "path", "queryStringParameters", "headers", "body",
                           "isBase64Encoded"]
    assert event["requestContext"] == {"elb": {"targetGroupArn": TGA}}
    assert (event["httpMethod"], event["path"]) == ("GET", "/items/a%20b/c")
    assert event["queryStringParameters"] == {"tag": "y", "q": "hello%20world", "e": ""}
    assert all(name == name.lower() for name in event["headers"])
    assert event["headers"]["cookie"] == "lang=en" and event["headers"]["x-multi"] == "two"
    assert event["headers"]["x-forwarded-for"] == "203.0.113.7" and "x-amzn-trace-id" not in event["headers"]
    assert (event["body"], event["isBase64Encoded"]) == ("", False)


def test_alb_event_multi_value_binary_and_empty_query():
    req = request("POST", query=b"", body=b"a=1&b=2",
                  headers=(("Host", "alb"), ("Content-Type", "application/x-www-form-urlencoded"),
                           ("Cookie", "name1=value1"), ("Cookie", "name2=value2")))
    event = alb_event(req, target_group_arn=TGA, multi_value=True, binary=is_binary_content(req.header("content-type")),
                      trace_id="Root=1-5bdb40ca-556d8b0c50dc66f0511bf520")
    assert "headers" not in event and "queryStringParameters" not in event
    assert event["multiValueQueryStringParameters"] == {}
    assert event["multiValueHeaders"]["cookie"] == ["name1=value1", "name2=value2"]
    assert event["multiValueHeaders"]["x-amzn-trace-id"] == ["Root=1-5bdb40ca-556d8b0c50dc66f0511bf520"]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"a=1&b=2"
    single = alb_event(req, target_group_arn=TGA, multi_value=False, binary=False)
    assert single["queryStringParameters"] == {} and single["body"] == "a=1&b=2"
    AlbModel.model_validate(single)


@pytest.mark.parametrize("multi_value", [False, True])
def test_alb_event_routes_through_powertools_and_maps_back(multi_value):
    app = ALBResolver()

    @app.get("/items/<item>")
    def get_item(item: str):
        # with multi-value headers on, the ALB sends only multiValueQueryStringParameters
        return {"item": item, "q": app.current_event.get_multi_value_query_string_values("q") if multi_value
                else app.current_event.get_query_string_value("q")}

    event = alb_event(request(raw_path="/items/7", query=b"q=x"), target_group_arn=TGA, multi_value=multi_value,
                      binary=False)
    result = app.resolve(event, None)
    response = alb_response(json.dumps(result).encode(), function_error=None, multi_value=multi_value)
    assert response.status == 200 and json.loads(response.body) == {"item": "7", "q": ["x"] if multi_value else "x"}
    assert response.header("Content-Type") == "application/json"
