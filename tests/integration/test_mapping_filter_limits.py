"""FilterCriteria limits, checked where production parses patterns (the same engine that matches
them) and answered through the API as AWS answers them."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from emulator.api.validation import SHOWN
from emulator.testing.pytest_plugin import client as plugin_client
from tests.conftest import lambda_client

LIMIT = 4096  # Lambda API: FilterCriteria.Filters.N.Pattern, "Maximum length of 4096"


@pytest.fixture(scope="module")
def queue_arn(process_endpoint: str) -> str:
    sqs = plugin_client(process_endpoint, "sqs")
    url = sqs.create_queue(QueueName=f"filter-limits-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def pattern_of_length(length: int) -> str:
    skeleton = json.dumps({"body": {"a": [""]}})
    text = json.dumps({"body": {"a": ["x" * (length - len(skeleton))]}})
    assert len(text) == length
    return text


def test_a_pattern_over_4096_characters_is_refused_as_aws_refuses_it(process_endpoint, queue_arn):
    lam = lambda_client(process_endpoint)
    long = pattern_of_length(5021)
    with pytest.raises(ClientError) as caught:
        lam.create_event_source_mapping(FunctionName="recorder", EventSourceArn=queue_arn,
                                        FilterCriteria={"Filters": [{"Pattern": '{"body": {"n": [1]}}'},
                                                                    {"Pattern": long}]})
    error = caught.value.response["Error"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        f"1 validation error detected: Value '{long[:SHOWN]}...' at 'filterCriteria.filters.2.member.pattern' "
        f"failed to satisfy constraint: Member must have length less than or equal to {LIMIT}")
    assert lam.list_event_source_mappings(EventSourceArn=queue_arn)["EventSourceMappings"] == []


def test_a_pattern_of_exactly_4096_characters_is_accepted_and_updates_are_checked_too(process_endpoint, queue_arn):
    lam = lambda_client(process_endpoint)
    mapping = lam.create_event_source_mapping(FunctionName="recorder", EventSourceArn=queue_arn, Enabled=False,
                                              FilterCriteria={"Filters": [{"Pattern": pattern_of_length(LIMIT)}]})
    try:
        assert len(mapping["FilterCriteria"]["Filters"][0]["Pattern"]) == LIMIT
        with pytest.raises(lam.exceptions.ClientError) as caught:
            lam.update_event_source_mapping(UUID=mapping["UUID"],
                                            FilterCriteria={"Filters": [{"Pattern": pattern_of_length(LIMIT + 1)}]})
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        kept = lam.get_event_source_mapping(UUID=mapping["UUID"])["FilterCriteria"]["Filters"][0]["Pattern"]
        assert len(kept) == LIMIT
    finally:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])
