"""S3 -> Lambda notifications with real moto and real Docker: the recorder function gets the
events AWS would send, for the operations and filters AWS sends them for."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.app.server import free_port
from emulator.push.s3 import encode_key
from tests.conftest import ROOT, TEST_FUNCTIONS, lambda_client
from tests.integration.probes import quiet
from tests.integration.recorded import aws, ensure_table, recorded, settle, wait_for

ACCOUNT = "123456789012"
RECORDER = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:recorder"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture(scope="module")
def endpoint(docker_endpoint) -> str:
    ensure_table(docker_endpoint)
    return docker_endpoint


@pytest.fixture
def tag() -> str:
    return "t" + os.urandom(4).hex()


@pytest.fixture
def s3(endpoint):
    return aws(endpoint, "s3")


def notify(s3, bucket: str, *, events: list[str], rules: tuple[tuple[str, str], ...] = (), config_id: str = "to-recorder",
           **extra: Any) -> None:
    """Point ``bucket``'s notifications at the recorder (plus ``extra`` configuration lists)."""
    config: dict[str, Any] = {"Id": config_id, "LambdaFunctionArn": RECORDER, "Events": events}
    if rules:
        config["Filter"] = {"Key": {"FilterRules": [{"Name": n, "Value": v} for n, v in rules]}}
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": [config], **extra})


def records(endpoint: str, tag: str, count: int, timeout: float = 30) -> list[dict]:
    """The S3 records delivered for ``tag`` once ``count`` arrived (no more come), in sequencer
    order when they all have one, else by eventName."""
    wait_for(endpoint, tag, count, timeout)
    found = settle(endpoint, tag)
    assert len(found) == count, [r.event for r in found]
    out = []
    for item in found:
        [record] = item.event["Records"]
        out.append(record)
    if all("sequencer" in r["s3"]["object"] for r in out):
        return sorted(out, key=lambda r: r["s3"]["object"]["sequencer"])
    return sorted(out, key=lambda r: r["eventName"])


