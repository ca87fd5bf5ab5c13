"""Local code paths in a template, rewritten so functions run from their folders and hot-reload.

``sam deploy`` and ``aws cloudformation package`` zip the folder a template names and upload it;
the dev loop does neither. Each local path becomes Cloudmicro's ``hot-reload`` bucket with the
folder's absolute path as the key, which the Lambda API runs in place and reloads on save:

* ``AWS::Serverless::Function`` ``CodeUri: src/`` (and ``Globals.Function.CodeUri``) becomes
  ``CodeUri: {Bucket: hot-reload, Key: /abs/src}``; SAM's translator makes that
  ``Code: {S3Bucket: hot-reload, S3Key: /abs/src}``. A Zip function with neither ``CodeUri``
  nor ``InlineCode`` runs from the template's folder, as ``sam build`` takes it (``.``).
* ``AWS::Lambda::Function`` ``Code: src/`` (a path, as ``aws cloudformation package`` takes it)
  becomes ``Code: {S3Bucket: hot-reload, S3Key: /abs/src}``.
* ``AWS::Serverless::LayerVersion`` ``ContentUri: layer/`` becomes ``{Bucket: hot-reload,
  Key: /abs/layer}`` and ``AWS::Lambda::LayerVersion`` ``Content: layer/`` becomes
  ``{S3Bucket: hot-reload, S3Key: /abs/layer}``.

A relative path is relative to the template's folder, as for ``sam`` and ``package``. An S3 URI
(``s3://...``), inline code and mappings other than these are left as they are. A zip file
(``chalice package``'s ``deployment.zip``) is unpacked next to it and runs from there. Any other
path that is not a folder is a :class:`~emulator.templates.loading.TemplateError` naming the
resource.
"""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.domain.code_folders import extract_zip
from emulator.domain.errors import InvalidParameterValueException
from emulator.templates.loading import TemplateError

HOT_RELOAD_BUCKET = "hot-reload"  # emulator.domain.registry's convention (LocalStack's)


@dataclass
class LocalCode:
    """The rewritten template, and each resource's folder (logical id -> folder)."""

    template: dict[str, Any]
    folders: dict[str, Path] = field(default_factory=dict)


#: resource type -> (property, key names of the location: bucket, key)
_LOCATIONS: dict[str, tuple[str, str, str]] = {
    "AWS::Serverless::Function": ("CodeUri", "Bucket", "Key"),
    "AWS::Lambda::Function": ("Code", "S3Bucket", "S3Key"),
    "AWS::Serverless::LayerVersion": ("ContentUri", "Bucket", "Key"),
    "AWS::Lambda::LayerVersion": ("Content", "S3Bucket", "S3Key"),
}


def rewrite_local_code(template: dict[str, Any], base: Path) -> LocalCode:
    """A copy of ``template`` with its local code paths as hot-reload folders (``base``: the
    template's folder, where relative paths start)."""
    out = copy.deepcopy(template)
    result = LocalCode(out)
    globals_function = (out.get("Globals") or {}).get("Function") if isinstance(out.get("Globals"), dict) else None
    global_code = isinstance(globals_function, dict) and "CodeUri" in globals_function
    if isinstance(globals_function, dict) and _is_local(globals_function.get("CodeUri")):
        folder = _folder(globals_function["CodeUri"], base, "Globals.Function.CodeUri")
        globals_function["CodeUri"] = {"Bucket": HOT_RELOAD_BUCKET, "Key": str(folder)}
    for logical_id, resource in (out.get("Resources") or {}).items():
        if not isinstance(resource, dict) or resource.get("Type") not in _LOCATIONS:
            continue
        prop, bucket_name, key_name = _LOCATIONS[resource["Type"]]
        properties = resource.get("Properties")
        if properties is None:
            properties = resource["Properties"] = {}
        if not isinstance(properties, dict):
            continue
        value = properties.get(prop)
        if value is None and resource["Type"] == "AWS::Serverless::Function" and not global_code \
                and "InlineCode" not in properties and properties.get("PackageType", "Zip") == "Zip" \
                and "ImageUri" not in properties:
            value = "."  # sam build's default: the template's folder
        if not isinstance(value, str) or not _is_local(value):
            continue
        folder = _folder(value, base, f"Resource {logical_id}: {prop}")
        properties[prop] = {bucket_name: HOT_RELOAD_BUCKET, key_name: str(folder)}
        result.folders[str(logical_id)] = folder
    return result


def _is_local(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and not value.startswith("s3://") \
        and not value.startswith("https://")


def _folder(value: str, base: Path, where: str) -> Path:
    path = Path(value).expanduser()
    folder = (path if path.is_absolute() else base / path).resolve()
    if folder.is_file() and zipfile.is_zipfile(folder):
        return _unzipped(folder, where)
    if not folder.is_dir():
        what = "a file: give the folder that holds the code (no build step: nothing is zipped)" \
            if folder.is_file() else "not there"
        raise TemplateError(f"{where}: {value!r} ({folder}) is {what}")
    return folder


def _unzipped(archive: Path, where: str) -> Path:
    """A deployment zip (``chalice package``'s ``deployment.zip``, a build's output) unpacked once
    per content next to it, in ``.cloudmicro-unzipped/<sha256>``, safely (no entry leaves it)."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    target = archive.parent / ".cloudmicro-unzipped" / f"{archive.stem}-{digest}"
    if target.is_dir():
        return target
    scratch = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        with zipfile.ZipFile(archive) as opened:
            extract_zip(opened, scratch)
    except (InvalidParameterValueException, zipfile.BadZipFile, OSError) as error:
        shutil.rmtree(scratch, ignore_errors=True)
        raise TemplateError(f"{where}: {archive} cannot be unzipped: {getattr(error, 'message', error)}") from None
    try:
        scratch.rename(target)
    except OSError:  # another deploy unpacked it meanwhile
        shutil.rmtree(scratch, ignore_errors=True)
    return target
