"""The snapshot checker itself (event_snapshots.py), without a control plane: it must fail on each
kind of difference, or the snapshot tests of test_event_shapes.py would pass whatever arrives."""

from __future__ import annotations

import json

import pytest

from tests.integration import event_snapshots
from tests.integration.event_snapshots import UPDATE_VARIABLE, check_snapshot

EVENT = {
    "Records": [{
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "arn": "arn:aws:sns:us-east-1:123456789012:topic:2e1424d4-f796-459a-8184-9c92662be6da",
        "body": json.dumps({"Time": "2024-05-06T07:08:09.123Z", "n": 1}),
        "at": 1714979289.5,
        "count": 1,
        "flag": False,
    }],
}
VARYING = {
    "Records.*.messageId": "<uuid>",
    "Records.*.arn": "arn:aws:sns:us-east-1:123456789012:topic:<uuid>",
    "Records.*.body": "<json>",
    "Records.*.body.<json>.Time": "<iso8601-ms>",
    "Records.*.at": "<epoch-s:float>",
}


@pytest.fixture(autouse=True)
def snapshots(tmp_path, monkeypatch):
    monkeypatch.setattr(event_snapshots, "SNAPSHOTS", tmp_path)
    monkeypatch.setenv(UPDATE_VARIABLE, "1")
    check_snapshot("sample", EVENT, VARYING)
    monkeypatch.delenv(UPDATE_VARIABLE)
    return tmp_path


def changed(**fields) -> dict:
    return {"Records": [{**EVENT["Records"][0], **fields}]}


def test_the_written_snapshot_has_placeholders_and_matches_another_run(snapshots):
    written = json.loads((snapshots / "sample.json").read_text())
    assert written == {"Records": [{
        "messageId": "<uuid>", "arn": "arn:aws:sns:us-east-1:123456789012:topic:<uuid>",
        "body": {"<json>": {"Time": "<iso8601-ms>", "n": 1}}, "at": "<epoch-s:float>", "count": 1, "flag": False,
    }]}
    check_snapshot("sample", changed(messageId="b25f48e8-0000-4e77-b6f3-7cf87f44a72a", at=1714979300.25,
                                     body=json.dumps({"n": 1, "Time": "2025-01-01T00:00:00.000Z"})), VARYING)


@pytest.mark.parametrize(("fields", "shown"), [
    ({"messageId": "not-a-uuid"}, "'not-a-uuid' is not a <uuid>"),
    ({"arn": "arn:aws:sns:us-east-1:123456789012:other:2e1424d4-f796-459a-8184-9c92662be6da"}, "does not have the form"),
    ({"at": 1714979289}, "1714979289 is not a <epoch-s:float>"),  # an int where a float was
    ({"body": json.dumps({"Time": "yesterday", "n": 1})}, "'yesterday' is not a <iso8601-ms>"),
    ({"body": json.dumps({"Time": "2024-05-06T07:08:09.123Z", "n": 2})}, '+          "n": 2'),
    ({"count": 1.0}, '+      "count": 1.0'),  # same value, another JSON type
    ({"flag": 0}, '+      "flag": 0'),
    ({"extra": None}, '+      "extra": null'),
])
def test_each_kind_of_difference_fails_with_a_diff(fields, shown):
    with pytest.raises(AssertionError) as failed:
        check_snapshot("sample", changed(**fields), VARYING)
    assert shown in str(failed.value)
    assert "(committed)" in str(failed.value) and "(delivered now)" in str(failed.value)  # a unified diff
    assert f"{UPDATE_VARIABLE}=1" in str(failed.value)


def test_a_missing_key_fails():
    record = dict(EVENT["Records"][0])
    del record["flag"]
    with pytest.raises(AssertionError, match=r'-      "flag": false'):
        check_snapshot("sample", {"Records": [record]}, VARYING)


def test_a_missing_snapshot_fails_and_says_how_to_write_it():
    with pytest.raises(AssertionError, match=f"no snapshot .*{UPDATE_VARIABLE}=1"):
        check_snapshot("never-written", EVENT, VARYING)


def test_regenerating_refuses_a_value_without_the_placeholder_form_and_an_unused_path(monkeypatch):
    monkeypatch.setenv(UPDATE_VARIABLE, "1")
    with pytest.raises(AssertionError, match="is not a <uuid>"):
        check_snapshot("other", changed(messageId="nope"), VARYING)
    with pytest.raises(AssertionError, match="matched nothing"):
        check_snapshot("other", EVENT, {**VARYING, "Records.*.nothing": "<uuid>"})
