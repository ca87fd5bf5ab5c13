"""CloudFormation resource types moto 5.2.5 does not make, or makes only in part, that the SAM
transform generates: each is made through the service's API at the control plane's endpoint
(so Cloudmicro's own patches and checks apply, and the front door sees the change).

* ``AWS::ApiGateway::RestApi`` with ``Body`` (SAM's ``Api`` and implicit ``ServerlessRestApi``):
  ImportRestApi of the document (moto's model ignores ``Body``: an API with no routes), an update
  PutRestApi ``mode=overwrite``; without ``Body`` it is moto's model. ``GetAtt RootResourceId``.
* ``AWS::ApiGateway::Stage`` (CreateStage; an update makes it again under its name); moto's
  ``AWS::ApiGateway::Deployment`` gets its id as ``Ref`` (it was the model object).
* ``AWS::ApiGatewayV2::Api`` (ImportApi of ``Body``, else CreateApi; an update ReimportApi or
  UpdateApi; ``GetAtt ApiEndpoint``, ``ApiId``) and ``AWS::ApiGatewayV2::Stage``.
* ``AWS::SNS::Subscription`` (Subscribe with its attributes; an update subscribes again).
* ``AWS::Scheduler::Schedule`` (CreateSchedule / UpdateSchedule; ``GetAtt Arn``).
* ``AWS::Logs::SubscriptionFilter`` (PutSubscriptionFilter: SAM's ``CloudWatchLogs`` event; moto
  has no model; ``Ref`` the filter's name; an update puts it again, a new name or log group
  replaces it).
* ``AWS::StepFunctions::StateMachine`` (moto's model made it where executions do not look).
* ``AWS::S3::Bucket``'s ``NotificationConfiguration`` (moto's model ignores it: SAM's ``S3``
  events did nothing): PutBucketNotificationConfiguration after moto made the bucket.

Each is a model class of the interface moto's :mod:`moto.cloudformation.parsing` calls (see
:mod:`emulator.moto.cloudformation_lambda`, whose base class these reuse).
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from emulator.moto import delivery
from emulator.moto.cloudformation_lambda import LambdaResource, ResourceError, within
from emulator.moto.patching import Patch, PatchSet

_clients: dict[tuple[str, str, str], Any] = {}
_clients_lock = threading.Lock()

_SERVICE_NAMES = {"apigateway": "ApiGateway", "apigatewayv2": "ApiGatewayV2", "sns": "Sns", "scheduler": "Scheduler",
                  "s3": "S3", "stepfunctions": "SFN", "logs": "Logs"}


def client(service: str, region: str) -> Any:
    target = delivery.endpoint()
    if target is None:
        raise ResourceError("Cloudmicro's endpoint is not reachable from moto (no control plane endpoint)")
    with _clients_lock:
        found = _clients.get((service, target, region))
        if found is None:
            import boto3
            from botocore.config import Config

            found = boto3.client(service, endpoint_url=target, region_name=region, aws_access_key_id="test",
                                 aws_secret_access_key="test",
                                 config=Config(retries={"max_attempts": 1}, read_timeout=120, connect_timeout=5))
            _clients[(service, target, region)] = found
        return found


def call(service: str, region: str, operation: str, **params: Any) -> Any:
    """One API call at the endpoint; its error becomes a :class:`ResourceError` in CloudFormation's words."""
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

    try:
        return getattr(client(service, region), operation)(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        raise ResourceError(f'Resource handler returned message: "{error.get("Message", exc)}" (Service: '
                            f'{_SERVICE_NAMES.get(service, service)}, Status Code: {status}, '
                            f'Error Code: {error.get("Code")})') from None
    except ParamValidationError as exc:
        raise ResourceError(f"Properties validation failed: {exc}") from None
    except BotoCoreError as exc:
        raise ResourceError(f"Cloudmicro's endpoint did not answer: {exc}") from None


@functools.lru_cache(maxsize=128)
def members(service: str, operation: str) -> dict[str, Any]:
    """An operation's input members (botocore's model, read once per service)."""
    shape = _model(service).operation_model(operation).input_shape
    return dict(shape.members) if shape is not None else {}


@functools.lru_cache(maxsize=16)
def _model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def request(service: str, operation: str, properties: Mapping[str, Any], *, skip: tuple[str, ...] = ()
            ) -> dict[str, Any]:
    """The operation's top-level parameters from CloudFormation properties of the same names."""
    return {name: properties[name] for name in members(service, operation)
            if name not in skip and properties.get(name) is not None}


def _document(body: Any) -> str:
    return body if isinstance(body, str) else json.dumps(body)


class ServiceResource(LambdaResource):
    SERVICE: ClassVar[str] = ""

    def call(self, operation: str, **params: Any) -> Any:
        return call(self.SERVICE, self.region, operation, **params)

    def delete(self, account_id: str, region_name: str) -> None:
        if self.state.get("retain"):
            return
        try:
            self.remove()
        except ResourceError as exc:
            if "NotFound" not in str(exc):  # already gone: deleted
                raise


class RestApi(ServiceResource):
    """A RestApi with ``Body``; without it moto's own model makes it (:func:`_resource_class_from_type`)."""

    TYPE = "AWS::ApiGateway::RestApi"
    SERVICE = "apigateway"
    ATTRIBUTES = ("RootResourceId", "RestApiId")

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        params = {str(k): str(v) for k, v in (properties.get("Parameters") or {}).items()}
        if properties.get("FailOnWarnings") is not None:
            params["failonwarnings"] = str(properties["FailOnWarnings"]).lower()
        made = call("apigateway", region, "import_rest_api", body=_document(properties["Body"]).encode(),
                    parameters=params)
        return cls(made["id"], properties, region)

    @classmethod
    def update(cls, old: Any, name: str, properties: dict[str, Any], account_id: str, region: str) -> LambdaResource:
        if not isinstance(old, RestApi) or "Body" not in properties:
            return super().update(old, name, properties, account_id, region)
        call("apigateway", region, "put_rest_api", restApiId=old.physical_id, mode="overwrite",
             body=_document(properties["Body"]).encode())
        return cls(old.physical_id, properties, region)

    def remove(self) -> None:
        self.call("delete_rest_api", restApiId=self.physical_id)

    def attribute(self, attr: str) -> Any:
        if attr == "RestApiId":
            return self.physical_id
        items = self.call("get_resources", restApiId=self.physical_id, limit=500)["items"]
        return next(item["id"] for item in items if item.get("path") == "/")


class RestApiStage(ServiceResource):
    TYPE = "AWS::ApiGateway::Stage"
    SERVICE = "apigateway"
    NAME_PROPERTY = None

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        body = {"restApiId": properties.get("RestApiId"), "stageName": properties.get("StageName"),
                "deploymentId": properties.get("DeploymentId")}
        if properties.get("Description"):
            body["description"] = properties["Description"]
        if properties.get("Variables"):
            body["variables"] = {str(k): str(v) for k, v in properties["Variables"].items()}
        if not body["restApiId"] or not body["stageName"] or not body["deploymentId"]:
            raise ResourceError("Properties validation failed: #: required keys [RestApiId, StageName, DeploymentId]")
        call("apigateway", region, "create_stage", **body)
        return cls(str(body["stageName"]), properties, region, api=str(body["restApiId"]))

    @classmethod
    def update(cls, old: Any, name: str, properties: dict[str, Any], account_id: str, region: str) -> LambdaResource:
        old.delete(account_id, region)  # same name: the old one goes first
        return cls.create(name, properties, account_id, region, old.logical_resource_id)

    def remove(self) -> None:
        self.call("delete_stage", restApiId=self.state["api"], stageName=self.physical_id)


class HttpApi(ServiceResource):
    TYPE = "AWS::ApiGatewayV2::Api"
    SERVICE = "apigatewayv2"
    ATTRIBUTES = ("ApiEndpoint", "ApiId")

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        if properties.get("Body") is not None:
            extra: dict[str, Any] = {}
            if "FailOnWarnings" in properties:
                extra["FailOnWarnings"] = str(properties["FailOnWarnings"]).lower() == "true"
            if properties.get("BasePath"):
                extra["Basepath"] = str(properties["BasePath"])
            made = call("apigatewayv2", region, "import_api", Body=_document(properties["Body"]), **extra)
        else:
            body = request("apigatewayv2", "CreateApi", properties)
            made = call("apigatewayv2", region, "create_api", **body)
        return cls(made["ApiId"], properties, region, endpoint=made.get("ApiEndpoint", ""))

    @classmethod
    def update(cls, old: Any, name: str, properties: dict[str, Any], account_id: str, region: str) -> LambdaResource:
        if properties.get("Body") is not None:
            made = call("apigatewayv2", region, "reimport_api", ApiId=old.physical_id,
                        Body=_document(properties["Body"]))
        else:
            body = request("apigatewayv2", "UpdateApi", properties, skip=("ApiId",))
            made = call("apigatewayv2", region, "update_api", ApiId=old.physical_id, **body)
        return cls(old.physical_id, properties, region, endpoint=made.get("ApiEndpoint", ""))

    def remove(self) -> None:
        self.call("delete_api", ApiId=self.physical_id)

    def attribute(self, attr: str) -> Any:
        return self.physical_id if attr == "ApiId" else self.state["endpoint"]


class HttpApiStage(ServiceResource):
    TYPE = "AWS::ApiGatewayV2::Stage"
    SERVICE = "apigatewayv2"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        body = request("apigatewayv2", "CreateStage", properties)
        if "AutoDeploy" in body:
            body["AutoDeploy"] = str(body["AutoDeploy"]).lower() == "true"
        if "ApiId" not in body or "StageName" not in body:
            raise ResourceError("Properties validation failed: #: required keys [ApiId, StageName]")
        call("apigatewayv2", region, "create_stage", **body)
        return cls(str(body["StageName"]), properties, region, api=str(body["ApiId"]))

    @classmethod
    def update(cls, old: Any, name: str, properties: dict[str, Any], account_id: str, region: str) -> LambdaResource:
        old.delete(account_id, region)
        return cls.create(name, properties, account_id, region, old.logical_resource_id)

    def remove(self) -> None:
        self.call("delete_stage", ApiId=self.state["api"], StageName=self.physical_id)


class Subscription(ServiceResource):
    """Subscribe; an update subscribes again (the old subscription is removed after)."""

    TYPE = "AWS::SNS::Subscription"
    SERVICE = "sns"
    _ATTRIBUTES = ("DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy",
                   "SubscriptionRoleArn", "ReplayPolicy")

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        attributes: dict[str, str] = {}
        for key in cls._ATTRIBUTES:
            value = properties.get(key)
            if value is None:
                continue
            attributes[key] = json.dumps(value) if isinstance(value, (dict, list)) else str(value).lower() \
                if isinstance(value, bool) else str(value)
        for key in ("TopicArn", "Protocol"):
            if not properties.get(key):
                raise ResourceError(f"Properties validation failed: #: required key [{key}] not found")
        extra = {"Endpoint": str(properties["Endpoint"])} if properties.get("Endpoint") else {}
        made = call("sns", region, "subscribe", TopicArn=str(properties["TopicArn"]),
                    Protocol=str(properties["Protocol"]), Attributes=attributes, ReturnSubscriptionArn=True, **extra)
        return cls(made["SubscriptionArn"], properties, region)

    def remove(self) -> None:
        self.call("unsubscribe", SubscriptionArn=self.physical_id)


class Schedule(ServiceResource):
    TYPE = "AWS::Scheduler::Schedule"
    SERVICE = "scheduler"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Arn",)

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        body = request("scheduler", "CreateSchedule", properties, skip=("Name", "ClientToken"))
        body["Name"] = str(properties.get("Name") or within(name))
        made = call("scheduler", region, "create_schedule", **body)
        return cls(body["Name"], properties, region, arn=made["ScheduleArn"], group=body.get("GroupName"))

    @classmethod
    def update(cls, old: Any, name: str, properties: dict[str, Any], account_id: str, region: str) -> LambdaResource:
        wanted = properties.get("Name")
        if (wanted and wanted != old.physical_id) or properties.get("GroupName") != old.properties.get("GroupName"):
            return super().update(old, str(wanted or name), properties, account_id, region)
        body = request("scheduler", "UpdateSchedule", properties, skip=("Name", "ClientToken"))
        call("scheduler", region, "update_schedule", Name=old.physical_id, **body)
        return cls(old.physical_id, properties, region, arn=old.state["arn"], group=old.state.get("group"))

    def remove(self) -> None:
        group = {"GroupName": self.state["group"]} if self.state.get("group") else {}
        self.call("delete_schedule", Name=self.physical_id, **group)

    def attribute(self, attr: str) -> Any:
        return self.state["arn"]


class LogSubscriptionFilter(ServiceResource):
    TYPE = "AWS::Logs::SubscriptionFilter"
    SERVICE = "logs"
    NAME_PROPERTY = "FilterName"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        for key in ("LogGroupName", "DestinationArn"):
            if not properties.get(key):
                raise ResourceError(f"Properties validation failed: #: required key [{key}] not found")
        filter_name = str(properties.get("FilterName") or within(name, 512))
        extra = {"roleArn": str(properties["RoleArn"])} if properties.get("RoleArn") else {}
        if properties.get("Distribution"):
            extra["distribution"] = str(properties["Distribution"])
        call("logs", region, "put_subscription_filter", logGroupName=str(properties["LogGroupName"]),
             filterName=filter_name, filterPattern=str(properties.get("FilterPattern") or ""),
             destinationArn=str(properties["DestinationArn"]), **extra)
        return cls(filter_name, properties, region, group=str(properties["LogGroupName"]))

    @classmethod
    def update(cls, old: Any, name: str, properties: dict[str, Any], account_id: str, region: str) -> LambdaResource:
        wanted = properties.get("FilterName")
        if (wanted and wanted != old.physical_id) or properties.get("LogGroupName") != old.state.get("group"):
            return super().update(old, str(wanted or name), properties, account_id, region)
        return cls.create(old.physical_id, {**properties, "FilterName": old.physical_id}, account_id, region,
                          old.logical_resource_id)

    def remove(self) -> None:
        self.call("delete_subscription_filter", logGroupName=self.state["group"], filterName=self.physical_id)


class StateMachine(ServiceResource):
    """Made through the API: with Cloudmicro's executions on, moto serves Step Functions from its
    interpreter's backend, and its CloudFormation model made the machine in the other one
    (StartExecution: StateMachineDoesNotExist)."""

    TYPE = "AWS::StepFunctions::StateMachine"
    SERVICE = "stepfunctions"
    NAME_PROPERTY = "StateMachineName"
    ATTRIBUTES = ("Arn", "Name", "StateMachineRevisionId")

    @staticmethod
    def definition(properties: Mapping[str, Any]) -> str:
        text = properties.get("DefinitionString")
        if text is None and properties.get("Definition") is not None:
            text = json.dumps(properties["Definition"])
        if text is None:
            raise ResourceError("Properties validation failed: #: required key [DefinitionString] or "
                                "[Definition] not found")
        text = str(text)
        for key, value in (properties.get("DefinitionSubstitutions") or {}).items():
            text = text.replace("${" + str(key) + "}", str(value))
        return text

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        body: dict[str, Any] = {"name": str(properties.get("StateMachineName") or within(name, 80)),
                                "definition": cls.definition(properties),
                                "roleArn": str(properties.get("RoleArn")
                                               or f"arn:aws:iam::{account_id}:role/cloudmicro-cloudformation")}
        if properties.get("StateMachineType"):
            body["type"] = str(properties["StateMachineType"])
        tags = [{"key": str(t["Key"]), "value": str(t["Value"])} for t in properties.get("Tags") or []]
        if tags:
            body["tags"] = tags
        made = call("stepfunctions", region, "create_state_machine", **body)
        return cls(made["stateMachineArn"], properties, region, name=body["name"])

    @classmethod
    def update(cls, old: Any, name: str, properties: dict[str, Any], account_id: str, region: str) -> LambdaResource:
        wanted = properties.get("StateMachineName")
        if (wanted and wanted != old.state["name"]) or \
                properties.get("StateMachineType") != old.properties.get("StateMachineType"):
            return super().update(old, str(wanted or name), properties, account_id, region)
        extra = {"roleArn": str(properties["RoleArn"])} if properties.get("RoleArn") else {}
        call("stepfunctions", region, "update_state_machine", stateMachineArn=old.physical_id,
             definition=cls.definition(properties), **extra)
        return cls(old.physical_id, properties, region, name=old.state["name"])

    def remove(self) -> None:
        self.call("delete_state_machine", stateMachineArn=self.physical_id)

    def attribute(self, attr: str) -> Any:
        return self.state["name"] if attr == "Name" else self.physical_id


# --- S3 buckets' notifications ---------------------------------------------------------------


def notifications(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation's ``NotificationConfiguration`` as PutBucketNotificationConfiguration's."""
    def rules(item: Mapping[str, Any]) -> dict[str, Any]:
        found = ((item.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
        return {"Filter": {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in found]}}} \
            if found else {}

    out: dict[str, Any] = {}
    for cfn, api, target, arn in (("LambdaConfigurations", "LambdaFunctionConfigurations", "Function",
                                   "LambdaFunctionArn"),
                                  ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
                                  ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn")):
        items = configuration.get(cfn) or []
        if items:
            out[api] = [{arn: item[target], "Events": [item["Event"]], **rules(item)} for item in items]
    if configuration.get("EventBridgeConfiguration") is not None:
        out["EventBridgeConfiguration"] = {}
    return out


@functools.lru_cache(maxsize=1)
def _bucket_class() -> type:
    from moto.s3.models import FakeBucket

    class Bucket(FakeBucket):
        """moto's bucket, then its NotificationConfiguration (moto leaves it out)."""

        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                            account_id: str, region_name: str, **kwargs: Any) -> Any:
            bucket = FakeBucket.create_from_cloudformation_json.__func__(  # type: ignore[attr-defined]
                cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
            _notify(bucket.name, cloudformation_json, region_name, bucket)
            return bucket

        @classmethod
        def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                            cloudformation_json: dict[str, Any], account_id: str,
                                            region_name: str) -> Any:
            bucket = FakeBucket.update_from_cloudformation_json.__func__(  # type: ignore[attr-defined]
                cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
            _notify(bucket.name, cloudformation_json, region_name, bucket, always=True)
            return bucket

    return Bucket


def _notify(bucket: str, cloudformation_json: Mapping[str, Any], region: str, made: Any,
            always: bool = False) -> None:
    configuration = (cloudformation_json.get("Properties") or {}).get("NotificationConfiguration")
    if not configuration and not always:
        return
    try:
        call("s3", region, "put_bucket_notification_configuration", Bucket=bucket,
             NotificationConfiguration=notifications(configuration or {}))
    except (ResourceError, KeyError, TypeError, AttributeError) as exc:
        if not always:
            with contextlib.suppress(Exception):  # a failed creation leaves no bucket (the rollback does not know it)
                made.delete(made.account_id, region)
        if isinstance(exc, ResourceError):
            raise
        raise ResourceError(f"Properties validation failed: #/NotificationConfiguration: {exc}") from None


TYPES: dict[str, type[LambdaResource]] = {
    cls.TYPE: cls for cls in (RestApi, RestApiStage, HttpApi, HttpApiStage, Subscription, Schedule, StateMachine,
                              LogSubscriptionFilter)
}


def _has_body(cloudformation_json: Mapping[str, Any]) -> bool:
    return (cloudformation_json.get("Properties") or {}).get("Body") is not None


@functools.lru_cache(maxsize=4)
def _rest_api_class(original: type) -> type:
    """moto's RestAPI model for an API without ``Body``, ours for one with it."""

    class Either(RestApi):
        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                            account_id: str, region_name: str, **kwargs: Any) -> Any:
            if _has_body(cloudformation_json):
                return RestApi.create_from_cloudformation_json(resource_name, cloudformation_json, account_id,
                                                               region_name, **kwargs)
            return original.create_from_cloudformation_json(  # type: ignore[attr-defined]
                resource_name, cloudformation_json, account_id, region_name, **kwargs)

        @classmethod
        def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                            cloudformation_json: dict[str, Any], account_id: str,
                                            region_name: str) -> Any:
            if isinstance(original_resource, RestApi) or _has_body(cloudformation_json):
                return RestApi.update_from_cloudformation_json(original_resource, new_resource_name,
                                                               cloudformation_json, account_id, region_name)
            return original.update_from_cloudformation_json(  # type: ignore[attr-defined]
                original_resource, new_resource_name, cloudformation_json, account_id, region_name)

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                            account_id: str, region_name: str) -> Any:
            method = getattr(original, "delete_from_cloudformation_json", None)
            return method(resource_name, cloudformation_json, account_id, region_name) if method else None

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in RestApi.ATTRIBUTES or bool(original.has_cfn_attr(attr))  # type: ignore[attr-defined]

    return Either


