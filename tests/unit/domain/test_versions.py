"""The versions and aliases store: snapshots, numbering, AWS's rules and errors, persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.domain.errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
    ValidationException,
)
from emulator.domain.functions import FunctionConfig
from emulator.domain.registry import FunctionRegistry
from emulator.domain.versions import Alias, Versions

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


def registry(tmp_path: Path) -> FunctionRegistry:
    return FunctionRegistry(tmp_path / "functions", tmp_path / "state", "us-east-1", "123456789012")


def folder_function(tmp_path: Path, code: str = "one") -> FunctionRegistry:
    folder = tmp_path / "functions" / "fn"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fn.py").write_text(f"CODE = {code!r}\ndef fn_handler(e, c):\n    return CODE\n")
    found = registry(tmp_path)
    found.load_folders()
    return found


def publish(found: FunctionRegistry, **request: str) -> FunctionConfig:
    latest = found.get("fn")
    return found.versions.check_publish(latest, request) or found.versions.publish(latest, request)


def test_a_version_is_a_numbered_snapshot_of_code_and_configuration(tmp_path: Path) -> None:
    found = folder_function(tmp_path)
    first = publish(found, Description="first")
    assert (first.version, first.qualified_arn, first.description) == ("1", ARN + "fn:1", "first")
    assert first.code_dir.is_relative_to(tmp_path / "state" / "versions") and not first.hot_reload
    assert (first.code_dir / "fn.py").read_text().startswith("CODE = 'one'")
    assert first.to_aws()["Version"] == "1" and first.to_aws()["FunctionArn"] == ARN + "fn:1"
    assert first.pool_key == "fn:1" and found.get("fn").pool_key == "fn"

    assert publish(found) is first  # unchanged: AWS returns the last version
    (tmp_path / "functions" / "fn" / "fn.py").write_text("CODE = 'two'\ndef fn_handler(e, c):\n    return CODE\n")
    found.load_folders()
    second = publish(found)
    assert second.version == "2" and second.code_sha256 != first.code_sha256
    assert (first.code_dir / "fn.py").read_text().startswith("CODE = 'one'")  # the snapshot did not change
    assert found.get("fn:1") == first and found.get("fn", "2") == second and found.get(ARN + "fn:2") == second
    assert found.get("fn:$LATEST") is found.get("fn")


def test_publish_preconditions(tmp_path: Path) -> None:
    found = folder_function(tmp_path)
    latest = found.get("fn")
    with pytest.raises(InvalidParameterValueException, match=r"CodeSHA256 \(x\) is different from current"):
        found.versions.check_publish(latest, {"CodeSha256": "x"})
    with pytest.raises(PreconditionFailedException, match="does not match the latest Revision Id"):
        found.versions.check_publish(latest, {"RevisionId": "old"})
    assert found.versions.check_publish(latest, {"CodeSha256": latest.code_sha256,
                                                 "RevisionId": latest.revision_id}) is None


def test_aliases_resolve_route_and_refuse_what_aws_refuses(tmp_path: Path) -> None:
    found = folder_function(tmp_path)
    publish(found)
    (tmp_path / "functions" / "fn" / "fn.py").write_text("CODE = 'two'\ndef fn_handler(e, c):\n    return CODE\n")
    found.load_folders()
    publish(found)
    latest = found.get("fn")
    versions = found.versions
    alias = versions.create_alias(latest, {"Name": "live", "FunctionVersion": "1",
                                           "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.25}}})
    assert alias.to_aws(latest.arn) == {
        "AliasArn": ARN + "fn:live", "Name": "live", "FunctionVersion": "1", "Description": "",
        "RevisionId": alias.revision_id, "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.25}}}
    assert (alias.pick(0.1), alias.pick(0.25), alias.pick(0.9)) == ("2", "1", "1")
    resolved = found.get("fn:live")  # not routed: the alias's own version
    assert (resolved.version, resolved.alias, resolved.qualified_arn) == ("1", "live", ARN + "fn:live")
    picks = {found.get("fn:live", route=True).version for _ in range(200)}
    assert picks == {"1", "2"}

    with pytest.raises(ResourceConflictException, match=f"Alias already exists: {ARN}fn:live"):
        versions.create_alias(latest, {"Name": "live", "FunctionVersion": "2"})
    with pytest.raises(ResourceNotFoundException, match=f"Function not found: {ARN}fn:7"):
        versions.create_alias(latest, {"Name": "x", "FunctionVersion": "7"})
    with pytest.raises(InvalidParameterValueException, match="cannot be greater than 1"):
        versions.create_alias(latest, {"Name": "x", "FunctionVersion": "1",
                                       "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1, "3": 0.1}}})
    with pytest.raises(ValidationException, match="Map value must satisfy constraint"):
        versions.create_alias(latest, {"Name": "x", "FunctionVersion": "1",
                                       "RoutingConfig": {"AdditionalVersionWeights": {"2": -0.1}}})
    with pytest.raises(ResourceNotFoundException, match=f"Cannot find alias arn: {ARN}fn:nope"):
        versions.alias(latest, "nope")
    with pytest.raises(ResourceNotFoundException, match=f"Function not found: {ARN}fn:nope"):
        found.get("fn:nope")
    with pytest.raises(InvalidParameterValueException, match="derived qualifier"):
        found.get("fn:1", "2")
    with pytest.raises(InvalidParameterValueException, match="not a version or alias"):
        found.update_configuration("fn:1", {"Timeout": 5})

    with pytest.raises(ResourceConflictException, match=r"the following aliases reference it: \[live\]"):
        versions.delete_version(latest, "2")  # in the routing configuration
    updated = versions.update_alias(latest, "live", {"RoutingConfig": {"AdditionalVersionWeights": {}}})
    assert updated.weights == {} and updated.revision_id != alias.revision_id
    with pytest.raises(PreconditionFailedException):
        versions.update_alias(latest, "live", {"RevisionId": alias.revision_id})
    versions.delete_version(latest, "2")
    versions.delete_version(latest, "9")  # no such version: nothing, as AWS answers 204
    assert [v.version for v in versions.published("fn")] == ["1"]
    to_latest = versions.update_alias(latest, "live", {"FunctionVersion": "$LATEST"})
    assert found.get("fn:live").version == "$LATEST" and to_latest.function_version == "$LATEST"


def test_versions_and_aliases_persist_and_go_with_reset_and_delete(tmp_path: Path) -> None:
    found = folder_function(tmp_path)
    first = publish(found, Description="kept")
    found.versions.create_alias(found.get("fn"), {"Name": "live", "FunctionVersion": "1", "Description": "d"})

    again = folder_function(tmp_path)
    assert again.get("fn:1") == first
    assert again.versions.alias(again.get("fn"), "live") == found.versions.alias(found.get("fn"), "live")
    assert publish(again).version == "1"  # unchanged since version 1, even across a restart
    (tmp_path / "functions" / "fn" / "fn.py").write_text("CODE = 'two'\ndef fn_handler(e, c):\n    return CODE\n")
    again.load_folders()
    assert publish(again).version == "2"

    again.reset()
    assert again.versions.published("fn") == [] and not (tmp_path / "state" / "versions").exists()
    with pytest.raises(ResourceNotFoundException):
        again.get("fn:live")
    publish(again)
    again.delete("fn")
    assert Versions(tmp_path / "state" / "versions").published("fn") == []


def test_a_broken_index_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "versions").mkdir()
    (tmp_path / "versions" / "index.json").write_text("{not json")
    assert Versions(tmp_path / "versions").published("fn") == []
    assert Alias("a", "1").pick() == "1"
