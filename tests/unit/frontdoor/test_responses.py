"""Front-door responses (emulator/frontdoor/responses.py): a function's result becomes the service's
HTTP answer, and every shape the service refuses becomes that service's own error answer."""

from __future__ import annotations

import base64
import json

import pytest

from emulator.frontdoor.responses import (
    ALB_PAYLOAD_LIMIT,
    API_GATEWAY_PAYLOAD_LIMIT,
    FUNCTION_URL_PAYLOAD_LIMIT,
    alb_response,
    function_url_response,
    http_api_response,
    missing_route_http_api,
    missing_route_rest,
    payload_too_large_alb,
    payload_too_large_function_url,
    payload_too_large_http_api,
    payload_too_large_rest,
    rest_response,
    timeout_alb,
    timeout_http_api,
    timeout_rest,
)

IDS = {"request_id": "req-1", "extended_request_id": "ext-1", "trace_id": "Root=1-abc"}
ALB_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
           b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n")


def payload(value) -> bytes:
    return json.dumps(value).encode()


def rest(value, **options):
    return rest_response(value if isinstance(value, bytes) else payload(value),
                         function_error=options.pop("function_error", None), **IDS, **options)


# --------------------------------------------------------------------------- REST


def test_rest_response_merges_headers_and_adds_apigateways():
    response = rest({"statusCode": 201, "headers": {"X-One": "1", "Set-Cookie": "a=1", "X-Num": 5},
                     "multiValueHeaders": {"Set-Cookie": ["b=2", "c=3"]}, "body": "made", "isBase64Encoded": False})
    assert response.status == 201 and response.body == b"made"
    assert response.header_values("Set-Cookie") == ["b=2", "c=3"]
    assert response.header("X-One") == "1" and response.header("X-Num") == "5"
    assert response.header("Content-Type") == "application/json"
    assert (response.header("x-amzn-RequestId"), response.header("x-amz-apigw-id"),
            response.header("X-Amzn-Trace-Id")) == ("req-1", "ext-1", "Root=1-abc")


def test_rest_response_minimal_and_string_status():
    response = rest({"statusCode": "204"})
    assert (response.status, response.body) == (204, b"")
    assert rest({"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "hi"}).header(
        "Content-Type") == "text/plain"


def test_rest_response_base64_body_follows_binary_media_types():
    png = b"\x89PNG\x00\xff"
    result = {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "body": base64.b64encode(png).decode(),
              "isBase64Encoded": True}
    assert rest(result, binary_media_types=["image/*"]).body == png
    assert rest(result, binary_media_types=["application/pdf"], accept="application/pdf").body == png
    assert rest(result).body == base64.b64encode(png)  # no binary media type: the base64 text as is
    broken = rest({**result, "body": "not base64!"}, binary_media_types=["*/*"])
    assert broken.status == 500 and json.loads(broken.body) == {"message": "Internal server error"}


@pytest.mark.parametrize("result", [
    b"not json", b"", payload(None), payload("a string"), payload([1, 2]), payload({}),
    payload({"body": "no status"}),
    payload({"statusCode": 200, "cookies": ["a=1"]}),  # an unknown key: REST is strict
    payload({"statusCode": 200, "body": {"an": "object"}}),
    payload({"statusCode": 200, "body": ["a"]}),
    payload({"statusCode": True}), payload({"statusCode": "OK"}), payload({"statusCode": 99}),
    payload({"statusCode": 200, "headers": ["a"]}),
    payload({"statusCode": 200, "headers": {"X": {"nested": 1}}}),
    payload({"statusCode": 200, "multiValueHeaders": {"X": "not a list"}}),
    payload({"statusCode": 200, "isBase64Encoded": "yes"}),
])
def test_rest_malformed_results_answer_502(result):
    response = rest(result)
    assert response.status == 502
    assert response.body == b'{"message": "Internal server error"}'
    assert response.header("x-amzn-ErrorType") == "InternalServerErrorException"
    assert response.header("Content-Type") == "application/json" and response.header("x-amzn-RequestId") == "req-1"


def test_rest_function_error_answers_502():
    response = rest({"statusCode": 200, "body": "fine"}, function_error="Unhandled")
    assert response.status == 502 and json.loads(response.body) == {"message": "Internal server error"}


def test_rest_gateway_answers():
    missing = missing_route_rest(**IDS)
    assert (missing.status, missing.body) == (403, b'{"message":"Missing Authentication Token"}')
    assert missing.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
    timeout = timeout_rest(**IDS)
    assert (timeout.status, timeout.body) == (504, b'{"message": "Endpoint request timed out"}')
    large = payload_too_large_rest(**IDS)
    assert (large.status, large.body) == (413, b'{"message":"Request Too Long"}')
    assert API_GATEWAY_PAYLOAD_LIMIT == 10 * 1024 * 1024


# --------------------------------------------------------------------------- HTTP API


def http(value, **options):
    return http_api_response(value if isinstance(value, bytes) else payload(value),
                             function_error=options.pop("function_error", None), request_id="rid", **options)


@pytest.mark.parametrize("result", [{"message": "hi"}, "Hello from Lambda!", [1, 2], 42, None, True])
def test_http_api_infers_a_response_without_status_code(result):
    response = http(result)
    assert response.status == 200 and response.header("Content-Type") == "application/json"
    assert response.body == payload(result) and response.header("apigw-requestid") == "rid"


def test_http_api_custom_response_with_cookies_and_base64():
    response = http({"statusCode": 302, "headers": {"Location": "/next", "X-Many": "a,b"},
                     "cookies": ["a=1; Path=/", "b=2; Max-Age=60"], "body": base64.b64encode(b"\x00\x01").decode(),
                     "isBase64Encoded": True, "extra": "ignored"})
    assert response.status == 302 and response.body == b"\x00\x01"
    assert response.header("Location") == "/next" and response.header("X-Many") == "a,b"
    assert response.header_values("Set-Cookie") == ["a=1; Path=/", "b=2; Max-Age=60"]


@pytest.mark.parametrize("result", [
    b"not json", payload({"statusCode": "200"}), payload({"statusCode": 200, "body": {"x": 1}}),
    payload({"statusCode": 200, "cookies": "a=1"}), payload({"statusCode": 200, "cookies": [1]}),
    payload({"statusCode": 200, "headers": {"X": [1]}}),
    payload({"statusCode": 200, "isBase64Encoded": True, "body": "%%%"}),
])
def test_http_api_unmappable_results_answer_500(result):
    response = http(result)
    assert (response.status, response.body) == (500, b'{"message":"Internal Server Error"}')
    assert response.header("apigw-requestid") == "rid"


def test_http_api_function_error_and_gateway_answers():
    assert http({"statusCode": 200}, function_error="Unhandled").status == 500
    assert (missing_route_http_api(request_id="r").status, missing_route_http_api(request_id="r").body) == (
        404, b'{"message":"Not Found"}')
    assert timeout_http_api(request_id="r").status == 503
    assert payload_too_large_http_api(request_id="r").status == 413


def test_http_api_payload_1_0_response_is_rest_shaped():
    response = http({"statusCode": 200, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}, "body": "ok"},
                    format_version="1.0")
    assert response.status == 200 and response.header_values("Set-Cookie") == ["a=1", "b=2"]
    assert response.header("Content-Type") == "application/json"
    binary = http({"statusCode": 200, "body": "AAE=", "isBase64Encoded": True}, format_version="1.0")
    assert binary.body == b"\x00\x01"  # HTTP APIs have no binary media types: always decoded
    for malformed in ({"message": "no status"}, "text", {"statusCode": 200, "body": {"x": 1}}):
        refused = http(malformed, format_version="1.0")
        assert (refused.status, refused.body) == (500, b'{"message":"Internal Server Error"}')
    with pytest.raises(ValueError, match="format_version"):
        http({}, format_version="3.0")