def _resource_class_from_type(original: Any) -> Any:
    def resource_class_from_type(resource_type: str) -> Any:
        if resource_type == RestApi.TYPE:
            return _rest_api_class(original(resource_type))
        if resource_type == "AWS::S3::Bucket":
            return _bucket_class()
        found = TYPES.get(resource_type)
        return found if found is not None else original(resource_type)

    return resource_class_from_type


def _resource_name_property_from_type(original: Any) -> Any:
    def resource_name_property_from_type(resource_type: str) -> str | None:
        found = TYPES.get(resource_type)
        return found.NAME_PROPERTY if found is not None else original(resource_type)

    return resource_name_property_from_type


def _deployment_id(_original: Any) -> Any:
    """moto's Deployment has no ``physical_resource_id``: its ``Ref`` was the object itself."""
    return property(lambda self: self.id)


def _patches() -> Iterator[Patch]:
    from moto.apigateway import models as apigateway
    from moto.cloudformation import parsing

    yield Patch(apigateway.Deployment, "physical_resource_id", _deployment_id, new=True)
    yield Patch(parsing, "resource_class_from_type", _resource_class_from_type)
    yield Patch(parsing, "resource_name_property_from_type", _resource_name_property_from_type)


#: the types SAM generates that moto does not make (or makes in part), through the endpoint
PATCHES = PatchSet("cloudformation-services", _patches)
