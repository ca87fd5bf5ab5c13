"""Function configurations: what a Lambda function is, independent of where it runs."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from emulator.domain.code_folders import read_regular, regular_files
from emulator.domain.errors import InvalidParameterValueException
from emulator.domain.layers import layers_to_aws

PYTHON_RUNTIMES = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13")
CUSTOM_RUNTIMES = ("provided", "provided.al2", "provided.al2023")
SUPPORTED_RUNTIMES = PYTHON_RUNTIMES + CUSTOM_RUNTIMES
DEFAULT_RUNTIME = "python3.11"
DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY = 128
#: the unpublished version: the function as it is now
LATEST = "$LATEST"

#: variables the platform owns; a function configuration may not set them (as on AWS)
RESERVED_ENV_KEYS = frozenset(
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    }
)

_NAME_RE = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):)?"
    r"(?:(?P<account>\d{12}):)?(?:function:)?"
    r"(?P<name>[a-zA-Z0-9_-]{1,140})(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?$"
)


def now_aws() -> str:
    """A timestamp in the format Lambda uses for LastModified."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


@dataclass(frozen=True)
class FunctionRef:
    """A parsed FunctionName parameter: a name, partial ARN or full ARN."""

    name: str
    qualifier: str | None = None


def parse_function_name(value: str) -> FunctionRef | None:
    """Parse a FunctionName as AWS accepts it; None when it is not one."""
    match = _NAME_RE.match(value)
    if not match:
        return None
    return FunctionRef(match["name"], match["qualifier"])


@dataclass(frozen=True)
class FunctionConfig:
    """One function's configuration and where its code lives (frozen: changes make a new one)."""

    name: str
    arn: str
    code_dir: Path
    handler: str
    runtime: str = DEFAULT_RUNTIME
    timeout: int = DEFAULT_TIMEOUT
    memory_size: int = DEFAULT_MEMORY
    environment: Mapping[str, str] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    description: str = ""
    role: str = ""
    code_sha256: str = ""
    code_size: int = 0
    last_modified: str = field(default_factory=now_aws)
    revision_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    origin: Literal["folder", "api"] = "folder"
    #: CreateEventSourceMapping requests declared in function.json (without FunctionName)
    event_source_mappings: tuple[Mapping[str, Any], ...] = ()
    #: DeadLetterConfig.TargetArn: where failed asynchronous events go (SQS queue or SNS topic)
    dead_letter_target: str | None = None
    #: a PutFunctionEventInvokeConfig request declared in function.json (the API's wins)
    event_invoke_config: Mapping[str, Any] | None = None
    #: layer folders, merged into /opt in this order (see domain/layers.py)
    layers: tuple[Path, ...] = ()
    #: the ``Layers`` entries as given (a layer version ARN, a folder): GetFunction shows the ARNs
    layer_refs: tuple[str, ...] = ()
    #: ``code_dir`` is the user's own folder, watched for changes (CreateFunction's
    #: ``hot-reload`` bucket convention); False for uploaded code
    hot_reload: bool = False
    #: a CreateFunctionUrlConfig request declared in function.json (AuthType, InvokeMode, Cors):
    #: the function has that URL from the start (emulator/domain/function_urls.py)
    function_url: Mapping[str, Any] | None = None
    #: the published version this configuration is ("1", "2", ...; emulator/domain/versions.py),
    #: or $LATEST
    version: str = LATEST
    #: the alias it was resolved through (an invocation of ``name:alias``), else None
    alias: str | None = None

    @property
    def qualified_arn(self) -> str:
        """The ARN as invoked: with the alias, else the published version; unqualified for $LATEST."""
        qualifier = self.alias or (self.version if self.version != LATEST else None)
        return f"{self.arn}:{qualifier}" if qualifier else self.arn

    @property
    def qualified_name(self) -> str:
        """The name as invoked (``name``, ``name:alias``, ``name:3``): resolving it again gives
        the same version or alias."""
        qualifier = self.alias or (self.version if self.version != LATEST else None)
        return f"{self.name}:{qualifier}" if qualifier else self.name

    @property
    def pool_key(self) -> str:
        """Whose warm environments run it: $LATEST's, or one published version's own."""
        return self.name if self.version == LATEST else f"{self.name}:{self.version}"

    def changed(self, **fields: Any) -> FunctionConfig:
        """A copy with new fields, a new revision and a new LastModified."""
        return replace(self, **fields, revision_id=str(uuid.uuid4()), last_modified=now_aws())

    def to_aws(self) -> dict[str, Any]:
        """The FunctionConfiguration shape of the Lambda API."""
        config: dict[str, Any] = {
            "FunctionName": self.name,
            "FunctionArn": self.qualified_arn,
            "Runtime": self.runtime,
            "Role": self.role,
            "Handler": self.handler,
            "CodeSize": self.code_size,
            "Description": self.description,
            "Timeout": self.timeout,
            "MemorySize": self.memory_size,
            "LastModified": self.last_modified,
            "CodeSha256": self.code_sha256,
            "Version": self.version,
            "TracingConfig": {"Mode": "PassThrough"},
            "RevisionId": self.revision_id,
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": ["x86_64"],
            "EphemeralStorage": {"Size": 512},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{self.name}"},
        }
        if self.environment:
            config["Environment"] = {"Variables": dict(self.environment)}
        if self.dead_letter_target:
            config["DeadLetterConfig"] = {"TargetArn": self.dead_letter_target}
        if self.layers:
            config["Layers"] = layers_to_aws(self.arn, self.layers, self.layer_refs)
        return config


