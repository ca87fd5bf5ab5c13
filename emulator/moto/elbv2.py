"""Elastic Load Balancing v2 inside moto, as the front door needs it (runs in moto's threads,
during the call): a load balancer's ``DNSName`` is the local name that reaches the endpoint,
``{name}.elb.localhost`` (moto makes ``{name}-1.{region}.elb.amazonaws.com``, which resolves
nowhere). ``*.localhost`` resolves to loopback, so ``http://{DNSName}:{port}/`` (the control
plane's port) reaches the load balancer's listener (see :mod:`emulator.frontdoor.alb`).

Only the DNS name changes: moto already keeps what the front door reads (listeners, rules with
every condition and action, target groups of type ``lambda``, their attributes and targets).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from emulator.moto.patching import Patch, PatchSet

#: the domain of load balancers' local DNS names
LOCAL_DOMAIN = "elb.localhost"


def local_dns_name(name: str) -> str:
    return f"{name.lower()}.{LOCAL_DOMAIN}"


def _create_load_balancer(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def create_load_balancer(self: Any, *args: Any, **kwargs: Any) -> Any:
        balancer = original(self, *args, **kwargs)
        balancer.dns_name = local_dns_name(balancer.name)
        return balancer

    return create_load_balancer


def _patches() -> Iterator[Patch]:
    from moto.elbv2.models import ELBv2Backend

    yield Patch(ELBv2Backend, "create_load_balancer", _create_load_balancer)


#: local DNS names for load balancers
PATCHES = PatchSet("elbv2", _patches)
