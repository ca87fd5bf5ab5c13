"""The function registry: functions from ``functions/<name>/`` folders and from the API.

A folder is a function when it holds ``<name>.py`` (handler ``<name>.<name>_handler``,
the zero-config convention) or a ``function.json`` with AWS field names. Functions
created through the API keep their unzipped code under the state directory, except with
the ``hot-reload`` bucket convention (``Code: {"S3Bucket": "hot-reload", "S3Key":
"/abs/folder"}``, LocalStack's: https://docs.localstack.cloud/user-guide/lambda-tools/hot-reloading):
the function runs from that folder, and the reloader (emulator/reload/reloader.py) watches it.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from emulator.domain.code_upload import StagedCode, stage
from emulator.domain.errors import (
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
    ValidationException,
)
from emulator.domain.event_invoke import parse_event_invoke_config
from emulator.domain.function_fields import current_fields, defaults, parse_fields
from emulator.domain.function_urls import check_declaration
from emulator.domain.functions import LATEST, FunctionConfig, folder_digest, links_outside, parse_function_name
from emulator.domain.layer_versions import LayerVersions
from emulator.domain.layers import resolve_layers
from emulator.domain.versions import Versions

log = logging.getLogger(__name__)

CONFIG_FILE = "function.json"
_FOLDER_KEYS = {
    "Handler", "Runtime", "Timeout", "MemorySize", "Environment",
    "ReservedConcurrentExecutions", "Description", "Role", "EventSourceMappings",
    "DeadLetterConfig", "EventInvokeConfig", "Layers", "FunctionUrl",
}


class FunctionRegistry:
    """All functions the control plane knows, by name."""

    def __init__(self, functions_dir: Path, state_dir: Path, region: str, account_id: str, *,
                 roots: tuple[Path, ...] = ()) -> None:
        self.functions_dir = functions_dir
        #: the project folder: relative layer paths start here (domain/layers.py)
        self.project_dir = functions_dir.resolve().parent
        #: where folders given by path (hot-reload code, layers) may be: the project's folder,
        #: the functions folder and any other roots the settings name (CLOUDMICRO_CODE_ROOTS)
        self.roots = (self.project_dir, functions_dir.resolve(), *roots)
        self.code_dir = state_dir / "code"
        self.region = region
        self.account_id = account_id
        self._functions: dict[str, FunctionConfig] = {}
        #: folder functions whose configuration could not be read, with the reason
        self.load_errors: dict[str, str] = {}
        #: functions that load but will not behave as they should, with the reason (symlinks)
        self.warnings: dict[str, str] = {}
        self._listeners: list[Callable[[], None]] = []
        #: published versions and aliases (emulator/domain/versions.py)
        self.versions = Versions(state_dir / "versions")
        #: published layer versions (emulator/domain/layer_versions.py)
        self.layer_versions = LayerVersions(state_dir / "layer-code", region, account_id)

    # --- lookups -----------------------------------------------------------------

    def arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"

    def get(self, function_name: str, qualifier: str | None = None, *, route: bool = False) -> FunctionConfig:
        """Resolve a name, partial ARN or full ARN, with an optional qualifier (in the name or
        given apart): $LATEST, a published version or an alias. ``route``: an alias with a
        routing configuration gives the version one invocation runs (a weighted pick), else
        its own version."""
        ref = parse_function_name(function_name)
        if ref is None:
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{function_name}' at 'functionName' failed to "
                "satisfy constraint: Member must satisfy regular expression pattern: "
                r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?"
                r"(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
            )
        if qualifier and ref.qualifier and qualifier != ref.qualifier:
            raise InvalidParameterValueException(
                "The derived qualifier from the function name does not match the specified qualifier.")
        wanted = qualifier or ref.qualifier
        function = self._functions.get(ref.name)
        if function is None:
            arn = self.arn(ref.name) + (f":{wanted}" if wanted else "")
            reason = self.load_errors.get(ref.name)
            message = f"Function not found: {arn}"
            raise ResourceNotFoundException(message + (f" ({reason})" if reason else ""))
        if wanted is None or wanted == LATEST:
            return function
        return self.versions.resolve(function, wanted, route=route)

    def latest(self, function_name: str) -> FunctionConfig:
        """The function an operation on $LATEST names (updates, concurrency, PublishVersion,
        aliases): a qualifier other than $LATEST is refused, not followed to a version."""
        function = self.get(function_name)
        if function.version != LATEST or function.alias is not None:
            raise InvalidParameterValueException(
                f"{function_name}: this operation takes the function's name or unqualified ARN (or $LATEST), not a "
                "version or alias")
        return function

    def list(self) -> list[FunctionConfig]:
        return sorted(self._functions.values(), key=lambda f: f.name)

    def __contains__(self, name: str) -> bool:
        return name in self._functions

    # --- folders -----------------------------------------------------------------

    def load_folders(self) -> None:
        """(Re)load every function folder; API-created functions are kept."""
        for name in [n for n, f in self._functions.items() if f.origin == "folder"]:
            del self._functions[name]
        self.load_errors.clear()
        self.warnings.clear()
        if not self.functions_dir.is_dir():
            return
        for folder in sorted(p for p in self.functions_dir.iterdir() if p.is_dir()):
            if folder.name.startswith((".", "_")):
                continue
            try:
                function = self.load_folder(folder)
            except InvalidParameterValueException as exc:
                self.load_errors[folder.name] = exc.message
                log.warning("skipping function %s: %s", folder.name, exc.message)
                continue
            if function is not None:
                self._functions[function.name] = function

    def load_folder(self, folder: Path) -> FunctionConfig | None:
        """The function a folder defines, or None when it defines none."""
        name = folder.name
        config_path = folder / CONFIG_FILE
        raw: dict[str, Any] = {}
        if config_path.exists():
            raw = _read_folder_config(config_path)
        elif not (folder / f"{name}.py").exists():
            return None
        where = str(config_path)
        fields = parse_fields(raw, where, defaults(handler=f"{name}.{name}_handler",
                                                   role=f"arn:aws:iam::{self.account_id}:role/lambda-role"),
                              self.resolve_layers, in_file=True)
        reserved = raw.get("ReservedConcurrentExecutions")
        if reserved is not None and (not isinstance(reserved, int) or reserved < 0):
            raise InvalidParameterValueException(
                f"{where}: ReservedConcurrentExecutions must be a whole number >= 0"
            )
        declared = raw.get("EventSourceMappings", [])
        if not isinstance(declared, list) or not all(isinstance(m, dict) and "EventSourceArn" in m for m in declared):
            raise InvalidParameterValueException(
                f'{where}: EventSourceMappings must be a list of {{"EventSourceArn": ..., ...}} objects'
            )
        invoke_config = raw.get("EventInvokeConfig")
        if invoke_config is not None:
            parse_event_invoke_config(self.arn(name), invoke_config)  # validate now, fail loudly
        function_url = raw.get("FunctionUrl")
        if function_url is not None:
            try:
                function_url = check_declaration(function_url)  # validate now, fail loudly
            except ValidationException as exc:
                raise InvalidParameterValueException(f"{where}: FunctionUrl: {exc.message}") from None
        sha, size = folder_digest(folder)
        self._warn_links(name, folder)
        return FunctionConfig(
            name=name,
            arn=self.arn(name),
            code_dir=folder.resolve(),
            **fields,
            reserved_concurrency=reserved,
            code_sha256=sha,
            code_size=size,
            event_source_mappings=tuple(declared),
            event_invoke_config=invoke_config,
            function_url=function_url,
        )

    def _warn_links(self, name: str, folder: Path) -> None:
        """Symlinks that leave the folder work only in the process executor and never reload:
        say so (shared code belongs in a layer)."""
        links = links_outside(folder)
        if not links:
            self.warnings.pop(name, None)
            return
        shown = ", ".join(str(link) for link in links[:3]) + (f" and {len(links) - 3} more" if len(links) > 3 else "")
        self.warnings[name] = (
            f"{folder}: {shown} link(s) to outside the function's folder: what they point to is not "
            "watched for changes, not in CodeSha256, and not mounted in Docker containers (the import "
            "fails there); put shared code in a layer (layers/<name>/python, \"Layers\" in function.json)"
        )
        log.warning("%s", self.warnings[name])

    # --- API changes -------------------------------------------------------------

    def check_create(self, request: Mapping[str, Any]) -> str:
        """CreateFunction's checks but the code's (the function's name, when they pass)."""
        return self._checked_create(request)[0]

    def resolve_layers(self, value: Any, where: str) -> tuple[Path, ...]:
        """The folders a ``Layers`` value names (emulator/domain/layers.py)."""
        return resolve_layers(value, self.project_dir, where, self.roots, published=self._published_layer)

    def _published_layer(self, arn: str) -> Path | None:
        found = self.layer_versions.find(arn)
        return found.folder if found is not None else None

    def create(self, request: Mapping[str, Any], staged: StagedCode | None = None) -> FunctionConfig:
        """CreateFunction: a function from a zip upload (or a hot-reload folder); ``staged`` is
        :meth:`stage_code`'s work on the request's Code, done beforehand in a thread."""
        name, fields = self._checked_create(request)
        code_dir, sha, size, hot = staged if staged is not None else self.stage_code(name, request.get("Code"))
        function = FunctionConfig(
            name=name,
            arn=self.arn(name),
            code_dir=code_dir,
            **fields,
            code_sha256=sha,
            code_size=size,
            origin="api",
            hot_reload=hot,
        )
        if name in self._functions:  # made meanwhile, while its code was staged
            raise ResourceConflictException(f"Function already exist: {name}")
        self._functions[name] = function
        self._changed()
        return function

    def _checked_create(self, request: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        name = request.get("FunctionName")
        if not isinstance(name, str) or parse_function_name(name) is None:
            raise InvalidParameterValueException("FunctionName is required and must be a valid name")
        name = parse_function_name(name).name  # type: ignore[union-attr]
        if name in self._functions:
            raise ResourceConflictException(f"Function already exist: {name}")
        if request.get("PackageType", "Zip") != "Zip":
            raise InvalidParameterValueException("Only PackageType Zip is supported locally")
        handler = request.get("Handler")
        runtime = request.get("Runtime")
        if not handler or not runtime:
            raise InvalidParameterValueException(
                "Runtime and Handler are mandatory parameters for functions created with deployment packages."
            )
        return name, parse_fields(request, "CreateFunction", defaults(), self.resolve_layers)

    def update_code(self, function_name: str, request: Mapping[str, Any],
                    staged: StagedCode | None = None) -> FunctionConfig:
        """UpdateFunctionCode: new code from a zip or a hot-reload folder (a folder function
        becomes an API one); ``staged`` as for :meth:`create`."""
        current = self.latest(function_name)
        code_dir, sha, size, hot = staged if staged is not None else self.stage_code(current.name, request)
        return self._put(current.changed(code_dir=code_dir, code_sha256=sha, code_size=size, origin="api",
                                         hot_reload=hot))

    def update_configuration(self, function_name: str, request: Mapping[str, Any]) -> FunctionConfig:
        """UpdateFunctionConfiguration: only the fields given change."""
        current = self.latest(function_name)
        return self._put(current.changed(**parse_fields(request, "UpdateFunctionConfiguration", current_fields(current),
                                                        self.resolve_layers)))

    def put_concurrency(self, function_name: str, value: Any) -> FunctionConfig:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidParameterValueException(
                "ReservedConcurrentExecutions must be a whole number greater than or equal to 0"
            )
        return self._put(self.latest(function_name).changed(reserved_concurrency=value))

    def delete_concurrency(self, function_name: str) -> FunctionConfig:
        return self._put(self.latest(function_name).changed(reserved_concurrency=None))

    def delete(self, function_name: str) -> FunctionConfig:
        function = self.latest(function_name)
        del self._functions[function.name]
        self.warnings.pop(function.name, None)
        self.versions.forget(function.name)
        if function.origin == "api":
            shutil.rmtree(self.code_dir / function.name, ignore_errors=True)
        self._changed()
        return function

    def reset(self) -> None:
        """Forget API-created functions and their code; reload the folders."""
        self._functions.clear()
        self.versions.clear()
        self.layer_versions.clear()
        shutil.rmtree(self.code_dir, ignore_errors=True)
        shutil.rmtree(self.layer_versions.code_dir, ignore_errors=True)
        self.load_folders()
        self._changed()

    def replace(self, function: FunctionConfig) -> None:
        """Put a changed configuration in place (used by reloads)."""
        self._put(function)

    def _put(self, function: FunctionConfig) -> FunctionConfig:
        self._functions[function.name] = function
        self._changed()
        return function

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every change made through this registry (on the caller's
        thread: the event loop)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            try:
                listener()
            except Exception:
                log.exception("registry listener %r failed", listener)

    def stage_code(self, name: str, code: Any) -> StagedCode:
        """Where a Code value's files are, their CodeSha256 and size, and whether it is a
        hot-reload folder (else a zip, unpacked under the state directory). Blocking (it unpacks
        or hashes): the API runs it in a thread."""
        staged = stage(code, self.code_dir / name, self.roots, "Code")
        if staged[3]:
            self._warn_links(name, staged[0])
        return staged



def _read_folder_config(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InvalidParameterValueException(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(raw, dict):
        raise InvalidParameterValueException(f"{path}: must hold a JSON object of AWS fields")
    unknown = sorted(set(raw) - _FOLDER_KEYS)
    if unknown:
        raise InvalidParameterValueException(
            f"{path}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_FOLDER_KEYS))}"
        )
    return raw

