"""CloudWatch Logs filter patterns (AWS's FilterAndPatternSyntax examples)."""

from __future__ import annotations

import json

import pytest

from emulator.patterns.log_filters import matches, problem, supported

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


def test_a_json_pattern_does_not_match_text():
    assert matches('{ $.a = "b" }', "plain text") is False


# AWS's compound example document and patterns (FilterAndPatternSyntax, "JSON Compound Conditions")
COMPOUND = json.dumps({"user": {"id": 1, "email": "John.Stiles@example.com"},
                       "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
                       "actions": ["GET", "PUT", "DELETE"], "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]]})


@pytest.mark.parametrize(("pattern", "expected"), [
    ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', True),
    ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', False),
    ('{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }', True),
    ('{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }',
     False),
    ("{ $.users = 1 }", False),  # a selector naming an array or object matches neither = nor !=
    ("{ $.users != 1 }", False),
    ('{ $.user.email = "*@example.com" }', True),
    ('{ $.user.email = "John*Stiles@example.com" }', False),  # * only at either end
    ('{ $.actions[1] = "a || b" || $.actions[0] = GET }', True),  # || inside quotes is text
])
def test_json_compound_conditions_as_documented(pattern, expected):
    assert matches(pattern, COMPOUND) is expected


APACHE = [
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534',
    '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /index.html HTTP/1.0" 404 5324',
    '127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 500 4355',
]


@pytest.mark.parametrize(("pattern", "expected"), [
    ("[ip, user, username, timestamp, request, status_code, bytes]", [True, True, True]),
    ("[ip, user, username, timestamp, request, status_code]", [False, False, False]),  # 7 fields, 6 names
    ("[..., status_code, bytes]", [True, True, True]),
    ("[ip, user, ..., status_code, bytes]", [True, True, True]),
    ("[ip, user, ...]", [True, True, True]),
    ("[ip, user, username, timestamp, request, status_code, bytes > 5000]", [False, True, False]),
    ("[ip, user, username, timestamp, request, status_code = 200, bytes]", [True, False, False]),
    ("[ip, user, username, timestamp, request, status_code = 4*, bytes]", [False, True, False]),
    ("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", [False, True, False]),
    ('[ip, user, username, timestamp, request = "*html*", status_code, bytes]', [False, True, False]),
    ("[ip, user, username, timestamp, request, status_code = 5* || status_code = 4*, bytes]", [False, True, True]),
    ("[ip, user, username, timestamp, request, status_code, bytes < 5000 && status_code != 200]", [False, False, True]),
    ("[ip, user, username, timestamp, request, status_code,]", [True, True, True]),  # the last field unnamed
    ("[ip, user, username = frank, timestamp = 10/Oct/2000*, ...]", [True, True, True]),
    ("[..., request = %index\\.html%, status_code, bytes]", [False, True, False]),
    ("[..., request=*.html*, status_code=4*,]", [False, True, False]),  # AWS's own example, trailing comma
    ("[ip, ..., bytes > 1000 && bytes <= 4355]", [True, False, True]),
    ("[ip = 10.*, ...]", [False, False, False]),
])
def test_space_delimited_patterns_as_documented(pattern, expected):
    assert [matches(pattern, line) for line in APACHE] == expected


@pytest.mark.parametrize(("pattern", "expected"), [  # AWS's OR examples, on its three lines
    ("[w1=ERROR, w2]", [False, True, False]),
    ("[w1=ERROR || w1=WARN, w2]", [False, True, True]),
    ("[w1, w2 = message]", [False, True, True]),
    ("[w1 != ERROR, ...]", [False, False, True]),
])
def test_space_delimited_or(pattern, expected):
    assert [matches(pattern, line) for line in ("ERROR WARN message", "ERROR message", "WARN message")] == expected


@pytest.mark.parametrize("pattern", [
    "[ip, user", "{ $.a = 1", "[]", "[ip, status_code >]", "{ a = 1 }", "{ ($.a = 1 }", "{ $.a ~ 1 }",
    "[ip, request = %(%]", '[ip, request = "open, ...]',
])
def test_a_pattern_that_cannot_be_read_says_why_and_lets_nothing_through(pattern):
    assert problem(pattern) and not supported(pattern)
    assert matches(pattern, "127.0.0.1 GET") is False


def test_patterns_that_can_be_read_have_no_problem():
    for pattern in ("", "ERROR", '{ $.a = "b" }', "[ip, ...]", "[a=1 && b=2, b]", "{ $.x IS NULL || $.y EXISTS }"):
        assert problem(pattern) is None, pattern


def test_a_long_event_with_several_ellipses_is_decided_in_linear_time():
    """A log event may be 256 KB: matching must not try every way of placing each ``...``."""
    import time

    line = " ".join(["w"] * 40_000)
    started = time.monotonic()
    assert matches("[..., a, ..., b = w, ..., c = x]", line) is False  # no field is x
    assert matches("[..., a, ..., b = w, ..., c = w]", line) is True
    assert matches("[..., a = w && c = x, ..., b, ..., c]", line) is False  # a condition naming another field
    assert time.monotonic() - started < 5
