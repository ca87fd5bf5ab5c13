"""CloudFormation resource types moto makes incompletely or not at all, made through the
services' own APIs at the control plane's endpoint (as :mod:`emulator.moto.cloudformation_lambda`
makes Lambda's), so a resource is what the same API calls by hand would make (and the front door
sees API changes as it sees any write).

What CDK apps synthesize and the SAM-side module (:mod:`emulator.moto.cloudformation_services`:
SNS subscriptions, API Gateway deployments and stages, ...) does not cover. moto 5.2.5's
``AWS::ApiGateway::Method`` keeps only the integration's type, URI and HTTP method (no
credentials, request parameters or templates, passthrough behaviour, integration or method
responses). Here, from AWS's resource reference:

* ``AWS::ApiGateway::Method``: PutMethod, PutIntegration (every ``Integration`` property),
  PutIntegrationResponse per ``Integration.IntegrationResponses`` and PutMethodResponse per
  ``MethodResponses``. ``Ref``: the method's id (``{api}-{resource}-{METHOD}``). An update puts
  it again.
* ``AWS::CloudFormation::Stack`` (a nested stack, moto's): ``Fn::GetAtt [Stack, Outputs.Name]``
  is the nested stack's output ``Name``; a nested stack that rolls back fails its resource
  (``Embedded stack … was not successfully created: …``).
* ``AWS::Events::EventBus`` (moto's): ``Ref`` is the bus's name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from emulator.moto.cloudformation_lambda import LambdaResource, ResourceError
from emulator.moto.cloudformation_services import call
from emulator.moto.patching import Patch, PatchSet


class ServiceResource(LambdaResource):
    """A resource made through a service's API: deleting one already gone is no error."""

    def delete(self, account_id: str, region_name: str) -> None:
        try:
            self.remove()
        except ResourceError as exc:
            if "NotFound" not in str(exc):
                raise


