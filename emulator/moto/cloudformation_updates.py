"""UpdateStack in dependency order, and what a replaced resource's references change.

moto 5.2.5 modifies the resources whose template changed in the template's order, and leaves
the others alone. CloudFormation does more: it updates a resource after the ones it refers to
(``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``DependsOn``), and a resource whose template did not
change is still updated when a resource it refers to was replaced, since its ``Ref`` now names
something else (a function's ``Layers: [!Ref Layer]`` after the layer published a new version,
a mapping's ``FunctionName`` after the function got a new name). Here:

* the resources to modify are sorted so that what a resource refers to comes first;
* a new resource that refers to one being modified is made after it (moto makes new ones
  first: a new ``AWS::Lambda::Version`` in the update that changes its function's code would
  publish the code as it was);
* after moto's update, the resources that refer to a replaced one (its physical id changed) are
  updated too, and so on for what that replaces in turn.

https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from emulator.moto.patching import Patch, PatchSet

_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def references(value: Any) -> set[str]:
    """The logical ids a template value refers to (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``)."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        if isinstance(value.get("Ref"), str):
            found.add(value["Ref"])
        target = value.get("Fn::GetAtt")
        if isinstance(target, list) and target and isinstance(target[0], str):
            found.add(target[0])
        elif isinstance(target, str):
            found.add(target.split(".", 1)[0])
        sub = value.get("Fn::Sub")
        text = sub[0] if isinstance(sub, list) and sub else sub
        if isinstance(text, str):
            found.update(_SUB_NAME.findall(text))
        for item in value.values():
            found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def _depends_on(resource: Any) -> set[str]:
    if not isinstance(resource, Mapping):
        return set()
    depends = resource.get("DependsOn")
    names = {depends} if isinstance(depends, str) else set(depends) if isinstance(depends, list) else set()
    return names | references(resource.get("Properties")) | references(resource.get("Condition"))


def dependency_order(names: list[str], resources: Mapping[str, Any]) -> list[str]:
    """``names`` with what each refers to (among them) first; the given order otherwise."""
    wanted = set(names)
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered or name in visiting:
            return  # placed, or a cycle (refused before any update runs: templates/checks.py)
        visiting.add(name)
        for needed in sorted(_depends_on(resources.get(name)) & wanted):
            visit(needed)
        visiting.discard(name)
        ordered.append(name)

    for name in names:
        visit(name)
    return ordered


def _after_modified(added: list[str], modified: list[str], resources: Mapping[str, Any]) -> list[str]:
    """The new resources that refer (directly or through other new ones) to a modified one."""
    later: list[str] = []
    waiting = set(modified)
    grew = True
    while grew:
        grew = False
        for name in added:
            if name not in later and _depends_on(resources.get(name)) & waiting:
                later.append(name)
                waiting.add(name)
                grew = True
    return later


def _physical_id(resource: Any) -> str | None:
    try:
        value = getattr(resource, "physical_resource_id", None)
    except Exception:  # noqa: BLE001 - some models compute it and may fail: not a replacement then
        return None
    return str(value) if value is not None else None


def _build_resource_diff(original: Callable[..., Any]) -> Callable[..., Any]:
    def build_resource_diff(self: Any, other_template: dict[str, Any], parameters: Any = None) -> Any:
        diff = original(self, other_template, parameters)
        resources = other_template.get("Resources") or {}
        diff["Modify"] = dependency_order(list(diff["Modify"]), resources)
        if getattr(self, "_cloudmicro_updating", False):  # UpdateStack's own diff, not a change set's listing
            self._cloudmicro_later = _after_modified(diff["Add"], diff["Modify"], resources)
            diff["Add"] = [name for name in diff["Add"] if name not in self._cloudmicro_later]
        return diff

    return build_resource_diff


def _update(original: Callable[..., Any]) -> Callable[..., Any]:
    def update(self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        diff = self.build_resource_diff(template, parameters)
        before = {name: _physical_id(resource) for name, resource in self._parsed_resources.items()}
        self._cloudmicro_updating, self._cloudmicro_later = True, []
        try:
            original(self, template, parameters)
            for name in dependency_order(list(self._cloudmicro_later), template.get("Resources") or {}):
                _ = self[name]  # moto's way to make a resource of the template (as its Add step does)
        finally:
            self._cloudmicro_updating = False
        touched = set(diff["Add"]) | set(diff["Modify"])
        parsed = self._parsed_resources
        replaced = {name for name in diff["Modify"]
                    if name in parsed and _physical_id(parsed[name]) != before.get(name)}
        _follow_replacements(self, replaced, touched)

    return update


def _follow_replacements(resource_map: Any, replaced: set[str], touched: set[str]) -> None:
    """Update the resources that refer to a replaced one and were not updated already."""
    from moto.cloudformation import parsing

    resources = resource_map._resource_json_map
    while replaced:
        dependents = [name for name, resource in resources.items()
                      if name not in touched and name in resource_map._parsed_resources
                      and _depends_on(resource) & replaced]
        replaced = set()
        for name in dependency_order(dependents, resources):
            old = _physical_id(resource_map._parsed_resources[name])
            changed = parsing.parse_and_update_resource(name, resources[name], resource_map,
                                                        account_id=resource_map._account_id,
                                                        region_name=resource_map._region_name)
            if changed is not None:
                resource_map._parsed_resources[name] = changed
                if _physical_id(changed) != old:
                    replaced.add(name)
            touched.add(name)


def _patches() -> Iterator[Patch]:
    from moto.cloudformation import parsing

    yield Patch(parsing.ResourceMap, "build_resource_diff", _build_resource_diff)
    yield Patch(parsing.ResourceMap, "update", _update)


#: UpdateStack's order and replacements, as CloudFormation's
PATCHES = PatchSet("cloudformation-updates", _patches)