def test_put_object_delivers_the_event_aws_sends(endpoint, s3, tag):
    bucket = f"put-{tag}"
    s3.create_bucket(Bucket=bucket)
    notify(s3, bucket, events=["s3:ObjectCreated:*"], config_id="thumbnails")
    put = s3.put_object(Bucket=bucket, Key="photos/a.jpg", Body=b"hello world")

    [record] = records(endpoint, tag, 1)
    assert record["eventVersion"] == "2.1"
    assert record["eventSource"] == "aws:s3"
    assert record["awsRegion"] == "us-east-1"
    assert ISO_MS.match(record["eventTime"])
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["userIdentity"]["principalId"]
    assert record["requestParameters"]["sourceIPAddress"] == "127.0.0.1"
    assert re.fullmatch(r"[0-9A-F]{16}", record["responseElements"]["x-amz-request-id"])
    assert record["responseElements"]["x-amz-id-2"]
    assert record["s3"]["s3SchemaVersion"] == "1.0"
    assert record["s3"]["configurationId"] == "thumbnails"
    assert record["s3"]["bucket"]["name"] == bucket
    assert record["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
    assert record["s3"]["bucket"]["ownerIdentity"]["principalId"]
    obj = record["s3"]["object"]
    assert obj.pop("sequencer")
    assert obj == {"key": "photos/a.jpg", "size": 11, "eTag": put["ETag"].strip('"')}  # no versionId


def test_copy_and_multipart_upload_each_send_one_event(endpoint, s3, tag):
    bucket = f"created-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="source.bin", Body=b"x" * 10)
    notify(s3, bucket, events=["s3:ObjectCreated:*", "s3:ObjectTagging:*"])

    copy = s3.copy_object(Bucket=bucket, Key="copy.bin", CopySource={"Bucket": bucket, "Key": "source.bin"})
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big.bin", Tagging="k=v")["UploadId"]
    parts = []
    for number, body in ((1, b"a" * 5 * 1024 * 1024), (2, b"b" * 100)):
        etag = s3.upload_part(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=number, Body=body)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    done = s3.complete_multipart_upload(Bucket=bucket, Key="big.bin", UploadId=upload,
                                        MultipartUpload={"Parts": parts})

    # no ObjectCreated:Put nor ObjectTagging:Put for the multipart upload (moto makes both)
    copied, completed = records(endpoint, tag, 2)
    assert copied["eventName"] == "ObjectCreated:Copy"
    assert copied["s3"]["object"]["key"] == "copy.bin"
    assert copied["s3"]["object"]["size"] == 10
    assert copied["s3"]["object"]["eTag"] == copy["CopyObjectResult"]["ETag"].strip('"')
    assert completed["eventName"] == "ObjectCreated:CompleteMultipartUpload"
    assert completed["s3"]["object"]["size"] == 5 * 1024 * 1024 + 100
    assert completed["s3"]["object"]["eTag"] == done["ETag"].strip('"')
    assert completed["s3"]["object"]["eTag"].endswith("-2")


def test_a_browser_form_upload_is_a_post(endpoint, s3, tag):
    bucket = f"post-{tag}"
    s3.create_bucket(Bucket=bucket)
    notify(s3, bucket, events=["s3:ObjectCreated:Post"])
    form = s3.generate_presigned_post(Bucket=bucket, Key="uploads/form.txt")
    reply = httpx.post(form["url"], data=form["fields"], files={"file": ("form.txt", b"posted")}, timeout=30)
    assert reply.status_code in (200, 204), reply.text

    [record] = records(endpoint, tag, 1)
    assert record["eventName"] == "ObjectCreated:Post"
    assert record["s3"]["object"]["key"] == "uploads/form.txt"
    assert record["s3"]["object"]["size"] == len(b"posted")


def test_tagging_events_come_from_tagging_calls_only(endpoint, s3, tag):
    bucket = f"tagging-{tag}"
    s3.create_bucket(Bucket=bucket)
    notify(s3, bucket, events=["s3:ObjectTagging:*"])
    s3.put_object(Bucket=bucket, Key="k", Body=b"1", Tagging="a=b")  # moto reports ObjectTagging:Put here
    assert settle(endpoint, tag) == []

    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "c"}]})
    s3.delete_object_tagging(Bucket=bucket, Key="k")
    deleted, put = records(endpoint, tag, 2)
    assert (put["eventName"], deleted["eventName"]) == ("ObjectTagging:Put", "ObjectTagging:Delete")
    assert put["eventVersion"] == "2.3"
    assert set(put["s3"]["object"]) == {"key", "eTag"}


def test_deletes_in_an_unversioned_bucket(endpoint, s3, tag):
    bucket = f"delete-{tag}"
    s3.create_bucket(Bucket=bucket)
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"data")
    notify(s3, bucket, events=["s3:ObjectRemoved:*"])

    s3.delete_object(Bucket=bucket, Key="a")
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "b"}, {"Key": "c"}]})

    deleted = records(endpoint, tag, 3)
    assert sorted(r["s3"]["object"]["key"] for r in deleted) == ["a", "b", "c"]
    for record in deleted:
        assert record["eventName"] == "ObjectRemoved:Delete"
        assert set(record["s3"]["object"]) == {"key", "sequencer"}  # no size, eTag or versionId


def test_versioned_bucket_puts_delete_markers_and_version_deletes(endpoint, s3, tag):
    bucket = f"versioned-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    notify(s3, bucket, events=["s3:ObjectCreated:*", "s3:ObjectRemoved:*"])

    first = s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"v1")
    second = s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"v2!")
    marker = s3.delete_object(Bucket=bucket, Key="doc.txt")
    assert marker["DeleteMarker"] is True
    s3.delete_object(Bucket=bucket, Key="doc.txt", VersionId=first["VersionId"])  # versions remain: moto is silent

    put1, put2, marked, removed = records(endpoint, tag, 4)
    assert [r["eventName"] for r in (put1, put2, marked, removed)] == [
        "ObjectCreated:Put", "ObjectCreated:Put", "ObjectRemoved:DeleteMarkerCreated", "ObjectRemoved:Delete"]
    assert put1["s3"]["object"]["versionId"] == first["VersionId"]
    assert put2["s3"]["object"]["versionId"] == second["VersionId"]
    assert put2["s3"]["object"]["size"] == 3
    assert put1["s3"]["object"]["sequencer"] < put2["s3"]["object"]["sequencer"] < marked["s3"]["object"]["sequencer"]
    assert marked["s3"]["object"] == {"key": "doc.txt", "versionId": marker["VersionId"],
                                      "sequencer": marked["s3"]["object"]["sequencer"]}
    assert removed["s3"]["object"] == {"key": "doc.txt", "versionId": first["VersionId"],
                                       "sequencer": removed["s3"]["object"]["sequencer"]}


