"""How an ALB listener picks a rule, without a server: priority order and the default last;
each condition type as the ELB API reference describes it; the listener a request reaches."""

from __future__ import annotations

from typing import Any

from emulator.frontdoor.alb_rules import (
    DEFAULT_PRIORITY,
    Listener,
    LoadBalancer,
    Rule,
    condition_of,
    first_match,
    holds,
)
from emulator.frontdoor.request import HttpRequest


def request(path: str = "/", *, method: str = "GET", query: str = "", host: str = "shop.elb.localhost:4566",
            headers: tuple[tuple[str, str], ...] = (), source: str = "127.0.0.1") -> HttpRequest:
    return HttpRequest(method=method, path=path, raw_path=path, query=query.encode(),
                       headers=(("Host", host), *headers), body=b"", source_ip=source, host=host)


def cond(raw: dict[str, Any], req: HttpRequest) -> bool:
    return holds(condition_of(raw), req)


def path(*values: str) -> dict[str, Any]:
    return {"Field": "path-pattern", "PathPatternConfig": {"Values": list(values)}}


def test_path_patterns_are_case_sensitive_with_star_and_question_mark():
    assert cond(path("/img/*"), request("/img/a/b.png"))
    assert cond(path("/img/*"), request("/img/"))
    assert not cond(path("/img/*"), request("/IMG/a"))
    assert cond(path("/v?/x"), request("/v1/x")) and not cond(path("/v?/x"), request("/v10/x"))
    assert cond(path("/a", "/b.c"), request("/b.c")) and not cond(path("/b.c"), request("/bxc"))
    assert cond({"Field": "path-pattern", "Values": ["/old"]}, request("/old"))  # the legacy Values form
    assert cond(path("/a b"), request("/a b")) and not cond(path("/a b"), request("/a%20b"))  # as sent


def test_hosts_headers_methods_queries_and_source_ips():
    host = {"Field": "host-header", "HostHeaderConfig": {"Values": ["*.Example.com"]}}
    assert cond(host, request(host="API.example.COM:4566")) and not cond(host, request(host="example.com"))
    header = {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "x-env", "Values": ["beta?"]}}
    assert cond(header, request(headers=(("X-Env", "prod"), ("X-ENV", "BETA2"))))
    assert not cond(header, request(headers=(("X-Env", "beta"),))) and not cond(header, request())
    method = {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST", "PUT"]}}
    assert cond(method, request(method="PUT")) and not cond(method, request(method="put"))
    query = {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "v*", "Value": "2"}, {"Value": r"a\*"}]}}
    assert cond(query, request(query="x=1&version=2")) and cond(query, request(query="z=A%2A"))
    assert not cond(query, request(query="v=3&z=ab")) and not cond(query, request())
    ip = {"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8", "2001:db8::/32"]}}
    assert cond(ip, request(source="10.1.2.3")) and cond(ip, request(source="2001:db8::1"))
    assert not cond(ip, request(source="127.0.0.1")) and not cond(ip, request(source="not-an-ip"))


def test_the_first_rule_by_priority_wins_and_the_default_comes_last():
    default = Rule(DEFAULT_PRIORITY, (), ({"Type": "fixed-response"},))
    rules = (Rule(1, (condition_of(path("/a/*")), condition_of({"Field": "http-request-method",
                                                                 "Values": ["GET"]})), ()),
             Rule(2, (condition_of(path("/a/*")),), ()), default)
    listener = Listener("l", 80, "HTTP", rules)
    assert first_match(listener, request("/a/x")) is rules[0]
    assert first_match(listener, request("/a/x", method="POST")) is rules[1]
    assert first_match(listener, request("/b")) is default


def test_the_listener_a_request_reaches():
    def balancer(*ports: tuple[int, str]) -> LoadBalancer:
        return LoadBalancer("shop", "arn", "application", "shop.elb.localhost",
                            tuple(Listener(f"l{port}", port, protocol, ()) for port, protocol in ports))

    assert balancer((443, "HTTPS"), (80, "HTTP")).listener(None).port == 80  # type: ignore[union-attr]
    assert balancer((443, "HTTPS"), (8081, "HTTP"), (8080, "HTTP")).listener(None).port == 8080  # type: ignore[union-attr]
    assert balancer((8443, "HTTPS"), (443, "HTTPS")).listener(None).port == 443  # type: ignore[union-attr]
    assert balancer((80, "HTTP"), (8080, "HTTP")).listener(8080).port == 8080  # type: ignore[union-attr]
    assert balancer((80, "HTTP")).listener(9999) is None and balancer().listener(None) is None
