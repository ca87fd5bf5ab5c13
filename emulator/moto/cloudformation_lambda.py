"""CloudFormation's Lambda resources made in Cloudmicro's own Lambda, not in moto's.

moto's CloudFormation engine creates ``AWS::Lambda::*`` resources in moto's Lambda backend,
which Cloudmicro does not serve: the stack completes, but ListFunctions does not show the
function, Invoke does not find it, and an event source mapping makes moto pull Docker images.
Here each of these types is a small model class (the interface moto's
:mod:`moto.cloudformation.parsing` calls: ``create_from_cloudformation_json``,
``update_from_cloudformation_json``, ``delete_from_cloudformation_json``, ``physical_resource_id``,
``get_cfn_attribute``) whose operations are calls of the Lambda API at the control plane's
endpoint (:func:`emulator.moto.delivery.endpoint`), with boto3 and dummy credentials. moto runs a
request in a worker thread, so calling back into the endpoint from there does not block the
control plane's event loop.

* ``AWS::Lambda::Function``: ``Code.ZipFile`` is zipped as ``index.py`` (Python) or ``index.js``
  (Node.js), as CloudFormation does; ``S3Bucket``/``S3Key`` (``S3ObjectVersion``) is read from
  moto's S3 in this process; the ``hot-reload`` bucket (``S3Key`` a local folder) is passed on.
  ``ReservedConcurrentExecutions`` is PutFunctionConcurrency, ``Tags`` the function's tags.
  ``Ref`` is the name, ``GetAtt Arn`` the ARN. An update changes configuration and, when
  ``Code`` changed in the template, the code (as on AWS, a new object under the same S3 key is
  not noticed); a new ``FunctionName`` replaces the function.
* ``AWS::Lambda::EventSourceMapping`` (``Ref``: its UUID), ``AWS::Lambda::Permission``
  (``Ref``: its statement id), ``AWS::Lambda::Url`` (``GetAtt FunctionUrl``, ``FunctionArn``),
  ``AWS::Lambda::EventInvokeConfig``.
* ``AWS::Lambda::Version`` (PublishVersion; ``Ref`` the version's ARN, ``GetAtt Version`` its
  number; every property requires replacement; ``DeletionPolicy: Retain``, which SAM's
  ``AutoPublishAlias`` sets, keeps it when the stack no longer has it), ``AWS::Lambda::Alias``
  (``Ref`` the alias ARN; ``RoutingConfig`` weights; a new ``Name`` or ``FunctionName`` replaces it).
* ``AWS::Lambda::LayerVersion`` (PublishLayerVersion; ``Ref`` and ``GetAtt LayerVersionArn`` the
  version's ARN; every property requires replacement, so an update publishes a new version;
  ``Content`` as a function's ``Code``: the local S3, or the ``hot-reload`` bucket for a live
  folder; ``LayerName`` defaults to the logical id). ``DeletionPolicy: Retain`` (SAM's default
  for layers) keeps the version when the stack lets it go.
* ``AWS::Lambda::LayerVersionPermission`` (AddLayerVersionPermission; ``Ref`` the version's ARN
  and the statement id joined by ``#``; every property requires replacement).
* Any other ``AWS::Lambda::*`` type fails the stack as not supported.
"""

from __future__ import annotations

import functools
import io
import logging
import re
import threading
import zipfile
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from emulator.domain.code_upload import HOT_RELOAD_BUCKET
from emulator.moto import delivery
from emulator.moto.patching import Patch, PatchSet

log = logging.getLogger(__name__)


class ResourceError(Exception):
    """Why a resource could not be made: the stack event's ResourceStatusReason."""


# --- the Lambda API at the endpoint ------------------------------------------------------

_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()