def camel(properties: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The given CloudFormation properties under the API's camelCase names (``RequestTemplates``
    -> ``requestTemplates``), those that are set."""
    return {name[0].lower() + name[1:]: properties[name] for name in names if properties.get(name) is not None}


def _boolean(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _required(properties: Mapping[str, Any], *names: str) -> None:
    missing = [name for name in names if properties.get(name) in (None, "")]
    if missing:
        raise ResourceError(f"Properties validation failed: #: required key [{', '.join(missing)}] not found")


# --- SNS ---------------------------------------------------------------------------------

_SUBSCRIPTION_ATTRIBUTES = ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy",
                            "DeliveryPolicy", "ReplayPolicy", "SubscriptionRoleArn")


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


_METHOD = ("AuthorizationType", "ApiKeyRequired", "AuthorizerId", "AuthorizationScopes", "RequestParameters",
           "RequestModels", "RequestValidatorId", "OperationName")
_INTEGRATION = ("Type", "Uri", "IntegrationHttpMethod", "Credentials", "RequestParameters", "RequestTemplates",
                "PassthroughBehavior", "ContentHandling", "TimeoutInMillis", "CacheKeyParameters",
                "CacheNamespace", "ConnectionType", "ConnectionId", "TlsConfig")
_INTEGRATION_RESPONSE = ("SelectionPattern", "ResponseTemplates", "ResponseParameters", "ContentHandling")
_METHOD_RESPONSE = ("ResponseModels", "ResponseParameters")


class Method(ServiceResource):
    TYPE = "AWS::ApiGateway::Method"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> ServiceResource:
        _required(properties, "RestApiId", "ResourceId", "HttpMethod")
        where = {"restApiId": str(properties["RestApiId"]), "resourceId": str(properties["ResourceId"]),
                 "httpMethod": str(properties["HttpMethod"]).upper()}
        method = camel(properties, _METHOD)
        method.setdefault("authorizationType", "NONE")
        if "apiKeyRequired" in method:
            method["apiKeyRequired"] = _boolean(method["apiKeyRequired"])
        call("apigateway", region, "put_method", **where, **method)
        made = cls("-".join(where.values()), properties, region, where=where)
        try:
            made.put_rest(properties)
        except ResourceError:
            made.delete(account_id, region)
            raise
        return made

    def put_rest(self, properties: Mapping[str, Any]) -> None:
        where = self.state["where"]
        for response in properties.get("MethodResponses") or []:
            answer = camel(response, _METHOD_RESPONSE)
            if "responseParameters" in answer:
                answer["responseParameters"] = {k: _boolean(v) for k, v in answer["responseParameters"].items()}
            call("apigateway", self.region, "put_method_response", **where, statusCode=str(response["StatusCode"]),
                 **answer)
        integration = properties.get("Integration")
        if not isinstance(integration, Mapping):
            return
        body = camel(integration, _INTEGRATION)
        body.setdefault("type", "MOCK")
        if "timeoutInMillis" in body:
            body["timeoutInMillis"] = int(body["timeoutInMillis"])
        call("apigateway", self.region, "put_integration", **where, **body)
        for response in integration.get("IntegrationResponses") or []:
            call("apigateway", self.region, "put_integration_response", **where,
                 statusCode=str(response["StatusCode"]), **camel(response, _INTEGRATION_RESPONSE))

    @classmethod
    def update(cls, old: Any, name: str, properties: dict[str, Any], account_id: str, region: str) -> LambdaResource:
        old.delete(account_id, region)  # the same method (or a new one): the old one goes first
        return cls.create(name, properties, account_id, region, old.logical_resource_id)

    def remove(self) -> None:
        call("apigateway", self.region, "delete_method", **self.state["where"])


TYPES: dict[str, type[ServiceResource]] = {cls.TYPE: cls for cls in (Method,)}


def _resource_class_from_type(original: Any) -> Any:
    def resource_class_from_type(resource_type: str) -> Any:
        return TYPES.get(resource_type) or original(resource_type)

    return resource_class_from_type


def _resource_name_property_from_type(original: Any) -> Any:
    def resource_name_property_from_type(resource_type: str) -> str | None:
        return None if resource_type in TYPES else original(resource_type)

    return resource_name_property_from_type


def _stack_attribute(original: Any) -> Any:
    """A nested stack's ``Fn::GetAtt [Stack, Outputs.Name]``: the output's value (moto's
    ``Stack`` has no attributes; CDK passes values out of nested stacks this way)."""

    def get_cfn_attribute(self: Any, attr: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attr.startswith("Outputs."):
            for output in self.outputs or []:
                if output["OutputKey"] == attr[len("Outputs."):]:
                    return output["OutputValue"]
        raise UnformattedGetAttTemplateException()

    return get_cfn_attribute


def _nested_create(original: Any) -> Any:
    """A nested stack whose creation rolled back fails its resource in the parent, as AWS's
    ``Embedded stack … was not successfully created`` (moto reported it created, with no
    outputs); the rolled-back stack is deleted. The nested resources' reasons follow AWS's
    sentence, so the parent's failure says what went wrong."""
    create = original.__func__

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> Any:
        from moto.cloudformation.models import cloudformation_backends

        stack = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        if stack.status in ("CREATE_COMPLETE", "CREATE_IN_PROGRESS"):
            return stack
        reason = next((str(e.resource_status_reason) for e in reversed(stack.events)
                       if e.resource_status == "ROLLBACK_IN_PROGRESS"), stack.status)
        details = "; ".join(f"{e.logical_resource_id}: {e.resource_status_reason}" for e in stack.events
                            if e.resource_status == "CREATE_FAILED")
        cloudformation_backends[account_id][region_name].delete_stack(stack.stack_id)
        raise RuntimeError(f"Embedded stack {stack.stack_id} was not successfully created: {reason}"
                           + (f" ({details})" if details else ""))

    return classmethod(create_from_cloudformation_json)


def _event_bus_ref(original: Any) -> Any:
    """``Ref`` of an ``AWS::Events::EventBus`` is its name (moto's had no physical id: Ref gave
    the model object, which broke a rule naming the bus through a nested stack's parameter)."""
    return property(lambda self: self.name)


def _patches() -> Iterator[Patch]:
    from moto.cloudformation import models, parsing
    from moto.events import models as events

    yield Patch(parsing, "resource_class_from_type", _resource_class_from_type)
    yield Patch(parsing, "resource_name_property_from_type", _resource_name_property_from_type)
    yield Patch(models.Stack, "get_cfn_attribute", _stack_attribute, new=True)
    yield Patch(models.Stack, "create_from_cloudformation_json", _nested_create)
    yield Patch(events.EventBus, "physical_resource_id", _event_bus_ref, new=True)


#: CloudFormation's SNS subscriptions and API Gateway methods, deployments and stages, made
#: through their APIs
PATCHES = PatchSet("cloudformation-cdk", _patches)
