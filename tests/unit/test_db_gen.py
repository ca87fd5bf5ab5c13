"""db_gen's pure logic: format detection, describe-table cleanup, validation and error messages."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from emulator.aws.db_gen import (
    DbGenError,
    Progress,
    SeedReport,
    TableResult,
    check_item_keys,
    dedupe_by_key,
    detect_format,
    is_dynamodb_json,
    load_items,
    load_table_definition,
    to_dynamodb_items,
)

WORDS_REQUEST = {
    "TableName": "words",
    "KeySchema": [{"AttributeName": "word", "KeyType": "HASH"}],
    "AttributeDefinitions": [
        {"AttributeName": "word", "AttributeType": "S"},
        {"AttributeName": "language_code", "AttributeType": "S"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
    "GlobalSecondaryIndexes": [{
        "IndexName": "language_code-index",
        "KeySchema": [{"AttributeName": "language_code", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
    }],
}

# `aws dynamodb describe-table --table-name orders` of an on-demand table, every read-only field in.
DESCRIBE_ON_DEMAND = {
    "Table": {
        "AttributeDefinitions": [
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "order_id", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "placed_at", "AttributeType": "N"},
        ],
        "TableName": "orders",
        "KeySchema": [
            {"AttributeName": "customer", "KeyType": "HASH"},
            {"AttributeName": "order_id", "KeyType": "RANGE"},
        ],
        "TableStatus": "ACTIVE",
        "CreationDateTime": "2024-05-02T10:11:12.345000+02:00",
        "ProvisionedThroughput": {
            "LastIncreaseDateTime": "2024-05-02T10:11:12.345000+02:00",
            "LastDecreaseDateTime": "2024-05-02T10:11:12.345000+02:00",
            "NumberOfDecreasesToday": 0,
            "ReadCapacityUnits": 0,
            "WriteCapacityUnits": 0,
        },
        "TableSizeBytes": 123456,
        "ItemCount": 789,
        "TableArn": "arn:aws:dynamodb:eu-south-1:123456789012:table/orders",
        "TableId": "0f3c5c3e-1d2b-4c5d-9e8f-123456789abc",
        "BillingModeSummary": {
            "BillingMode": "PAY_PER_REQUEST",
            "LastUpdateToPayPerRequestDateTime": "2024-05-02T10:11:12.345000+02:00",
        },
        "LocalSecondaryIndexes": [{
            "IndexName": "placed_at-lsi",
            "KeySchema": [
                {"AttributeName": "customer", "KeyType": "HASH"},
                {"AttributeName": "placed_at", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
            "IndexSizeBytes": 2048,
            "ItemCount": 789,
            "IndexArn": "arn:aws:dynamodb:eu-south-1:123456789012:table/orders/index/placed_at-lsi",
        }],
        "GlobalSecondaryIndexes": [{
            "IndexName": "status-index",
            "KeySchema": [
                {"AttributeName": "status", "KeyType": "HASH"},
                {"AttributeName": "placed_at", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]},
            "IndexStatus": "ACTIVE",
            "Backfilling": False,
            "ProvisionedThroughput": {
                "NumberOfDecreasesToday": 0,
                "ReadCapacityUnits": 0,
                "WriteCapacityUnits": 0,
            },
            "IndexSizeBytes": 4096,
            "ItemCount": 789,
            "IndexArn": "arn:aws:dynamodb:eu-south-1:123456789012:table/orders/index/status-index",
            "OnDemandThroughput": {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1},
            "WarmThroughput": {"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000, "Status": "ACTIVE"},
        }],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "LatestStreamLabel": "2024-05-02T08:11:12.345",
        "LatestStreamArn": "arn:aws:dynamodb:eu-south-1:123456789012:table/orders/stream/2024-05-02T08:11:12.345",
        "GlobalTableVersion": "2019.11.21",
        "Replicas": [{"RegionName": "eu-west-1", "ReplicaStatus": "ACTIVE"}],
        "RestoreSummary": {
            "SourceBackupArn": "arn:aws:dynamodb:eu-south-1:123456789012:table/orders/backup/01234",
            "SourceTableArn": "arn:aws:dynamodb:eu-south-1:123456789012:table/orders-old",
            "RestoreDateTime": "2024-05-01T00:00:00+00:00",
            "RestoreInProgress": False,
        },
        "SSEDescription": {
            "Status": "ENABLED",
            "SSEType": "KMS",
            "KMSMasterKeyArn": "arn:aws:kms:eu-south-1:123456789012:key/abcd",
        },
        "ArchivalSummary": {"ArchivalDateTime": "2024-05-01T00:00:00+00:00", "ArchivalReason": "x"},
        "TableClassSummary": {"TableClass": "STANDARD_INFREQUENT_ACCESS", "LastUpdateDateTime": "2024-05-01T00:00:00+00:00"},
        "DeletionProtectionEnabled": True,
        "OnDemandThroughput": {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1},
        "WarmThroughput": {"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000, "Status": "ACTIVE"},
        "MultiRegionConsistency": "EVENTUAL",
    }
}

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


def write(tmp_path: Path, name: str, content) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- errors, report


def test_db_gen_error_names_file_and_message():
    error = DbGenError(Path("db_gen/tables/x.json"), "bad things")
    assert str(error) == "db_gen/tables/x.json: bad things"
    assert (error.file, error.message) == ("db_gen/tables/x.json", "bad things")


def test_seed_report_ok_and_summary():
    report = SeedReport([
        TableResult("words", 21, 0.25),
        TableResult("broken", 0, 0.0, "invalid JSON at line 2, column 3: Expecting value", "db_gen/tables/broken.json"),
    ])
    assert not report.ok
    assert [r.table for r in report.errors] == ["broken"]
    text = report.summary()
    assert "1 table seeded (21 items), 1 error" in text
    assert "words" in text and "21 items in 0.25 s" in text
    assert "ERROR db_gen/tables/broken.json: invalid JSON at line 2, column 3" in text
    assert SeedReport([]).ok
    assert "no tables" in SeedReport([]).summary()


# --------------------------------------------------------------------------- formats


def test_dynamodb_json_detection():
    assert is_dynamodb_json({"word": {"S": "ciao"}, "n": {"N": "1"}, "x": {"NULL": True}})
    assert not is_dynamodb_json({"word": "ciao", "n": 1})
    assert not is_dynamodb_json({"word": {"S": "ciao"}, "n": 1})
    assert not is_dynamodb_json({"meta": {"S": "x", "N": "1"}})
    assert not is_dynamodb_json({"meta": {"X": "x"}})
    assert not is_dynamodb_json({})


def test_detect_format_whole_file():
    assert detect_format([{"a": 1}, {"b": {"S": "x"}, "c": 2}]) == "plain"
    assert detect_format([{"a": {"S": "x"}}, {}, {"b": {"N": "2"}}]) == "dynamodb"
    assert detect_format([]) == "plain"


def test_mixed_formats_name_the_first_offending_item():
    with pytest.raises(ValueError) as info:
        detect_format([{"a": {"S": "x"}}, {"a": {"S": "y"}}, {"a": "z"}, {"a": "w"}])
    assert "item 0 is DynamoDB JSON" in str(info.value) and "item 2 is plain JSON" in str(info.value)


def test_non_object_item_is_named():
    with pytest.raises(ValueError, match="item 1 is not a JSON object"):
        detect_format([{"a": 1}, [1, 2]])


def test_plain_items_are_serialized_with_decimal_numbers(tmp_path):
    path = write(tmp_path, "t.json", '[{"word": "ciao", "n": 1, "f": 0.1, "tags": ["a", 2], "m": {"x": null, "ok": true}}]')
    assert load_items(path) == [{
        "word": {"S": "ciao"}, "n": {"N": "1"}, "f": {"N": "0.1"},
        "tags": {"L": [{"S": "a"}, {"N": "2"}]},
        "m": {"M": {"x": {"NULL": True}, "ok": {"BOOL": True}}},
    }]


def test_dynamodb_json_items_are_checked_and_binary_decoded(tmp_path):
    items = [{
        "word": {"S": "ciao"}, "n": {"N": "1.50"}, "blob": {"B": "aGVsbG8="},
        "bs": {"BS": ["AQ==", "Ag=="]}, "ns": {"NS": ["1", "2"]}, "ss": {"SS": ["a"]},
        "m": {"M": {"inner": {"L": [{"BOOL": False}, {"NULL": True}]}}},
    }]
    [item] = load_items(write(tmp_path, "t.json", items))
    assert item["blob"] == {"B": b"hello"}
    assert item["bs"] == {"BS": [b"\x01", b"\x02"]}
    assert item["n"] == {"N": "1.50"}
    assert item["m"] == {"M": {"inner": {"L": [{"BOOL": False}, {"NULL": True}]}}}


@pytest.mark.parametrize("value, message", [
    ({"N": "abc"}, "'abc' is not a number"),
    ({"S": 5}, "expected a string"),
    ({"B": "not base64!"}, "not valid base64"),
    ({"NULL": False}, "must be true"),
    ({"BOOL": "yes"}, "expected true or false"),
    ({"SS": []}, "non-empty list"),
    ({"NS": ["1", "1.0"]}, "duplicates"),
    ({"M": {"x": "plain"}}, "expected a type descriptor"),
])
def test_bad_typed_values_name_item_and_attribute(value, message):
    with pytest.raises(ValueError) as info:
        to_dynamodb_items([{"k": {"S": "x"}}, {"k": {"S": "y"}, "bad": value}])
    assert "item 1, attribute 'bad'" in str(info.value)
    assert message in str(info.value)


def test_unstorable_plain_number_is_named(tmp_path):
    path = write(tmp_path, "t.json", '[{"k": "x", "big": 1.23456789012345678901234567890123456789012}]')
    with pytest.raises(DbGenError) as info:
        load_items(path)
    assert str(info.value).startswith(f"{path}: item 0, attribute 'big'")


# --------------------------------------------------------------------------- data file shapes


def test_scan_output_shape(tmp_path):
    scan = {"Items": [{"word": {"S": "ciao"}}], "Count": 1, "ScannedCount": 1, "ConsumedCapacity": None}
    assert load_items(write(tmp_path, "t.json", scan)) == [{"word": {"S": "ciao"}}]


def test_batch_write_shape(tmp_path):
    batch = {"words": [{"PutRequest": {"Item": {"word": {"S": "ciao"}}}}, {"PutRequest": {"Item": {"word": {"S": "hola"}}}}]}
    assert load_items(write(tmp_path, "t.json", batch)) == [{"word": {"S": "ciao"}}, {"word": {"S": "hola"}}]


def test_batch_write_delete_request_is_refused(tmp_path):
    batch = {"words": [{"PutRequest": {"Item": {"word": {"S": "a"}}}}, {"DeleteRequest": {"Key": {"word": {"S": "b"}}}}]}
    path = write(tmp_path, "t.json", batch)
    with pytest.raises(DbGenError, match="request 1: only"):
        load_items(path)


def test_batch_write_for_several_tables_is_refused(tmp_path):
    path = write(tmp_path, "t.json", {"a": [], "b": []})
    with pytest.raises(DbGenError, match="several tables"):
        load_items(path)


def test_unknown_data_shape(tmp_path):
    path = write(tmp_path, "t.json", {"word": "ciao"})
    with pytest.raises(DbGenError, match="expected a JSON list of items"):
        load_items(path)


def test_invalid_json_names_line_and_column(tmp_path):
    path = write(tmp_path, "t.json", '[\n  {"word": "ciao"},\n  {"word": "hola",}\n]')
    with pytest.raises(DbGenError) as info:
        load_items(path)
    assert str(info.value).startswith(f"{path}: invalid JSON at line 3, column 19")


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


# --------------------------------------------------------------------------- keys


def test_missing_hash_key_names_item_index():
    items = [{"word": {"S": "ciao"}}, {"meaning": {"S": "hello"}}]
    with pytest.raises(ValueError, match="item 1 has no key attribute 'word'"):
        check_item_keys(items, WORDS_REQUEST)


def test_key_of_the_wrong_type():
    with pytest.raises(ValueError, match="item 0: key attribute 'word' is of type N, the table defines it as S"):
        check_item_keys([{"word": {"N": "1"}}], WORDS_REQUEST)


def test_index_key_of_the_wrong_type():
    with pytest.raises(ValueError, match="'language_code' \\(key of index 'language_code-index'\\) is of type N"):
        check_item_keys([{"word": {"S": "a"}, "language_code": {"N": "1"}}], WORDS_REQUEST)


def test_empty_key_value():
    with pytest.raises(ValueError, match="item 0: key attribute 'word' is empty"):
        check_item_keys([{"word": {"S": ""}}], WORDS_REQUEST)


def test_sparse_index_attribute_may_be_missing():
    check_item_keys([{"word": {"S": "a"}}], WORDS_REQUEST)


def test_dedupe_keeps_the_last_item_per_key():
    request = {**WORDS_REQUEST, "KeySchema": [{"AttributeName": "n", "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": "n", "AttributeType": "N"}]}
    items = [{"n": {"N": "1"}, "v": {"S": "a"}}, {"n": {"N": "2"}}, {"n": {"N": "1.0"}, "v": {"S": "b"}}]
    assert dedupe_by_key(items, request) == [{"n": {"N": "1.0"}, "v": {"S": "b"}}, {"n": {"N": "2"}}]


# --------------------------------------------------------------------------- progress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_lines_when_not_a_tty():
    stream = io.StringIO()
    bar = Progress(stream, "big", 100)
    for _ in range(10):
        bar.advance(10)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("big: 10/100 items (10%)")
    assert lines[-1].startswith("big: 100/100 items (100%)")
    assert len(lines) == 10


def test_progress_bar_on_a_tty():
    stream = FakeTTY()
    bar = Progress(stream, "big", 50, width=10)
    bar.advance(25)
    bar.advance(25)
    bar.close()
    text = stream.getvalue()
    assert text.startswith("\rbig [#####-----] 25/50  50%")
    assert "\rbig [##########] 50/50 100%" in text
    assert text.endswith("\n")


def test_decimal_numbers_keep_precision(tmp_path):
    [item] = load_items(write(tmp_path, "t.json", '[{"k": "x", "p": 3.14159265358979323846}]'))
    assert Decimal(item["p"]["N"]) == Decimal("3.14159265358979323846")
