"""Regression (emulator/api/validation.py): a sensitive value's message is made secret by
cutting "Value '...' at " with a non-greedy match, so a variable name holding "' at " ends the cut
early and the rest of the map, secrets included, is echoed back."""

from __future__ import annotations

from tests.unit.api.test_validation import message


def test_environment_variables_are_never_echoed_whatever_their_names():
    text = message("CreateFunction", {"FunctionName": "fn",
                                      "Environment": {"Variables": {"x' at y": "hunter2"}}})
    assert text.startswith("1 validation error detected: Value at 'environment.variables' failed")
    assert "hunter2" not in text
