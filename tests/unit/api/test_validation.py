"""Request fields checked against the Lambda model (emulator/api/validation.py), with AWS's
ValidationException messages: long values cut to SHOWN characters, secrets never echoed."""

from __future__ import annotations

import pytest

from emulator.api.validation import SHOWN, check
from emulator.domain.errors import ValidationException


def message(operation: str, values: dict) -> str:
    with pytest.raises(ValidationException) as caught:
        check(operation, values)
    return caught.value.message


def test_valid_requests_pass():
    check("CreateFunction", {"FunctionName": "fn", "Handler": "app.handler", "Timeout": 30, "MemorySize": 128,
                             "Environment": {"Variables": {"TABLE_NAME": "orders"}}, "Architectures": ["x86_64"]})
    check("Invoke", {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST"})


def test_each_violation_is_reported_in_aws_words():
    assert message("CreateFunction", {"FunctionName": "fn", "Handler": "app handler"}) == (
        "1 validation error detected: Value 'app handler' at 'handler' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [^\\s]+")
    text = message("CreateFunction", {"FunctionName": "fn", "Timeout": 0, "MemorySize": 99_999,
                                      "Architectures": []})
    assert text.startswith("3 validation errors detected: ")
    assert "Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1" in text
    assert "Value '99999' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 32768" in text
    assert "Value '[]' at 'architectures' failed to satisfy constraint: Member must have length greater than or equal to 1" in text


def test_list_members_and_nested_fields_are_named_by_their_path():
    text = message("CreateFunction", {"FunctionName": "fn", "Layers": ["arn:aws:lambda:us-east-1:123456789012:layer:ok:1",
                                                                      "nope"]})
    assert "Value 'nope' at 'layers.2.member' failed to satisfy constraint" in text
    text = message("CreateFunction", {"FunctionName": "fn", "EphemeralStorage": {"Size": 100}})
    assert "at 'ephemeralStorage.size'" in text


def test_long_values_are_cut_to_shown_characters():
    text = message("CreateFunction", {"FunctionName": "fn", "Description": "d" * 10_000})
    assert f"Value '{'d' * SHOWN}...' at 'description'" in text
    assert "d" * (SHOWN + 1) not in text
    exact = message("CreateFunction", {"FunctionName": "f" * 141})
    assert f"Value '{'f' * 141}' at 'functionName'" in exact  # short enough to show whole


def test_environment_variables_are_never_echoed():
    text = message("CreateFunction", {"FunctionName": "fn", "Environment": {"Variables": {"1bad": "hunter2"}}})
    assert text.startswith("1 validation error detected: Value at 'environment.variables' failed to satisfy "
                           "constraint: Map keys must satisfy constraint")
    assert "hunter2" not in text and "1bad" not in text


def test_at_most_ten_violations_are_listed_but_all_are_counted():
    text = message("CreateFunction", {"FunctionName": "fn", "Layers": [f"bad{n}" for n in range(12)]})
    assert text.startswith("12 validation errors detected: ")
    assert text.count("failed to satisfy constraint") == 10


def test_role_and_wrongly_typed_values_are_left_to_the_service():
    check("CreateFunction", {"FunctionName": "fn", "Role": "any", "Timeout": "30", "Environment": "x",
                             "MemorySize": True, "Description": None})
