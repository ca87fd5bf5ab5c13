"""Sample events (emulator/cli/sample_events.py): each source has the keys AWS documents for it.

Key sets are those of AWS's documented examples (URLs in the module's docstring and in
docs/aws-lambda-reference.md, section 13).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime

import pytest

from emulator.cli.sample_events import SOURCES, SampleEventError, generate, options_of
from emulator.esm.mappings import source_kind

NOW = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC).timestamp()
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ISO_S = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CLF = re.compile(r"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000$")


def sample(kind: str, /, **options) -> dict:
    return generate(kind, region="eu-west-1", account_id="111122223333", now=NOW, **options)


@pytest.mark.parametrize("source", SOURCES)
def test_every_sample_is_json_and_round_trips(source):
    event = sample(source)
    assert json.loads(json.dumps(event)) == event


def test_sqs_record_has_the_documented_keys():
    record, = sample("sqs", queue="orders", body="hi")["Records"]
    assert set(record) == {"messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
                           "eventSource", "eventSourceARN", "awsRegion"}
    assert set(record["attributes"]) == {"ApproximateReceiveCount", "SentTimestamp", "SenderId",
                                         "ApproximateFirstReceiveTimestamp"}
    assert record["body"] == "hi" and record["md5OfBody"] == hashlib.md5(b"hi").hexdigest()
    assert record["eventSource"] == "aws:sqs" and record["awsRegion"] == "eu-west-1"
    assert record["eventSourceARN"] == "arn:aws:sqs:eu-west-1:111122223333:orders"
    assert source_kind(record["eventSourceARN"]) == "sqs"
    assert record["attributes"]["SentTimestamp"] == str(int(NOW * 1000))
    assert record["messageAttributes"] == {}


def test_sqs_fifo_queue_and_arn():
    record, = sample("sqs", queue="arn:aws:sqs:us-west-2:123456789012:jobs.fifo")["Records"]
    assert record["eventSourceARN"] == "arn:aws:sqs:us-west-2:123456789012:jobs.fifo"
    assert record["awsRegion"] == "us-west-2"
    assert {"SequenceNumber", "MessageGroupId", "MessageDeduplicationId"} <= set(record["attributes"])


def test_s3_put_has_the_event_structure_of_version_2_1():
    record, = sample("s3", bucket="photos", key="red flower.jpg", size=7)["Records"]
    assert set(record) == {"eventVersion", "eventSource", "awsRegion", "eventTime", "eventName", "userIdentity",
                           "requestParameters", "responseElements", "s3"}
    assert record["eventVersion"] == "2.1" and record["eventSource"] == "aws:s3"
    assert record["eventName"] == "ObjectCreated:Put" and ISO_MS.match(record["eventTime"])
    assert record["eventTime"] == "2024-05-01T12:00:00.123Z"
    assert set(record["responseElements"]) == {"x-amz-request-id", "x-amz-id-2"}
    s3 = record["s3"]
    assert set(s3) == {"s3SchemaVersion", "configurationId", "bucket", "object"}
    assert s3["bucket"] == {"name": "photos", "ownerIdentity": s3["bucket"]["ownerIdentity"], "arn": "arn:aws:s3:::photos"}
    assert set(s3["object"]) == {"key", "size", "eTag", "sequencer"}
    assert s3["object"]["key"] == "red+flower.jpg" and s3["object"]["size"] == 7
    assert re.fullmatch(r"[0-9a-f]{32}", s3["object"]["eTag"])


def test_s3_delete_carries_no_size_or_etag():
    record, = sample("s3-delete", bucket="photos", key="a/b.txt")["Records"]
    assert record["eventName"] == "ObjectRemoved:Delete"
    assert set(record["s3"]["object"]) == {"key", "sequencer"}
    assert record["s3"]["object"]["key"] == "a/b.txt"


def test_sns_record_has_the_documented_keys():
    record, = sample("sns", topic="alerts", message="disk full")["Records"]
    assert set(record) == {"EventVersion", "EventSubscriptionArn", "EventSource", "Sns"}
    assert record["EventVersion"] == "1.0" and record["EventSource"] == "aws:sns"
    sns = record["Sns"]
    assert set(sns) == {"Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion",
                        "Signature", "SigningCertUrl", "UnsubscribeUrl", "MessageAttributes"}
    assert sns["TopicArn"] == "arn:aws:sns:eu-west-1:111122223333:alerts"
    assert record["EventSubscriptionArn"].startswith(sns["TopicArn"] + ":")
    assert sns["Type"] == "Notification" and sns["Message"] == "disk full" and sns["Subject"] is None
    assert sns["Timestamp"] == "2024-05-01T12:00:00.123Z" and sns["SignatureVersion"] == "1"
    assert len(base64.b64decode(sns["Signature"])) == 256
    assert sns["UnsubscribeUrl"].endswith("SubscriptionArn=" + record["EventSubscriptionArn"])
    assert sample("sns", subject="Hi")["Records"][0]["Sns"]["Subject"] == "Hi"


def test_dynamodb_insert_record():
    record, = sample("dynamodb", table="orders", item={"id": "1", "total": 2.5, "paid": True, "tags": ["a"]})["Records"]
    assert set(record) == {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb",
                           "eventSourceARN"}
    assert record["eventName"] == "INSERT" and record["eventSource"] == "aws:dynamodb"
    assert record["eventVersion"] == "1.1" and re.fullmatch(r"[0-9a-f]{32}", record["eventID"])
    change = record["dynamodb"]
    assert set(change) == {"ApproximateCreationDateTime", "Keys", "NewImage", "SequenceNumber", "SizeBytes",
                           "StreamViewType"}
    assert change["Keys"] == {"id": {"S": "1"}}
    assert change["NewImage"] == {"id": {"S": "1"}, "total": {"N": "2.5"}, "paid": {"BOOL": True},
                                  "tags": {"L": [{"S": "a"}]}}
    assert change["StreamViewType"] == "NEW_AND_OLD_IMAGES" and change["SequenceNumber"].isdigit()
    assert change["ApproximateCreationDateTime"] == float(int(NOW))
    assert re.fullmatch(r"arn:aws:dynamodb:eu-west-1:111122223333:table/orders/stream/"
                        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", record["eventSourceARN"])
    assert source_kind(record["eventSourceARN"]) == "dynamodb"


def test_dynamodb_modify_and_remove_images():
    modify = sample("dynamodb", event_name="modify", item={"pk": "k", "v": 2}, old_item={"pk": "k", "v": 1},
                    key_names="pk")["Records"][0]
    assert modify["eventName"] == "MODIFY"
    assert modify["dynamodb"]["OldImage"]["v"] == {"N": "1"} and modify["dynamodb"]["NewImage"]["v"] == {"N": "2"}
    remove = sample("dynamodb", event_name="REMOVE")["Records"][0]["dynamodb"]
    assert "NewImage" not in remove and remove["OldImage"] == {"id": {"S": "1"}, "message": {"S": "hello"}}


@pytest.mark.parametrize(("options", "message"), [
    ({"event_name": "UPSERT"}, "INSERT, MODIFY or REMOVE"),
    ({"item": {"name": "x"}}, "the key attribute(s) id must be in the item"),
    ({"item": ["not", "an", "object"]}, "--item must be a non-empty JSON object"),
])
def test_dynamodb_bad_options(options, message):
    with pytest.raises(SampleEventError, match=re.escape(message)):
        sample("dynamodb", **options)


ENVELOPE = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}


def test_scheduled_event():
    event = sample("schedule", rule="nightly")
    assert set(event) == ENVELOPE
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:eu-west-1:111122223333:rule/nightly"]
    assert event["time"] == "2024-05-01T12:00:00Z" and event["detail"] == {} and event["version"] == "0"
    assert event["account"] == "111122223333" and event["region"] == "eu-west-1"


def test_eventbridge_event():
    event = sample("eventbridge", source="shop", detail_type="Order Placed", detail={"id": 7})
    assert set(event) == ENVELOPE
    assert (event["source"], event["detail-type"], event["detail"]) == ("shop", "Order Placed", {"id": 7})
    assert ISO_S.match(event["time"]) and event["resources"] == []
    with pytest.raises(SampleEventError, match="--detail must be a JSON object"):
        sample("eventbridge", detail=[1])


def test_apigateway_rest_proxy_request():
    event = sample("apigateway", path="orders/7", method="post", body='{"a": 1}', query="a=1&b=2&b=3")
    assert set(event) == {"resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
                          "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext",
                          "body", "isBase64Encoded"}
    assert (event["path"], event["httpMethod"], event["resource"]) == ("/orders/7", "POST", "/{proxy+}")
    assert event["pathParameters"] == {"proxy": "orders/7"}
    assert event["queryStringParameters"] == {"a": "1", "b": "3"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1"], "b": ["2", "3"]}
    assert event["multiValueHeaders"] == {name: [value] for name, value in event["headers"].items()}
    assert event["headers"]["Content-Type"] == "application/json"
    assert event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert {"accountId", "apiId", "domainName", "domainPrefix", "extendedRequestId", "httpMethod", "identity", "path",
            "protocol", "requestId", "requestTime", "requestTimeEpoch", "resourceId", "resourcePath",
            "stage"} == set(context)
    assert context["path"] == f"/{context['stage']}/orders/7" and context["httpMethod"] == "POST"
    assert CLF.match(context["requestTime"]) and context["requestTime"] == "01/May/2024:12:00:00 +0000"
    assert context["requestTimeEpoch"] == int(NOW * 1000) and context["accountId"] == "111122223333"
    assert context["identity"]["sourceIp"] == "127.0.0.1" and context["identity"]["userArn"] is None


def test_apigateway_rest_request_without_query_or_body():
    event = sample("apigateway")
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["body"] is None and "Content-Type" not in event["headers"]


def test_apigateway_http_api_request_payload_2_0():
    event = sample("apigateway-v2")
    assert set(event) == {"version", "routeKey", "rawPath", "rawQueryString", "headers", "requestContext",
                          "isBase64Encoded"}
    assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "$default", "/hello")
    assert all(name == name.lower() for name in event["headers"])
    context = event["requestContext"]
    assert set(context) == {"accountId", "apiId", "domainName", "domainPrefix", "http", "requestId", "routeKey",
                            "stage", "time", "timeEpoch"}
    assert set(context["http"]) == {"method", "path", "protocol", "sourceIp", "userAgent"}
    assert CLF.match(context["time"]) and context["timeEpoch"] == int(NOW * 1000)

    full = sample("apigateway-v2", path="/items", method="put", body="x", query="?a=1&a=2&b=")
    assert full["rawQueryString"] == "a=1&a=2&b="
    assert full["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert full["body"] == "x" and full["headers"]["content-length"] == "1"
    assert full["requestContext"]["http"]["method"] == "PUT" and full["requestContext"]["http"]["path"] == "/items"


def test_unknown_source_and_options_that_do_not_apply():
    with pytest.raises(SampleEventError, match="unknown event source 'kafka'"):
        generate("kafka")
    with pytest.raises(SampleEventError, match=re.escape("--bucket does not apply to sqs (it applies to s3, s3-delete)")):
        generate("sqs", bucket="b")
    assert options_of("s3") == ("bucket", "key", "size")
    assert options_of("schedule") == ("rule",)


def test_http_samples_come_from_the_frontdoor_builders_and_validate_with_powertools():
    """The samples are what the front door delivers (same builders), so Powertools' models take them."""
    from aws_lambda_powertools.utilities.parser.models import (
        AlbModel,
        APIGatewayProxyEventModel,
        APIGatewayProxyEventV2Model,
        LambdaFunctionUrlModel,
    )

    options = {"path": "/a b/c", "method": "post", "body": '{"a": 1}', "query": "x=1&x=2"}
    APIGatewayProxyEventModel.model_validate(rest := sample("apigateway", **options))
    APIGatewayProxyEventV2Model.model_validate(sample("apigateway-v2", **options))
    LambdaFunctionUrlModel.model_validate(url := sample("function-url", **options))
    AlbModel.model_validate(alb := sample("alb", **options))
    assert rest["path"] == "/a b/c" and rest["pathParameters"] == {"proxy": "a b/c"}
    assert sample("apigateway", path="/")["resource"] == "/" and sample("apigateway", path="/")["pathParameters"] is None
    assert url["rawPath"] == "/a%20b/c" and url["requestContext"]["accountId"] == "anonymous"
    assert alb["path"] == "/a%20b/c" and alb["queryStringParameters"] == {"x": "2"}


