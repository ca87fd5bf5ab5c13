"""Layers: shared code a function gets under ``/opt``, as AWS's layers do (local folders here).

A layer folder holds what AWS's layer zip holds: Python code goes in ``python/`` or
``python/lib/python3.X/site-packages/`` (the two folders AWS's Python runtimes put on
``sys.path``). A function's layers are merged into ``/opt`` in the order it lists them; where
two layers hold the same path, the later one wins, as AWS merges them ("the order in which you
add the layers is the order in which Lambda merges the layer content into the execution
environment", https://docs.aws.amazon.com/lambda/latest/dg/adding-layers.html). At most five
layers, as on AWS.

An entry of ``Layers`` is, in ``function.json`` or in CreateFunction/UpdateFunctionConfiguration:

* a folder path, absolute or relative to the project folder (the one holding ``functions/``);
* a bare name, ``common``, which also finds the project's ``layers/common/``;
* a layer version ARN, ``arn:aws:lambda:<region>:<account>:layer:common:<version>``: the version
  PublishLayerVersion made (a template's ``AWS::Lambda::LayerVersion``), else ``layers/common/``
  (locally every version of a project folder is the folder as it is now).

GetFunction shows each layer as ``{"Arn", "CodeSize"}``: the ARN given, or for a folder a version
ARN named after it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulator.domain.code_folders import inside_roots, regular_files
from emulator.domain.errors import InvalidParameterValueException

MAX_LAYERS = 5
LAYERS_FOLDER = "layers"
_LAYER_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:layer:(?P<name>[a-zA-Z0-9_-]+):\d+$")


#: the folder of a published layer version, by its ARN (None: not published)
Published = Callable[[str], Path | None]


def resolve_layers(value: Any, project_dir: Path, where: str, roots: tuple[Path, ...] = (),
                   published: Published | None = None) -> tuple[Path, ...]:
    """The folders a ``Layers`` value names, in merge order; InvalidParameterValueException
    (naming ``where`` and the entry) when one is not a folder, or is outside the project folder
    and the other ``roots`` (CLOUDMICRO_CODE_ROOTS). A published version's folder was checked
    when it was published (its zip is unpacked in the state directory)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(entry, str) and entry for entry in value):
        raise InvalidParameterValueException(
            f'{where}: Layers must be a list of layer folders, e.g. ["layers/common"]'
        )
    if len(value) > MAX_LAYERS:
        raise InvalidParameterValueException(f"{where}: Cannot reference more than {MAX_LAYERS} layers.")
    allowed = (project_dir, *roots)
    folders: list[Path] = []
    for entry in value:
        found = published(entry) if published is not None and _LAYER_ARN.match(entry) else None
        if found is not None:
            folders.append(found)
            continue
        folder = _resolve(entry, project_dir, where)
        if not inside_roots(folder, allowed):
            raise InvalidParameterValueException(
                f"{where}: layer {entry!r} is outside the project: a layer folder must be under "
                f"{', '.join(str(root) for root in allowed)} (to allow another folder, add it to "
                "CLOUDMICRO_CODE_ROOTS)")
        folders.append(folder)
    return tuple(folders)


def _resolve(entry: str, project_dir: Path, where: str) -> Path:
    arn = _LAYER_ARN.match(entry)
    if arn:
        candidates = [project_dir / LAYERS_FOLDER / arn["name"]]
    elif entry.startswith("arn:"):
        raise InvalidParameterValueException(
            f"{where}: {entry!r} is not a layer version ARN (arn:aws:lambda:<region>:<account>:layer:<name>:<version>)"
        )
    else:
        path = Path(entry).expanduser()
        candidates = [path if path.is_absolute() else project_dir / path]
        if "/" not in entry and not path.is_absolute():
            candidates.append(project_dir / LAYERS_FOLDER / entry)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    looked = " or ".join(str(c) for c in candidates)
    raise InvalidParameterValueException(f"{where}: layer {entry!r} is not a folder (looked for {looked})")


def layer_arn(function_arn: str, folder: Path) -> str:
    """A layer version ARN for a local folder: ``...:layer:<folder name>:1``."""
    prefix = function_arn.split(":function:", 1)[0]
    name = re.sub(r"[^a-zA-Z0-9_-]", "-", folder.name) or "layer"
    return f"{prefix}:layer:{name}:1"


def layers_to_aws(function_arn: str, layers: tuple[Path, ...], refs: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The ``Layers`` of a FunctionConfiguration: ``[{"Arn", "CodeSize"}]``; ``refs`` are the
    entries as given (a layer version ARN is shown as it is)."""
    shown = []
    for index, folder in enumerate(layers):
        ref = refs[index] if index < len(refs) else ""
        arn = ref if _LAYER_ARN.match(ref) else layer_arn(function_arn, folder)
        shown.append({"Arn": arn, "CodeSize": _size(folder)})
    return shown


def _size(folder: Path) -> int:
    try:
        return sum(size for _, size in regular_files(folder))
    except (OSError, InvalidParameterValueException):  # gone, or larger than a layer may be
        return 0
