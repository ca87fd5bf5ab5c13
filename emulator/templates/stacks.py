"""Deploying a template to the local CloudFormation, as ``sam deploy`` would: CreateStack, or
UpdateStack when the stack exists, then what changed (from the stack's events) and its outputs.

It speaks to the endpoint with a boto3 CloudFormation client the caller gives, so the CLI's dev
loop and the pytest plugin deploy the same way. The template is sent as JSON (long forms only,
see :mod:`emulator.templates.loading`) with the capabilities a SAM template needs
(``CAPABILITY_IAM``, ``CAPABILITY_NAMED_IAM``, ``CAPABILITY_AUTO_EXPAND``), so a ``Transform``
is expanded by the server. A stack whose creation rolled back (``ROLLBACK_COMPLETE``, which
CloudFormation cannot update) is deleted and created again. A failed update rolls back on the
server: the previous stack keeps serving, and the deployment says which resources failed and why.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator.templates.cdk import Upload
from emulator.templates.loading import template_body

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
_STACK_NAME = re.compile(r"^[A-Za-z][-A-Za-z0-9]{0,127}$")


def stack_name_for(folder_name: str) -> str:
    """A stack name (``[A-Za-z][-A-Za-z0-9]*``, 128 at most) from a folder's name."""
    name = re.sub(r"[^-A-Za-z0-9]+", "-", folder_name).strip("-")
    if not name or not name[0].isalpha():
        name = f"stack-{name}".rstrip("-")
    return name[:128]


def check_stack_name(name: str) -> str:
    if not _STACK_NAME.match(name):
        raise ValueError(f"stack name {name!r}: it must start with a letter and hold only letters, digits and "
                         "hyphens (128 at most)")
    return name


def parse_overrides(values: list[str]) -> dict[str, str]:
    """``Key=Value`` items (``--parameter-overrides``); ValueError naming a bad one."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"parameter override {item!r}: write it as Key=Value")
        out[key] = value
    return out


@dataclass
class Deployment:
    """One deployment's outcome."""

    stack: str
    action: str  # "create", "update", or "none" (no changes)
    ok: bool
    status: str = ""
    reason: str = ""
    created: list[tuple[str, str]] = field(default_factory=list)  # (logical id, type)
    updated: list[tuple[str, str]] = field(default_factory=list)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (logical id, reason)
    outputs: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


