"""cloudmicro_runtime.marshalling: JSON in and out as awslambdaric's simplejson settings."""

from __future__ import annotations

from collections import namedtuple
from decimal import Decimal

import pytest

from runtimes.python.cloudmicro_runtime.errors import FaultException
from runtimes.python.cloudmicro_runtime.marshalling import (
    marshal_response,
    parse_json_header,
    to_json,
    unmarshal_event,
)


@pytest.fixture(autouse=True)
def _no_execution_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_EXECUTION_ENV", raising=False)


def test_decimals_are_written_as_their_literal_text() -> None:
    value = {"price": Decimal("1.10"), "big": Decimal("1E+2"), "odd": [Decimal("NaN"), Decimal("-0")],
             "nested": {"t": (1, Decimal("2.5"))}}
    assert to_json(value) == '{"price": 1.10, "big": 1E+2, "odd": [NaN, -0], "nested": {"t": [1, 2.5]}}'


def test_a_string_that_looks_like_the_placeholder_stays_a_string() -> None:
    assert to_json(["\x1fcloudmicro-raw-x-0", Decimal("3")]) == '["\\u001fcloudmicro-raw-x-0", 3]'


def test_bytes_are_decoded_and_other_objects_refused() -> None:
    assert to_json({"b": b"caf\xc3\xa9"}) == '{"b": "caf\\u00e9"}'
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        to_json({1, 2})


def test_named_tuples_become_arrays() -> None:
    point = namedtuple("point", "x y")
    assert to_json(point(1, 2)) == "[1, 2]"


@pytest.mark.parametrize(
    ("execution_env", "expected"),
    [(None, '"caf\\u00e9"'), ("AWS_Lambda_python3.11", '"caf\\u00e9"'), ("AWS_Lambda_python3.12", '"café"'),
     ("AWS_Lambda_python3.13", '"café"')],
)
def test_non_ascii_output_per_execution_env(monkeypatch: pytest.MonkeyPatch, execution_env: str | None,
                                            expected: str) -> None:
    if execution_env is not None:
        monkeypatch.setenv("AWS_EXECUTION_ENV", execution_env)
    assert to_json("café") == expected


def test_marshal_response() -> None:
    assert marshal_response({"ok": True}) == (b'{"ok": true}', "application/json")
    assert marshal_response(None) == (b"null", "application/json")
    assert marshal_response(b"\x00raw") == (b"\x00raw", "application/unknown")
    with pytest.raises(FaultException) as fault:
        marshal_response(object())
    assert fault.value.exception_type == "Runtime.MarshalError"
    assert fault.value.msg == "Unable to marshal response: Object of type object is not JSON serializable"


def test_unmarshal_event() -> None:
    assert unmarshal_event(b'{"a": [1, 2.5]}', "application/json") == {"a": [1, 2.5]}
    assert unmarshal_event(b'[1]', None) == [1]  # no Content-Type: JSON
    assert unmarshal_event("\ufeff{}".encode(), "application/json") == {}  # a BOM is ignored
    assert unmarshal_event(b"\x00raw", "application/octet-stream") == b"\x00raw"
    with pytest.raises(FaultException) as fault:
        unmarshal_event(b"", "application/json")
    assert (fault.value.exception_type, fault.value.msg) == (
        "Runtime.UnmarshalError", "Unable to unmarshal input: Expecting value: line 1 column 1 (char 0)",
    )
    with pytest.raises(FaultException, match="Unable to unmarshal input"):
        unmarshal_event(b"\xff", "application/json")


def test_parse_json_header() -> None:
    assert parse_json_header('{"a": 1}', "Client Context") == {"a": 1}
    with pytest.raises(FaultException) as fault:
        parse_json_header("{not json", "Client Context")
    assert fault.value.exception_type == "Runtime.LambdaContextUnmarshalError"
    assert fault.value.msg == ("Unable to parse Client Context JSON: "
                               "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)")
