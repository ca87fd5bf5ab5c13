"""Published layer versions (PublishLayerVersion and the operations beside it).

A layer version is numbered 1, 2, ... per layer name, and a number is never given twice, even
after its version is deleted (as on AWS). Its content is a folder: a zip (``Content.ZipFile``,
or an S3 object the caller read for us) unpacked once under ``<state>/layer-code/``, or a local
folder in the ``hot-reload`` bucket convention, used live: a template's ``ContentUri: layer/``
becomes that, so saving a file in the layer changes what functions see in their next
environment, with no build step. A function's ``Layers`` may name a version by its ARN; it then
runs with that version's folder under ``/opt`` (emulator/domain/layers.py).

A version's resource-based policy (AddLayerVersionPermission, GetLayerVersionPolicy,
RemoveLayerVersionPermission) is kept and shown, not enforced: there is one account locally.

Shapes and errors are the API reference's:
https://docs.aws.amazon.com/lambda/latest/api/API_PublishLayerVersion.html,
``API_GetLayerVersion``, ``API_ListLayerVersions``, ``API_ListLayers``, ``API_DeleteLayerVersion``,
``API_AddLayerVersionPermission``, ``API_GetLayerVersionPolicy``, ``API_RemoveLayerVersionPermission``.
Kept in memory, as API-created functions are (``cloudmicro reset`` forgets them).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.domain.code_upload import StagedCode
from emulator.domain.errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
)
from emulator.domain.functions import now_aws
from emulator.domain.policies import check_members, invalid_member, principal_element

#: a layer version ARN: arn:aws:lambda:<region>:<account>:layer:<name>:<version>
LAYER_VERSION_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):layer:(?P<name>[a-zA-Z0-9_-]+):"
    r"(?P<version>\d+)$")
_LAYER_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:layer:(?P<name>[a-zA-Z0-9_-]+)$")
NOT_FOUND = "The resource you requested does not exist."
#: AddLayerVersionPermission's members: (name, member, pattern, max length), from the API reference
_PERMISSION_FIELDS: tuple[tuple[str, str, str, int | None], ...] = (
    ("StatementId", "statementId", r"([a-zA-Z0-9-_]+)", 100),
    ("Action", "action", r"lambda:GetLayerVersion", 22),
    ("Principal", "principal", r"\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root", None),
    ("OrganizationId", "organizationId", r"o-[a-z0-9]{10,32}", 34),
)


@dataclass(frozen=True)
class LayerVersion:
    """One published version of a layer."""

    name: str
    version: int
    layer_arn: str
    folder: Path
    code_sha256: str
    code_size: int
    #: the folder is the user's own (hot-reload convention), used as it is now
    live: bool = False
    description: str = ""
    compatible_runtimes: tuple[str, ...] = ()
    compatible_architectures: tuple[str, ...] = ()
    license_info: str | None = None
    created: str = field(default_factory=now_aws)

    @property
    def arn(self) -> str:
        return f"{self.layer_arn}:{self.version}"

    def list_item(self) -> dict[str, Any]:
        """LayerVersionsListItem: ListLayerVersions' and ListLayers' shape."""
        item: dict[str, Any] = {"LayerVersionArn": self.arn, "Version": self.version,
                                "Description": self.description, "CreatedDate": self.created,
                                "CompatibleRuntimes": list(self.compatible_runtimes),
                                "CompatibleArchitectures": list(self.compatible_architectures)}
        if self.license_info is not None:
            item["LicenseInfo"] = self.license_info
        return item

    def to_aws(self, location: str) -> dict[str, Any]:
        """PublishLayerVersion's and GetLayerVersion's shape; ``location`` is Content.Location."""
        return {
            "Content": {"Location": location, "CodeSha256": self.code_sha256, "CodeSize": self.code_size},
            "LayerArn": self.layer_arn,
            **self.list_item(),
        }

    def matches(self, runtime: str | None, architecture: str | None) -> bool:
        """ListLayers'/ListLayerVersions' filters: a version that names runtimes (architectures)
        must name the one asked for."""
        return ((runtime is None or runtime in self.compatible_runtimes)
                and (architecture is None or architecture in self.compatible_architectures))


class LayerVersions:
    """Every published layer version, by layer name."""

    def __init__(self, code_dir: Path, region: str, account_id: str) -> None:
        #: where zip contents are unpacked: ``<code_dir>/<layer name>/<hash>/``
        self.code_dir = code_dir
        self.region = region
        self.account_id = account_id
        self._versions: dict[str, dict[int, LayerVersion]] = {}
        self._last: dict[str, int] = {}
        #: each version's policy statements, and the policy's revision id
        self._statements: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self._revisions: dict[tuple[str, int], str] = {}

    def layer_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:layer:{name}"

    def name_of(self, layer_name: str) -> str:
        """A LayerName parameter (a name or a layer ARN) as the name."""
        found = _LAYER_ARN.match(layer_name)
        return found["name"] if found else layer_name

    def publish(self, layer_name: str, request: Mapping[str, Any], staged: StagedCode) -> LayerVersion:
        """A new version of the layer from ``staged`` content (see emulator/domain/code_upload.py)."""
        name = self.name_of(layer_name)
        folder, sha, size, live = staged
        number = self._last.get(name, 0) + 1
        version = LayerVersion(
            name=name, version=number, layer_arn=self.layer_arn(name), folder=folder, code_sha256=sha,
            code_size=size, live=live, description=str(request.get("Description") or ""),
            compatible_runtimes=tuple(request.get("CompatibleRuntimes") or ()),
            compatible_architectures=tuple(request.get("CompatibleArchitectures") or ()),
            license_info=request.get("LicenseInfo"),
        )
        self._last[name] = number
        self._versions.setdefault(name, {})[number] = version
        return version

    def get(self, layer_name: str, number: Any) -> LayerVersion:
        found = self._versions.get(self.name_of(layer_name), {}).get(_number(number))
        if found is None:
            raise ResourceNotFoundException(NOT_FOUND)
        return found

    def by_arn(self, arn: str) -> LayerVersion:
        """GetLayerVersionByArn; also what a function's ``Layers`` entry names."""
        parsed = LAYER_VERSION_ARN.match(arn)
        if parsed is None:
            raise InvalidParameterValueException(
                f"{arn} is not a layer version ARN (arn:aws:lambda:<region>:<account>:layer:<name>:<version>)")
        if (parsed["region"], parsed["account"]) != (self.region, self.account_id):
            raise ResourceNotFoundException(NOT_FOUND)
        return self.get(parsed["name"], parsed["version"])

    def find(self, arn: str) -> LayerVersion | None:
        """The version an ARN names, None when there is none (a function's ``Layers`` then looks
        for a project folder of that name)."""
        try:
            return self.by_arn(arn)
        except (ResourceNotFoundException, InvalidParameterValueException):
            return None

    def versions(self, layer_name: str) -> list[LayerVersion]:
        """The layer's versions, newest first (ListLayerVersions' order)."""
        found = self._versions.get(self.name_of(layer_name), {})
        return [found[number] for number in sorted(found, reverse=True)]

    def latest(self) -> list[LayerVersion]:
        """Each layer's newest version, by name (ListLayers)."""
        return [self.versions(name)[0] for name in sorted(self._versions) if self._versions[name]]

    def delete(self, layer_name: str, number: Any) -> None:
        """DeleteLayerVersion: deleting a version that does not exist succeeds (AWS answers 204)."""
        name, version = self.name_of(layer_name), _number(number)
        self._versions.get(name, {}).pop(version, None)
        self._statements.pop((name, version), None)
        self._revisions.pop((name, version), None)

    def clear(self) -> None:
        self._versions.clear()
        self._last.clear()
        self._statements.clear()
        self._revisions.clear()

    # --- a version's policy ---------------------------------------------------------------

    def add_permission(self, layer_name: str, number: Any, request: Mapping[str, Any],
                       revision_id: str | None) -> tuple[dict[str, Any], str]:
        """AddLayerVersionPermission: the statement added and the policy's new revision id."""
        version = self.get(layer_name, number)
        key = (version.name, version.version)
        self._check_revision(key, revision_id)
        statement = _layer_statement(version, request)
        statements = self._statements.setdefault(key, [])
        if any(s["Sid"] == statement["Sid"] for s in statements):
            raise ResourceConflictException(
                f"The statement id ({statement['Sid']}) provided already exists. Please provide a new "
                "statement id, or remove the existing statement.")
        statements.append(statement)
        self._revisions[key] = str(uuid.uuid4())
        return statement, self._revisions[key]

    def policy(self, layer_name: str, number: Any) -> tuple[dict[str, Any], str]:
        """GetLayerVersionPolicy: the policy document and its revision id."""
        version = self.get(layer_name, number)
        key = (version.name, version.version)
        if not self._statements.get(key):
            raise ResourceNotFoundException(NOT_FOUND)
        return ({"Version": "2012-10-17", "Id": "default", "Statement": list(self._statements[key])},
                self._revisions[key])

    def remove_permission(self, layer_name: str, number: Any, statement_id: str, revision_id: str | None) -> None:
        """RemoveLayerVersionPermission."""
        version = self.get(layer_name, number)
        key = (version.name, version.version)
        self._check_revision(key, revision_id)
        statements = self._statements.get(key, [])
        kept = [s for s in statements if s["Sid"] != statement_id]
        if len(kept) == len(statements):
            raise ResourceNotFoundException(f"Statement {statement_id} is not found in resource policy.")
        self._statements[key] = kept
        self._revisions[key] = str(uuid.uuid4())

    def _check_revision(self, key: tuple[str, int], revision_id: str | None) -> None:
        if revision_id and revision_id != self._revisions.get(key):
            raise PreconditionFailedException(
                "The Revision Id provided does not match the latest Revision Id. Call the GetLayerVersionPolicy "
                "API to retrieve the latest Revision Id")


def _layer_statement(version: LayerVersion, request: Mapping[str, Any]) -> dict[str, Any]:
    """The statement an AddLayerVersionPermission request adds (ValidationException for a bad field)."""
    for name, member, *_ in _PERMISSION_FIELDS:
        if request.get(name) is None and name != "OrganizationId":
            raise invalid_member(None, member, "Member must not be null")
    check_members(request, _PERMISSION_FIELDS)
    statement: dict[str, Any] = {"Sid": request["StatementId"], "Effect": "Allow",
                                 "Principal": principal_element(request["Principal"]),
                                 "Action": request["Action"], "Resource": version.arn}
    if request.get("OrganizationId"):
        statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": request["OrganizationId"]}}
    return statement


def _number(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidParameterValueException(f"VersionNumber must be a whole number, not {value!r}") from None
