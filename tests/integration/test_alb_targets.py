"""Application Load Balancers with Lambda targets are served for real: a load balancer, target
groups of type ``lambda``, a listener and its rules made with boto3's elbv2 answer at
``{name}.elb.localhost`` (the DNSName) and at ``/_aws/elb/{name}``: the event validates with
Powertools' ``AlbModel`` and names the target group; multi-value headers follow the group's
attribute; rules by path, host, header, method, query and source IP pick the right group;
fixed responses and redirects answer as an ALB does; 502 for a failing or malformed function,
503 for a group with no target, 413 for a body over 1 MB; Powertools' ``ALBResolver`` resolves
a route with a path parameter (Docker).
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from typing import Any

import pytest
import requests
from aws_lambda_powertools.utilities.parser.models import AlbModel

from emulator.testing.pytest_plugin import client as plugin_client
from tests.integration.test_powertools_resolvers import vendor

ECHO = '''
import json


def handler(event, context):
    query = event.get("multiValueQueryStringParameters") or event.get("queryStringParameters") or {}
    if "fail" in query:
        raise ValueError("broken on purpose")
    if "bad" in query:
        return "not a target response"
    if "big" in query:
        return {"statusCode": 200, "body": "x" * (1024 * 1024 + 10)}
    body = json.dumps({"event": event})
    if "multiValueHeaders" in event:
        return {"statusCode": 201, "statusDescription": "201 Created",
                "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "Content-Type": ["application/json"]},
                "body": body}
    return {"statusCode": 200, "statusDescription": "200 Fine Thanks", "headers": {"Content-Type": "application/json"},
            "body": body}
'''
RESOLVER_APP = '''
from aws_lambda_powertools.event_handler import ALBResolver

app = ALBResolver()


@app.get("/items/<item_id>")
def get_item(item_id):
    return {"id": item_id, "q": app.current_event.get_query_string_value("q")}


def handler(event, context):
    return app.resolve(event, context)
'''
GROUPS = ("single", "multi", "byhost", "byheader", "bymethod", "byquery", "empty", "pt")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, cloudmicro_server: Any, docker_engine: Any) -> dict[str, Any]:
    functions = tmp_path_factory.mktemp("alb") / "functions"
    (functions / "echo").mkdir(parents=True)
    (functions / "echo" / "app.py").write_text(ECHO)
    (functions / "echo" / "function.json").write_text(json.dumps({"Handler": "app.handler", "Timeout": 30}))
    (functions / "ptapp").mkdir()
    (functions / "ptapp" / "app.py").write_text(RESOLVER_APP)
    (functions / "ptapp" / "function.json").write_text(json.dumps({"Handler": "app.handler", "Timeout": 30}))
    vendor(functions / "ptapp")
    endpoint = str(cloudmicro_server(functions_dir=functions, executor="docker", state_dir=functions.parent / "state",
                                     deps_dir=None, seed_on_start=False, idle_timeout=600))
    lam, elb, ec2 = (plugin_client(endpoint, name) for name in ("lambda", "elbv2", "ec2"))
    echo_arn = lam.get_function(FunctionName="echo")["Configuration"]["FunctionArn"]
    pt_arn = lam.get_function(FunctionName="ptapp")["Configuration"]["FunctionArn"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"][:2]]
    balancer = elb.create_load_balancer(Name="shop", Type="application", Subnets=subnets)["LoadBalancers"][0]
    groups: dict[str, str] = {}
    for name in GROUPS:
        arn = elb.create_target_group(Name=name, TargetType="lambda")["TargetGroups"][0]["TargetGroupArn"]
        groups[name] = arn
        if name != "empty":
            elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": pt_arn if name == "pt" else echo_arn}])
    elb.modify_target_group_attributes(TargetGroupArn=groups["multi"], Attributes=[
        {"Key": "lambda.multi_value_headers.enabled", "Value": "true"}])
    listener = elb.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Port=80, Protocol="HTTP",
                                   DefaultActions=[{"Type": "forward", "TargetGroupArn": groups["single"]}]
                                   )["Listeners"][0]["ListenerArn"]
    elb.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Port=8080, Protocol="HTTP", DefaultActions=[
        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "ContentType": "text/plain",
                                                           "MessageBody": "port 8080"}}])

    def forward(name: str) -> list[dict[str, Any]]:
        return [{"Type": "forward", "TargetGroupArn": groups[name]}]

    def path(*values: str) -> dict[str, Any]:
        return {"Field": "path-pattern", "PathPatternConfig": {"Values": list(values)}}

    def fixed(status: str, body: str) -> list[dict[str, Any]]:
        return [{"Type": "fixed-response",
                 "FixedResponseConfig": {"StatusCode": status, "ContentType": "text/plain", "MessageBody": body}}]

    rules: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = [
        ([path("/multi/*")], forward("multi")),
        ([{"Field": "host-header", "HostHeaderConfig": {"Values": ["api.*.localhost"]}}], forward("byhost")),
        ([{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Route", "Values": ["beta*"]}}],
         forward("byheader")),
        ([{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["DELETE"]}}], forward("bymethod")),
        ([{"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "v", "Value": "2"}]}}],
         forward("byquery")),
        ([path("/teapot")], fixed("418", "short and stout")),
        ([path("/old/*")], [{"Type": "redirect", "RedirectConfig": {"Path": "/new/#{path}", "StatusCode": "HTTP_302"}}]),
        ([path("/empty")], forward("empty")),
        ([path("/items/*")], forward("pt")),
        ([path("/Case")], fixed("200", "case")),
        ([path("/ip"), {"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}}], fixed("403", "far")),
        ([path("/ip"), {"Field": "source-ip", "SourceIpConfig": {"Values": ["127.0.0.0/8", "::1/128"]}}],
         fixed("200", "near")),
    ]
    for priority, (conditions, actions) in enumerate(rules, start=1):
        elb.create_rule(ListenerArn=listener, Priority=priority, Conditions=conditions, Actions=actions)
    return {"endpoint": endpoint, "elb": elb, "groups": groups, "listener": listener, "balancer": balancer}


def by_host(shop: dict[str, Any], method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[http.client.HTTPResponse, bytes]:
    """A request to the load balancer's DNSName, sent to the endpoint's address."""
    port = urllib.parse.urlsplit(shop["endpoint"]).port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(method, path, body=body,
                       headers={"Host": f"{shop['balancer']['DNSName']}:{port}", **(headers or {})})
    reply = connection.getresponse()
    data = reply.read()
    connection.close()
    return reply, data


def event_of(response: requests.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    event: dict[str, Any] = response.json()["event"]
    return event


def test_the_dns_name_reaches_the_listener_with_albs_event(shop: dict[str, Any]) -> None:
    assert shop["balancer"]["DNSName"] == "shop.elb.localhost"
    reply, data = by_host(shop, "POST", "/a%20b/c?x=1&x=2&e=%2F", b'{"n": 1}',
                          {"Content-Type": "application/json", "X-Two": "a"})
    assert reply.status == 200, data
    assert reply.getheader("content-type") == "application/json"
    event = json.loads(data)["event"]
    AlbModel.model_validate(event)
    assert event["requestContext"] == {"elb": {"targetGroupArn": shop["groups"]["single"]}}
    assert event["httpMethod"] == "POST" and event["path"] == "/a%20b/c"  # as sent
    assert event["queryStringParameters"] == {"x": "2", "e": "%2F"}  # the last value, not decoded
    assert event["body"] == '{"n": 1}' and event["isBase64Encoded"] is False
    headers = event["headers"]
    assert headers["host"].startswith("shop.elb.localhost:") and headers["x-two"] == "a"
    assert headers["x-forwarded-port"] == "80" and headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert "multiValueHeaders" not in event


def test_multi_value_headers_when_the_group_enables_them(shop: dict[str, Any]) -> None:
    response = requests.get(f"{shop['endpoint']}/_aws/elb/shop/multi/x?x=1&x=2&y=",
                            headers={"Accept": "text/plain"}, timeout=60)
    assert response.status_code == 201
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    event = event_of(response)
    # (Powertools' AlbModel requires headers and queryStringParameters, which an ALB leaves out of
    # multi-value events: lambda-functions.html#multi-value-headers)
    assert event["requestContext"]["elb"]["targetGroupArn"] == shop["groups"]["multi"]
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert event["multiValueHeaders"]["accept"] == ["text/plain"] and event["path"] == "/multi/x"
    assert "headers" not in event and "queryStringParameters" not in event


def test_rules_pick_the_target_group(shop: dict[str, Any]) -> None:
    base, groups = f"{shop['endpoint']}/_aws/elb/shop", shop["groups"]

    def group(response: requests.Response) -> str:
        arn = event_of(response)["requestContext"]["elb"]["targetGroupArn"]
        return next(name for name, value in groups.items() if value == arn)

    # (the endpoint takes local Host names only, unless CLOUDMICRO_ALLOWED_HOSTS adds others)
    assert group(requests.get(f"{base}/anything", headers={"Host": "API.Shop.localhost"}, timeout=60)) == "byhost"
    assert group(requests.get(f"{base}/anything", headers={"Host": "www.shop.localhost"}, timeout=60)) == "single"
    assert group(requests.get(f"{base}/anything", headers={"X-Route": "BETA-2"}, timeout=60)) == "byheader"
    assert group(requests.delete(f"{base}/anything", timeout=60)) == "bymethod"
    assert group(requests.get(f"{base}/anything?v=2", timeout=60)) == "byquery"
    assert group(requests.get(f"{base}/anything?v=3", timeout=60)) == "single"
    # priority: the path rule (1) wins over the header rule (3)
    assert group(requests.get(f"{base}/multi/z", headers={"X-Route": "beta"}, timeout=60)) == "multi"
    # path patterns are case-sensitive
    assert requests.get(f"{base}/Case", timeout=60).text == "case"
    assert group(requests.get(f"{base}/case", timeout=60)) == "single"
    # source IP: 10.0.0.0/8 (priority 11) does not hold, 127.0.0.0/8 (12) does
    near = requests.get(f"{base}/ip", timeout=60)
    assert (near.status_code, near.text) == (200, "near")


def test_fixed_responses_redirects_and_listeners_by_port(shop: dict[str, Any]) -> None:
    base = f"{shop['endpoint']}/_aws/elb/shop"
    teapot = requests.get(f"{base}/teapot", timeout=60)
    assert (teapot.status_code, teapot.text) == (418, "short and stout")
    assert teapot.headers["content-type"] == "text/plain" and teapot.raw.headers.getlist("Server") == ["awselb/2.0"]
    port = urllib.parse.urlsplit(shop["endpoint"]).port
    reply, _ = by_host(shop, "GET", "/old/a/b?k=v")
    assert reply.status == 302
    assert reply.getheader("location") == f"http://shop.elb.localhost:{port}/new/old/a/b?k=v"
    moved = requests.get(f"{base}/old/x", allow_redirects=False, timeout=60)
    assert moved.headers["location"] == f"http://127.0.0.1:{port}/_aws/elb/shop/new/old/x"
    followed = requests.get(f"{base}/old/x", timeout=60)  # the redirect lands back on the load balancer
    assert event_of(followed)["path"] == "/new/old/x"
    other = requests.get(f"{shop['endpoint']}/_aws/elb/shop:8080/anything", timeout=60)
    assert (other.status_code, other.text) == (200, "port 8080")
    assert requests.get(f"{shop['endpoint']}/_aws/elb/shop:9999/", timeout=60).status_code == 503
    assert requests.get(f"{shop['endpoint']}/_aws/elb/nosuch/", timeout=60).status_code == 404


def test_albs_own_errors(shop: dict[str, Any]) -> None:
    base = f"{shop['endpoint']}/_aws/elb/shop"
    for query in ("fail", "bad", "big"):
        broken = requests.get(f"{base}/x?{query}=1", timeout=60)
        assert broken.status_code == 502, query
        assert broken.raw.headers.getlist("Server") == ["awselb/2.0"] and "502 Bad Gateway" in broken.text
    empty = requests.get(f"{base}/empty", timeout=60)
    assert empty.status_code == 503 and empty.raw.headers.getlist("Server") == ["awselb/2.0"]
    too_big = requests.post(f"{base}/x", data=b"x" * (1024 * 1024 + 1), timeout=60)
    assert too_big.status_code == 413
    reply, _ = by_host(shop, "GET", "/x")
    assert reply.status == 200 and reply.reason == "Fine Thanks"  # statusDescription "200 Fine Thanks"


def test_powertools_alb_resolver_resolves_a_path_parameter(shop: dict[str, Any]) -> None:
    response = requests.get(f"{shop['endpoint']}/_aws/elb/shop/items/42?q=blue", timeout=60)
    assert response.status_code == 200, response.text
    assert response.json() == {"id": "42", "q": "blue"}
    missing = requests.get(f"{shop['endpoint']}/_aws/elb/shop/items/42/more", timeout=60)
    assert missing.status_code == 404


def test_rule_changes_are_served_at_once(shop: dict[str, Any]) -> None:
    elb, base = shop["elb"], f"{shop['endpoint']}/_aws/elb/shop"
    assert requests.get(f"{base}/fresh", timeout=60).status_code == 200  # the default group
    rule = elb.create_rule(ListenerArn=shop["listener"], Priority=100,
                           Conditions=[{"Field": "path-pattern", "Values": ["/fres?"]}],
                           Actions=[{"Type": "fixed-response", "FixedResponseConfig": {
                               "StatusCode": "503", "ContentType": "application/json",
                               "MessageBody": '{"down": true}'}}])["Rules"][0]
    fresh = requests.get(f"{base}/fresh", timeout=60)
    assert fresh.status_code == 503 and fresh.json() == {"down": True}
    elb.delete_rule(RuleArn=rule["RuleArn"])
    assert requests.get(f"{base}/fresh", timeout=60).status_code == 200


def test_the_same_event_fields_by_host_and_by_path(shop: dict[str, Any]) -> None:
    reply, data = by_host(shop, "PUT", "/p", b"\x00\x01", {"Content-Type": "application/octet-stream"})
    assert reply.status == 200
    event = json.loads(data)["event"]
    assert event["isBase64Encoded"] is True and event["body"] == "AAE="
    by_path = event_of(requests.put(f"{shop['endpoint']}/_aws/elb/shop/p", data=b"\x00\x01",
                                    headers={"Content-Type": "application/octet-stream"}, timeout=60))
    assert {k: by_path[k] for k in ("path", "body", "isBase64Encoded", "requestContext")} == \
        {k: event[k] for k in ("path", "body", "isBase64Encoded", "requestContext")}


def test_the_routes_listing_gives_each_listeners_urls(shop: dict[str, Any]) -> None:
    port = urllib.parse.urlsplit(shop["endpoint"]).port
    routes = requests.get(f"{shop['endpoint']}/_cloudmicro/routes", timeout=60).json()["Routes"]
    mine = [r for r in routes if r["Kind"] == "ALB" and r["Id"] == "shop"]
    assert mine, routes
    listener = next(r for r in mine if r["Stage"] == "80")
    assert listener["Url"] == f"http://{shop['balancer']['DNSName']}:{port}/"
    assert listener["PathUrl"] == f"http://127.0.0.1:{port}/_aws/elb/shop:80/"
    assert requests.get(listener["PathUrl"] + "x", timeout=60).status_code == 200
