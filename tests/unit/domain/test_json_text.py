"""JSON callers send (emulator/domain/json_text.py): nesting too deep to parse is bad input, not a crash."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from emulator.domain.json_text import TooDeep, loads


def test_ordinary_json_parses_as_json_loads_does():
    assert loads('{"a": [1, 2.5, null, true]}') == {"a": [1, 2.5, None, True]}
    assert loads(b'["bytes"]') == ["bytes"]
    assert loads(bytearray(b'"text"')) == "text"


def test_options_reach_the_parser():
    assert loads('{"price": 1.10}', parse_float=Decimal) == {"price": Decimal("1.10")}


def test_nesting_too_deep_is_a_value_error_callers_already_answer():
    for deep in ("[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000):
        with pytest.raises(TooDeep, match="nested too deeply") as caught:
            loads(deep)
        assert isinstance(caught.value, ValueError)
        assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_nesting_the_parser_handles_still_parses():
    assert loads("[" * 200 + "]" * 200) == json.loads("[" * 200 + "]" * 200)


def test_invalid_json_is_still_json_loads_error():
    with pytest.raises(json.JSONDecodeError):
        loads("{not json")