def lambda_client(region: str, target: str | None = None) -> Any:
    """A boto3 Lambda client for the control plane's endpoint (one per endpoint and region;
    ``target``: that endpoint, when it is known before the control plane says it)."""
    target = target or delivery.endpoint()
    if target is None:
        raise ResourceError("Cloudmicro's Lambda API is not reachable from moto (no control plane endpoint)")
    with _clients_lock:
        found = _clients.get((target, region))
        if found is None:
            import boto3
            from botocore.config import Config

            found = boto3.client("lambda", endpoint_url=target, region_name=region, aws_access_key_id="test",
                                 aws_secret_access_key="test",
                                 config=Config(retries={"max_attempts": 1}, read_timeout=120, connect_timeout=5))
            _clients[(target, region)] = found
        return found


def call(region: str, operation: str, **params: Any) -> Any:
    """One Lambda API call; its error becomes a :class:`ResourceError` in CloudFormation's words."""
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

    client = lambda_client(region)
    try:
        return getattr(client, operation)(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        raise ResourceError(f'Resource handler returned message: "{error.get("Message", exc)}" (Service: Lambda, '
                            f'Status Code: {status}, Error Code: {error.get("Code")})') from None
    except ParamValidationError as exc:
        raise ResourceError(f"Properties validation failed: {exc}") from None
    except BotoCoreError as exc:
        raise ResourceError(f"Cloudmicro's Lambda API did not answer: {exc}") from None


def missing(exc: ResourceError) -> bool:
    return "ResourceNotFoundException" in str(exc)


@functools.lru_cache(maxsize=64)
def members(operation: str) -> dict[str, Any]:
    """The input members of a Lambda operation (botocore's model): name -> shape (read once: a
    botocore session loading the model cost 100-200 ms per resource)."""
    shape = _lambda_model().operation_model(operation).input_shape
    return dict(shape.members) if shape is not None else {}


@functools.lru_cache(maxsize=1)
def _lambda_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("lambda")


def request(operation: str, properties: Mapping[str, Any], *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The operation's parameters from CloudFormation properties of the same names; numbers and
    booleans given as strings (JSON templates, parameters) become what the API takes."""
    out: dict[str, Any] = {}
    for name, shape in members(operation).items():
        if name in skip or name not in properties or properties[name] is None:
            continue
        out[name] = _scalar(shape.type_name, properties[name], name)
    return out


def _scalar(kind: str, value: Any, name: str) -> Any:
    try:
        if kind in ("integer", "long") and not isinstance(value, bool):
            return int(value)
        if kind == "boolean" and isinstance(value, str):
            if value.lower() not in ("true", "false"):
                raise ValueError(value)
            return value.lower() == "true"
    except (TypeError, ValueError):
        raise ResourceError(f"Properties validation failed: #/{name}: expected type: "
                            f"{'Boolean' if kind == 'boolean' else 'Integer'}, found: {value!r}") from None
    return value


def tags_of(properties: Mapping[str, Any]) -> dict[str, str]:
    tags = properties.get("Tags") or []
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    try:
        return {str(tag["Key"]): str(tag["Value"]) for tag in tags}
    except (TypeError, KeyError):
        raise ResourceError("Properties validation failed: #/Tags: each tag needs Key and Value") from None


def within(name: str, limit: int = 64) -> str:
    """A name CloudFormation generated (``{stack}-{logicalId}-{12 random}``) cut to ``limit``:
    the stack and logical id part is shortened, the random suffix kept."""
    if len(name) <= limit:
        return name
    head, _, suffix = name.rpartition("-")
    return f"{head[: limit - len(suffix) - 1].rstrip('-')}-{suffix}"


def s3_object(account_id: str, region: str, bucket: str, key: str, version: Any = None) -> bytes:
    """An object of moto's S3 in this process; LookupError in S3's words when there is none."""
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    backend = s3_backends[account_id][get_partition(region)]
    try:
        found = backend.get_object(bucket, key, version_id=str(version) if version else None)
    except MissingBucket:
        raise LookupError("S3 Error Code: NoSuchBucket. S3 Error Message: "
                          "The specified bucket does not exist") from None
    if found is None or getattr(found, "is_delete_marker", False):
        raise LookupError("S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.")
    return bytes(found.value)


# --- the model classes ------------------------------------------------------------------


class LambdaResource:
    """What moto's CloudFormation engine needs of a resource; subclasses make one type."""

    TYPE: ClassVar[str] = ""
    NAME_PROPERTY: ClassVar[str | None] = None
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, physical_id: str, properties: dict[str, Any], region: str, **state: Any) -> None:
        self.physical_id = physical_id
        self.properties = properties
        self.region = region
        self.state = state
        self.cf_resource_type = self.TYPE
        self.logical_resource_id = ""

    # moto's interface
    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str | None:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, attr: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attr not in self.ATTRIBUTES:
            raise UnformattedGetAttTemplateException()
        return self.attribute(attr)

    def attribute(self, attr: str) -> Any:
        raise NotImplementedError

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> LambdaResource:
        properties = dict(cloudformation_json.get("Properties") or {})
        made = cls.create(resource_name, properties, account_id, region_name, kwargs.get("LogicalId", ""))
        made.state["retain"] = cloudformation_json.get("DeletionPolicy") == "Retain"
        return made

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str) -> LambdaResource:
        properties = dict(cloudformation_json.get("Properties") or {})
        made = cls.update(original_resource, new_resource_name, properties, account_id, region_name)
        made.state["retain"] = cloudformation_json.get("DeletionPolicy") == "Retain"
        return made

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str) -> None:
        return None  # instances delete themselves (delete() below): moto calls that first

    def delete(self, account_id: str, region_name: str) -> None:
        if self.state.get("retain"):  # DeletionPolicy: Retain (moto's update removes it regardless)
            return
        try:
            self.remove()
        except ResourceError as exc:
            if not missing(exc):  # already gone: deleted
                raise

    # what each type does
    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        raise NotImplementedError

    @classmethod
    def update(cls, old: Any, name: str, properties: dict[str, Any], account_id: str, region: str) -> LambdaResource:
        """Default: replacement (a new resource, then the old one deleted, as CloudFormation does)."""
        new = cls.create(name, properties, account_id, region, old.logical_resource_id)
        old.delete(account_id, region)
        return new

    def remove(self) -> None:
        raise NotImplementedError


