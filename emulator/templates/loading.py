"""Reading a CloudFormation or SAM template: JSON, or YAML with CloudFormation's short tags.

CloudFormation's YAML writes intrinsic functions as tags (``!Ref Queue``, ``!GetAtt Queue.Arn``,
``!Sub "${AWS::StackName}-x"``); each one stands for its long form, a one-key mapping
(``{"Ref": "Queue"}``, ``{"Fn::GetAtt": ["Queue", "Arn"]}``, ``{"Fn::Sub": "..."}``), as
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
gives them. ``!Ref`` and ``!Condition`` keep their names; every other tag ``!X`` is ``Fn::X``
(``!Join``, ``!If``, ``!Equals``, ``!FindInMap``, ``!Select``, ``!Split``, ``!ImportValue``,
``!GetAZs``, ``!Base64``, ``!Cidr``, ``!And``, ``!Or``, ``!Not``, ``!Transform``...), whatever its
node: a scalar, a list or a mapping. ``!GetAtt`` also takes ``Resource.Attribute`` (split at the
first dot). The loaded template is sent to CloudFormation as JSON, so only long forms travel.

What YAML 1.1 would make of a bare date (``AWSTemplateFormatVersion: 2010-09-09``) stays the
string it is written as, as CloudFormation reads it. A key given twice in one mapping is an
error (YAML keeps the last one silently; CloudFormation refuses the template).
"""

from __future__ import annotations

import json
from typing import Any

import yaml


class TemplateError(ValueError):
    """The template cannot be read: the message says where and why."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with CloudFormation's tags (its own class: the global one is untouched)."""


def _intrinsic(loader: _Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            resource, dot, attribute = str(value).partition(".")
            if not dot or not resource or not attribute:
                raise yaml.constructor.ConstructorError(
                    None, None, f"!GetAtt {value!r} must be Resource.Attribute", node.start_mark)
            value = [resource, attribute]
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = _mapping(loader, node)
    return {name: value}


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)  # YAML merge keys (<<) as the safe loader has them
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(None, None, f"a mapping key must be a scalar, not {key!r}",
                                                    key_node.start_mark)
        if key in out:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"the key {key!r} is given twice", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
    return out


def _as_written(loader: _Loader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))


_Loader.add_multi_constructor("!", _intrinsic)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _as_written)


def load_template(text: str, source: str = "the template") -> dict[str, Any]:
    """The template as a dict of long forms; :class:`TemplateError` naming ``source`` and the line
    when it is not JSON or YAML, or not a template (a mapping with ``Resources``)."""
    stripped = text.lstrip()
    template: Any
    if stripped.startswith("{"):
        try:
            template = json.loads(text)
        except ValueError as exc:
            raise TemplateError(f"{source}: not valid JSON: {exc}") from None
    else:
        try:
            template = yaml.load(text, Loader=_Loader)  # our SafeLoader subclass
        except yaml.YAMLError as exc:
            where = str(exc).replace('in "<unicode string>", line', "at line")
            raise TemplateError(f"{source}: not valid YAML: {where}") from None
    if not isinstance(template, dict):
        raise TemplateError(f"{source}: a template is a mapping (with Resources), not {type(template).__name__}")
    if not isinstance(template.get("Resources"), dict) or not template["Resources"]:
        raise TemplateError(f"{source}: Template format error: At least one Resources member must be defined.")
    return template


def template_body(template: dict[str, Any]) -> str:
    """The template as CloudFormation's TemplateBody (JSON: only long forms)."""
    return json.dumps(template, indent=1)