def test_function_url_request():
    event = sample("function-url")
    assert set(event) == {"version", "routeKey", "rawPath", "rawQueryString", "headers", "requestContext",
                          "isBase64Encoded"}
    context = event["requestContext"]
    url_id = context["apiId"]
    assert (context["domainName"], context["domainPrefix"]) == (f"{url_id}.lambda-url.eu-west-1.on.aws", url_id)
    assert (context["routeKey"], context["stage"], event["routeKey"]) == ("$default", "$default", "$default")
    assert CLF.match(context["time"]) and context["timeEpoch"] == int(NOW * 1000)
    full = sample("function-url", query="a=1&a=2", body="hi")
    assert full["queryStringParameters"] == {"a": "1,2"} and full["body"] == "hi"


def test_alb_request():
    event = sample("alb", query="name=J%C3%BCrgen", method="put", body="{}")
    assert set(event) == {"requestContext", "httpMethod", "path", "queryStringParameters", "headers", "body",
                          "isBase64Encoded"}
    assert event["requestContext"]["elb"]["targetGroupArn"] == (
        "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/my-target-group/6d0ecf831eec9f09")
    assert event["queryStringParameters"] == {"name": "J%C3%BCrgen"}  # the load balancer does not decode
    assert event["httpMethod"] == "PUT" and event["body"] == "{}" and event["isBase64Encoded"] is False
    assert {"x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"} <= set(event["headers"])
    assert sample("alb")["body"] == "" and sample("alb")["queryStringParameters"] == {}
