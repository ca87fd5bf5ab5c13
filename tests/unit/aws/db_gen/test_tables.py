"""db_gen.tables: describe-table cleanup, CreateTable validation, key schema and billing checks."""

from __future__ import annotations

import json

import pytest

from emulator.aws.db_gen.files import DbGenError
from emulator.aws.db_gen.tables import load_table_definition
from tests.unit.aws.db_gen.samples import DESCRIBE_ON_DEMAND, WORDS_REQUEST, write

EXPECTED_ON_DEMAND_REQUEST = {
    "AttributeDefinitions": DESCRIBE_ON_DEMAND["Table"]["AttributeDefinitions"],
    "TableName": "orders",
    "KeySchema": DESCRIBE_ON_DEMAND["Table"]["KeySchema"],
    "BillingMode": "PAY_PER_REQUEST",
    "LocalSecondaryIndexes": [{
        "IndexName": "placed_at-lsi",
        "KeySchema": [
            {"AttributeName": "customer", "KeyType": "HASH"},
            {"AttributeName": "placed_at", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }],
    "GlobalSecondaryIndexes": [{
        "IndexName": "status-index",
        "KeySchema": [
            {"AttributeName": "status", "KeyType": "HASH"},
            {"AttributeName": "placed_at", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]},
    }],
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    "TableClass": "STANDARD_INFREQUENT_ACCESS",
    "DeletionProtectionEnabled": True,
}

DESCRIBE_PROVISIONED = {
    "Table": {
        "AttributeDefinitions": [
            {"AttributeName": "id", "AttributeType": "N"},
            {"AttributeName": "kind", "AttributeType": "S"},
        ],
        "TableName": "things",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "TableStatus": "ACTIVE",
        "CreationDateTime": 1714637472.345,
        "ProvisionedThroughput": {
            "LastIncreaseDateTime": 1714637472.345,
            "NumberOfDecreasesToday": 1,
            "ReadCapacityUnits": 5,
            "WriteCapacityUnits": 3,
        },
        "TableSizeBytes": 0,
        "ItemCount": 0,
        "TableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/things",
        "TableId": "11111111-2222-3333-4444-555555555555",
        "GlobalSecondaryIndexes": [{
            "IndexName": "kind-index",
            "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
            "IndexStatus": "ACTIVE",
            "ProvisionedThroughput": {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 2, "WriteCapacityUnits": 1},
            "IndexSizeBytes": 0,
            "ItemCount": 0,
            "IndexArn": "arn:aws:dynamodb:us-east-1:123456789012:table/things/index/kind-index",
        }],
        "DeletionProtectionEnabled": False,
    }
}


# --------------------------------------------------------------------------- table definitions


def test_plain_create_table_request_passes_through(tmp_path):
    assert load_table_definition(write(tmp_path, "words.json", WORDS_REQUEST)) == WORDS_REQUEST


def test_table_name_defaults_to_stem_and_billing_to_on_demand(tmp_path):
    body = {k: v for k, v in WORDS_REQUEST.items() if k not in ("TableName", "BillingMode")}
    request = load_table_definition(write(tmp_path, "lexicon.json", body))
    assert request["TableName"] == "lexicon"
    assert request["BillingMode"] == "PAY_PER_REQUEST"


def test_describe_table_output_becomes_a_create_table_request(tmp_path):
    request = load_table_definition(write(tmp_path, "orders.json", DESCRIBE_ON_DEMAND))
    assert request == EXPECTED_ON_DEMAND_REQUEST


def test_describe_table_without_the_table_wrapper(tmp_path):
    request = load_table_definition(write(tmp_path, "orders.json", DESCRIBE_ON_DEMAND["Table"]))
    assert request == EXPECTED_ON_DEMAND_REQUEST


def test_provisioned_describe_table_keeps_capacity(tmp_path):
    request = load_table_definition(write(tmp_path, "things.json", DESCRIBE_PROVISIONED))
    assert request == {
        "AttributeDefinitions": DESCRIBE_PROVISIONED["Table"]["AttributeDefinitions"],
        "TableName": "things",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 3},
        "GlobalSecondaryIndexes": [{
            "IndexName": "kind-index",
            "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
            "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 1},
        }],
        "DeletionProtectionEnabled": False,
    }


def test_lsi_throughput_is_dropped(tmp_path):
    body = json.loads(json.dumps(DESCRIBE_ON_DEMAND))
    body["Table"]["LocalSecondaryIndexes"][0]["ProvisionedThroughput"] = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
    request = load_table_definition(write(tmp_path, "orders.json", body))
    assert "ProvisionedThroughput" not in request["LocalSecondaryIndexes"][0]


def test_unknown_key_is_reported_with_file_and_key(tmp_path):
    path = write(tmp_path, "words.json", {**WORDS_REQUEST, "BilingMode": "PAY_PER_REQUEST"})
    with pytest.raises(DbGenError) as info:
        load_table_definition(path)
    assert str(info.value).startswith(f"{path}: not a valid CreateTable request")
    assert 'Unknown parameter in input: "BilingMode"' in str(info.value)


def test_unknown_nested_key_and_wrong_type_are_reported(tmp_path):
    body = json.loads(json.dumps(WORDS_REQUEST))
    body["GlobalSecondaryIndexes"][0]["Projecton"] = {"ProjectionType": "ALL"}
    body["KeySchema"][0]["KeyType"] = 7
    with pytest.raises(DbGenError) as info:
        load_table_definition(write(tmp_path, "words.json", body))
    assert 'Unknown parameter in GlobalSecondaryIndexes[0]: "Projecton"' in str(info.value)
    assert "KeySchema[0].KeyType" in str(info.value)


def test_table_file_must_be_an_object(tmp_path):
    with pytest.raises(DbGenError, match="must hold a JSON object"):
        load_table_definition(write(tmp_path, "x.json", [1]))


def test_key_attribute_without_definition(tmp_path):
    body = {**WORDS_REQUEST, "AttributeDefinitions": [{"AttributeName": "word", "AttributeType": "S"}]}
    with pytest.raises(DbGenError, match="'language_code' of index 'language_code-index' has no entry in AttributeDefinitions"):
        load_table_definition(write(tmp_path, "words.json", body))


def test_unused_attribute_definition(tmp_path):
    body = {**WORDS_REQUEST, "AttributeDefinitions": WORDS_REQUEST["AttributeDefinitions"] + [
        {"AttributeName": "meaning", "AttributeType": "S"}]}
    with pytest.raises(DbGenError, match="'meaning', used by no key schema"):
        load_table_definition(write(tmp_path, "words.json", body))


def test_on_demand_with_throughput_is_refused(tmp_path):
    body = {**WORDS_REQUEST, "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}}
    with pytest.raises(DbGenError, match="cannot be given with BillingMode PAY_PER_REQUEST"):
        load_table_definition(write(tmp_path, "words.json", body))


def test_provisioned_without_throughput_is_refused(tmp_path):
    body = {**WORDS_REQUEST, "BillingMode": "PROVISIONED"}
    with pytest.raises(DbGenError, match="PROVISIONED needs ProvisionedThroughput"):
        load_table_definition(write(tmp_path, "words.json", body))
