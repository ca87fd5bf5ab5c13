"""moto's CloudFormation engine made to fail as CloudFormation does, visibly.

moto 5.2.5 skips a resource type it has no model for (a warning in the log, the stack
CREATE_COMPLETE without it), lets a resource's exception escape the request (the stack stays
in progress with its other resources half made, the error comes back as moto's JSON or a 500,
and a later DescribeStacks tries the creation again, through the lazy resource map), and reads
a ``TemplateURL``'s bucket from the path only when the host says ``localhost``. Here:

* a type no one makes is a resource that fails, its reason naming the type;
* each resource gets its stack events (``CREATE_IN_PROGRESS``, ``CREATE_COMPLETE`` or
  ``CREATE_FAILED`` with the reason; the same for updates, and ``DELETE_IN_PROGRESS`` and
  ``DELETE_COMPLETE`` for a resource an update removes or a stack deletion deletes: moto
  deleted them without a word);
* an update changes only the resources whose template changed: moto wrote ``Properties: {}``
  into a resource that had none when it made it, so every later update found it changed;
* a failed creation rolls back: the resources made are deleted and the stack is
  ``ROLLBACK_COMPLETE`` (it can be described and deleted); a failed update goes back to the
  previous template (``UPDATE_ROLLBACK_COMPLETE``); a failed deletion is ``DELETE_FAILED``;
* ExecuteChangeSet (``aws cloudformation deploy``) sets the stack's template and outputs, as
  UpdateStack does (moto left a created stack with no outputs);
* errors are CloudFormation's XML (``ErrorResponse``), whatever raised them;
* a template URL's bucket is read from the host name only for virtual-hosted URLs
  (``bucket.s3.…``); any other host (``127.0.0.1:4566``, ``localhost``, ``s3.localhost…``) is
  path style.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from emulator.moto.patching import Patch, PatchSet
from emulator.templates.checks import TemplateError
from emulator.templates.sam import SamError

log = logging.getLogger(__name__)


class ResourceFailed(Exception):
    """A resource of the stack could not be made or changed (its event is recorded)."""

    def __init__(self, logical_id: str, reason: str, action: str) -> None:
        super().__init__(f"{logical_id}: {reason}")
        self.logical_id = logical_id
        self.reason = reason
        self.action = action  # "create" or "update"


# --- types no one makes -----------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def unsupported(resource_type: str, reason: str) -> type:
    """A model class whose creation fails with ``reason``."""

    def create_from_cloudformation_json(cls: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(reason)

    def fail(cls: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(reason)

    return type(f"Unsupported[{resource_type}]", (), {
        "cloudformation_type": staticmethod(lambda: resource_type),
        "cloudformation_name_type": staticmethod(lambda: None),
        "has_cfn_attr": classmethod(lambda cls, attr: True),
        "create_from_cloudformation_json": classmethod(create_from_cloudformation_json),
        "update_from_cloudformation_json": classmethod(fail),
        "delete_from_cloudformation_json": classmethod(lambda cls, *args, **kwargs: None),
    })


def _resource_class_from_type(original: Callable[[str], Any]) -> Callable[[str], Any]:
    def resource_class_from_type(resource_type: str) -> Any:
        from moto.cloudformation.parsing import NULL_MODELS

        found = original(resource_type)
        if found is None and resource_type not in NULL_MODELS:
            return unsupported(resource_type, f"Resource type {resource_type} is not supported by Cloudmicro: "
                                              "neither moto nor Cloudmicro can create it")
        return found

    return resource_class_from_type


# --- resource events --------------------------------------------------------------------


def _stack_of(resources_map: Any, account_id: str, region_name: str) -> Any:
    from moto.cloudformation.models import cloudformation_backends

    return cloudformation_backends[account_id][region_name].stacks.get(resources_map.stack_id)


def resource_event(stack: Any, logical_id: str, resource_type: str, status: str, physical_id: str = "",
                   reason: str | None = None) -> None:
    from moto.cloudformation.models import Event

    if stack is None:
        return
    event = Event(stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
                  physical_resource_id=physical_id, resource_type=resource_type, resource_status=status,
                  resource_status_reason=reason, resource_properties=None)
    try:
        event.sendToSns(stack.account_id, stack.region_name, stack.notification_arns)
    except Exception:
        log.debug("stack %s: event not sent to its topics", stack.name, exc_info=True)
    stack.events.append(event)


def _failures(resources_map: Any) -> dict[str, ResourceFailed]:
    found = getattr(resources_map, "_cloudmicro_failed", None)
    if found is None:
        found = {}
        resources_map._cloudmicro_failed = found
    return found


def _reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message)


def _parse_and_create_resource(original: Callable[..., Any]) -> Callable[..., Any]:
    def parse_and_create_resource(logical_id: str, resource_json: dict[str, Any], resources_map: Any,
                                  account_id: str, region_name: str) -> Any:
        from moto.cloudformation import parsing

        condition = resource_json.get("Condition")
        if condition and not resources_map.lazy_condition_map[condition]:
            return None
        failed = _failures(resources_map)
        if logical_id in failed:
            raise failed[logical_id]
        resource_type = resource_json["Type"]
        stack = _stack_of(resources_map, account_id, region_name)
        try:
            parsed = parsing.parse_resource_and_generate_name(logical_id, resource_json, resources_map)
            if not parsed:
                return None
            resource_class, cleaned, physical_name = parsed
        except ResourceFailed:
            raise  # a resource it refers to failed: that one has the event
        except Exception as exc:  # noqa: BLE001 - any failure is the stack\'s failure, as on AWS
            failure = ResourceFailed(logical_id, _reason(exc), "create")
        else:
            resource_event(stack, logical_id, resource_type, "CREATE_IN_PROGRESS")
            try:
                resource = resource_class.create_from_cloudformation_json(
                    physical_name, cleaned, account_id, region_name, LogicalId=logical_id,
                    StackId=resources_map.stack_id, ResourceType=resource_type)
            except ResourceFailed:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure is the stack\'s failure, as on AWS
                failure = ResourceFailed(logical_id, _reason(exc), "create")
            else:
                resource.cf_resource_type = resource_type
                resource.logical_resource_id = logical_id
                resource_event(stack, logical_id, resource_type, "CREATE_COMPLETE",
                               str(getattr(resource, "physical_resource_id", "") or ""))
                return resource
        failed[logical_id] = failure
        resource_event(stack, logical_id, resource_type, "CREATE_FAILED", reason=failure.reason)
        raise failure

    return parse_and_create_resource


def _parse_and_update_resource(original: Callable[..., Any]) -> Callable[..., Any]:
    def parse_and_update_resource(logical_id: str, resource_json: dict[str, Any], resources_map: Any,
                                  account_id: str, region_name: str) -> Any:
        failed = _failures(resources_map)
        if logical_id in failed:
            raise failed[logical_id]
        stack = _stack_of(resources_map, account_id, region_name)
        resource_type = resource_json.get("Type", "")
        old = resources_map._parsed_resources.get(logical_id)
        resource_event(stack, logical_id, resource_type, "UPDATE_IN_PROGRESS",
                       str(getattr(old, "physical_resource_id", "") or ""))
        try:
            new = original(logical_id, resource_json, resources_map, account_id, region_name)
        except ResourceFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure is the stack\'s failure, as on AWS
            failure = ResourceFailed(logical_id, _reason(exc), "update")
            failed[logical_id] = failure
            resource_event(stack, logical_id, resource_type, "UPDATE_FAILED", reason=failure.reason)
            raise failure from None
        resource_event(stack, logical_id, resource_type, "UPDATE_COMPLETE",
                       str(getattr(new if new is not None else old, "physical_resource_id", "") or ""))
        return new

    return parse_and_update_resource


def _delete_resource(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_resource(self: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        stack = _stack_of(self, self._account_id, self._region_name)
        logical_id = str(getattr(parsed_resource, "logical_resource_id", "") or "")
        resource_type = str(resource_json.get("Type", ""))
        physical_id = str(getattr(parsed_resource, "physical_resource_id", "") or "")
        started = getattr(self, "_cloudmicro_deleting", None)
        if started is None:
            started = self._cloudmicro_deleting = set()
        if logical_id and logical_id not in started:  # moto tries again after a dependency error
            started.add(logical_id)
            resource_event(stack, logical_id, resource_type, "DELETE_IN_PROGRESS", physical_id)
        original(self, parsed_resource, resource_json)
        if logical_id:
            started.discard(logical_id)
            resource_event(stack, logical_id, resource_type, "DELETE_COMPLETE", physical_id)

    return delete_resource


def _build_resource_diff(original: Callable[..., Any]) -> Callable[..., Any]:
    def build_resource_diff(self: Any, other_template: dict[str, Any], parameters: Any = None) -> Any:
        for resources in (self._resource_json_map, other_template.get("Resources") or {}):
            for resource in resources.values():
                if isinstance(resource, dict):
                    resource.setdefault("Properties", {})  # what moto's parse_resource adds
        return original(self, other_template, parameters)

    return build_resource_diff


# --- stack operations that fail ---------------------------------------------------------


def _failed_list(stack: Any, action: str) -> str:
    names = [name for name, failure in _failures(stack.resource_map).items() if failure.action == action]
    return ", ".join(names)


def _settle(stack: Any) -> None:
    """After a failure: no lazy creation any more (DescribeStacks, ListStackResources would try
    again), and no outputs (a stack that rolled back has none)."""
    from moto.cloudformation.parsing import OutputMap

    resource_map = stack.resource_map
    resource_map._resource_json_map = {name: value for name, value in resource_map._resource_json_map.items()
                                       if name in resource_map._parsed_resources}
    stack.output_map = OutputMap(resource_map, {}, stack.stack_id)


def roll_back_creation(stack: Any, exc: BaseException) -> None:
    failed = _failed_list(stack, "create")
    reason = (f"The following resource(s) failed to create: [{failed}]. Rollback requested by user."
              if failed else f"Stack creation failed: {_reason(exc)}")
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
    try:
        stack.resource_map.delete()
    except Exception as error:  # noqa: BLE001 - any failure is the stack\'s failure, as on AWS
        _settle(stack)
        stack.status = "ROLLBACK_FAILED"
        stack._add_stack_event("ROLLBACK_FAILED", resource_status_reason=_reason(error))
        return
    _settle(stack)
    stack.status = "ROLLBACK_COMPLETE"
    stack._add_stack_event("ROLLBACK_COMPLETE")


def roll_back_update(stack: Any, template: Any, parameters: dict[str, Any], exc: BaseException) -> None:
    failed = _failed_list(stack, "update") or _failed_list(stack, "create")
    reason = f"The following resource(s) failed to update: [{failed}]. " if failed else _reason(exc)
    stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=reason.strip())
    stack.resource_map._cloudmicro_failed = {}
    stack.template = template
    stack._parse_template()
    try:
        stack.resource_map.update(stack.template_dict, parameters)
        stack.output_map = stack._create_output_map()
    except Exception as error:  # noqa: BLE001 - any failure is the stack\'s failure, as on AWS
        _settle(stack)
        stack.status = "UPDATE_ROLLBACK_FAILED"
        stack._add_stack_event("UPDATE_ROLLBACK_FAILED", resource_status_reason=_reason(error))
        return
    stack.status = "UPDATE_ROLLBACK_COMPLETE"
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")


def _create_resources(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_resources(self: Any) -> None:
        self.resource_map._cloudmicro_failed = {}
        try:
            original(self)
            _ = self.outputs  # resolved now: an output that cannot be is the creation's failure
        except Exception as exc:  # noqa: BLE001 - any failure is the stack\'s failure, as on AWS
            roll_back_creation(self, exc)

    return create_resources


def _update(original: Callable[..., Any]) -> Callable[..., Any]:
    def update(self: Any, template: str, role_arn: str | None = None, parameters: dict[str, Any] | None = None,
               tags: dict[str, str] | None = None) -> None:
        before = (self.template, dict(self.resource_map.input_parameters))
        self.resource_map._cloudmicro_failed = {}
        self.status = "UPDATE_IN_PROGRESS"
        try:
            original(self, template, role_arn, parameters, tags)
            _ = self.outputs
        except Exception as exc:  # noqa: BLE001 - any failure is the stack\'s failure, as on AWS
            roll_back_update(self, before[0], before[1], exc)

    return update


def _execute_change_set(original: Callable[..., Any]) -> Callable[..., Any]:
    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        from moto.cloudformation.exceptions import ValidationError

        change_set = self.change_sets.get(change_set_name) or next(
            (cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name), None)
        if change_set is None:
            raise ValidationError(message=f"ChangeSet [{change_set_name}] does not exist")
        if change_set.execution_status != "AVAILABLE":
            raise ValidationError(message=f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
                                          f"execution status of [{change_set.execution_status}]")
        stack = self.stacks[change_set.stack_id]
        creating = change_set.change_set_type == "CREATE"
        before = (stack.template, dict(stack.resource_map.input_parameters))
        stack.resource_map._cloudmicro_failed = {}
        stack.status = "CREATE_IN_PROGRESS" if creating else "UPDATE_IN_PROGRESS"
        stack._add_stack_event(stack.status, resource_status_reason="User Initiated")
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        try:
            change_set.apply()
            stack.template = change_set.template
            stack._parse_template()
            stack.description = stack.template_dict.get("Description")
            if change_set.parameters:
                stack.parameters = change_set.parameters
            stack.output_map = stack._create_output_map()
            _ = stack.outputs
            for export in stack.exports:
                self.exports[export.name] = export
        except Exception as exc:  # noqa: BLE001 - any failure is the stack\'s failure, as on AWS
            change_set.execution_status = "EXECUTE_FAILED"
            if creating:
                roll_back_creation(stack, exc)
            else:
                roll_back_update(stack, before[0], before[1], exc)
            return
        stack.status = f"{change_set.change_set_type}_COMPLETE"
        stack._add_stack_event(stack.status)
        change_set.execution_status = "EXECUTE_COMPLETE"

    return execute_change_set


def _delete_stack(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_stack(self: Any, name_or_stack_id: str) -> None:
        stack = self.stacks.get(name_or_stack_id) or next(
            (s for s in self.stacks.values() if s.name == name_or_stack_id), None)
        if stack is None:
            return  # as on AWS: deleting a stack that is not there succeeds
        try:
            export_names = [export.name for export in stack.exports]
        except Exception:  # noqa: BLE001 - any failure is the stack\'s failure, as on AWS
            export_names = []
        try:
            stack.delete()
        except Exception as exc:  # noqa: BLE001 - any failure is the stack\'s failure, as on AWS
            _settle(stack)
            stack.status = "DELETE_FAILED"
            stack._add_stack_event("DELETE_FAILED", resource_status_reason=_reason(exc))
            return
        self.stacks.pop(stack.stack_id, None)
        self.deleted_stacks[stack.stack_id] = stack
        for name in export_names:
            self.exports.pop(name, None)

    return delete_stack


def _create_change_set(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_change_set(self: Any, stack_name: str, change_set_name: str, *args: Any, **kwargs: Any) -> Any:
        from moto.cloudformation.exceptions import ValidationError

        stack = next((s for s in self.stacks.values() if s.name == stack_name), None)
        if stack is not None and stack.status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"):
            raise ValidationError(message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")
        return original(self, stack_name, change_set_name, *args, **kwargs)

    return create_change_set


# --- template URLs ----------------------------------------------------------------------


def template_location(url: str) -> tuple[str, str]:
    """(bucket, key) of a template URL: virtual-hosted (``bucket.s3.…``) or path style (any other host)."""
    from moto.cloudformation.exceptions import ValidationError

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = unquote(parts.path)
    if parts.scheme == "s3":
        bucket, key = host, path.lstrip("/")
    else:
        for marker in (".s3.", ".s3-"):
            if marker in host and not host.startswith("s3.") and not host.startswith("s3-"):
                bucket, key = host.split(marker, 1)[0], path.lstrip("/")
                break
        else:
            bucket, _, key = path.lstrip("/").partition("/")
    if parts.scheme not in ("http", "https", "s3") or not bucket or not key:
        raise ValidationError(message="TemplateURL must be a supported URL.")
    return bucket, key


def _get_stack_from_s3_url(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
        from moto.cloudformation.exceptions import ValidationError
        from moto.s3.exceptions import MissingBucket
        from moto.s3.models import s3_backends

        bucket, key = template_location(template_url)
        try:
            found = s3_backends[account_id][partition].get_object(bucket, key)
        except MissingBucket:
            raise ValidationError(message="S3 error: The specified bucket does not exist") from None
        if found is None:
            raise ValidationError(message="S3 error: The specified key does not exist.") from None
        try:
            return bytes(found.value).decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError(message="Template format error: the template is not UTF-8 text") from None

    return get_stack_from_s3_url


# --- errors as XML ----------------------------------------------------------------------


def _call_action(original: Callable[..., Any]) -> Callable[..., Any]:
    def call_action(self: Any) -> Any:
        try:
            status, headers, body = original(self)
        except (SamError, TemplateError) as exc:  # the template's fault: its reason is the answer
            return _xml_error(self, _reason(exc))
        except Exception as exc:
            log.warning("CloudFormation %s failed in moto", self._get_action(), exc_info=True)
            return _xml_error(self, _reason(exc))
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
        if int(status) >= 400 and "<ErrorResponse" not in text:
            return _xml_error(self, _message_of(text) or f"HTTP {status}")
        return status, headers, body

    return call_action


def _message_of(text: str) -> str:
    import json
    import re

    try:
        value = json.loads(text)
    except ValueError:
        found = re.search(r"<Message>(.*?)</Message>", text, re.S)
        return found.group(1) if found else text.strip()[:500]
    if isinstance(value, dict):
        return str(value.get("message") or value.get("Message") or text)
    return text


def _xml_error(response: Any, message: str) -> Any:
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.responses import ActionResult

    status, headers, body = response.serialized(ActionResult(ValidationError(message=message)))
    headers["status"] = status
    headers, body = response._enrich_response(headers, body)
    return status, headers, body


def _patches() -> Iterator[Patch]:
    from moto.cloudformation import models, parsing, responses, utils

    yield Patch(parsing, "resource_class_from_type", _resource_class_from_type)
    yield Patch(parsing, "parse_and_create_resource", _parse_and_create_resource)
    yield Patch(parsing, "parse_and_update_resource", _parse_and_update_resource)
    yield Patch(parsing.ResourceMap, "_delete_resource", _delete_resource)
    yield Patch(parsing.ResourceMap, "build_resource_diff", _build_resource_diff)
    yield Patch(models.Stack, "create_resources", _create_resources)
    yield Patch(models.Stack, "update", _update)
    yield Patch(models.CloudFormationBackend, "execute_change_set", _execute_change_set)
    yield Patch(models.CloudFormationBackend, "delete_stack", _delete_stack)
    yield Patch(models.CloudFormationBackend, "create_change_set", _create_change_set)
    for module in (utils, models, responses):
        yield Patch(module, "get_stack_from_s3_url", _get_stack_from_s3_url)
    yield Patch(responses.CloudFormationResponse, "call_action", _call_action)


#: CloudFormation's failures, events, errors and template URLs
PATCHES = PatchSet("cloudformation", _patches)