class Function(LambdaResource):
    TYPE = "AWS::Lambda::Function"
    NAME_PROPERTY = "FunctionName"
    ATTRIBUTES = ("Arn",)
    _HANDLED = ("FunctionName", "Code", "Tags", "Publish")

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        body = request("CreateFunction", properties, skip=cls._HANDLED)
        if not properties.get("FunctionName"):
            name = within(name)
        body.update(FunctionName=name, Code=code_of(properties, region, account_id))
        body.setdefault("Role", f"arn:aws:iam::{account_id}:role/cloudmicro-cloudformation")
        tags = tags_of(properties)
        if tags:
            body["Tags"] = tags
        created = call(region, "create_function", **body)
        function = cls(created["FunctionName"], properties, region, arn=created["FunctionArn"])
        if properties.get("ReservedConcurrentExecutions") is not None:  # a new function has none to remove
            try:
                function.concurrency(properties["ReservedConcurrentExecutions"])
            except ResourceError:
                function.delete(account_id, region)
                raise
        return function

    def concurrency(self, value: Any) -> None:
        if value is None:
            call(self.region, "delete_function_concurrency", FunctionName=self.physical_id)
        else:
            call(self.region, "put_function_concurrency", FunctionName=self.physical_id,
                 ReservedConcurrentExecutions=_scalar("integer", value, "ReservedConcurrentExecutions"))

    @classmethod
    def update(cls, old: Any, name: str, properties: dict[str, Any], account_id: str, region: str) -> LambdaResource:
        wanted = properties.get("FunctionName")
        if wanted is not None and wanted != old.physical_id:  # a new name: replacement
            return super().update(old, wanted, properties, account_id, region)
        config = request("UpdateFunctionConfiguration", properties, skip=cls._HANDLED)
        # what the new template leaves out goes back to Lambda's default, as CloudFormation does
        config.setdefault("Environment", {"Variables": {}})
        config.setdefault("Timeout", 3)
        config.setdefault("MemorySize", 128)
        config.setdefault("Description", "")
        config.setdefault("Layers", [])
        config.setdefault("DeadLetterConfig", {})
        if "Role" not in config:
            config["Role"] = f"arn:aws:iam::{account_id}:role/cloudmicro-cloudformation"
        function = cls(old.physical_id, properties, region, arn=old.state["arn"])
        # a failed update may have changed part of the function: its rollback then sets it all
        stale = bool(old.state.get("stale"))
        old.state["stale"] = True
        call(region, "update_function_configuration", FunctionName=old.physical_id, **config)
        if stale or properties.get("Code") != old.properties.get("Code"):
            code = code_of(properties, region, account_id)
            call(region, "update_function_code", FunctionName=old.physical_id, **code)
        wanted_concurrency = properties.get("ReservedConcurrentExecutions")
        if stale or wanted_concurrency != old.properties.get("ReservedConcurrentExecutions"):
            function.concurrency(wanted_concurrency)
        before, after = tags_of(old.properties), tags_of(properties)
        gone = [key for key in before if key not in after]
        if gone:
            call(region, "untag_resource", Resource=old.state["arn"], TagKeys=gone)
        if after and (stale or after != before):
            call(region, "tag_resource", Resource=old.state["arn"], Tags=after)
        old.state["stale"] = False
        return function

    def remove(self) -> None:
        call(self.region, "delete_function", FunctionName=self.physical_id)

    def attribute(self, attr: str) -> Any:
        return self.state["arn"]


