"""What moto's CloudFormation engine gets wrong in a template's values, put right.

moto 5.2.5 resolves ``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::Join``, ``Fn::Select``,
``Fn::Split``, ``Fn::If``, ``Fn::Equals`` (in Conditions), ``Fn::FindInMap``, ``Fn::Base64`` and
``AWS::SSM::Parameter::Value<...>`` parameters as CloudFormation does (checked by
``tests/integration/test_template_dev.py``). Two things it does not:

* **Dynamic references** (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references.html)
  stay in the values as written: a function's variable set to ``{{resolve:ssm:/app/url}}``
  gets that text. Here each string moto resolves has its references replaced, where they stand
  (a whole value or part of one, also inside ``Fn::Sub`` and ``Fn::Join``), from the local
  services of the stack's account and region:
  ``{{resolve:ssm:name[:version]}}`` and ``{{resolve:ssm-secure:name[:version]}}`` from SSM
  Parameter Store, ``{{resolve:secretsmanager:secret-id[:SecretString[:json-key[:version-stage
  [:version-id]]]]}}`` from Secrets Manager. A parameter that is not there fails as
  CloudFormation fails: ``Parameters: [ssm:/app/url] cannot be found.``
* ``Fn::GetAZs`` ignores its argument: ``!GetAZs ""`` gave us-east-1's zones whatever the stack's
  region, and ``{"Ref": "AWS::Region"}`` was pasted into the names as text. Here the argument
  is resolved, an empty one is the stack's region, and the zones are the ones moto's EC2
  describes for that region.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from emulator.moto.patching import Patch, PatchSet

_REFERENCE = re.compile(r"\{\{resolve:(ssm|ssm-secure|secretsmanager):([^{}]+?)\}\}")


def _fail(message: str) -> Exception:
    from moto.cloudformation.exceptions import ValidationError

    return ValidationError(message=message)


def _ssm(account_id: str, region: str, reference: str, secure: bool) -> str:
    from moto.ssm import ssm_backends
    from moto.ssm.exceptions import ParameterVersionNotFound

    kind = "ssm-secure" if secure else "ssm"
    try:
        found = ssm_backends[account_id][region].get_parameter(reference)
    except ParameterVersionNotFound:
        found = None
    if found is None:
        raise _fail(f"Parameters: [{kind}:{reference}] cannot be found.")
    if secure != (found.parameter_type == "SecureString"):
        which = "ssm-secure is for SecureString" if secure else "ssm is for String and StringList"
        raise _fail(f"Parameters: [{kind}:{reference}] is a {found.parameter_type} parameter: {which} parameters")
    return str(found.decrypt(found.value) if secure else found.value)


def _secret(account_id: str, region: str, reference: str) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    parts = reference.split(":")
    if reference.startswith("arn:"):  # arn:aws:secretsmanager:region:account:secret:name-AbCdEf[:...]
        secret_id, parts = ":".join(parts[:7]), parts[7:]
    else:
        secret_id, parts = parts[0], parts[1:]
    parts += [""] * (4 - len(parts))
    kind, json_key, stage, version = parts[:4]
    if kind not in ("", "SecretString"):
        raise _fail(f"Secrets Manager reference {reference!r}: only SecretString is supported, not {kind!r}")
    try:
        backend: Any = secretsmanager_backends[account_id][region]
        answer = backend.get_secret_value(secret_id, version or None, stage or (None if version else "AWSCURRENT"))
    except Exception:  # noqa: BLE001 - moto's not found, deleted, stage mismatch...
        raise _fail(f"Secrets Manager can't find the specified secret. (secretsmanager:{reference})") from None
    value = answer.get("SecretString")
    if value is None:
        raise _fail(f"Secrets Manager reference {reference!r}: the secret has no SecretString")
    if not json_key:
        return str(value)
    try:
        field = json.loads(value)[json_key]
    except (ValueError, TypeError, KeyError):
        raise _fail(f"Secrets Manager reference {reference!r}: the secret's JSON has no key {json_key!r}") from None
    return field if isinstance(field, str) else json.dumps(field)


def resolve_references(value: str, account_id: str, region: str) -> str:
    """``value`` with each dynamic reference replaced by what it names."""

    def one(match: re.Match[str]) -> str:
        service, reference = match[1], match[2].strip()
        if service == "secretsmanager":
            return _secret(account_id, region, reference)
        return _ssm(account_id, region, reference, secure=service == "ssm-secure")

    return _REFERENCE.sub(one, value)


def availability_zones(region: str) -> list[str]:
    """The region's zones as moto's EC2 describes them (DescribeAvailabilityZones)."""
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

    zones = RegionsAndZonesBackend.zones.get(region) or []
    return [zone.name for zone in zones] or [f"{region}{letter}" for letter in "abc"]


def _clean_json(original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::GetAZs" in resource_json and len(resource_json) == 1:
            region = clean_json(resource_json["Fn::GetAZs"], resources_map) or resources_map._region_name
            return availability_zones(str(region))
        cleaned = original(resource_json, resources_map)  # its recursion comes back through here
        if isinstance(cleaned, str) and "{{resolve:" in cleaned:
            return resolve_references(cleaned, resources_map._account_id, resources_map._region_name)
        return cleaned

    return clean_json


def _patches() -> Iterator[Patch]:
    from moto.cloudformation import parsing

    yield Patch(parsing, "clean_json", _clean_json)


#: dynamic references and Fn::GetAZs in moto's CloudFormation engine
PATCHES = PatchSet("cloudformation-intrinsics", _patches)
