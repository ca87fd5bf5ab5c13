"""An Application Load Balancer as the front door serves it, and how a listener picks the rule
for a request (pure: no I/O).

Rules are evaluated in priority order, lowest first, the default rule last; the first rule whose
conditions all match wins (a condition with several values matches when one of them does).
Each condition compares as the ELB API reference says (rule-condition-types.html and the
``*ConditionConfig`` shapes):

* ``path-pattern``: the path only (not the query string), case-sensitive, ``*`` = 0 or more
  characters, ``?`` = exactly one. The path is compared as the client sent it
  (percent-encoded), which is also the ``path`` the ALB sends its Lambda targets.
* ``host-header``: case-insensitive, the same wildcards, compared with the Host without its
  port (locally every request arrives on the endpoint's port).
* ``http-header``: the header name case-insensitive; values case-insensitive with wildcards;
  a header sent several times matches when one of its values does.
* ``http-request-method``: exact and case-sensitive.
* ``query-string``: ``Key`` (optional) and ``Value`` pairs, case-insensitive with wildcards
  (``\\*`` and ``\\?`` are the literal characters), compared with each pair of the query,
  percent-decoded; a pair without ``Key`` matches any pair's value.
* ``source-ip``: CIDR blocks (IPv4 or IPv6) holding the client's address (not
  ``X-Forwarded-For``).

``RegexValues`` (a newer API field moto does not keep) are not evaluated.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator.frontdoor.request import HttpRequest

#: the default rule's place in the order: after every numbered one (priorities go to 50000)
DEFAULT_PRIORITY = 1_000_000


@dataclass(frozen=True)
class Condition:
    """One rule condition: ``field`` and what it compares (``name`` for ``http-header``;
    ``pairs`` of (key or None, value) for ``query-string``; ``values`` for the others)."""

    field: str
    values: tuple[str, ...] = ()
    name: str = ""
    pairs: tuple[tuple[str | None, str], ...] = ()


@dataclass(frozen=True)
class Rule:
    priority: int
    conditions: tuple[Condition, ...]
    #: the rule's actions as ELB describes them (``Type``, ``Order``, ``ForwardConfig``, ...)
    actions: tuple[Mapping[str, Any], ...]
    arn: str = ""


@dataclass(frozen=True)
class Listener:
    arn: str
    port: int
    protocol: str
    #: in evaluation order: priority, then the default rule
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class TargetGroup:
    arn: str
    name: str
    target_type: str
    multi_value: bool
    #: the registered targets' ids (for ``lambda``: the function's ARN)
    targets: tuple[str, ...]


@dataclass(frozen=True)
class LoadBalancer:
    name: str
    arn: str
    type: str
    dns_name: str
    listeners: tuple[Listener, ...]
    target_groups: Mapping[str, TargetGroup] = field(default_factory=dict)

    def listener(self, port: int | None) -> Listener | None:
        """The listener on ``port``; with None, the one on port 80, else the HTTP listener with
        the lowest port, else the lowest-port listener of any protocol."""
        if port is not None:
            return next((listener for listener in self.listeners if listener.port == port), None)
        ordered = sorted(self.listeners, key=lambda listener: (listener.port != 80, listener.protocol != "HTTP",
                                                               listener.port))
        return ordered[0] if ordered else None


def condition_of(raw: Mapping[str, Any]) -> Condition:
    """A condition from ELB's description of it (the ``*Config`` form or the legacy ``Values``)."""
    kind = str(raw.get("Field", ""))
    if kind == "http-header":
        config = raw.get("HttpHeaderConfig") or {}
        return Condition(kind, tuple(config.get("Values") or ()), str(config.get("HttpHeaderName", "")))
    if kind == "query-string":
        pairs = (raw.get("QueryStringConfig") or {}).get("Values") or ()
        return Condition(kind, pairs=tuple((pair.get("Key"), str(pair.get("Value", ""))) for pair in pairs))
    config_key = {"path-pattern": "PathPatternConfig", "host-header": "HostHeaderConfig",
                  "http-request-method": "HttpRequestMethodConfig", "source-ip": "SourceIpConfig"}.get(kind, "")
    values = (raw.get(config_key) or {}).get("Values") or raw.get("Values") or ()
    return Condition(kind, tuple(str(value) for value in values))


def first_match(listener: Listener, request: HttpRequest) -> Rule | None:
    """The rule that takes ``request``: the first, in priority order, whose conditions hold."""
    return next((rule for rule in listener.rules if all(holds(c, request) for c in rule.conditions)), None)


def holds(condition: Condition, request: HttpRequest) -> bool:
    kind = condition.field
    if kind == "path-pattern":
        return any(_pattern(value, False, False).fullmatch(request.raw_path) for value in condition.values)
    if kind == "host-header":
        host = _hostname(request.header("host") or request.host)
        return any(_pattern(value, True, False).fullmatch(host) for value in condition.values)
    if kind == "http-header":
        sent = request.header_values(condition.name)
        return any(_pattern(value, True, False).fullmatch(one) for value in condition.values for one in sent)
    if kind == "http-request-method":
        return request.method in condition.values
    if kind == "query-string":
        pairs = request.query_pairs()
        return any(_query_pair_holds(key, value, pairs) for key, value in condition.pairs)
    if kind == "source-ip":
        return _source_in(request.source_ip, condition.values)
    return False  # a condition this front door does not know never holds


def _query_pair_holds(key: str | None, value: str, pairs: Sequence[tuple[str, str]]) -> bool:
    value_pattern = _pattern(value, True, True)
    key_pattern = _pattern(key, True, True) if key is not None else None
    return any((key_pattern is None or key_pattern.fullmatch(name)) and value_pattern.fullmatch(sent)
               for name, sent in pairs)


def _source_in(source: str, blocks: Sequence[str]) -> bool:
    try:
        address = ipaddress.ip_address(source.split("%", 1)[0])
    except ValueError:
        return False
    for block in blocks:
        try:
            network = ipaddress.ip_network(block, strict=False)
        except ValueError:
            continue
        if address.version == network.version and address in network:
            return True
        mapped = getattr(address, "ipv4_mapped", None)
        if mapped is not None and network.version == 4 and mapped in network:
            return True
    return False


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@functools.lru_cache(maxsize=1024)
def _pattern(value: str, insensitive: bool, escapes: bool) -> re.Pattern[str]:
    """``value`` with ALB's wildcards (``*``, ``?``; with ``escapes``, ``\\*`` and ``\\?`` are
    literal) as an anchored-by-fullmatch regular expression."""
    parts: list[str] = []
    index = 0
    while index < len(value):
        char = value[index]
        if escapes and char == "\\" and index + 1 < len(value) and value[index + 1] in "*?\\":
            parts.append(re.escape(value[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if insensitive else 0))