def test_versioned_deletes_reach_queues_and_eventbridge_too(endpoint, s3, tag):
    """moto sent queues, topics and EventBridge nothing for a delete marker, and a version delete
    only once the key's last version was gone."""
    bucket = f"vq-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    sqs = aws(endpoint, "sqs")
    url = sqs.create_queue(QueueName=f"vq-{tag}")["QueueUrl"]
    events = aws(endpoint, "events")
    events.put_rule(Name=f"vq-{tag}", EventPattern=json.dumps({"source": ["aws.s3"], "detail-type": ["Object Deleted"],
                                                                "detail": {"bucket": {"name": [bucket]}}}))
    events.put_targets(Rule=f"vq-{tag}", Targets=[{"Id": "f", "Arn": RECORDER}])
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"Id": "gone", "QueueArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:vq-{tag}",
                                 "Events": ["s3:ObjectRemoved:*"]}],
        "EventBridgeConfiguration": {}})
    first = s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"v1")
    s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"v2")
    marker = s3.delete_object(Bucket=bucket, Key="doc.txt")
    s3.delete_object(Bucket=bucket, Key="doc.txt", VersionId=first["VersionId"])  # other versions remain

    queued: list[dict] = []
    deadline = time.monotonic() + 20
    while len(queued) < 2 and time.monotonic() < deadline:
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        queued += [r for m in reply.get("Messages", []) for r in json.loads(m["Body"]).get("Records", [])]
    queued.sort(key=lambda r: r["s3"]["object"]["sequencer"])
    assert [(r["eventName"], r["s3"]["object"]["versionId"]) for r in queued] == [
        ("ObjectRemoved:DeleteMarkerCreated", marker["VersionId"]), ("ObjectRemoved:Delete", first["VersionId"])]
    assert all(r["s3"]["configurationId"] == "gone" for r in queued)

    found = sorted((r.event["detail"]["object"]["sequencer"], r.event["detail"]) for r in wait_for(endpoint, bucket, 2))
    assert [(d["reason"], d["deletion-type"], d["object"]["version-id"]) for _, d in found] == [
        ("DeleteObject", "Delete Marker Created", marker["VersionId"]),
        ("DeleteObject", "Permanently Deleted", first["VersionId"])]
    assert [s for s, _ in found] == [r["s3"]["object"]["sequencer"] for r in queued]  # one event, one sequencer


def test_a_delete_in_a_suspended_bucket_creates_a_null_delete_marker(endpoint, s3, tag):
    """AWS: with versioning suspended, DeleteObject adds a delete marker whose version id is "null"."""
    bucket = f"suspended-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"v1")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"v2")
    notify(s3, bucket, events=["s3:ObjectRemoved:*"])

    deleted = s3.delete_object(Bucket=bucket, Key="doc.txt")
    assert deleted["DeleteMarker"] is True and deleted["VersionId"] == "null"
    [record] = records(endpoint, tag, 1)
    assert record["eventName"] == "ObjectRemoved:DeleteMarkerCreated"
    obj = record["s3"]["object"]
    assert obj.pop("sequencer") and obj == {"key": "doc.txt", "versionId": "null"}


def test_prefix_and_suffix_filters(endpoint, s3, tag):
    bucket = f"filters-{tag}"
    s3.create_bucket(Bucket=bucket)
    notify(s3, bucket, events=["s3:ObjectCreated:*"], rules=[("Prefix", "in/"), ("suffix", ".csv")])
    assert s3.get_bucket_notification_configuration(Bucket=bucket)["LambdaFunctionConfigurations"][0]["Filter"]

    for key in ("out/a.csv", "in/a.txt", "a.csv", "xin/a.csv", "in/a.csv.bak"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"no")
    assert settle(endpoint, tag) == []

    s3.put_object(Bucket=bucket, Key="in/2024/a.csv", Body=b"yes")
    [record] = records(endpoint, tag, 1)
    assert record["s3"]["object"]["key"] == "in/2024/a.csv"


