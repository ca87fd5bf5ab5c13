"""Serving Application Load Balancers whose listeners forward to Lambda target groups, as an ALB
does (elasticloadbalancing/latest/application/lambda-functions.html).

**Where a load balancer answers.** Its ``DNSName`` is ``{name}.elb.localhost`` (moto's patch,
:mod:`emulator.moto.elbv2`), so ``http://{name}.elb.localhost:4566/{path}`` reaches it
(``*.localhost`` resolves to loopback). For clients that cannot pick a Host, the path form
``http://127.0.0.1:4566/_aws/elb/{name}/{path}`` does the same; there the Host header is the
client's to set, which is how ``host-header`` rules are tried locally
(``curl -H 'Host: api.example.com' http://127.0.0.1:4566/_aws/elb/my-lb/``; the endpoint takes
Host names other than local ones, ``*.localhost`` and IP addresses only when
``CLOUDMICRO_ALLOWED_HOSTS`` lists them).

**Which listener.** Locally every request arrives on the endpoint's port, so the port cannot
pick the listener. The listener on port 80 serves; without one, the HTTP listener with the
lowest port, else the lowest-port listener (HTTPS listeners are served over plain HTTP, their
events saying ``x-forwarded-proto: https``). The path form may name the listener's port:
``/_aws/elb/{name}:{port}/{path}``. The event's ``x-forwarded-port`` and ``x-forwarded-proto``
are the listener's port and protocol, as an ALB sends them.

**Rules** are evaluated as :mod:`emulator.frontdoor.alb_rules` says; the matching rule's last
action (by ``Order``) answers: authenticate actions are passed over (logged: not served locally).

* ``forward`` (to one target group, or ``ForwardConfig``'s weighted groups, picked by weight):
  a ``lambda`` target group calls its registered function through the invocation seam with the
  ALB event (``multiValueHeaders`` / ``multiValueQueryStringParameters`` when the group's
  ``lambda.multi_value_headers.enabled`` is ``true``) and answers with the function's response
  (:func:`emulator.frontdoor.responses.alb_response`). A group with no registered target gets
  503; a function that cannot be called, fails, times out, or answers malformed or over 1 MB
  gets 502; a throttled one 503. Request bodies over 1 MB get 413 before any rule.
  Target groups of other types are not served (503, logged).
* ``fixed-response``: its status, ``Content-Type`` and ``MessageBody``.
* ``redirect``: ``Location: {protocol}://{host}:{port}{path}?{query}``, each part the
  config's with ``#{protocol}``, ``#{host}``, ``#{port}``, ``#{path}`` (without its leading
  ``/``) and ``#{query}`` filled from the request, unset parts kept. Locally ``#{port}`` is the
  port the client reached (the endpoint's), so a redirect that keeps it comes back here, and
  through the path form a redirect to the same host keeps the ``/_aws/elb/{name}`` prefix.

The ``statusDescription`` of a Lambda response ("200 OK", "418 Teapot") is the reason phrase of
the status line, as an ALB sends it (``emulator/app/server.py`` lets uvicorn write it).

Load balancers are read from moto once and kept until a write to Elastic Load Balancing (or
CloudFormation, or a reset) passes through the endpoint (:meth:`AlbCatalog.changed`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any

from emulator.domain.errors import LambdaError, TooManyRequestsException
from emulator.frontdoor import events, responses
from emulator.frontdoor.alb_rules import Listener, LoadBalancer, first_match
from emulator.frontdoor.request import HttpRequest
from emulator.frontdoor.responses import HttpResponse
from emulator.frontdoor.routes import Door
from emulator.invocation.invocation import Invocation
from emulator.invocation.service import InvokeService

log = logging.getLogger(__name__)

PATH_PREFIX = "/_aws/elb/"
_SERVER = ("Server", "awselb/2.0")

Reader = Callable[[str], Awaitable[LoadBalancer | None]]


class AlbCatalog:
    """The load balancers by (lower-cased) name, read on first use and again after
    :meth:`changed`."""

    def __init__(self, read: Reader) -> None:
        self._read = read
        self._balancers: dict[str, LoadBalancer | None] = {}
        self._generation = 0
        self._lock = asyncio.Lock()

    def changed(self) -> None:
        self._generation += 1
        self._balancers = {}

    async def get(self, name: str) -> LoadBalancer | None:
        key = name.lower()
        if key in self._balancers:
            return self._balancers[key]
        async with self._lock:
            if key in self._balancers:
                return self._balancers[key]
            generation = self._generation
            try:
                balancer = await self._read(key)
            except Exception:
                log.exception("reading the load balancer %s from the local Elastic Load Balancing", name)
                return None
            if generation == self._generation:
                self._balancers[key] = balancer
            return balancer


def _text(status: int, message: str) -> HttpResponse:
    return HttpResponse(status, (("Content-Type", "text/plain; charset=utf-8"),), message.encode())


class AlbDoor:
    """Serves ``alb`` doors: the load balancer's listener, its rules and their actions."""

    def __init__(self, catalog: AlbCatalog, service: InvokeService) -> None:
        self.catalog = catalog
        self.service = service

    async def serve(self, door: Door, request: HttpRequest) -> HttpResponse:
        name, _, port_text = door.target.partition(":")
        if port_text and not port_text.isdigit():
            return _text(404, f"{port_text!r} is not a listener port: use /_aws/elb/{{name}}:{{port}}/...")
        balancer = await self.catalog.get(name)
        if balancer is None or balancer.type != "application":
            what = "no load balancer" if balancer is None else f"{balancer.type} load balancer"
            log.warning("elb: %s named %r", what, name)
            return _text(404, f"No application load balancer is named {name!r}: see `aws elbv2 "
                              "describe-load-balancers`")
        listener = balancer.listener(int(port_text) if port_text else None)
        if listener is None:
            where = f"on port {port_text}" if port_text else "at all"
            log.warning("elb %s: no listener %s", balancer.name, where)
            return _text(503, f"The load balancer {balancer.name!r} has no listener {where}: see `aws elbv2 "
                              "describe-listeners`")
        rule = first_match(listener, request)
        if rule is None:  # every listener has a default rule; moto's listing lost it
            return responses.alb_error(503)
        action = _final_action(rule.actions, balancer.name)
        if action is None:
            return responses.alb_error(503)
        kind = action.get("Type")
        if kind == "fixed-response":
            return _fixed(action.get("FixedResponseConfig") or {})
        if kind == "redirect":
            prefix = "" if _host_form(request, balancer) else PATH_PREFIX + door.target
            return _redirect(action.get("RedirectConfig") or {}, request, prefix)
        if kind == "forward":
            return await self._forward(balancer, listener, action, request)
        log.warning("elb %s: %s actions are not served", balancer.name, kind)
        return responses.alb_error(503)

    async def _forward(self, balancer: LoadBalancer, listener: Listener, action: Mapping[str, Any],
                       request: HttpRequest) -> HttpResponse:
        arn = _pick_group(action)
        group = balancer.target_groups.get(arn) if arn else None
        if group is None:
            log.warning("elb %s: the action's target group %s is not there", balancer.name, arn)
            return responses.alb_error(503)
        if group.target_type != "lambda":
            log.warning("elb %s: target group %s has targets of type %s; only lambda targets are served",
                        balancer.name, group.name, group.target_type)
            return responses.alb_error(503)
        if not group.targets:
            log.warning("elb %s: target group %s has no registered target", balancer.name, group.name)
            return responses.alb_error(503)
        target = group.targets[0]  # a lambda target group holds one function
        try:
            function = await self.service.resolve(target)
        except LambdaError as error:
            log.warning("elb %s: target group %s: the function %s cannot be called: %s", balancer.name,
                        group.name, target, error)
            return responses.alb_error(502)
        event = events.alb_event(
            request, target_group_arn=group.arn, multi_value=group.multi_value,
            binary=events.is_binary_content(request.header("content-type")) and bool(request.body))
        _listener_forwarding(event, listener)
        try:
            executed = await self.service.execute(Invocation(function, json.dumps(event).encode()))
        except TooManyRequestsException:
            log.warning("elb %s: %s is throttled", balancer.name, function.name)
            return responses.alb_error(503)
        except LambdaError as error:
            log.warning("elb %s: %s: %s", balancer.name, function.name, error)
            return responses.alb_error(502)
        result = executed.result
        if result.function_error:
            log.warning("elb %s: %s failed (%s): %s", balancer.name, function.name, result.function_error,
                        result.payload[:500].decode(errors="replace"))
        answer = responses.alb_response(result.payload, function_error=result.function_error,
                                        multi_value=group.multi_value)
        if answer.status == 502 and result.function_error is None:
            log.warning("elb %s: %s answered what an ALB cannot send (malformed or over 1 MB): %s",
                        balancer.name, function.name, result.payload[:500].decode(errors="replace"))
        return answer


