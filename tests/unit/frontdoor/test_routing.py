"""Which front door a request is for, and which route of an API serves a path: API Gateway's
rules (a literal segment before a ``{param}``, before a greedy ``{proxy+}``), without a server."""

from __future__ import annotations

from emulator.frontdoor.apis import Api, Method, Route, segments_of
from emulator.frontdoor.routes import Door, door_of


def scope(path: str, host: str = "127.0.0.1:4566", raw: bytes | None = None) -> dict:
    return {"type": "http", "path": path, "raw_path": raw if raw is not None else path.encode(),
            "headers": [(b"host", host.encode())]}


def test_the_three_execute_api_forms_and_the_function_url_forms():
    assert door_of(scope("/dev/a", "abc.execute-api.localhost:4566")) == Door("execute-api", "abc", "/dev/a", "/dev/a")
    assert door_of(scope("/dev/a", "abc.execute-api.us-east-1.localhost")) == Door(
        "execute-api", "abc", "/dev/a", "/dev/a")
    assert door_of(scope("/_aws/execute-api/abc/dev/a%2Fb", raw=b"/_aws/execute-api/abc/dev/a%2Fb")) == Door(
        "execute-api", "abc", "/dev/a%2Fb", "/dev/a%2Fb")
    assert door_of(scope("/restapis/abc/dev/_user_request_/x/y")) == Door("execute-api", "abc", "/dev/x/y", "/dev/x/y")
    assert door_of(scope("/restapis/abc/dev/_user_request_")) == Door("execute-api", "abc", "/dev/", "/dev/")
    assert door_of(scope("/p", "u1.lambda-url.us-east-1.localhost:4566")) == Door("lambda-url", "u1", "/p", "/p")
    assert door_of(scope("/_aws/lambda-url/u1/p/q")) == Door("lambda-url", "u1", "/p/q", "/p/q")


def test_the_load_balancer_forms():
    assert door_of(scope("/a%20b", "shop.elb.localhost:4566", raw=b"/a%20b")) == Door("alb", "shop", "/a%20b", "/a%20b")
    assert door_of(scope("/_aws/elb/shop/x/y")) == Door("alb", "shop", "/x/y", "/x/y")
    assert door_of(scope("/_aws/elb/shop:8080")) == Door("alb", "shop:8080", "/", "/")
    assert door_of(scope("/_aws/elb/")) is None
    assert door_of(scope("/x", "a.b.elb.localhost")) is None


def test_aws_api_requests_are_no_front_door_requests():
    for path in ("/", "/restapis", "/restapis/abc/resources", "/2015-03-31/functions", "/bucket/key",
                 "/_aws/execute-api/"):
        assert door_of(scope(path)) is None, path
    assert door_of(scope("/x", "localhost:4566")) is None
    assert door_of(scope("/x", "bucket.s3.localhost")) is None


def api(*templates: str) -> Api:
    return Api("id", "REST", "api", tuple(Route(t, segments_of(t), {"GET": Method("GET")}) for t in templates), {})


def test_the_most_specific_route_wins_and_binds_its_parameters():
    routes = api("/", "/items", "/items/{id}", "/items/special", "/{proxy+}", "/items/{id}/{rest+}")
    assert routes.match("/")[0].template == "/"
    assert routes.match("/items/special") == (routes.routes[3], {})
    assert routes.match("/items/7") == (routes.routes[2], {"id": "7"})
    assert routes.match("/items/7/a/b") == (routes.routes[5], {"id": "7", "rest": "a/b"})
    assert routes.match("/other/x/y") == (routes.routes[4], {"proxy": "other/x/y"})


def test_a_greedy_parameter_takes_one_segment_at_least_and_nothing_else_matches_nothing():
    only_greedy = api("/{proxy+}")
    assert only_greedy.match("/") is None
    assert api("/a/{b}").match("/a") is None
    assert api("/a/{b}").match("/a/x/y") is None