def test_event_types_select_what_is_sent(endpoint, s3, tag):
    bucket = f"types-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="src", Body=b"s")
    notify(s3, bucket, events=["s3:ObjectCreated:Copy", "s3:ObjectRemoved:Delete"])

    s3.put_object(Bucket=bucket, Key="put", Body=b"p")  # a Put: not configured
    assert settle(endpoint, tag) == []
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    s3.delete_object(Bucket=bucket, Key="put")
    copied, deleted = records(endpoint, tag, 2)
    assert (copied["eventName"], deleted["eventName"]) == ("ObjectCreated:Copy", "ObjectRemoved:Delete")


def test_keys_with_spaces_and_unicode_are_encoded_and_filtered_encoded(endpoint, s3, tag):
    bucket = f"keys-{tag}"
    s3.create_bucket(Bucket=bucket)
    # AWS: a space in a filter value is written "+" (the key is matched in its encoded form)
    notify(s3, bucket, events=["s3:ObjectCreated:*"], rules=[("prefix", "my+docs/")])
    key = "my docs/résumé 日本 (1)+a@b=c.txt"

    s3.put_object(Bucket=bucket, Key="my docs-other/x.txt", Body=b"no")
    s3.put_object(Bucket=bucket, Key=key, Body=b"yes")
    [record] = records(endpoint, tag, 1)
    encoded = record["s3"]["object"]["key"]
    assert encoded == "my+docs/r%C3%A9sum%C3%A9+%E6%97%A5%E6%9C%AC+%281%29%2Ba%40b%3Dc.txt"
    assert encoded == encode_key(key)
    assert unquote_plus(encoded) == key
    assert s3.get_object(Bucket=bucket, Key=unquote_plus(encoded))["Body"].read() == b"yes"


def test_queue_configurations_keep_working_and_the_test_event_skips_functions(endpoint, s3, tag):
    bucket = f"mixed-{tag}"
    s3.create_bucket(Bucket=bucket)
    sqs = aws(endpoint, "sqs")
    url = sqs.create_queue(QueueName=f"s3-events-{tag}")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:s3-events-{tag}"
    # one event type for both, told apart by suffix (AWS refuses overlapping configurations)
    notify(s3, bucket, events=["s3:ObjectCreated:*"], rules=(("suffix", ".txt"),),
           QueueConfigurations=[{"Id": "to-queue", "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"],
                                 "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".csv"}]}}}])

    def messages(count: int) -> list[dict]:
        got: list[dict] = []
        for _ in range(20):
            got += [json.loads(m["Body"]) for m in
                    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])]
            if len(got) >= count:
                break
        return got

    [test_event] = messages(1)
    assert test_event["Event"] == "s3:TestEvent" and test_event["Bucket"] == bucket
    assert settle(endpoint, tag) == []  # the function never sees it

    s3.put_object(Bucket=bucket, Key="in/a folder/for-queue.csv", Body=b"x")
    s3.put_object(Bucket=bucket, Key="for-function.txt", Body=b"x")
    [queued] = messages(1)
    # the event AWS sends, as a function gets it (moto's record lacked these, and encoded "/")
    [entry] = queued["Records"]
    assert (entry["eventVersion"], entry["eventName"], entry["s3"]["configurationId"]) == (
        "2.1", "ObjectCreated:Put", "to-queue")
    assert entry["userIdentity"]["principalId"] and entry["requestParameters"]["sourceIPAddress"]
    assert set(entry["responseElements"]) == {"x-amz-request-id", "x-amz-id-2"}
    assert entry["s3"]["bucket"]["ownerIdentity"]["principalId"]
    assert entry["s3"]["object"].pop("sequencer")
    assert entry["s3"]["object"] == {"key": "in/a+folder/for-queue.csv", "size": 1,
                                     "eTag": "9dd4e461268c8034f5c8564e155c67a6"}
    [record] = records(endpoint, tag, 1)
    assert record["s3"]["configurationId"] == "to-recorder"
    assert record["s3"]["object"]["key"] == "for-function.txt"
    assert messages(0) == []  # one message per operation: no ObjectTagging:Put from moto