def _final_action(actions: tuple[Mapping[str, Any], ...], name: str) -> Mapping[str, Any] | None:
    ordered = sorted(actions, key=lambda action: int(action.get("Order") or 0))
    for action in ordered:
        if str(action.get("Type", "")).startswith("authenticate-"):
            log.info("elb %s: %s is not served locally: passed over", name, action.get("Type"))
    final = [action for action in ordered if not str(action.get("Type", "")).startswith("authenticate-")]
    return final[-1] if final else None


def _pick_group(action: Mapping[str, Any]) -> str | None:
    groups = [group for group in (action.get("ForwardConfig") or {}).get("TargetGroups") or ()
              if group.get("TargetGroupArn")]
    if not groups:
        return action.get("TargetGroupArn")
    weights = [max(int(group.get("Weight", 1) or 0), 0) for group in groups]
    if not any(weights):
        return None
    return str(random.choices(groups, weights=weights)[0]["TargetGroupArn"])


def _listener_forwarding(event: dict[str, Any], listener: Listener) -> None:
    """The event's ``x-forwarded-port`` / ``-proto``: the listener's, as an ALB sends them."""
    values = {"x-forwarded-port": str(listener.port), "x-forwarded-proto": listener.protocol.lower()}
    for key in ("headers", "multiValueHeaders"):
        headers = event.get(key)
        if isinstance(headers, dict):
            for name, value in values.items():
                headers[name] = [value] if key == "multiValueHeaders" else value


