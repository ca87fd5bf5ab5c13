"""The S3 event builder and matching (emulator/event_sources/s3_events.py): AWS's shapes."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import unquote_plus

import pytest

from emulator.event_sources.s3_events import (
    ObjectEvent,
    build_event,
    configuration_matches,
    encode_key,
    event_type_matches,
    filter_rules,
    format_time,
    key_filter_matches,
)
from emulator.event_sources.s3_notifications import _lower_rule_names, _Sequencer

WHEN = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)


def event(name: str = "s3:ObjectCreated:Put", key: str = "photos/red flower.jpg", **overrides) -> ObjectEvent:
    fields = dict(name=name, region="eu-west-1", bucket="my-bucket", bucket_arn="arn:aws:s3:::my-bucket",
                  key=key, time=WHEN, sequencer="0018EAAE7D1DFE0E47", request_id="C3D13FE58DE4C810",
                  host_id="FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
                  source_ip="10.0.0.7", size=1024, etag="0123456789abcdef0123456789abcdef")
    fields.update(overrides)
    return ObjectEvent(**fields)  # type: ignore[arg-type]


# --- key encoding --------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "encoded"), [
    ("red flower.jpg", "red+flower.jpg"),            # AWS's own example
    ("a@b", "a%40b"),                                # recorded from AWS
    ("logs/2024/05/01/x.gz", "logs/2024/05/01/x.gz"),  # slashes stay
    ("table/dt=2024-05-01/part-0.parquet", "table/dt%3D2024-05-01/part-0.parquet"),
    ("test/10:47:07.log", "test/10%3A47%3A07.log"),
    ("c++ (1).txt", "c%2B%2B+%281%29.txt"),
    ("100%.txt", "100%25.txt"),
    ("café/naïve.txt", "caf%C3%A9/na%C3%AFve.txt"),
    ("日本.txt", "%E6%97%A5%E6%9C%AC.txt"),
    ("emoji-😀", "emoji-%F0%9F%98%80"),
    ("a~b*c_d-e.f", "a%7Eb*c_d-e.f"),              # form-urlencoded: * - . _ stay, ~ does not
    ("q?x&y=z#h,;$!'", "q%3Fx%26y%3Dz%23h%2C%3B%24%21%27"),
    ("tab\there", "tab%09here"),
])
def test_key_is_encoded_as_s3_does(key, encoded):
    assert encode_key(key) == encoded
    assert unquote_plus(encoded) == key  # what handlers do, per AWS's examples


# --- matching ------------------------------------------------------------------------------------


def test_event_types_match_exactly_or_by_wildcard():
    assert event_type_matches(["s3:ObjectCreated:Put"], "s3:ObjectCreated:Put")
    assert not event_type_matches(["s3:ObjectCreated:Put"], "s3:ObjectCreated:Copy")
    for name in ("Put", "Post", "Copy", "CompleteMultipartUpload"):
        assert event_type_matches(["s3:ObjectCreated:*"], f"s3:ObjectCreated:{name}")
    assert event_type_matches(["s3:ObjectRemoved:*"], "s3:ObjectRemoved:DeleteMarkerCreated")
    assert not event_type_matches(["s3:ObjectRemoved:*"], "s3:ObjectCreated:Put")
    assert not event_type_matches(["s3:ObjectRemoved:Delete"], "s3:ObjectRemoved:DeleteMarkerCreated")
    assert not event_type_matches([], "s3:ObjectCreated:Put")


def test_filter_rules_from_moto_and_api_shapes_with_any_name_case():
    moto_shape = {"S3Key": {"FilterRule": [{"Name": "Prefix", "Value": "in/"}, {"Name": "SUFFIX", "Value": ".csv"}]}}
    api_shape = {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}}
    assert filter_rules(moto_shape) == [("prefix", "in/"), ("suffix", ".csv")]
    assert filter_rules(api_shape) == [("prefix", "in/")]
    assert filter_rules({"S3Key": {"FilterRule": {"Name": "suffix", "Value": ".x"}}}) == [("suffix", ".x")]
    assert filter_rules(None) == [] and filter_rules({}) == []


def test_prefix_and_suffix_must_both_match():
    rules = [("prefix", "uploads/"), ("suffix", ".jpg")]
    assert key_filter_matches(rules, "uploads/a/b.jpg")
    assert not key_filter_matches(rules, "uploads/a/b.png")
    assert not key_filter_matches(rules, "other/uploads/b.jpg")
    assert not key_filter_matches(rules, "uploads/b.JPG")  # case-sensitive values
    assert key_filter_matches([], "anything")


def test_filters_compare_against_the_encoded_key():
    # AWS: a space in a filter value is written "+", other special characters percent-encoded
    assert key_filter_matches([("prefix", "my+photos/")], "my photos/a.jpg")
    assert not key_filter_matches([("prefix", "my photos/")], "my photos/a.jpg")
    assert key_filter_matches([("prefix", "dt%3D2024")], "dt=2024/x")
    assert not key_filter_matches([("prefix", "dt=2024")], "dt=2024/x")


def test_configuration_matches_needs_type_and_key():
    filters = {"S3Key": {"FilterRule": [{"Name": "suffix", "Value": ".txt"}]}}
    assert configuration_matches(["s3:ObjectCreated:*"], filters, "s3:ObjectCreated:Copy", "a.txt")
    assert not configuration_matches(["s3:ObjectCreated:*"], filters, "s3:ObjectCreated:Copy", "a.csv")
    assert not configuration_matches(["s3:ObjectRemoved:*"], filters, "s3:ObjectCreated:Copy", "a.txt")


# --- shapes --------------------------------------------------------------------------------------


def test_object_created_event_is_shaped_as_aws_documents():
    assert build_event(event(), "thumbnails") == {"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "eu-west-1",
        "eventTime": "2024-05-01T12:00:00.123Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAJDPLRKLG7UEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "10.0.0.7"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810",
                             "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "thumbnails",
            "bucket": {"name": "my-bucket", "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                       "arn": "arn:aws:s3:::my-bucket"},
            "object": {"key": "photos/red+flower.jpg", "size": 1024, "eTag": "0123456789abcdef0123456789abcdef",
                       "sequencer": "0018EAAE7D1DFE0E47"},
        },
    }]}


@pytest.mark.parametrize("name", ["ObjectCreated:Post", "ObjectCreated:Copy", "ObjectCreated:CompleteMultipartUpload"])
def test_every_created_event_carries_size_and_etag(name):
    record = build_event(event(f"s3:{name}", size=0, etag="abc-2"), "c")["Records"][0]
    assert record["eventName"] == name and record["eventVersion"] == "2.1"
    assert record["s3"]["object"] == {"key": "photos/red+flower.jpg", "size": 0, "eTag": "abc-2",
                                      "sequencer": "0018EAAE7D1DFE0E47"}


def test_versioned_bucket_events_carry_the_version():
    obj = build_event(event(version_id="3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"), "c")["Records"][0]["s3"]["object"]
    assert obj["versionId"] == "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
    assert list(obj) == ["key", "size", "eTag", "versionId", "sequencer"]


def test_removed_events_have_no_size_or_etag():
    plain = build_event(event("s3:ObjectRemoved:Delete"), "c")["Records"][0]
    assert plain["eventName"] == "ObjectRemoved:Delete" and plain["eventVersion"] == "2.1"
    assert plain["s3"]["object"] == {"key": "photos/red+flower.jpg", "sequencer": "0018EAAE7D1DFE0E47"}
    marker = build_event(event("s3:ObjectRemoved:DeleteMarkerCreated", version_id="m1"), "c")["Records"][0]
    assert marker["eventName"] == "ObjectRemoved:DeleteMarkerCreated"
    assert marker["s3"]["object"] == {"key": "photos/red+flower.jpg", "versionId": "m1",
                                      "sequencer": "0018EAAE7D1DFE0E47"}


def test_tagging_and_acl_events_are_version_2_3_without_size_or_sequencer():
    for name in ("s3:ObjectTagging:Put", "s3:ObjectTagging:Delete", "s3:ObjectAcl:Put"):
        record = build_event(event(name), "c")["Records"][0]
        assert record["eventVersion"] == "2.3"
        assert record["s3"]["object"] == {"key": "photos/red+flower.jpg", "eTag": "0123456789abcdef0123456789abcdef"}


def test_restore_completed_carries_glacier_event_data():
    expiry = datetime(2024, 5, 8, 0, 0, 0)  # naive, as moto keeps it: UTC
    record = build_event(event("s3:ObjectRestore:Completed", restore_expiry=expiry, storage_class="GLACIER"),
                         "c")["Records"][0]
    assert record["glacierEventData"] == {"restoreEventData": {
        "lifecycleRestorationExpiryTime": "2024-05-08T00:00:00.000Z", "lifecycleRestoreStorageClass": "GLACIER"}}
    assert "size" in record["s3"]["object"] and "sequencer" in record["s3"]["object"]


def test_event_time_is_utc_with_milliseconds():
    assert format_time(datetime(2024, 1, 2, 3, 4, 5, 999999, tzinfo=timezone.utc)) == "2024-01-02T03:04:05.999Z"
    assert format_time(datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05.000Z"


def test_event_name_without_s3_prefix_is_kept():
    assert build_event(event("ObjectCreated:Put"), "c")["Records"][0]["eventName"] == "ObjectCreated:Put"


# --- glue helpers --------------------------------------------------------------------------------


def test_sequencers_increase_and_compare_as_strings():
    sequencer = _Sequencer()
    values = [sequencer.next() for _ in range(1000)]
    assert values == sorted(values) and len(set(values)) == 1000
    assert all(len(v) == 18 and int(v, 16) > 0 for v in values)


def test_filter_rule_names_are_lower_cased_for_moto():
    body = b"<FilterRule><Name>Prefix</Name><Value>Prefix/</Value></FilterRule><Name> SUFFIX </Name>"
    assert _lower_rule_names(body) == b"<FilterRule><Name>prefix</Name><Value>Prefix/</Value></FilterRule><Name>suffix</Name>"
    assert _lower_rule_names(body.decode()) == _lower_rule_names(body).decode()