def test_several_lambda_configurations_on_one_bucket(endpoint, s3, tag):
    bucket = f"several-{tag}"
    s3.create_bucket(Bucket=bucket)
    configurations = [
        {"Id": "images", "LambdaFunctionArn": RECORDER, "Events": ["s3:ObjectCreated:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "images/"}]}}},
        {"Id": "logs", "LambdaFunctionArn": RECORDER, "Events": ["s3:ObjectCreated:Put"],
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "logs/"}]}}},
        {"Id": "removals", "LambdaFunctionArn": RECORDER, "Events": ["s3:ObjectRemoved:*"]},
    ]
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": configurations})
    assert [c["Id"] for c in s3.get_bucket_notification_configuration(Bucket=bucket)[
        "LambdaFunctionConfigurations"]] == ["images", "logs", "removals"]

    s3.put_object(Bucket=bucket, Key="images/a.png", Body=b"1")
    s3.put_object(Bucket=bucket, Key="logs/b.log", Body=b"2")
    s3.put_object(Bucket=bucket, Key="other/c", Body=b"3")  # no configuration
    s3.delete_object(Bucket=bucket, Key="logs/b.log")
    got = records(endpoint, tag, 3)
    assert sorted((r["s3"]["configurationId"], r["eventName"], r["s3"]["object"]["key"]) for r in got) == [
        ("images", "ObjectCreated:Put", "images/a.png"),
        ("logs", "ObjectCreated:Put", "logs/b.log"),
        ("removals", "ObjectRemoved:Delete", "logs/b.log"),
    ]


def test_a_lambda_and_a_topic_configuration_together(endpoint, s3, tag):
    bucket = f"topic-{tag}"
    s3.create_bucket(Bucket=bucket)
    sns = aws(endpoint, "sns")
    topic = sns.create_topic(Name=f"s3-{tag}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=RECORDER)
    notify(s3, bucket, events=["s3:ObjectCreated:*"], rules=(("prefix", "direct/"),), TopicConfigurations=[
        {"Id": "to-topic", "TopicArn": topic, "Events": ["s3:ObjectCreated:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "fanout/"}]}}}])
    s3.put_object(Bucket=bucket, Key="direct/a.txt", Body=b"a")
    s3.put_object(Bucket=bucket, Key="fanout/b.txt", Body=b"b")

    deadline = time.monotonic() + 30
    while True:
        found = recorded(endpoint, bucket)
        direct = [f.event["Records"][0] for f in found if "s3" in f.event["Records"][0]]
        through_topic = [json.loads(f.event["Records"][0]["Sns"]["Message"]) for f in found
                         if "Sns" in f.event["Records"][0]]
        object_records = [m["Records"][0] for m in through_topic if "Records" in m]  # not the s3:TestEvent
        if (direct and object_records) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    [direct_record] = direct
    assert direct_record["s3"]["configurationId"] == "to-recorder"
    assert direct_record["s3"]["object"]["key"] == "direct/a.txt"
    [topic_record] = object_records
    assert topic_record["s3"]["configurationId"] == "to-topic"
    assert topic_record["eventName"] == "ObjectCreated:Put"
    assert topic_record["s3"]["object"]["key"] == "fanout/b.txt"  # "/" kept, as AWS writes it
    assert topic_record["s3"]["bucket"]["ownerIdentity"] and topic_record["s3"]["object"]["sequencer"]
    assert topic_record["responseElements"]["x-amz-request-id"]
    assert len(recorded(endpoint, bucket)) == len(found)  # nothing else: one event per operation


def refused(s3, bucket: str, configuration: dict) -> dict:
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400, error
    assert error["ResponseMetadata"]["RetryAttempts"] == 0  # a 500 would have been retried
    return error["Error"]


@pytest.mark.parametrize(("rules", "message"), [
    ([{"Name": "foo", "Value": "x"}], "filter rule name must be either prefix or suffix"),
    ([{"Name": "prefix", "Value": ""}], "filter value cannot be empty"),
    ([{"Name": "prefix", "Value": "a/"}, {"Name": "Prefix", "Value": "b/"}],
     "Cannot specify more than one prefix rule in a filter."),
    ([{"Name": "suffix", "Value": ".a"}, {"Name": "suffix", "Value": ".b"}],
     "Cannot specify more than one suffix rule in a filter."),
])
def test_bad_filter_rules_are_invalid_arguments(endpoint, s3, tag, rules, message):
    bucket = f"rules-{tag}"
    s3.create_bucket(Bucket=bucket)
    error = refused(s3, bucket, {"LambdaFunctionConfigurations": [
        {"LambdaFunctionArn": RECORDER, "Events": ["s3:ObjectCreated:*"], "Filter": {"Key": {"FilterRules": rules}}}]})
    assert (error["Code"], error["Message"]) == ("InvalidArgument", message)
    assert "LambdaFunctionConfigurations" not in s3.get_bucket_notification_configuration(Bucket=bucket)


def test_overlapping_configurations_are_refused(endpoint, s3, tag):
    bucket = f"overlap-{tag}"
    s3.create_bucket(Bucket=bucket)
    sqs = aws(endpoint, "sqs")
    sqs.create_queue(QueueName=f"q-{tag}")
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q-{tag}"
    overlapping = [
        {"LambdaFunctionConfigurations": [
            {"Id": "all", "LambdaFunctionArn": RECORDER, "Events": ["s3:ObjectCreated:*"]},
            {"Id": "put", "LambdaFunctionArn": RECORDER, "Events": ["s3:ObjectCreated:Put"]}]},
        {"LambdaFunctionConfigurations": [
            {"Id": "images", "LambdaFunctionArn": RECORDER, "Events": ["s3:ObjectCreated:*"],
             "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "images/"}]}}}],
         "QueueConfigurations": [
            {"Id": "jpgs", "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:Copy"],
             "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".jpg"}]}}}]},
    ]
    for configuration in overlapping:
        error = refused(s3, bucket, configuration)
        assert (error["Code"], error["Message"]) == (
            "InvalidArgument", "Configurations overlap. Configurations on the same bucket cannot share a common event type.")
    assert "LambdaFunctionConfigurations" not in s3.get_bucket_notification_configuration(Bucket=bucket)

    # apart by event type or by key: accepted
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [
            {"Id": "created", "LambdaFunctionArn": RECORDER, "Events": ["s3:ObjectCreated:*"],
             "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "images/"},
                                                {"Name": "suffix", "Value": ".jpg"}]}}}],
        "QueueConfigurations": [
            {"Id": "pngs", "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"],
             "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "images/"},
                                                {"Name": "suffix", "Value": ".png"}]}}},
            {"Id": "removed", "QueueArn": queue_arn, "Events": ["s3:ObjectRemoved:*"]}]})


