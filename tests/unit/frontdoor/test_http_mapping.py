"""HTTP API parameter mapping (AWS's table of keys and values, http-api-parameter-mapping)."""

from __future__ import annotations

import json

from emulator.frontdoor.http_mapping import Mapped, apply, request_resolver, response_resolver

HEADERS = [("X-Team", "north"), ("x-team", "south"), ("Accept", "application/json")]
QUERY = [("color", "brown"), ("color", "white"), ("size", "s")]
BODY = json.dumps({"order": {"id": 7, "items": ["a", "b"]}, "note": "hi"}).encode()
CONTEXT = {"requestId": "req-1", "identity": {"sourceIp": "127.0.0.1"}, "authorizer": {"claims": {"sub": "u1"}}}


def resolve(expression: str) -> str | None:
    return request_resolver(HEADERS, QUERY, BODY, "/pets/7", {"id": "7"}, CONTEXT, {"env": "dev"})(expression)


def test_request_values_as_documented():
    assert resolve("request.header.x-team") == "north,south"  # any case, repeated values joined
    assert resolve("request.querystring.color") == "brown,white"
    assert resolve("request.querystring.Color") is None  # query names are case-sensitive
    assert resolve("request.body.order.id") == "7" and resolve("request.body.note") == "hi"
    assert resolve("request.body.order.items") == '["a","b"]' and resolve("request.body") == BODY.decode()
    assert (resolve("request.path"), resolve("request.path.id")) == ("/pets/7", "7")
    assert resolve("context.identity.sourceIp") == "127.0.0.1" and resolve("context.authorizer.claims.sub") == "u1"
    assert resolve("stageVariables.env") == "dev" and resolve("request.header.absent") is None


def test_request_keys_append_overwrite_remove_and_path():
    mapped = apply({"append:header.X-Team": "east", "overwrite:header.accept": "text/plain",
                    "remove:querystring.size": "''", "overwrite:querystring.color": "$request.path.id",
                    "append:querystring.who": "${context.authorizer.claims.sub}-${stageVariables.env}",
                    "overwrite:path": "/v2/orders/$request.body.order.id",
                    "append:header.x-missing": "$request.header.absent", "bogus:key": "x"},
                   Mapped(list(HEADERS), list(QUERY)), resolve)
    assert mapped.headers == [("X-Team", "north"), ("x-team", "south"), ("X-Team", "east"),
                              ("accept", "text/plain")]  # a value that names nothing adds nothing
    assert mapped.query == [("color", "7"), ("who", "u1-dev")]
    assert mapped.path == "/v2/orders/$request.body.order.id"  # one $expression is the whole value, else text


def test_a_whole_value_expression_and_a_static_value():
    mapped = apply({"overwrite:path": "$request.path", "append:header.x-static": "static value"},
                   Mapped([], []), resolve)
    assert mapped.path == "/pets/7" and mapped.headers == [("x-static", "static value")]


def test_response_keys_and_values():
    answer_headers = [("Content-Type", "application/json"), ("X-Internal", "secret")]
    body = json.dumps({"result": {"code": "ok"}}).encode()
    back = apply({"overwrite:statuscode": "204", "remove:header.x-internal": "''",
                  "append:header.x-result": "$response.body.result.code",
                  "append:header.x-type": "$response.header.content-type"},
                 Mapped(list(answer_headers), []), response_resolver(answer_headers, body, CONTEXT, {}))
    assert back.status == 204
    assert back.headers == [("Content-Type", "application/json"), ("x-result", "ok"), ("x-type", "application/json")]