class StackDeployer:
    """Deploys templates to one stack through ``cloudformation`` (a boto3 client)."""

    def __init__(self, cloudformation: Any, stack_name: str, *, timeout: float = 600,
                 s3: Callable[[], Any] | None = None) -> None:
        self.cfn = cloudformation
        # makes the S3 client for the objects a template needs there (a CDK app's nested
        # templates) on first use: most templates need none, and S3's model is botocore's largest
        self._s3_client = s3
        self._s3: Any = None
        self.stack = check_stack_name(stack_name)
        self.timeout = timeout

    @property
    def s3(self) -> Any:
        if self._s3 is None and self._s3_client is not None:
            self._s3 = self._s3_client()
        return self._s3

    def deploy(self, template: dict[str, Any], overrides: dict[str, str],
               uploads: Sequence[Upload] = ()) -> Deployment:
        """Create or update the stack; ``uploads`` are put in the local S3 first."""
        from botocore.exceptions import BotoCoreError, ClientError

        started = time.monotonic()
        found = template.get("Parameters")
        declared: dict[str, Any] = found if isinstance(found, dict) else {}
        notes = [f"parameter override {key} is not a parameter of the template: ignored"
                 for key in overrides if key not in declared]
        parameters = [{"ParameterKey": key, "ParameterValue": value} for key, value in overrides.items()
                      if key in declared]
        body = template_body(template)
        try:
            self._upload(uploads)
            current = self._status()
            if current in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"):
                notes.append(f"the stack was {current}: deleted and created again")
                self.cfn.delete_stack(StackName=self.stack)
                self._wait(lambda status: status is None or not status.endswith("_IN_PROGRESS"))
                current = None
            marker = self._newest_event() if current is not None else None
            action = "create" if current is None else "update"
            try:
                if current is None:
                    self.cfn.create_stack(StackName=self.stack, TemplateBody=body, Parameters=parameters,
                                          Capabilities=CAPABILITIES)
                else:
                    self.cfn.update_stack(StackName=self.stack, TemplateBody=body, Parameters=parameters,
                                          Capabilities=CAPABILITIES)
            except ClientError as exc:
                message = str(exc.response.get("Error", {}).get("Message") or exc)
                if action == "update" and "No updates are to be performed" in message:
                    done = Deployment(self.stack, "none", True, status=current or "", notes=notes)
                    done.outputs = self._outputs()
                    done.seconds = time.monotonic() - started
                    return done
                return Deployment(self.stack, action, False, status=current or "", reason=message, notes=notes,
                                  seconds=time.monotonic() - started)
            stack = self._wait(lambda status: status is not None and not status.endswith("_IN_PROGRESS"))
            status = str(stack.get("StackStatus", "")) if stack else "DELETED"
            done = Deployment(self.stack, action, status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), status=status,
                              reason=str((stack or {}).get("StackStatusReason") or ""), notes=notes)
            self._summarize(done, marker)
            done.outputs = {str(o["OutputKey"]): str(o.get("OutputValue", ""))
                            for o in (stack or {}).get("Outputs", [])}
        except (ClientError, BotoCoreError) as exc:
            return Deployment(self.stack, "create", False, reason=f"the local CloudFormation did not answer: {exc}",
                              notes=notes, seconds=time.monotonic() - started)
        done.seconds = time.monotonic() - started
        return done

    def _upload(self, uploads: Sequence[Upload]) -> None:
        if uploads and self.s3 is None:
            raise ValueError("this template needs objects in S3, and the deployer has no S3 client")
        from botocore.exceptions import ClientError

        made: set[str] = set()
        region = self.s3.meta.region_name
        for upload in uploads:
            if upload.bucket not in made:
                where = {} if region == "us-east-1" else {
                    "CreateBucketConfiguration": {"LocationConstraint": region}}
                try:
                    self.s3.create_bucket(Bucket=upload.bucket, **where)
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                        raise
                made.add(upload.bucket)
            self.s3.put_object(Bucket=upload.bucket, Key=upload.key, Body=upload.body)

    def _describe(self) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            stacks = self.cfn.describe_stacks(StackName=self.stack)["Stacks"]
        except ClientError as exc:
            if "does not exist" in str(exc):
                return None
            raise
        return dict(stacks[0]) if stacks else None

    def _status(self) -> str | None:
        found = self._describe()
        return str(found["StackStatus"]) if found else None

    def _wait(self, done: Any) -> dict[str, Any] | None:
        deadline = time.monotonic() + self.timeout
        while True:
            found = self._describe()
            if done(found["StackStatus"] if found else None) or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def _outputs(self) -> dict[str, str]:
        found = self._describe() or {}
        return {str(o["OutputKey"]): str(o.get("OutputValue", "")) for o in found.get("Outputs", [])}

    def _events(self) -> list[dict[str, Any]]:
        """The stack's events, newest first."""
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self.cfn.describe_stack_events(StackName=self.stack, **({"NextToken": token} if token else {}))
            events += page.get("StackEvents", [])
            token = page.get("NextToken")
            if not token:
                return events

    def _newest_event(self) -> str | None:
        events = self._events()
        return str(events[0]["EventId"]) if events else None

    def _summarize(self, done: Deployment, marker: str | None) -> None:
        """What this deployment did to each resource, from the events after ``marker``."""
        recent: list[dict[str, Any]] = []
        for event in self._events():
            if marker is not None and event.get("EventId") == marker:
                break
            recent.append(event)
        last: dict[str, tuple[str, str]] = {}
        for event in reversed(recent):  # oldest first
            logical = str(event.get("LogicalResourceId", ""))
            kind = str(event.get("ResourceType", ""))
            status = str(event.get("ResourceStatus", ""))
            if kind == "AWS::CloudFormation::Stack" and logical == self.stack:
                continue
            if status.endswith("_FAILED"):
                done.failures.append((logical, str(event.get("ResourceStatusReason") or status)))
            last[logical] = (status, kind)
        for logical, (status, kind) in last.items():
            if status == "CREATE_COMPLETE":
                done.created.append((logical, kind))
            elif status == "UPDATE_COMPLETE":
                done.updated.append((logical, kind))
            elif status == "DELETE_COMPLETE":
                done.deleted.append((logical, kind))