def _host_form(request: HttpRequest, balancer: LoadBalancer) -> bool:
    host = (request.header("host") or request.host).lower()
    return host.split(":", 1)[0] == balancer.dns_name.lower() or host.startswith(f"{balancer.name.lower()}.elb.")


def _fixed(config: Mapping[str, Any]) -> HttpResponse:
    code = str(config.get("StatusCode") or "200")
    status = int(code) if code.isdigit() else 200
    content_type = config.get("ContentType") or "text/plain; charset=utf-8"
    return HttpResponse(status, (_SERVER, ("Content-Type", str(content_type))),
                        str(config.get("MessageBody") or "").encode())


def _redirect(config: Mapping[str, Any], request: HttpRequest, prefix: str) -> HttpResponse:
    host_header = request.header("host") or request.host or "localhost"
    host, _, port = host_header.rpartition(":") if host_header.count(":") == 1 else (host_header, "", "")
    port = port or ("443" if request.scheme == "https" else "80")
    words = {"#{protocol}": request.scheme, "#{host}": host, "#{port}": port,
             "#{path}": request.raw_path.lstrip("/"), "#{query}": request.raw_query}

    def fill(value: Any, default: str) -> str:
        text = str(value) if value else default
        for word, replacement in words.items():
            text = text.replace(word, replacement)
        return text

    protocol = fill(config.get("Protocol"), "#{protocol}").lower()
    new_host = fill(config.get("Host"), "#{host}")
    new_port = fill(config.get("Port"), "#{port}")
    path = fill(config.get("Path"), "/#{path}")
    query = fill(config.get("Query"), "#{query}")
    if prefix and new_host.lower() == host.lower():
        path = prefix + path
    location = f"{protocol}://{new_host}:{new_port}{path}" + (f"?{query}" if query else "")
    status = 302 if config.get("StatusCode") == "HTTP_302" else 301
    title = f"{status} {HTTPStatus(status).phrase}"
    page = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n")
    return HttpResponse(status, (_SERVER, ("Content-Type", "text/html"), ("Location", location)), page.encode())


__all__ = ["AlbCatalog", "AlbDoor"]
