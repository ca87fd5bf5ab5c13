"""The S3 event builder and matching (emulator/push/s3.py): AWS's shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote_plus

import pytest

from emulator.moto.s3 import _lower_rule_names, _Sequencer
from emulator.push.s3 import (
    OVERLAP_MESSAGE,
    KeyFilter,
    NotificationConfigurationError,
    ObjectEvent,
    build_event,
    check_notification_configuration,
    configuration_matches,
    encode_key,
    event_type_matches,
    event_types_overlap,
    eventbridge_detail,
    filter_rules,
    format_time,
    key_filter,
    key_filter_matches,
    key_filters_overlap,
)

WHEN = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


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
    assert format_time(datetime(2024, 1, 2, 3, 4, 5, 999999, tzinfo=UTC)) == "2024-01-02T03:04:05.999Z"
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


# --- PutBucketNotificationConfiguration checks ---------------------------------------------------


def test_key_filters_take_one_prefix_and_one_suffix_in_any_case():
    assert key_filter([]) == KeyFilter()
    assert key_filter([("Prefix", "in/"), ("SUFFIX", ".csv")]) == KeyFilter("in/", ".csv")


@pytest.mark.parametrize(("rules", "message", "name", "value"), [
    ([("foo", "x")], "filter rule name must be either prefix or suffix", "FilterRule.Name", "foo"),
    ([(None, "x")], "filter rule name must be either prefix or suffix", "FilterRule.Name", ""),
    ([("prefix", "")], "filter value cannot be empty", "prefix", ""),
    ([("suffix", None)], "filter value cannot be empty", "suffix", ""),
    ([("prefix", "a"), ("Prefix", "b")], "Cannot specify more than one prefix rule in a filter.",
     "FilterRule.Name", "Prefix"),
    ([("suffix", "a"), ("prefix", "p"), ("suffix", "b")], "Cannot specify more than one suffix rule in a filter.",
     "FilterRule.Name", "suffix"),
    ([("prefix", "é" * 513)], "Size of filter rule value cannot exceed 1024 bytes in UTF-8 representation",
     "FilterRule.Value", "é" * 513),
])
def test_bad_filter_rules_are_invalid_arguments(rules, message, name, value):
    with pytest.raises(NotificationConfigurationError) as caught:
        key_filter(rules)
    assert (caught.value.message, caught.value.argument_name, caught.value.argument_value) == (message, name, value)


def test_event_types_overlap_with_wildcards_expanded():
    assert event_types_overlap(["s3:ObjectCreated:*"], ["s3:ObjectCreated:Put"]) == "s3:ObjectCreated:*"
    assert event_types_overlap(["s3:ObjectCreated:Copy"], ["s3:ObjectCreated:*"]) == "s3:ObjectCreated:Copy"
    assert event_types_overlap(["s3:ObjectCreated:*"], ["s3:ObjectCreated:*"]) == "s3:ObjectCreated:*"
    assert event_types_overlap(["s3:ObjectRemoved:Delete", "s3:ObjectCreated:Put"],
                               ["s3:ObjectCreated:Put"]) == "s3:ObjectCreated:Put"
    assert event_types_overlap(["s3:ObjectCreated:*"], ["s3:ObjectRemoved:*"]) is None
    assert event_types_overlap(["s3:ObjectCreated:Put"], ["s3:ObjectCreated:Post"]) is None
    assert event_types_overlap(["s3:ObjectRemoved:Delete"], ["s3:ObjectRemoved:DeleteMarkerCreated"]) is None


@pytest.mark.parametrize(("a", "b", "overlap"), [
    (KeyFilter(), KeyFilter(), True),
    (KeyFilter(), KeyFilter("images/"), True),                          # no prefix overlaps every prefix
    (KeyFilter("images/"), KeyFilter("images/2024/"), True),
    (KeyFilter("images/"), KeyFilter("logs/"), False),
    (KeyFilter(suffix=".jpg"), KeyFilter(suffix="jpg"), True),          # AWS's own example
    (KeyFilter(suffix=".jpg"), KeyFilter(suffix=".png"), False),
    (KeyFilter("images/", ".jpg"), KeyFilter("images/", ".png"), False),  # prefixes overlap, suffixes do not
    (KeyFilter("images/", ".jpg"), KeyFilter(suffix=".jpg"), True),
    (KeyFilter("images/"), KeyFilter(suffix=".jpg"), True),              # images/x.jpg passes both
])
def test_key_filters_overlap_when_some_key_passes_both(a, b, overlap):
    assert key_filters_overlap(a, b) is overlap
    assert key_filters_overlap(b, a) is overlap


def configuration(kind: str, events: list[str], **rules: str) -> dict:
    entry: dict = {"Id": kind, "Event": events[0] if len(events) == 1 else events}
    if rules:
        filter_rules = [{"Name": name, "Value": value} for name, value in rules.items()]
        entry["Filter"] = {"S3Key": {"FilterRule": filter_rules[0] if len(filter_rules) == 1 else filter_rules}}
    return entry


def test_configurations_of_any_kind_may_not_overlap():
    lambda_all = configuration("CloudFunctionConfiguration", ["s3:ObjectCreated:*"])
    queue_put = configuration("QueueConfiguration", ["s3:ObjectCreated:Put"])
    with pytest.raises(NotificationConfigurationError) as caught:
        check_notification_configuration({"CloudFunctionConfiguration": lambda_all, "QueueConfiguration": queue_put})
    assert caught.value.message == OVERLAP_MESSAGE
    with pytest.raises(NotificationConfigurationError, match="Configurations overlap"):
        check_notification_configuration({"CloudFunctionConfiguration": [
            configuration("a", ["s3:ObjectCreated:*"], prefix="in/"),
            configuration("b", ["s3:ObjectRemoved:*", "s3:ObjectCreated:Copy"], suffix=".csv")]})


def test_configurations_apart_by_event_or_key_are_accepted():
    check_notification_configuration({
        "CloudFunctionConfiguration": [configuration("a", ["s3:ObjectCreated:*"], prefix="images/", suffix=".jpg"),
                                       configuration("b", ["s3:ObjectCreated:*"], prefix="images/", suffix=".png")],
        "QueueConfiguration": configuration("q", ["s3:ObjectRemoved:*"]),
        "TopicConfiguration": [configuration("t", ["s3:ObjectCreated:Put"], prefix="logs/")],
        "EventBridgeConfiguration": None,
    })
    check_notification_configuration(None)
    check_notification_configuration({})


# --------------------------------------------------------------------------- EventBridge


def test_eventbridge_detail_of_a_put_follows_the_documented_example():
    """https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html, "Object created"."""
    detail = eventbridge_detail(event(), "123456789012")
    assert detail == {
        "version": "0", "bucket": {"name": "my-bucket"},
        "object": {"key": "photos/red flower.jpg", "size": 1024, "etag": "0123456789abcdef0123456789abcdef",
                   "sequencer": "0018EAAE7D1DFE0E47"},
        "request-id": "C3D13FE58DE4C810", "requester": "123456789012", "source-ip-address": "10.0.0.7",
        "reason": "PutObject"}
    assert list(detail["object"]) == ["key", "size", "etag", "sequencer"]  # the key as it is, not encoded


@pytest.mark.parametrize("name, reason", [("s3:ObjectCreated:Post", "POST Object"),
                                          ("s3:ObjectCreated:Copy", "CopyObject"),
                                          ("s3:ObjectCreated:CompleteMultipartUpload", "CompleteMultipartUpload")])
def test_eventbridge_reason_names_the_api(name, reason):
    assert eventbridge_detail(event(name), "123456789012")["reason"] == reason


def test_eventbridge_detail_of_deletes():
    gone = eventbridge_detail(event("s3:ObjectRemoved:Delete", etag=None), "123456789012")
    assert (gone["reason"], gone["deletion-type"]) == ("DeleteObject", "Permanently Deleted")
    assert gone["object"] == {"key": "photos/red flower.jpg", "sequencer": "0018EAAE7D1DFE0E47"}  # no size
    marker = eventbridge_detail(event("s3:ObjectRemoved:DeleteMarkerCreated", etag=None, version_id="v1"), "1")
    assert marker["deletion-type"] == "Delete Marker Created" and marker["object"]["version-id"] == "v1"
    tags = eventbridge_detail(event("s3:ObjectTagging:Put"), "1")
    assert "reason" not in tags and "deletion-type" not in tags
