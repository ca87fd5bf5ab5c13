"""One parser for a function's fields: function.json, CreateFunction and
UpdateFunctionConfiguration read each field the same way and refuse it with the same words."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest

from emulator.domain.errors import InvalidParameterValueException
from emulator.domain.registry import FunctionRegistry

BAD_FIELDS = [
    ({"Timeout": 0}, "Timeout must be an integer from 1 to 900"),
    ({"Timeout": "3"}, "Timeout must be an integer from 1 to 900"),
    ({"MemorySize": 64}, "MemorySize must be an integer from 128 to 10240"),
    ({"Runtime": "python2.7"}, "runtime 'python2.7' is not supported"),
    ({"Handler": "has space.h"}, "Handler 'has space.h' is invalid"),
    ({"Handler": 7}, "Handler must be a string, got int"),
    ({"Environment": ["A=1"]}, 'Environment must look like {"Variables"'),
    ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, "reserved keys"),
    ({"Environment": {"Variables": {"AB": 1}}}, "environment variable AB must be a string"),
    ({"Description": "x" * 257}, "Member must have length less than or equal to 256"),
    ({"Description": 5}, "Description must be a string"),
    ({"Role": ["r"]}, "Role must be a string"),
    ({"DeadLetterConfig": {"TargetArn": "arn:aws:s3:::bucket"}}, "Only Amazon SQS queue and Amazon SNS topic"),
    ({"Layers": "layers/common"}, "Layers must be a list of layer folders"),
    ({"Layers": ["no/such/folder"]}, "layer 'no/such/folder' is not a folder"),
]

AWS_WORDS = ("1 validation error detected", "Lambda was unable to configure", "The target ARN")


def _zip() -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(e, c): return e\n")
    return base64.b64encode(buffer.getvalue()).decode()


def _registry(tmp_path) -> FunctionRegistry:
    return FunctionRegistry(tmp_path / "functions", tmp_path / "state", "us-east-1", "123456789012")


def _from_folder(tmp_path, fields):
    folder = tmp_path / "functions" / "fn"
    folder.mkdir(parents=True)
    (folder / "app.py").write_text("def handler(e, c): return e\n")
    (folder / "function.json").write_text(json.dumps({"Handler": "app.handler", **fields}))
    registry = _registry(tmp_path)
    return registry.load_folder(folder)


def _from_create(tmp_path, fields):
    request = {"FunctionName": "fn", "Runtime": "python3.11", "Handler": "app.handler", "Code": {"ZipFile": _zip()}}
    return _registry(tmp_path).create({**request, **fields})


def _from_update(tmp_path, fields):
    registry = _registry(tmp_path)
    registry.create({"FunctionName": "fn", "Runtime": "python3.11", "Handler": "app.handler",
                     "Code": {"ZipFile": _zip()}})
    return registry.update_configuration("fn", fields)


SOURCES = {"function.json": _from_folder, "CreateFunction": _from_create,
           "UpdateFunctionConfiguration": _from_update}


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(("fields", "complaint"), BAD_FIELDS, ids=[str(f) for f, _ in BAD_FIELDS])
def test_each_source_refuses_a_bad_field_with_the_same_words(tmp_path, source, fields, complaint):
    with pytest.raises(InvalidParameterValueException) as refused:
        SOURCES[source](tmp_path, fields)
    assert complaint in refused.value.message
    if source == "function.json":
        assert str(tmp_path / "functions" / "fn" / "function.json") in refused.value.message
    elif not refused.value.message.startswith(AWS_WORDS):  # AWS's own messages name no place
        assert refused.value.message.startswith(f"{source}: "), refused.value.message


@pytest.mark.parametrize("source", SOURCES)
def test_each_source_reads_the_same_fields_into_the_same_configuration(tmp_path, source):
    (tmp_path / "layers" / "common" / "python").mkdir(parents=True)
    fields = {"Runtime": "python3.12", "Timeout": 30, "MemorySize": 512, "Description": "d",
              "Role": "arn:aws:iam::123456789012:role/r", "Environment": {"Variables": {"STAGE": "local"}},
              "DeadLetterConfig": {"TargetArn": "arn:aws:sqs:us-east-1:123456789012:dlq"}, "Layers": ["common"]}
    function = SOURCES[source](tmp_path, fields)
    assert (function.runtime, function.timeout, function.memory_size, function.description, function.role) == (
        "python3.12", 30, 512, "d", "arn:aws:iam::123456789012:role/r")
    assert dict(function.environment) == {"STAGE": "local"}
    assert function.dead_letter_target == "arn:aws:sqs:us-east-1:123456789012:dlq"
    assert function.layers == ((tmp_path / "layers" / "common").resolve(),)


def test_an_update_changes_only_the_fields_it_gives(tmp_path):
    registry = _registry(tmp_path)
    registry.create({"FunctionName": "fn", "Runtime": "python3.11", "Handler": "app.handler", "Timeout": 9,
                     "Environment": {"Variables": {"AB": "1"}}, "Description": "kept", "Code": {"ZipFile": _zip()}})
    updated = registry.update_configuration("fn", {"MemorySize": 256})
    assert (updated.memory_size, updated.timeout, updated.description, dict(updated.environment)) == (
        256, 9, "kept", {"AB": "1"})
    cleared = registry.update_configuration("fn", {"Environment": {}, "DeadLetterConfig": {"TargetArn": ""}})
    assert dict(cleared.environment) == {} and cleared.dead_letter_target is None