def code_of(properties: Mapping[str, Any], region: str, account_id: str) -> dict[str, Any]:
    """The Lambda API's ``Code`` for a template's ``Code`` property."""
    code = properties.get("Code")
    if not isinstance(code, Mapping):
        raise ResourceError("Properties validation failed: #: required key [Code] not found")
    if code.get("ImageUri"):
        raise ResourceError("Code.ImageUri: container image functions are not supported by Cloudmicro; "
                            "use a .zip package (ZipFile, or S3Bucket and S3Key)")
    if "ZipFile" in code:
        return {"ZipFile": inline_zip(str(code["ZipFile"]), str(properties.get("Runtime") or ""))}
    bucket, key = code.get("S3Bucket"), code.get("S3Key")
    if not bucket or not key:
        raise ResourceError("Properties validation failed: Code needs ZipFile, or S3Bucket and S3Key")
    if bucket == HOT_RELOAD_BUCKET:
        return {"S3Bucket": bucket, "S3Key": key}
    try:
        data = s3_object(account_id, region, str(bucket), str(key), code.get("S3ObjectVersion"))
    except LookupError as exc:
        raise ResourceError(f'Resource handler returned message: "Error occurred while GetObject. {exc}" '
                            "(Service: Lambda, Status Code: 400, Error Code: InvalidParameterValueException)"
                            ) from None
    return {"ZipFile": data}


def content_of(properties: Mapping[str, Any], region: str, account_id: str) -> dict[str, Any]:
    """The Lambda API's ``Content`` for a layer's ``Content`` property (S3 only, as CloudFormation takes)."""
    content = properties.get("Content")
    if not isinstance(content, Mapping) or not content.get("S3Bucket") or not content.get("S3Key"):
        raise ResourceError("Properties validation failed: #/Content: required key [S3Bucket] and [S3Key] not found")
    return code_of({"Code": content}, region, account_id)


def inline_zip(source: str, runtime: str) -> bytes:
    """CloudFormation's package for inline code: the source as ``index.py`` or ``index.js``."""
    if runtime.startswith("python"):
        name = "index.py"
    elif runtime.startswith("nodejs"):
        name = "index.js"  # CommonJS, as CloudFormation writes it
    else:
        raise ResourceError(f"Code.ZipFile (inline code) is for Node.js and Python runtimes, not {runtime or 'none'}: "
                            "use S3Bucket and S3Key")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        entry.external_attr = 0o644 << 16
        archive.writestr(entry, source)
    return buffer.getvalue()