# --------------------------------------------------------------------------- function URLs


def test_function_url_infers_and_customizes():
    string = function_url_response(payload("Hello, world!"), function_error=None, request_id="rid")
    assert (string.status, string.body, len(string.body)) == (200, b'"Hello, world!"', 15)
    custom = function_url_response(payload({"statusCode": 201, "headers": {"My-Custom-Header": "Custom Value"},
                                            "body": "{}", "cookies": ["Cookie_1=Value1"]}),
                                   function_error=None, request_id="rid")
    assert custom.status == 201 and custom.header("My-Custom-Header") == "Custom Value"
    assert custom.header_values("set-cookie") == ["Cookie_1=Value1"] and custom.header("x-amzn-RequestId") == "rid"


@pytest.mark.parametrize("result", [b"<html>", payload({"statusCode": 200, "body": {"x": 1}}),
                                    payload({"statusCode": 1000})])
def test_function_url_errors_answer_502(result):
    for response in (function_url_response(result, function_error=None, request_id="rid"),
                     function_url_response(payload({}), function_error="Unhandled", request_id="rid")):
        assert (response.status, response.body) == (502, b"Internal Server Error")
    large = payload_too_large_function_url(request_id="rid")
    assert large.status == 413 and FUNCTION_URL_PAYLOAD_LIMIT == 6 * 1024 * 1024


# --------------------------------------------------------------------------- ALB


def test_alb_response_single_and_multi_value_headers():
    result = {"isBase64Encoded": False, "statusCode": 200, "statusDescription": "200 OK",
              "headers": {"Set-cookie": "cookies", "Content-Type": "application/json"},
              "multiValueHeaders": {"Set-cookie": ["a=1", "b=2"], "Content-Type": ["text/plain"]},
              "body": "Hello from Lambda (optional)"}
    single = alb_response(payload(result), function_error=None, multi_value=False)
    assert single.status == 200 and single.body == b"Hello from Lambda (optional)"
    assert single.header_values("Set-cookie") == ["cookies"] and single.header("Content-Type") == "application/json"
    multi = alb_response(payload(result), function_error=None, multi_value=True)
    assert multi.header_values("Set-cookie") == ["a=1", "b=2"] and multi.header("Content-Type") == "text/plain"
    binary = alb_response(payload({"statusCode": 200, "body": "AAE=", "isBase64Encoded": True}),
                          function_error=None, multi_value=False)
    assert binary.body == b"\x00\x01" and binary.headers == ()


@pytest.mark.parametrize("result", [
    b"nope", payload("text"), payload({"body": "no status"}), payload({"statusCode": "200"}),
    payload({"statusCode": 200, "statusDescription": 200}), payload({"statusCode": 200, "body": {"x": 1}}),
    payload({"statusCode": 200, "isBase64Encoded": True, "body": "%%"}),
    payload({"statusCode": 200, "body": "x" * ALB_PAYLOAD_LIMIT}),
])
def test_alb_malformed_or_oversized_results_answer_its_502_page(result):
    response = alb_response(result, function_error=None, multi_value=False)
    assert (response.status, response.body) == (502, ALB_502)
    assert response.header("Server") == "awselb/2.0" and response.header("Content-Type") == "text/html"


def test_alb_function_error_timeout_and_large_request():
    assert alb_response(payload({"statusCode": 200}), function_error="Unhandled", multi_value=False).body == ALB_502
    assert timeout_alb().status == 502
    large = payload_too_large_alb()
    assert large.status == 413 and b"<title>413 Request Entity Too Large</title>" in large.body