def test_an_unknown_function_is_rejected_unless_validation_is_skipped(endpoint, s3, tag):
    bucket = f"invalid-{tag}"
    s3.create_bucket(Bucket=bucket)
    missing = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:no-such-function-{tag}"
    configuration = {"LambdaFunctionConfigurations": [
        {"Id": "x", "LambdaFunctionArn": missing, "Events": ["s3:ObjectCreated:*"]}]}
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "InvalidArgument"
    assert error["Error"]["Message"] == "Unable to validate the following destination configurations"
    assert "LambdaFunctionConfigurations" not in s3.get_bucket_notification_configuration(Bucket=bucket)

    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration,
                                             SkipDestinationValidation=True)
    [saved] = s3.get_bucket_notification_configuration(Bucket=bucket)["LambdaFunctionConfigurations"]
    assert saved["LambdaFunctionArn"] == missing
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")  # delivery is refused (logged); S3 still answers


def test_aws_cli_cp_triggers_the_function(endpoint, s3, tag, tmp_path: Path):
    bucket = f"cli-{tag}"
    s3.create_bucket(Bucket=bucket)
    notify(s3, bucket, events=["s3:ObjectCreated:*"], rules=[("suffix", ".txt")])
    source = tmp_path / "report 1.txt"
    source.write_text("from the cli")

    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "aws"), "--endpoint-url", endpoint, "s3", "cp",
                           str(source), f"s3://{bucket}/reports/report 1.txt"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr

    [record] = records(endpoint, tag, 1)
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["object"]["key"] == "reports/report+1.txt"
    assert record["s3"]["object"]["size"] == len("from the cli")