class EventSourceMapping(LambdaResource):
    TYPE = "AWS::Lambda::EventSourceMapping"
    ATTRIBUTES = ("Id", "EventSourceMappingArn")
    _REPLACED = ("EventSourceArn", "StartingPosition", "StartingPositionTimestamp", "SelfManagedEventSource",
                 "Queues", "Topics")

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        body = request("CreateEventSourceMapping", properties, skip=("Tags",))
        tags = tags_of(properties)
        if tags:
            body["Tags"] = tags
        created = call(region, "create_event_source_mapping", **body)
        return cls(created["UUID"], properties, region, arn=created.get("EventSourceMappingArn")
                   or f"arn:aws:lambda:{region}:{account_id}:event-source-mapping:{created['UUID']}")

    @classmethod
    def update(cls, old: Any, name: str, properties: dict[str, Any], account_id: str, region: str) -> LambdaResource:
        if any(properties.get(key) != old.properties.get(key) for key in cls._REPLACED):
            return super().update(old, name, properties, account_id, region)
        body = request("UpdateEventSourceMapping", properties, skip=("UUID",))
        body.setdefault("Enabled", True)
        call(region, "update_event_source_mapping", UUID=old.physical_id, **body)
        return cls(old.physical_id, properties, region, **old.state)

    def remove(self) -> None:
        call(self.region, "delete_event_source_mapping", UUID=self.physical_id)

    def attribute(self, attr: str) -> Any:
        return self.physical_id if attr == "Id" else self.state["arn"]


class Permission(LambdaResource):
    """Every property requires replacement (AWS's resource reference): an update is a new
    statement, then the old one removed. The statement id is the generated physical id, cut to
    the 100 characters AddPermission takes (the random suffix kept)."""

    TYPE = "AWS::Lambda::Permission"
    ATTRIBUTES = ("Id",)

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        body = request("AddPermission", properties, skip=("StatementId",))
        name = within(name, 100)  # StatementId's limit: CDK's logical ids are long
        call(region, "add_permission", StatementId=name, **body)
        return cls(name, properties, region, function=properties.get("FunctionName"))

    def remove(self) -> None:
        call(self.region, "remove_permission", FunctionName=self.state["function"], StatementId=self.physical_id)

    def attribute(self, attr: str) -> Any:
        return self.physical_id


class Url(LambdaResource):
    TYPE = "AWS::Lambda::Url"
    ATTRIBUTES = ("FunctionArn", "FunctionUrl")

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        body = request("CreateFunctionUrlConfig", properties, skip=("FunctionName",))
        target = properties.get("TargetFunctionArn")
        if not target:
            raise ResourceError("Properties validation failed: #: required key [TargetFunctionArn] not found")
        created = call(region, "create_function_url_config", FunctionName=str(target), **body)
        return cls(created["FunctionArn"], properties, region, url=created["FunctionUrl"], target=str(target))

    @classmethod
    def update(cls, old: Any, name: str, properties: dict[str, Any], account_id: str, region: str) -> LambdaResource:
        if any(properties.get(key) != old.properties.get(key) for key in ("TargetFunctionArn", "Qualifier")):
            old.delete(account_id, region)  # one URL per function: the old one goes first
            return cls.create(name, properties, account_id, region, old.logical_resource_id)
        body = request("UpdateFunctionUrlConfig", properties, skip=("FunctionName", "Qualifier"))
        body.setdefault("Cors", {})
        qualifier = {"Qualifier": properties["Qualifier"]} if properties.get("Qualifier") else {}
        updated = call(region, "update_function_url_config", FunctionName=old.state["target"], **qualifier, **body)
        return cls(old.physical_id, properties, region, url=updated["FunctionUrl"], target=old.state["target"])

    def remove(self) -> None:
        qualifier = {"Qualifier": self.properties["Qualifier"]} if self.properties.get("Qualifier") else {}
        call(self.region, "delete_function_url_config", FunctionName=self.state["target"], **qualifier)

    def attribute(self, attr: str) -> Any:
        return self.physical_id if attr == "FunctionArn" else self.state["url"]


