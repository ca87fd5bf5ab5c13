"""A CDK app's synthesized template (``cdk.out/<Stack>.template.json``) made deployable here,
with no ``cdk deploy``, no bootstrap and no upload of its code.

``cdk synth`` writes each stack's template next to its assets: a folder ``asset.<hash>`` per
Lambda code directory, a ``<Stack><Id>.nested.template.json`` per nested stack. Each resource
that uses an asset says so in its ``Metadata`` (``aws:asset:path``, relative to ``cdk.out``;
``aws:asset:property``, the property the asset fills), while the property itself names the
bootstrap bucket (``cdk-hnb659fds-assets-…``) that ``cdk deploy`` would have uploaded it to.
Here, as :func:`rewrite_cdk` does it:

* a folder asset of a Lambda function (``Code``) or layer (``Content``) becomes Cloudmicro's
  ``hot-reload`` bucket with the folder's absolute path as the key: the function runs from
  ``cdk.out/asset.<hash>`` and saving a file there reloads it at the next invoke (editing the
  CDK app's own source needs ``cdk synth`` again, which writes a new asset folder and a new
  template: the dev loop deploys it when the template changes);
* a file asset that is a ``.zip`` (``Code.fromAsset("x.zip")``) is uploaded to the local S3
  (bucket :data:`ASSETS_BUCKET`, key ``<sha256>.zip``) and the property points there;
* a nested stack (``AWS::CloudFormation::Stack`` whose ``TemplateURL`` is a ``.json`` asset)
  has its template read from ``cdk.out``, rewritten the same way (recursively), and uploaded to
  the local S3 (:data:`ASSETS_BUCKET`, key ``<sha256 of the rewritten template>.json``);
  ``TemplateURL`` becomes that object's path-style URL, which the local CloudFormation reads
  as AWS's reads S3. A changed nested template has a new key, so an update replaces it;
* a Docker image asset (``aws:asset:dockerfile-path``, or the ``Code.ImageUri`` property) is a
  :class:`~emulator.templates.loading.TemplateError`: Cloudmicro runs zip functions only;
* the ``BootstrapVersion`` parameter (an SSM-typed parameter whose default is
  ``/cdk-bootstrap/<qualifier>/version``) and the ``CheckBootstrapVersion`` rule that asserts
  it are dropped: nothing is bootstrapped here and nothing else refers to them; so is the
  ``AWS::CDK::Metadata`` resource (version reporting).

The uploads are returned, not made: the deployer puts them before CreateStack/UpdateStack.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.templates.loading import TemplateError
from emulator.templates.local_code import HOT_RELOAD_BUCKET

ASSETS_BUCKET = "cloudmicro-cdk-assets"
_BOOTSTRAP_PREFIX = "/cdk-bootstrap/"
#: resource type -> (property, bucket key name, object key name) of a code asset
_CODE: dict[str, tuple[str, str, str]] = {
    "AWS::Lambda::Function": ("Code", "S3Bucket", "S3Key"),
    "AWS::Lambda::LayerVersion": ("Content", "S3Bucket", "S3Key"),
    "AWS::Serverless::Function": ("CodeUri", "Bucket", "Key"),
    "AWS::Serverless::LayerVersion": ("ContentUri", "Bucket", "Key"),
}
_MAX_DEPTH = 8


@dataclass(frozen=True)
class Upload:
    """An object the deployment needs in the local S3."""

    bucket: str
    key: str
    body: bytes


@dataclass
class CdkTemplate:
    """The rewritten template, the objects to upload, and each function's asset folder
    (``Stack/Nested/LogicalId`` -> folder)."""

    template: dict[str, Any]
    uploads: list[Upload] = field(default_factory=list)
    folders: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def is_cdk(template: dict[str, Any]) -> bool:
    """Whether the template was written by ``cdk synth`` (asset metadata, or the bootstrap
    version parameter)."""
    if _bootstrap_parameter(template) is not None:
        return True
    resources = template.get("Resources")
    return isinstance(resources, dict) and any(
        isinstance(r, dict) and isinstance(r.get("Metadata"), dict) and "aws:asset:path" in r["Metadata"]
        for r in resources.values())


def rewrite_cdk(template: dict[str, Any], cdk_out: Path) -> CdkTemplate:
    """A copy of ``template`` (read from ``cdk_out``) deployable here: see the module's docstring."""
    result = CdkTemplate({})
    result.template = _rewrite(template, cdk_out.resolve(), result, where="", depth=0)
    return result


