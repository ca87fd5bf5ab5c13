"""Functions' resource-based policies: AddPermission, GetPolicy and RemovePermission.

Setup scripts, SAM, CDK and Terraform grant S3, SNS and EventBridge the right to invoke a
function before they wire the trigger; those calls must work locally. The statements are
kept and shown as AWS shows them (API_AddPermission, API_GetPolicy), but not enforced:
locally there is no IAM, and every caller may invoke every function.

Statement shape (the AWS CLI's add-permission example)::

    {"Sid": "s3", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
     "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:...:function:my-function",
     "Condition": {"StringEquals": {"AWS:SourceAccount": "123456789012"},
                   "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::my-bucket"}}}

Persisted in ``<state>/policies.json``, so permissions survive a restart as the function does.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from emulator.domain.errors import (
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
    ValidationException,
)
from emulator.domain.functions import FunctionConfig

log = logging.getLogger(__name__)

#: (request field, API member name, pattern, max length) as the API reference models them
_FIELDS: tuple[tuple[str, str, str, int | None], ...] = (
    ("StatementId", "statementId", r"([a-zA-Z0-9-_.]+)", 100),
    ("Action", "action", r"(lambda:[*]|lambda:[a-zA-Z]+|[*])", 256),
    ("Principal", "principal", r"[^\s]+", 256),
    ("SourceArn", "sourceArn",
     r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)", 1024),
    ("SourceAccount", "sourceAccount", r"\d{12}", 12),
    ("EventSourceToken", "eventSourceToken", r"[a-zA-Z0-9._\-]+", 256),
    ("PrincipalOrgID", "principalOrgID", r"^o-[a-z0-9]{10,32}$", 34),
)
_REQUIRED = ("StatementId", "Action", "Principal")
_AUTH_TYPES = ("NONE", "AWS_IAM")


def invalid_member(value: Any, member: str, constraint: str) -> ValidationException:
    return ValidationException(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    )


def check_members(request: Mapping[str, Any], fields: Sequence[tuple[str, str, str, int | None]]) -> None:
    """ValidationException for the first of ``fields`` (request field, API member name, pattern,
    max length) that is given and is not a string, is too long, or breaks its pattern."""
    for name, member, pattern, length in fields:
        value = request.get(name)
        if value is None:
            continue
        if not isinstance(value, str) and length is None:
            raise invalid_member(value, member, "Member must be a string")
        if not isinstance(value, str) or (length is not None and len(value) > length):
            raise invalid_member(value, member, f"Member must have length less than or equal to {length}")
        if not re.fullmatch(pattern, value):
            raise invalid_member(value, member, f"Member must satisfy regular expression pattern: {pattern}")


def build_statement(function: FunctionConfig, request: Mapping[str, Any]) -> dict[str, Any]:
    """The statement an AddPermission request adds (ValidationException for a bad field)."""
    for name in _REQUIRED:
        if not request.get(name):
            raise invalid_member(None, name[0].lower() + name[1:], "Member must not be null")
    check_members(request, _FIELDS)
    auth_type = request.get("FunctionUrlAuthType")
    if auth_type is not None and auth_type not in _AUTH_TYPES:
        raise invalid_member(auth_type, "functionUrlAuthType", "Member must satisfy enum value set: [AWS_IAM, NONE]")

    statement: dict[str, Any] = {
        "Sid": request["StatementId"],
        "Effect": "Allow",
        "Principal": principal_element(request["Principal"]),
        "Action": request["Action"],
        "Resource": function.arn,
    }
    equals: dict[str, str] = {}
    if request.get("SourceAccount"):
        equals["AWS:SourceAccount"] = request["SourceAccount"]
    if request.get("PrincipalOrgID"):
        equals["aws:PrincipalOrgID"] = request["PrincipalOrgID"]
    if request.get("EventSourceToken"):
        equals["lambda:EventSourceToken"] = request["EventSourceToken"]
    if auth_type is not None:
        equals["lambda:FunctionUrlAuthType"] = auth_type
    condition: dict[str, Any] = {}
    if equals:
        condition["StringEquals"] = equals
    if request.get("SourceArn"):
        condition["ArnLike"] = {"AWS:SourceArn": request["SourceArn"]}
    if condition:
        statement["Condition"] = condition
    return statement


def principal_element(value: str) -> str | dict[str, str]:
    if value == "*":
        return "*"
    if re.fullmatch(r"\d{12}", value):
        return {"AWS": f"arn:aws:iam::{value}:root"}
    if value.startswith("arn:"):
        return {"AWS": value}
    return {"Service": value}


class Policies:
    """Every function's statements, by function name, in insertion order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._statements: dict[str, list[dict[str, Any]]] = {}
        if path.exists():
            try:
                data = json.loads(path.read_text())
                self._statements = {str(k): list(v) for k, v in data.items()}
            except (ValueError, AttributeError, TypeError) as exc:
                log.warning("ignoring %s: %s", path, exc)

    def add(self, function: FunctionConfig, request: Mapping[str, Any]) -> dict[str, Any]:
        """AddPermission: the new statement (ResourceConflictException for a taken id)."""
        _check_revision(function, request.get("RevisionId"))
        statement = build_statement(function, request)
        statements = self._statements.setdefault(function.name, [])
        if any(s["Sid"] == statement["Sid"] for s in statements):
            raise ResourceConflictException(
                f"The statement id ({statement['Sid']}) provided already exists. Please provide a new "
                "statement id, or remove the existing statement."
            )
        statements.append(statement)
        self._save()
        return statement

    def policy(self, function: FunctionConfig) -> dict[str, Any]:
        """GetPolicy's document (ResourceNotFoundException when the function has none)."""
        statements = self._statements.get(function.name)
        if not statements:
            raise ResourceNotFoundException("The resource you requested does not exist.")
        return {"Version": "2012-10-17", "Id": "default", "Statement": statements}

    def remove(self, function: FunctionConfig, statement_id: str, revision_id: str | None = None) -> None:
        """RemovePermission (ResourceNotFoundException for an unknown statement id)."""
        _check_revision(function, revision_id)
        statements = self._statements.get(function.name, [])
        kept = [s for s in statements if s["Sid"] != statement_id]
        if len(kept) == len(statements):
            raise ResourceNotFoundException(f"Statement {statement_id} is not found in resource policy.")
        if kept:
            self._statements[function.name] = kept
        else:
            self._statements.pop(function.name, None)
        self._save()

    def forget(self, name: str) -> None:
        """The function was deleted: its policy goes with it."""
        if self._statements.pop(name, None) is not None:
            self._save()

    def clear(self) -> None:
        self._statements.clear()
        self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._statements, indent=1))
        tmp.replace(self.path)


def _check_revision(function: FunctionConfig, revision_id: Any) -> None:
    if revision_id and revision_id != function.revision_id:
        raise PreconditionFailedException(
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias "
            "API to retrieve the latest Revision Id"
        )
