"""The SAM transform in moto's CloudFormation: a template that says
``Transform: AWS::Serverless-2016-10-31`` is expanded by AWS's translator
(:func:`emulator.templates.sam.expand`) before moto reads its resources, on CreateStack,
UpdateStack and CreateChangeSet (``aws cloudformation deploy``), as CloudFormation does.

* The stack keeps the template as given (``GetTemplate``'s ``Original`` stage) and works from the
  expanded one (``TemplateStage=Processed``, JSON, as AWS answers).
* A template the translator refuses is the request's ``ValidationError``, with CloudFormation's
  ``Transform AWS::Serverless-2016-10-31 failed with: ...`` and the translator's messages;
  CreateChangeSet checks before it makes anything.
* A stack whose template did not change is found unchanged from its original template (the
  expanded one is not what the next deploy sends).
"""

from __future__ import annotations

import copy
import functools
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from emulator.moto.patching import Patch, PatchSet
from emulator.templates.checks import check
from emulator.templates.sam import expand as sam_expand
from emulator.templates.sam import is_sam

STAGES = ["Original", "Processed"]


def code_root() -> Path:
    """Where a relative ``CodeUri`` is read from: the project folder (the control plane's
    ``CLOUDMICRO_PROJECT_DIR``, else its working folder)."""
    return Path(os.environ.get("CLOUDMICRO_PROJECT_DIR") or os.getcwd())


@functools.lru_cache(maxsize=16)
def _expanded(source: str, region: str, account_id: str, parameters: str) -> str:
    result = sam_expand(json.loads(source), region=region, account_id=account_id,
                        parameters=json.loads(parameters), code_root=code_root())
    return json.dumps(result)


def processed(template: Mapping[str, Any], region: str, account_id: str, parameters: Mapping[str, Any] | None
              ) -> dict[str, Any]:
    """The template CloudFormation works from: SAM's expansion, or the template itself, checked
    as CloudFormation checks it before making anything (:func:`emulator.templates.checks.check`)."""
    if not is_sam(template):
        check(template)
        return dict(template)
    values = {str(k): v for k, v in (parameters or {}).items() if isinstance(v, (str, int, float, list))}
    text = _expanded(json.dumps(template, sort_keys=True, default=str), region, account_id,
                     json.dumps(values, sort_keys=True, default=str))
    result = dict(json.loads(text))
    check(result)
    return result


def _region_of(stack: Any) -> str:
    return str(getattr(stack, "region_name", None) or str(stack.stack_id).split(":")[3])


def _stack_init(original: Callable[..., Any]) -> Callable[..., Any]:
    def __init__(self: Any, stack_id: str, name: str, template: Any, parameters: dict[str, str], account_id: str,
                 region_name: str, *args: Any, **kwargs: Any) -> None:
        self._cloudmicro_parameters = parameters
        self.region_name = region_name
        original(self, stack_id, name, template, parameters, account_id, region_name, *args, **kwargs)

    return __init__


def _stack_parse_template(original: Callable[..., Any]) -> Callable[..., Any]:
    def _parse_template(self: Any) -> None:
        original(self)
        parameters = getattr(self, "_cloudmicro_parameters", None)
        if parameters is None:
            parameters = getattr(self, "parameters", None)
        self.template_dict = processed(self.template_dict, _region_of(self), self.account_id, parameters)

    return _parse_template


def _stack_update(original: Callable[..., Any]) -> Callable[..., Any]:
    def update(self: Any, template: str, role_arn: str | None = None, parameters: dict[str, Any] | None = None,
               tags: dict[str, str] | None = None) -> None:
        self._cloudmicro_parameters = parameters
        original(self, template, role_arn, parameters, tags)

    return update


def _has_template(original: Callable[..., Any]) -> Callable[..., Any]:
    def has_template(self: Any, other_template: str) -> bool:
        return bool(self.parse_template(self.template) == self.parse_template(other_template))

    return has_template


def _json_first(original: Any) -> Any:
    """A template that is a JSON object is read as JSON, as CloudFormation reads it; YAML
    otherwise (moto read every template with PyYAML's pure-Python loader: 0.5 s for a JSON
    template of 60 resources, where ``json`` takes 5 ms)."""
    def parse_template(template: str) -> dict[str, Any]:
        if isinstance(template, str) and template.lstrip().startswith("{"):
            try:
                parsed = json.loads(template)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                return parsed
        return original(template)

    return staticmethod(parse_template)


def _change_set_parse_template(original: Callable[..., Any]) -> Callable[..., Any]:
    def _parse_template(self: Any) -> None:
        from moto.cloudformation.models import Stack

        self.template_dict = Stack.parse_template(self.template)  # JSON first, as a stack's
        self.template_dict = processed(self.template_dict, _region_of(self.stack), self.stack.account_id,
                                       self.parameters)

    return _parse_template


def _create_change_set(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_change_set(self: Any, stack_name: str, change_set_name: str, template: str,
                          parameters: dict[str, str], *args: Any, **kwargs: Any) -> Any:
        from moto.cloudformation.models import Stack

        # refused before the stack (REVIEW_IN_PROGRESS) is made
        processed(Stack.parse_template(template), self.region_name, self.account_id, parameters)
        return original(self, stack_name, change_set_name, template, parameters, *args, **kwargs)

    return create_change_set


def _get_template(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_template(self: Any) -> Any:
        from moto.core.responses import ActionResult

        stage = self._get_param("TemplateStage") or "Original"
        if stage not in STAGES:
            from moto.cloudformation.exceptions import ValidationError

            raise ValidationError(message=f"1 validation error detected: Value '{stage}' at 'templateStage' failed "
                                          "to satisfy constraint: Member must satisfy enum value set: "
                                          "[Original, Processed]")
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        body = stack.template
        if stage == "Processed" and is_sam(stack.parse_template(stack.template)):
            body = json.dumps(copy.deepcopy(stack.template_dict), indent=2)
        return ActionResult({"TemplateBody": body, "StagesAvailable": STAGES})

    return get_template


def _patches() -> Iterator[Patch]:
    from moto.cloudformation import models, responses

    yield Patch(models.Stack, "__init__", _stack_init)
    yield Patch(models.Stack, "_parse_template", _stack_parse_template)
    yield Patch(models.Stack, "update", _stack_update)
    yield Patch(models.Stack, "has_template", _has_template)
    yield Patch(models.Stack, "parse_template", _json_first)
    yield Patch(models.ChangeSet, "_parse_template", _change_set_parse_template)
    yield Patch(models.CloudFormationBackend, "create_change_set", _create_change_set)
    yield Patch(responses.CloudFormationResponse, "get_template", _get_template)


#: the SAM transform of CreateStack, UpdateStack and CreateChangeSet; GetTemplate's stages
PATCHES = PatchSet("cloudformation-sam", _patches)
