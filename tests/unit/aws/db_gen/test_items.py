"""db_gen.items: format detection, typed-value checks, data file shapes, key checks, de-duplication."""

from __future__ import annotations

from decimal import Decimal

import pytest

from emulator.aws.db_gen.files import DbGenError
from emulator.aws.db_gen.items import (
    check_item_keys,
    dedupe_by_key,
    detect_format,
    is_dynamodb_json,
    load_items,
    to_dynamodb_items,
)
from tests.unit.aws.db_gen.samples import WORDS_REQUEST, write

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


def test_decimal_numbers_keep_precision(tmp_path):
    [item] = load_items(write(tmp_path, "t.json", '[{"k": "x", "p": 3.14159265358979323846}]'))
    assert Decimal(item["p"]["N"]) == Decimal("3.14159265358979323846")