#: AWS: "the total size of the set of environment variables ... 4 KB", measured as their JSON
MAX_ENVIRONMENT_BYTES = 4096
_ENV_KEY = re.compile(r"[a-zA-Z]([a-zA-Z0-9_])+")


def validate_settings(
    *,
    runtime: str,
    timeout: int,
    memory_size: int,
    environment: Mapping[str, str],
    where: str,
    handler: str | None = None,
) -> None:
    """Raise InvalidParameterValueException for values AWS would refuse."""
    if runtime not in SUPPORTED_RUNTIMES:
        raise InvalidParameterValueException(
            f"{where}: runtime {runtime!r} is not supported; use one of {', '.join(SUPPORTED_RUNTIMES)}"
        )
    if not isinstance(timeout, int) or not 1 <= timeout <= 900:
        raise InvalidParameterValueException(f"{where}: Timeout must be an integer from 1 to 900 seconds")
    if not isinstance(memory_size, int) or not 128 <= memory_size <= 10240:
        raise InvalidParameterValueException(f"{where}: MemorySize must be an integer from 128 to 10240 MB")
    reserved = sorted(RESERVED_ENV_KEYS.intersection(environment))
    if reserved:
        raise InvalidParameterValueException(
            f"Lambda was unable to configure your environment variables because the environment "
            f"variables you have provided contains reserved keys that are currently not supported "
            f"for modification. Reserved keys used in this request: {', '.join(reserved)}"
        )
    for key, value in environment.items():
        if not isinstance(value, str):
            raise InvalidParameterValueException(
                f"{where}: environment variable {key} must be a string, got {type(value).__name__}"
            )
        if not isinstance(key, str) or not _ENV_KEY.fullmatch(key):
            raise InvalidParameterValueException(
                f"{where}: environment variable name {key!r} is invalid: a name starts with a letter and has at "
                "least two letters, digits or underscores ([a-zA-Z]([a-zA-Z0-9_])+)")
        if "\0" in value:
            raise InvalidParameterValueException(
                f"{where}: environment variable {key} contains a NUL character, which no process environment can hold")
    measured = json.dumps(dict(environment), separators=(",", ":"))
    if len(measured.encode()) > MAX_ENVIRONMENT_BYTES:
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the environment variables you "
            f"have provided exceeded the 4KB limit. String measured: {measured}")
    if handler is not None and (not handler or len(handler) > 128 or any(c.isspace() for c in handler)):
        raise InvalidParameterValueException(
            f"{where}: Handler {handler!r} is invalid: at most 128 characters and no spaces (module.function)")


def folder_digest(folder: Path) -> tuple[str, int]:
    """CodeSha256 (base64 SHA-256) and byte size of a code folder's files (``__pycache__`` left
    out; a symlinked file counts with its target's bytes, a symlinked folder is not entered).
    A file deleted while it is hashed is left out: the save that deleted it changes the folder
    again, and the reload that follows hashes it again."""
    digest = hashlib.sha256()
    size = 0
    for path in sorted(_files(folder)):
        data = read_regular(path)
        if data is None:
            continue
        size += len(data)
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + data)
    return base64.b64encode(digest.digest()).decode(), size


def _files(folder: Path) -> list[Path]:
    """The regular files of a code folder (special files never opened; CodeTooLarge past a Lambda's size)."""
    return [path for path, _ in regular_files(folder)]


def links_outside(folder: Path) -> list[Path]:
    """Symbolic links under ``folder`` (relative to it) whose targets are outside it. Their
    targets are not watched, not in CodeSha256 (folders) and not mounted in Docker."""
    root = folder.resolve()
    outside: list[Path] = []
    for parent, folders, names in os.walk(folder):
        folders[:] = [name for name in folders if name != "__pycache__" and not name.startswith(".")]
        for name in [*folders, *names]:
            path = Path(parent, name)
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                outside.append(path.relative_to(folder))
    return sorted(outside)
