"""The SAM transform (``Transform: AWS::Serverless-2016-10-31``), by AWS's own translator.

CloudFormation expands a SAM template into plain CloudFormation before it makes anything; the
code that does it is AWS's ``aws-sam-translator`` (https://github.com/aws/serverless-application-model),
which is used here as it is, offline:

* the managed policy map is empty (the translator's bundled map names AWS's managed policies;
  a name it does not know stays as written): no IAM call;
* the region and partition come from a boto3 session made for ``region`` (no credentials are
  read, nothing is called), the account from ``account_id``.

Before the translation, a function's ``CodeUri`` (or the ``Globals`` one) that is a local folder
becomes ``{Bucket: hot-reload, Key: <absolute folder>}``: Cloudmicro's ``hot-reload`` bucket
convention, so the deployed function runs that folder and reloads when it is saved (on AWS, ``sam
deploy`` or ``aws cloudformation package`` would have uploaded it). A relative folder is taken
from ``code_root``. A folder that is not there fails the transform, naming it.

Pure template code: no moto, no endpoint; :class:`SamError` carries the translator's messages.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

TRANSFORM = "AWS::Serverless-2016-10-31"
HOT_RELOAD_BUCKET = "hot-reload"
_FUNCTION = "AWS::Serverless::Function"
#: the translator keeps its region in a class attribute: one translation at a time
_lock = threading.Lock()


class SamError(ValueError):
    """The template cannot be transformed: ``message`` is what CloudFormation reports
    (``Transform AWS::Serverless-2016-10-31 failed with: ...``), ``errors`` each of the
    translator's messages."""

    def __init__(self, errors: list[str], summary: str | None = None) -> None:
        self.errors = errors
        text = " ".join([summary, *errors] if summary else errors)
        self.message = f"Transform {TRANSFORM} failed with: {text}"
        super().__init__(self.message)


def is_sam(template: Mapping[str, Any]) -> bool:
    """Whether the template declares the SAM transform (``Transform`` a name or a list of names)."""
    declared = template.get("Transform") if isinstance(template, Mapping) else None
    names = declared if isinstance(declared, list) else [declared]
    return TRANSFORM in names


def expand(template: dict[str, Any], *, region: str, account_id: str, parameters: Mapping[str, str],
           code_root: Path | None = None) -> dict[str, Any]:
    """The CloudFormation template of a SAM template (the input is not changed)."""
    declared = template.get("Transform")
    others = [name for name in (declared if isinstance(declared, list) else [declared]) if name != TRANSFORM]
    if others:
        raise SamError([f"Transform {others[0]!r} is not supported by Cloudmicro: only {TRANSFORM} is"])
    source = copy.deepcopy(template)
    source.pop("Transform", None)
    values: dict[str, Any] = {str(k): v for k, v in parameters.items()}
    _local_code(source, code_root, _with_defaults(source, values))
    values.setdefault("AWS::AccountId", account_id)
    values.setdefault("AWS::Region", region)
    return _translate(source, values, region)


def _translate(source: dict[str, Any], values: dict[str, Any], region: str) -> dict[str, Any]:
    import boto3
    from samtranslator.model.exceptions import ExceptionWithMessage, InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    session = boto3.session.Session(region_name=region, aws_access_key_id="test", aws_secret_access_key="test")
    with _lock:
        try:
            translator = Translator({}, Parser(), boto_session=session)
            return translator.translate(source, parameter_values=values, get_managed_policy_map=dict)
        except InvalidDocumentException as exc:
            raise SamError([str(cause.message) for cause in exc.causes], str(exc.message)) from None
        except ExceptionWithMessage as exc:
            raise SamError([str(exc.message)]) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # what the translator did not check
            raise SamError([f"Invalid Serverless Application Specification document: {type(exc).__name__}: {exc}"]
                           ) from None


def _with_defaults(template: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters' values, and the template's defaults for the others."""
    found = dict(values)
    declared = template.get("Parameters")
    if isinstance(declared, Mapping):
        for name, spec in declared.items():
            if name not in found and isinstance(spec, Mapping) and "Default" in spec:
                found[name] = spec["Default"]
    return found


#: the property holding a local code folder, by SAM resource type
_CODE_PROPERTY = {_FUNCTION: "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


def _local_code(template: dict[str, Any], code_root: Path | None, values: Mapping[str, Any]) -> None:
    """A local folder ``CodeUri`` (a layer's ``ContentUri``; written out, or a ``Ref`` to a
    parameter) as the hot-reload bucket's location, in place."""
    resources = template.get("Resources")
    places: list[tuple[str, str, dict[str, Any]]] = []
    globals_ = template.get("Globals")
    if isinstance(globals_, dict) and isinstance(globals_.get("Function"), dict):
        places.append(("Globals.Function", "CodeUri", globals_["Function"]))
    if isinstance(resources, dict):
        for logical_id, resource in resources.items():
            if isinstance(resource, dict) and resource.get("Type") in _CODE_PROPERTY \
                    and isinstance(resource.get("Properties"), dict):
                places.append((logical_id, _CODE_PROPERTY[resource["Type"]], resource["Properties"]))
    for where, prop, properties in places:
        uri = properties.get(prop)
        if isinstance(uri, Mapping) and list(uri) == ["Ref"] and isinstance(values.get(str(uri["Ref"])), str):
            uri = values[str(uri["Ref"])]
            properties[prop] = uri
        if isinstance(uri, str) and uri and not uri.startswith("s3://"):
            properties[prop] = {"Bucket": HOT_RELOAD_BUCKET, "Key": str(_folder(where, uri, code_root, prop))}


def _folder(where: str, uri: str, code_root: Path | None, prop: str = "CodeUri") -> Path:
    folder = Path(uri).expanduser()
    if not folder.is_absolute():
        if code_root is None:
            raise SamError([f"{where}: {prop} {uri!r} is a relative folder and there is no project folder to "
                            "read it from: give its absolute path"])
        folder = code_root / folder
    if not folder.is_dir():
        raise SamError([f"{where}: {prop} folder {str(folder)!r} does not exist (or is not a folder the "
                        "control plane can see)"])
    return folder.resolve()
