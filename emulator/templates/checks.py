"""What CloudFormation refuses before it makes anything (pure): references to resources or
parameters the template does not have, circular dependencies between resources, and intrinsic
functions written with the wrong arguments. Each is a :class:`TemplateError` whose message is
CloudFormation's, so ``CreateStack``/``UpdateStack``/``CreateChangeSet`` answer with a
``ValidationError`` and no stack is made (moto recursed without end on a cycle and reported a
``KeyError`` for a missing reference).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

#: the pseudo parameters every template may Ref
PSEUDO = frozenset({"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region",
                    "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"})
_SUB_NAME = re.compile(r"\$\{([^!}][^}]*)\}")


class TemplateError(ValueError):
    """The template is refused: ``message`` is CloudFormation's."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check(template: Mapping[str, Any]) -> None:
    """Raise :class:`TemplateError` for the first thing CloudFormation would refuse."""
    resources = template.get("Resources")
    if not isinstance(resources, Mapping) or not resources:
        raise TemplateError("Template format error: At least one Resources member must be defined.")
    parameters = template.get("Parameters") if isinstance(template.get("Parameters"), Mapping) else {}
    known = set(resources) | set(parameters or {}) | PSEUDO
    for node in _walk(template):
        _check_shape(node)
    missing = sorted({name for name in _references(template.get("Resources", {})) | _references(
        template.get("Outputs", {})) if name not in known})
    if missing:
        raise TemplateError(f"Template format error: Unresolved resource dependencies [{', '.join(missing)}] in "
                            "the Resources block of the template")
    cycle = _cycle({name: {d for d in _dependencies(body) if d in resources and d != name}
                    for name, body in resources.items()})
    if cycle:
        raise TemplateError(f"Circular dependency between resources: [{', '.join(sorted(cycle))}]")


def _walk(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


_SHAPES = {
    "Fn::Select": "Template error: Fn::Select requires a list argument with two elements: an integer index and a "
                  "list",
    "Fn::Join": "Template error: every Fn::Join object requires two parameters, (1) a string delimiter and (2) a "
                "list of strings to be joined or a function that returns a list of strings (such as Fn::GetAZs) to "
                "be joined.",
    "Fn::Split": "Template error: every Fn::Split object requires two parameters, (1) a string delimiter and (2) a "
                 "string to be split or a function that returns a string to be split.",
    "Fn::GetAtt": "Template error: every Fn::GetAtt object requires two non-empty parameters",
    "Fn::FindInMap": "Template error: every Fn::FindInMap object requires three parameters, the map name, map key "
                     "and the attribute for return value",
    "Fn::If": "Template error: Fn::If requires a list argument with three elements",
    "Fn::Equals": "Template error: every Fn::Equals object requires a list of 2 string parameters.",
    "Fn::Sub": "Template error: One or more Fn::Sub intrinsic functions don't specify expected arguments. Specify a "
               "string as first argument, and an optional second argument to specify a mapping of values to "
               "replace in the string",
    "Ref": "Template format error: Every Ref object must have a single String value.",
}


def _check_shape(node: Mapping[str, Any]) -> None:
    if len(node) != 1:
        return
    (name, value), = node.items()
    if name not in _SHAPES:
        return
    ok = True
    if name == "Ref":
        ok = isinstance(value, str) and bool(value)
    elif name == "Fn::Select":
        ok = (isinstance(value, list) and len(value) == 2
              and (isinstance(value[0], int) or (isinstance(value[0], str) and value[0].isdigit())
                   or isinstance(value[0], Mapping)))
    elif name in ("Fn::Join", "Fn::Split"):
        ok = isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
        if ok and name == "Fn::Join":
            ok = isinstance(value[1], (list, Mapping))
        if ok and name == "Fn::Split":
            ok = isinstance(value[1], (str, Mapping))
    elif name == "Fn::GetAtt":
        parts = value.split(".", 1) if isinstance(value, str) else value
        ok = isinstance(parts, list) and len(parts) == 2 and all(p for p in parts) and isinstance(parts[0], str)
    elif name == "Fn::FindInMap":
        ok = isinstance(value, list) and len(value) == 3
    elif name == "Fn::If":
        ok = isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
    elif name == "Fn::Equals":
        ok = isinstance(value, list) and len(value) == 2
    elif name == "Fn::Sub":
        ok = isinstance(value, str) or (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
                                        and isinstance(value[1], Mapping))
    if not ok:
        raise TemplateError(_SHAPES[name])


def _references(node: Any, local: frozenset[str] = frozenset()) -> set[str]:
    """The names ``node`` refers to (Ref, GetAtt, ${} in Sub)."""
    found: set[str] = set()
    if isinstance(node, list):
        for value in node:
            found |= _references(value, local)
    elif isinstance(node, Mapping):
        if len(node) == 1:
            (name, value), = node.items()
            if name == "Ref" and isinstance(value, str):
                return {value}
            if name == "Fn::GetAtt":
                target = value.split(".", 1)[0] if isinstance(value, str) else value[0]
                return {target} if isinstance(target, str) else set()
            if name == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])
                names = {m.split(".", 1)[0] for m in _SUB_NAME.findall(text)}
                return ({n for n in names if n not in variables and n not in local}
                        | _references(variables, local))
        for key, value in node.items():
            if key not in ("Condition", "DeletionPolicy", "UpdateReplacePolicy", "Metadata", "Type"):
                found |= _references(value, local)
    return found


def _dependencies(body: Any) -> set[str]:
    depends = body.get("DependsOn", []) if isinstance(body, Mapping) else []
    names = {depends} if isinstance(depends, str) else {d for d in depends if isinstance(d, str)}
    return names | _references(body.get("Properties", {}) if isinstance(body, Mapping) else {})


def _cycle(graph: Mapping[str, set[str]]) -> list[str]:
    """The resources of a dependency cycle, or [] (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    for start in graph:
        if state.get(start):
            continue
        path: list[str] = []
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph.get(start, ()))))]
        state[start] = 1
        path.append(start)
        while stack:
            node, children = stack[-1]
            for child in children:
                if state.get(child) == 1:
                    return path[path.index(child):]
                if not state.get(child):
                    state[child] = 1
                    path.append(child)
                    stack.append((child, iter(sorted(graph.get(child, ())))))
                    break
            else:
                state[node] = 2
                path.pop()
                stack.pop()
    return []
