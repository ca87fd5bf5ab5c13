"""Reads an Application Load Balancer from the local Elastic Load Balancing (moto) through the
AWS API, in the shapes of :mod:`emulator.frontdoor.alb_rules`: its listeners, each listener's
rules in evaluation order, and the target groups their actions forward to (type, the
``lambda.multi_value_headers.enabled`` attribute, registered targets)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from emulator.aws.clients import AwsClients
from emulator.frontdoor.alb_rules import (
    DEFAULT_PRIORITY,
    Listener,
    LoadBalancer,
    Rule,
    TargetGroup,
    condition_of,
)

_MISSING = ("LoadBalancerNotFound", "ListenerNotFound", "TargetGroupNotFound", "RuleNotFound")


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in _MISSING


class MotoLoadBalancers:
    """``await MotoLoadBalancers(clients).read(name)``: the load balancer named ``name`` (any
    case: host names are lower-cased), or None when there is none."""

    def __init__(self, clients: AwsClients) -> None:
        self.clients = clients

    async def names(self) -> list[str]:
        """Every application load balancer's name."""
        client = self.clients.client("elbv2")
        found = await self._pages(client.describe_load_balancers, "LoadBalancers")
        return [str(b["LoadBalancerName"]) for b in found if b.get("Type", "application") == "application"]

    async def read(self, name: str) -> LoadBalancer | None:
        client = self.clients.client("elbv2")
        found = None
        for balancer in await self._pages(client.describe_load_balancers, "LoadBalancers"):
            if balancer.get("LoadBalancerName", "").lower() == name.lower():
                found = balancer
                break
        if found is None:
            return None
        try:
            listed = await self._pages(client.describe_listeners, "Listeners", LoadBalancerArn=found["LoadBalancerArn"])
            listeners = [await self._listener(client, listener) for listener in listed]
            group_arns = {arn for listener in listeners for rule in listener.rules
                          for arn in _forwarded_to(rule.actions)}
            groups = [group for arn in sorted(group_arns) if (group := await self._group(client, arn)) is not None]
        except ClientError as error:
            if _missing(error):  # deleted while it was read
                return None
            raise
        return LoadBalancer(found["LoadBalancerName"], found["LoadBalancerArn"], found.get("Type", "application"),
                            found.get("DNSName", ""), tuple(listeners), {group.arn: group for group in groups})

    async def _listener(self, client: Any, listener: Mapping[str, Any]) -> Listener:
        rules = await self._pages(client.describe_rules, "Rules", ListenerArn=listener["ListenerArn"])
        parsed = []
        for rule in rules:
            default = rule.get("IsDefault") or rule.get("Priority") == "default"
            priority = DEFAULT_PRIORITY if default else int(rule.get("Priority") or DEFAULT_PRIORITY)
            parsed.append(Rule(priority, tuple(condition_of(c) for c in rule.get("Conditions") or ()),
                               tuple(rule.get("Actions") or ()), rule.get("RuleArn", "")))
        if not any(rule.priority == DEFAULT_PRIORITY for rule in parsed):  # moto lists it; to be sure
            parsed.append(Rule(DEFAULT_PRIORITY, (), tuple(listener.get("DefaultActions") or ())))
        parsed.sort(key=lambda rule: rule.priority)
        return Listener(listener["ListenerArn"], int(listener.get("Port") or 0), listener.get("Protocol", "HTTP"),
                        tuple(parsed))

    async def _group(self, client: Any, arn: str) -> TargetGroup | None:
        try:
            described = await self.clients.call(client.describe_target_groups, TargetGroupArns=[arn])
            attributes = await self.clients.call(client.describe_target_group_attributes, TargetGroupArn=arn)
            health = await self.clients.call(client.describe_target_health, TargetGroupArn=arn)
        except ClientError as error:
            if _missing(error):
                return None
            raise
        group = described["TargetGroups"][0]
        values = {a.get("Key"): a.get("Value") for a in attributes.get("Attributes", [])}
        targets = tuple(t["Target"]["Id"] for t in health.get("TargetHealthDescriptions", [])
                        if t.get("Target", {}).get("Id"))
        return TargetGroup(arn, group.get("TargetGroupName", ""), group.get("TargetType", "instance"),
                           str(values.get("lambda.multi_value_headers.enabled", "false")).lower() == "true", targets)

    async def _pages(self, method: Any, key: str, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        marker: dict[str, str] = {}
        while True:
            page = await self.clients.call(method, **params, **marker)
            items.extend(page.get(key, []))
            if not page.get("NextMarker"):
                return items
            marker = {"Marker": page["NextMarker"]}


def _forwarded_to(actions: Iterable[Mapping[str, Any]]) -> list[str]:
    """The target groups ``actions`` forward to."""
    arns: list[str] = []
    for action in actions:
        if action.get("Type") != "forward":
            continue
        if action.get("TargetGroupArn"):
            arns.append(action["TargetGroupArn"])
        for group in (action.get("ForwardConfig") or {}).get("TargetGroups") or ():
            if group.get("TargetGroupArn"):
                arns.append(group["TargetGroupArn"])
    return arns