class EventInvokeConfig(LambdaResource):
    TYPE = "AWS::Lambda::EventInvokeConfig"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        body = request("PutFunctionEventInvokeConfig", properties)
        if "FunctionName" not in body or "Qualifier" not in body:
            raise ResourceError("Properties validation failed: #: required keys [FunctionName, Qualifier]")
        call(region, "put_function_event_invoke_config", **body)
        return cls(f"{body['FunctionName']}|{body['Qualifier']}", properties, region, **body)

    @classmethod
    def update(cls, old: Any, name: str, properties: dict[str, Any], account_id: str, region: str) -> LambdaResource:
        if any(properties.get(key) != old.properties.get(key) for key in ("FunctionName", "Qualifier")):
            return super().update(old, name, properties, account_id, region)
        return cls.create(name, properties, account_id, region, old.logical_resource_id)  # Put replaces it

    def remove(self) -> None:
        call(self.region, "delete_function_event_invoke_config", FunctionName=self.state["FunctionName"],
             Qualifier=self.state["Qualifier"])


class Version(LambdaResource):
    """PublishVersion. Every property requires replacement (AWS's resource reference): an update
    publishes a new version; the old one is deleted unless retained."""

    TYPE = "AWS::Lambda::Version"
    ATTRIBUTES = ("Version", "FunctionArn")

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        body = request("PublishVersion", properties, skip=("RevisionId",))
        if "FunctionName" not in body:
            raise ResourceError("Properties validation failed: #: required key [FunctionName] not found")
        published = call(region, "publish_version", **body)
        arn = published["FunctionArn"]  # qualified: ...:function:name:3
        return cls(arn, properties, region, version=published["Version"], function=arn.rsplit(":", 1)[0])

    def remove(self) -> None:
        try:
            call(self.region, "delete_function", FunctionName=self.state["function"], Qualifier=self.state["version"])
        except ResourceError as exc:
            if "aliases reference it" not in str(exc):
                raise
            # AWS refuses too; CloudFormation's deletion then fails. An alias made outside the
            # stack is not ours to move: keep the version and say so in the log
            log.warning("CloudFormation: version %s kept: %s", self.physical_id, exc)

    def attribute(self, attr: str) -> Any:
        return self.state["version"] if attr == "Version" else self.state["function"]


class Alias(LambdaResource):
    TYPE = "AWS::Lambda::Alias"
    ATTRIBUTES = ("AliasArn",)

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        body = request("CreateAlias", properties, skip=("RoutingConfig",))
        body.update(_routing(properties))
        for key in ("FunctionName", "Name", "FunctionVersion"):
            if key not in body:
                raise ResourceError(f"Properties validation failed: #: required key [{key}] not found")
        created = call(region, "create_alias", **body)
        return cls(created["AliasArn"], properties, region, function=str(body["FunctionName"]), name=created["Name"])

    @classmethod
    def update(cls, old: Any, name: str, properties: dict[str, Any], account_id: str, region: str) -> LambdaResource:
        if any(properties.get(key) != old.properties.get(key) for key in ("FunctionName", "Name")):
            return super().update(old, name, properties, account_id, region)
        body = request("UpdateAlias", properties, skip=("RoutingConfig", "RevisionId"))
        body.setdefault("Description", "")
        body.update(_routing(properties) or {"RoutingConfig": {"AdditionalVersionWeights": {}}})
        call(region, "update_alias", **body)
        return cls(old.physical_id, properties, region, function=old.state["function"], name=old.state["name"])

    def remove(self) -> None:
        call(self.region, "delete_alias", FunctionName=self.state["function"], Name=self.state["name"])

    def attribute(self, attr: str) -> Any:
        return self.physical_id


class LayerVersion(LambdaResource):
    TYPE = "AWS::Lambda::LayerVersion"
    ATTRIBUTES = ("LayerVersionArn",)

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        body = request("PublishLayerVersion", properties, skip=("Content", "LayerName"))
        layer_name = str(properties.get("LayerName") or within(logical_id or name, 140))
        published = call(region, "publish_layer_version", LayerName=layer_name,
                         Content=content_of(properties, region, account_id), **body)
        return cls(published["LayerVersionArn"], properties, region, layer=layer_name,
                   version=published["Version"])

    def remove(self) -> None:
        call(self.region, "delete_layer_version", LayerName=self.state["layer"], VersionNumber=self.state["version"])

    def attribute(self, attr: str) -> Any:
        return self.physical_id


