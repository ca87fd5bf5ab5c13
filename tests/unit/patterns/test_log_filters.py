"""CloudWatch Logs filter patterns (AWS's FilterAndPatternSyntax examples)."""

from __future__ import annotations

import json

import pytest

from emulator.patterns.log_filters import matches, supported

JSON_EVENT = json.dumps({"eventType": "UpdateTrail", "latency": 1200, "error": True, "user": {"id": "admin-1"},
                         "items": [{"sku": "A"}], "note": None})


@pytest.mark.parametrize(("pattern", "message", "expected"), [
    ("", "anything", True),
    ("ERROR", "[ERROR] disk full", True),
    ("ERROR", "error in lower case", False),  # case-sensitive
    ("ERROR Exception", "ERROR: an Exception", True),
    ("ERROR Exception", "ERROR alone", False),
    ("?ERROR ?WARN", "WARN: slow", True),
    ("?ERROR ?WARN", "INFO: fine", False),
    ("-DEBUG", "INFO: fine", True),
    ("-DEBUG", "DEBUG: noisy", False),
    ("ERROR -timeout", "ERROR timeout", False),
    ('"disk full"', "ERROR disk full now", True),
    ('"disk full"', "ERROR disk is full", False),
])
def test_terms(pattern, message, expected):
    assert matches(pattern, message) is expected


@pytest.mark.parametrize(("pattern", "expected"), [
    ('{ $.eventType = "UpdateTrail" }', True),
    ('{ $.eventType = "Update*" }', True),
    ('{ $.eventType != "UpdateTrail" }', False),
    ("{ $.latency > 1000 }", True),
    ("{ $.latency <= 1000 }", False),
    ("{ $.error IS TRUE }", True),
    ("{ $.note IS NULL }", True),
    ('{ $.user.id = "admin-*" && $.latency >= 1200 }', True),
    ('{ $.user.id = "guest" || $.items[0].sku = "A" }', True),
    ('{ $.user.id = "guest" && $.items[0].sku = "A" }', False),
    ("{ $.missing EXISTS }", False),
    ("{ $.missing NOT EXISTS }", True),
    ("{ $.latency = 1200 }", True),
])
def test_json_selectors(pattern, expected):
    assert matches(pattern, JSON_EVENT) is expected


def test_a_json_pattern_does_not_match_text_and_space_delimited_ones_pass_everything():
    assert matches('{ $.a = "b" }', "plain text") is False
    assert not supported("[ip, user, status = 404]") and matches("[ip, user, status = 404]", "anything")
