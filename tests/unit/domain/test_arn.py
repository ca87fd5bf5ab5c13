"""ARNs as values (emulator/domain/arn.py): parsed once, read by name, one error for a non-ARN."""

from __future__ import annotations

import pytest

from emulator.domain.arn import Arn, InvalidArn


def test_the_parts_of_an_arn():
    arn = Arn.parse("arn:aws:sqs:eu-west-1:123456789012:orders.fifo")
    assert (arn.partition, arn.service, arn.region, arn.account, arn.resource) == (
        "aws", "sqs", "eu-west-1", "123456789012", "orders.fifo")
    assert (arn.resource_type, arn.resource_id, arn.name) == ("", "orders.fifo", "orders.fifo")
    assert str(arn) == "arn:aws:sqs:eu-west-1:123456789012:orders.fifo"


@pytest.mark.parametrize(("text", "kind", "ident", "name"), [
    ("arn:aws:lambda:us-east-1:123456789012:function:f", "function", "f", "f"),
    ("arn:aws:kinesis:us-east-1:123456789012:stream/clicks", "stream", "clicks", "clicks"),
    ("arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000", "table",
     "t/stream/2024-01-01T00:00:00.000", "2024-01-01T00:00:00.000"),
    ("arn:aws:events:us-east-1:123456789012:rule/bus/nightly", "rule", "bus/nightly", "nightly"),
    ("arn:aws:states:us-east-1:123456789012:stateMachine:flow", "stateMachine", "flow", "flow"),
])
def test_typed_resources_split_at_the_first_slash_or_colon(text, kind, ident, name):
    arn = Arn.parse(text)
    assert (arn.resource_type, arn.resource_id, arn.name) == (kind, ident, name)


def test_a_function_arn_names_the_function_and_its_qualifier():
    plain = Arn.parse("arn:aws:lambda:us-east-1:123456789012:function:hello")
    qualified = Arn.parse("arn:aws:lambda:us-east-1:123456789012:function:hello:live")
    assert (plain.function_name, plain.qualifier) == ("hello", None)
    assert (qualified.function_name, qualified.qualifier) == ("hello", "live")


def test_an_s3_bucket_arn_has_no_region_or_account():
    arn = Arn.parse("arn:aws:s3:::photos")
    assert (arn.service, arn.region, arn.account, arn.resource) == ("s3", "", "", "photos")


def test_a_partition_other_than_aws_is_read_too():
    assert Arn.parse("arn:aws-cn:sns:cn-north-1:123456789012:t").partition == "aws-cn"


@pytest.mark.parametrize("text", [
    "", "orders", "arn:aws:sqs", "arn:aws:sqs:us-east-1:123456789012", "urn:aws:sqs:us-east-1:1:q",
    "arn:aws::us-east-1:123456789012:q", "arn:aws:sqs:us-east-1:123456789012:", None, 42,
])
def test_anything_else_is_one_clear_error(text):
    with pytest.raises(InvalidArn) as caught:
        Arn.parse(text)
    assert str(caught.value) == f"{text!r} is not an ARN: an ARN is arn:partition:service:region:account:resource"
    assert isinstance(caught.value, ValueError)
    assert Arn.maybe(text) is None


def test_arns_are_values():
    text = "arn:aws:sns:us-east-1:123456789012:topic"
    assert Arn.parse(text) == Arn.parse(text)
    assert len({Arn.parse(text), Arn.parse(text)}) == 1