def test_queues_topics_and_eventbridge_get_one_event_per_operation(endpoint, s3, tag):
    """moto adds ObjectTagging:Put after PutObject/CopyObject and ObjectCreated:Put + ObjectTagging:Put
    around CompleteMultipartUpload; AWS sends one event for each operation, to every destination."""
    bucket = f"once-{tag}"
    s3.create_bucket(Bucket=bucket)
    sqs = aws(endpoint, "sqs")
    url = sqs.create_queue(QueueName=f"once-{tag}")["QueueUrl"]
    sns = aws(endpoint, "sns")
    topic = sns.create_topic(Name=f"once-{tag}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=RECORDER)
    events = aws(endpoint, "events")
    events.put_rule(Name=f"once-{tag}", EventPattern=json.dumps({"source": ["aws.s3"],
                                                                  "detail": {"bucket": {"name": [bucket]}}}))
    events.put_targets(Rule=f"once-{tag}", Targets=[{"Id": "f", "Arn": RECORDER}])
    every = ["s3:ObjectCreated:*", "s3:ObjectTagging:*"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"Id": "q", "QueueArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:once-{tag}", "Events": every,
                                 "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "q/"}]}}}],
        "TopicConfigurations": [{"Id": "t", "TopicArn": topic, "Events": every,
                                 "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "t/"}]}}}],
        "EventBridgeConfiguration": {}})

    def operations(prefix: str) -> None:
        s3.put_object(Bucket=bucket, Key=f"{prefix}put", Body=b"1", Tagging="a=b")
        s3.copy_object(Bucket=bucket, Key=f"{prefix}copy", CopySource={"Bucket": bucket, "Key": f"{prefix}put"})
        upload = s3.create_multipart_upload(Bucket=bucket, Key=f"{prefix}multi", Tagging="k=v")["UploadId"]
        etag = s3.upload_part(Bucket=bucket, Key=f"{prefix}multi", UploadId=upload, PartNumber=1, Body=b"m")["ETag"]
        s3.complete_multipart_upload(Bucket=bucket, Key=f"{prefix}multi", UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})

    operations("q/")
    operations("t/")
    expected = ["ObjectCreated:CompleteMultipartUpload", "ObjectCreated:Copy", "ObjectCreated:Put"]

    queued: list[dict] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        queued += [json.loads(m["Body"]) for m in reply.get("Messages", [])]
        if len([q for q in queued if "Records" in q]) >= 3:
            break
    # S3 sends to the queue before the operation answers: anything extra is in the queue already
    queued += [json.loads(m["Body"]) for m in
               sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])]
    assert sorted(q["Records"][0]["eventName"] for q in queued if "Records" in q) == expected

    def from_function() -> tuple[list[str], list[str]]:
        found = [r.event for r in recorded(endpoint, bucket)]
        through_topic = [json.loads(e["Records"][0]["Sns"]["Message"]) for e in found if "Records" in e]
        topic_names = sorted(m["Records"][0]["eventName"] for m in through_topic if "Records" in m)
        eventbridge = sorted(f'{e["detail-type"]} {e["detail"]["object"]["key"]}' for e in found if "detail-type" in e)
        return topic_names, eventbridge

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        topic_names, eventbridge = from_function()
        if len(topic_names) >= 3 and len(eventbridge) >= 6:
            break
        time.sleep(0.2)
    quiet(endpoint)  # S3 hands every event to the topic, the bus and on to the queue before it answers
    topic_names, eventbridge = from_function()
    assert topic_names == expected
    assert eventbridge == [f"Object Created {prefix}{name}" for prefix in ("q/", "t/")
                           for name in ("copy", "multi", "put")]