def _bootstrap_parameter(template: dict[str, Any]) -> str | None:
    parameters = template.get("Parameters")
    found = parameters.get("BootstrapVersion") if isinstance(parameters, dict) else None
    if isinstance(found, dict) and str(found.get("Type", "")).startswith("AWS::SSM::Parameter::Value") \
            and str(found.get("Default", "")).startswith(_BOOTSTRAP_PREFIX):
        return "BootstrapVersion"
    return None


def _rewrite(template: dict[str, Any], cdk_out: Path, result: CdkTemplate, *, where: str,
             depth: int) -> dict[str, Any]:
    out = copy.deepcopy(template)
    if _bootstrap_parameter(out):
        del out["Parameters"]["BootstrapVersion"]
        if not out["Parameters"]:
            del out["Parameters"]
        rules = out.get("Rules")
        if isinstance(rules, dict):
            rules.pop("CheckBootstrapVersion", None)
            if not rules:
                del out["Rules"]
    resources = out.get("Resources")
    if not isinstance(resources, dict):
        return out
    for logical_id in list(resources):
        resource = resources[logical_id]
        if not isinstance(resource, dict):
            continue
        name = f"{where}{logical_id}"
        if resource.get("Type") == "AWS::CDK::Metadata":
            del resources[logical_id]
            continue
        metadata = resource.get("Metadata")
        if not isinstance(metadata, dict) or "aws:asset:path" not in metadata:
            continue
        _asset(name, resource, metadata, cdk_out, result, depth)
    return out


def _asset(name: str, resource: dict[str, Any], metadata: dict[str, Any], cdk_out: Path, result: CdkTemplate,
           depth: int) -> None:
    asset = str(metadata["aws:asset:path"])
    prop = str(metadata.get("aws:asset:property") or "")
    kind = str(resource.get("Type", ""))
    if "aws:asset:dockerfile-path" in metadata or prop.endswith("ImageUri"):
        raise TemplateError(f"Resource {name}: {asset} is a Docker image asset: container image functions are not "
                            "supported by Cloudmicro; give the function a folder (lambda.Code.fromAsset(dir))")
    path = (cdk_out / asset).resolve()
    properties = resource.get("Properties")
    if not isinstance(properties, dict):
        properties = resource["Properties"] = {}
    if kind == "AWS::CloudFormation::Stack" and prop == "TemplateURL":
        if depth >= _MAX_DEPTH:
            raise TemplateError(f"Resource {name}: nested stacks deeper than {_MAX_DEPTH} levels")
        nested = _read_json(path, name)
        rewritten = _rewrite(nested, cdk_out, result, where=f"{name}/", depth=depth + 1)
        body = json.dumps(rewritten, indent=1, sort_keys=True).encode()
        key = f"{hashlib.sha256(body).hexdigest()}.json"
        result.uploads.append(Upload(ASSETS_BUCKET, key, body))
        properties["TemplateURL"] = f"https://s3.amazonaws.com/{ASSETS_BUCKET}/{key}"
        return
    if kind not in _CODE or prop != _CODE[kind][0]:
        result.notes.append(f"{name}: asset {asset} for {kind} {prop or '(no property)'} is left as synthesized "
                            "(only Lambda code and nested stack templates are deployed from cdk.out)")
        return
    _, bucket_key, object_key = _CODE[kind]
    if path.is_dir():
        properties[prop] = {bucket_key: HOT_RELOAD_BUCKET, object_key: str(path)}
        result.folders[name] = path
    elif path.is_file() and path.suffix == ".zip":
        data = path.read_bytes()
        key = f"{hashlib.sha256(data).hexdigest()}.zip"
        result.uploads.append(Upload(ASSETS_BUCKET, key, data))
        properties[prop] = {bucket_key: ASSETS_BUCKET, object_key: key}
    elif path.exists():
        raise TemplateError(f"Resource {name}: asset {asset} ({path}) is a file, not a folder or a .zip")
    else:
        raise TemplateError(f"Resource {name}: asset {asset} is not in {path.parent}: run cdk synth again")


def _read_json(path: Path, name: str) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text())
    except FileNotFoundError:
        raise TemplateError(f"Resource {name}: nested template {path.name} is not in {path.parent}: "
                            "run cdk synth again") from None
    except (OSError, ValueError) as exc:
        raise TemplateError(f"Resource {name}: nested template {path}: {exc}") from None
    if not isinstance(found, dict) or not isinstance(found.get("Resources"), dict):
        raise TemplateError(f"Resource {name}: nested template {path} has no Resources")
    return found