class LayerVersionPermission(LambdaResource):
    """AddLayerVersionPermission on the version ``LayerVersionArn`` names. Every property requires
    replacement (AWS's resource reference). The statement id is the generated physical name, cut
    to the 100 characters StatementId takes; ``Ref`` is the version's ARN and that id joined by ``#``."""

    TYPE = "AWS::Lambda::LayerVersionPermission"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> LambdaResource:
        arn = str(properties.get("LayerVersionArn") or "")
        layer, _, number = arn.rpartition(":")
        if not layer or not number.isdigit():
            raise ResourceError(f"Properties validation failed: #/LayerVersionArn: {arn!r} is not a layer version ARN "
                                "(arn:aws:lambda:<region>:<account>:layer:<name>:<version>)")
        statement_id = re.sub(r"[^a-zA-Z0-9_-]", "-", within(name, 100))
        body = request("AddLayerVersionPermission", properties, skip=("LayerName", "VersionNumber", "StatementId",
                                                                      "RevisionId"))
        call(region, "add_layer_version_permission", LayerName=layer, VersionNumber=int(number),
             StatementId=statement_id, **body)
        return cls(f"{arn}#{statement_id}", properties, region, layer=layer, version=int(number),
                   statement=statement_id)

    def remove(self) -> None:
        call(self.region, "remove_layer_version_permission", LayerName=self.state["layer"],
             VersionNumber=self.state["version"], StatementId=self.state["statement"])


def _routing(properties: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation's ``RoutingConfig.AdditionalVersionWeights`` (a list of ``FunctionVersion``/
    ``FunctionWeight``) as the API's map."""
    routing = properties.get("RoutingConfig")
    if not routing:
        return {}
    try:
        weights = {str(item["FunctionVersion"]): float(item["FunctionWeight"])
                   for item in routing.get("AdditionalVersionWeights") or []}
    except (TypeError, KeyError, ValueError, AttributeError):
        raise ResourceError("Properties validation failed: #/RoutingConfig/AdditionalVersionWeights: each item "
                            "needs FunctionVersion and FunctionWeight") from None
    return {"RoutingConfig": {"AdditionalVersionWeights": weights}}


TYPES: dict[str, type[LambdaResource]] = {
    cls.TYPE: cls for cls in (Function, EventSourceMapping, Permission, Url, EventInvokeConfig, Version, Alias,
                              LayerVersion, LayerVersionPermission)
}


def not_yet_reason(resource_type: str) -> str:
    return f"{resource_type} is not supported yet by Cloudmicro's Lambda"


def lambda_class(resource_type: str) -> type[LambdaResource] | None:
    """Our class for a Lambda type; None for the types that are not Lambda's."""
    return TYPES.get(resource_type)


def _resource_class_from_type(original: Any) -> Any:
    def resource_class_from_type(resource_type: str) -> Any:
        if resource_type.startswith("AWS::Lambda::"):
            found = TYPES.get(resource_type)
            if found is not None:
                return found
            from emulator.moto.cloudformation_stacks import unsupported

            return unsupported(resource_type, not_yet_reason(resource_type))
        return original(resource_type)

    return resource_class_from_type


def _resource_name_property_from_type(original: Any) -> Any:
    def resource_name_property_from_type(resource_type: str) -> str | None:
        if resource_type.startswith("AWS::Lambda::"):
            found = TYPES.get(resource_type)
            return found.NAME_PROPERTY if found is not None else None
        return original(resource_type)

    return resource_name_property_from_type


def _patches() -> Iterator[Patch]:
    from moto.cloudformation import parsing

    yield Patch(parsing, "resource_class_from_type", _resource_class_from_type)
    yield Patch(parsing, "resource_name_property_from_type", _resource_name_property_from_type)


#: CloudFormation's Lambda resource types made in Cloudmicro's Lambda
PATCHES = PatchSet("cloudformation-lambda", _patches)