@pytest.fixture
def fresh_endpoint(tmp_path) -> Iterator[str]:
    """A control plane in a Python process of its own: no moto patch applied yet."""
    port = free_port()
    env = {**os.environ, "CLOUDMICRO_STATE_DIR": str(tmp_path / "state"), "CLOUDMICRO_SEED_ON_START": "false",
           "CLOUDMICRO_WATCH": "off", "CLOUDMICRO_CLOUDWATCH_LOGS": "false",
           "CLOUDMICRO_DB_GEN_DIR": str(tmp_path / "db_gen")}
    server = subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--executor", "process", "--functions-dir", str(TEST_FUNCTIONS)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "the control plane exited"
            try:
                if httpx.get(endpoint + "/_cloudmicro/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the control plane did not answer in time"
            time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait(30)


@pytest.mark.parametrize("signature", [UNSIGNED, "s3"], ids=["unsigned", "sigv2"])
def test_s3_requests_without_sigv4_still_notify_functions(fresh_endpoint, tag, signature):
    """A request that does not name its service (no SigV4 scope) prepares every patch: a bucket
    configured and written only that way still validates and notifies its functions."""
    ensure_table(fresh_endpoint)
    s3 = boto3.client("s3", endpoint_url=fresh_endpoint, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test", config=Config(signature_version=signature))
    bucket = f"unsigned-{tag}"
    s3.create_bucket(Bucket=bucket)
    missing = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:no-such-function-{tag}"
    error = refused(s3, bucket, {"LambdaFunctionConfigurations": [
        {"LambdaFunctionArn": missing, "Events": ["s3:ObjectCreated:*"]}]})
    assert error["Message"] == "Unable to validate the following destination configurations"
    notify(s3, bucket, events=["s3:ObjectCreated:*"])
    s3.put_object(Bucket=bucket, Key="k.txt", Body=b"x")
    [record] = records(fresh_endpoint, tag, 1)
    assert record["eventName"] == "ObjectCreated:Put" and record["s3"]["bucket"]["name"] == bucket


def test_delivery_is_asynchronous_and_retried_as_an_event_invoke(endpoint, s3, tag):
    """A slow function does not slow PutObject; it is invoked with InvocationType Event: a
    failing attempt (here a timeout) is retried twice, with the same request id."""
    bucket = f"async-{tag}"
    s3.create_bucket(Bucket=bucket)
    notify(s3, bucket, events=["s3:ObjectCreated:*"])
    started = time.monotonic()
    s3.put_object(Bucket=bucket, Key="please-timeout.txt", Body=b"x")  # the recorder then sleeps past its 3 s
    assert time.monotonic() - started < 1.5
    attempts = wait_for(endpoint, tag, 3, timeout=60)
    assert len({a.request_id for a in attempts}) == 1
    assert attempts[1].at - attempts[0].at >= 3  # the first attempt ran to its timeout before the retry
    assert all(a.event == attempts[0].event for a in attempts)
    assert len(settle(endpoint, tag)) == 3


def test_a_failing_function_reports_to_its_on_failure_destination(endpoint, s3, tag):
    """S3 -> failing function -> OnFailure SQS: AWS's invocation record, with the S3 event as the
    request payload after 3 attempts (MaximumRetryAttempts 2, the default)."""
    lam = lambda_client(endpoint)
    sqs = aws(endpoint, "sqs")
    url = sqs.create_queue(QueueName=f"failures-{tag}")["QueueUrl"]
    lam.put_function_event_invoke_config(FunctionName="recorder", DestinationConfig={
        "OnFailure": {"Destination": f"arn:aws:sqs:us-east-1:{ACCOUNT}:failures-{tag}"}})
    try:
        bucket = f"failing-{tag}"
        s3.create_bucket(Bucket=bucket)
        notify(s3, bucket, events=["s3:ObjectCreated:*"])
        s3.put_object(Bucket=bucket, Key="please-fail.json", Body=b"{}")

        messages: list[dict] = []
        deadline = time.monotonic() + 60
        while not messages and time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        [message] = messages
        record = json.loads(message["Body"])
    finally:
        lam.delete_function_event_invoke_config(FunctionName="recorder")
    attempts = wait_for(endpoint, tag, 3)
    assert {a.request_id for a in attempts} == {record["requestContext"]["requestId"]}
    assert record["version"] == "1.0"
    assert record["requestContext"] == {
        "requestId": attempts[0].request_id, "functionArn": f"{RECORDER}:$LATEST",
        "condition": "RetriesExhausted", "approximateInvokeCount": 3}
    assert record["requestPayload"] == attempts[0].event
    [s3_record] = record["requestPayload"]["Records"]
    assert s3_record["eventSource"] == "aws:s3" and s3_record["eventName"] == "ObjectCreated:Put"
    assert s3_record["s3"]["bucket"]["name"] == bucket and s3_record["s3"]["object"]["key"] == "please-fail.json"
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorMessage"] == "failing as asked"
