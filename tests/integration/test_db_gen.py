"""db_gen against a real moto server (server mode, on an ephemeral port): seeding end to end."""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from emulator.aws.db_gen import seed
from tests.unit.aws.db_gen.samples import DESCRIBE_ON_DEMAND, WORDS_REQUEST

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def dynamodb(moto_endpoint):
    """A client on a freshly reset moto."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"), timeout=10)
    return boto3.client(
        "dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
    )


class DbGenDir:
    """A db_gen folder in tmp_path: ``table(name, body)`` and ``data(name, body)`` write files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "tables").mkdir(parents=True)
        (root / "table_data").mkdir()

    def table(self, name: str, body: Any) -> Path:
        return self._write(self.root / "tables" / f"{name}.json", body)

    def data(self, name: str, body: Any) -> Path:
        return self._write(self.root / "table_data" / f"{name}.json", body)

    @staticmethod
    def _write(path: Path, body: Any) -> Path:
        path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
        return path


@pytest.fixture
def db_gen(tmp_path) -> DbGenDir:
    return DbGenDir(tmp_path / "db_gen")


def simple_table(name: str, key: str = "pk", key_type: str = "S") -> dict:
    return {
        "TableName": name,
        "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": key, "AttributeType": key_type}],
    }


def count(client, table: str) -> int:
    total, kwargs = 0, {}
    while True:
        page = client.scan(TableName=table, Select="COUNT", **kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def result(report, table: str):
    [found] = [r for r in report.results if r.table == table]
    return found


# --------------------------------------------------------------------------- the example


def test_example_words_table_is_seeded_and_its_index_queryable(dynamodb):
    report = seed(dynamodb, ROOT / "db_gen", progress=None)
    assert report.ok, report.summary()
    expected = len(json.loads((ROOT / "db_gen" / "table_data" / "words.json").read_text()))
    assert result(report, "words").items == expected == count(dynamodb, "words")
    italian = dynamodb.query(
        TableName="words", IndexName="language_code-index",
        KeyConditionExpression="language_code = :l", ExpressionAttributeValues={":l": {"S": "it"}},
    )["Items"]
    assert {item["word"]["S"] for item in italian} >= {"ciao", "grazie"}
    assert all(item["language_code"]["S"] == "it" for item in italian)
    ciao = dynamodb.get_item(TableName="words", Key={"word": {"S": "ciao"}})["Item"]
    assert ciao["meaning"] == {"S": "hello"} and ciao["frequency"] == {"N": "0.87"}


def test_get_words_handler_returns_every_word(dynamodb, moto_endpoint, monkeypatch):
    assert seed(dynamodb, ROOT / "db_gen", progress=None).ok
    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint, "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # a session built from the env above
    spec = importlib.util.spec_from_file_location("getWords", ROOT / "functions" / "getWords" / "getWords.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    event = json.loads((ROOT / "local_events" / "getWords.json").read_text())

    response = module.getWords_handler(event, None)

    expected = json.loads((ROOT / "db_gen" / "table_data" / "words.json").read_text())
    assert response["count"] == len(expected) == len(response["items"])
    assert {item["word"] for item in response["items"]} == {item["word"] for item in expected}
    ciao = next(item for item in response["items"] if item["word"] == "ciao")
    assert ciao == {"word": "ciao", "language_code": "it", "meaning": "hello", "letters": 4, "frequency": 0.87}
    assert isinstance(ciao["letters"], int)
    json.dumps(response)  # plain JSON: no Decimal left


def test_get_words_handler_paginates(dynamodb, db_gen, moto_endpoint, monkeypatch):
    """Items big enough that a Scan needs several pages (1 MB each)."""
    db_gen.table("words", WORDS_REQUEST)
    db_gen.data("words", [{"word": f"w{i:04d}", "language_code": "xx", "pad": "x" * 4000} for i in range(600)])
    assert seed(dynamodb, db_gen.root, progress=None).ok
    assert "LastEvaluatedKey" in dynamodb.scan(TableName="words")
    for name, value in {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    spec = importlib.util.spec_from_file_location("getWords", ROOT / "functions" / "getWords" / "getWords.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.getWords_handler({}, None)["count"] == 600


# --------------------------------------------------------------------------- formats and shapes


def test_plain_and_dynamodb_json_files(dynamodb, db_gen):
    db_gen.table("plain", simple_table("plain"))
    db_gen.data("plain", [{"pk": "a", "n": 1, "f": 2.5, "tags": ["x"], "m": {"deep": True}}, {"pk": "b"}])
    db_gen.table("typed", simple_table("typed", "id", "N"))
    db_gen.data("typed", [
        {"id": {"N": "1"}, "name": {"S": "one"}, "blob": {"B": "aGVsbG8="}, "ss": {"SS": ["a", "b"]}},
        {"id": {"N": "2"}, "m": {"M": {"l": {"L": [{"N": "3"}, {"NULL": True}]}}}},
    ])
    report = seed(dynamodb, db_gen.root, progress=None)
    assert report.ok, report.summary()
    assert (result(report, "plain").items, result(report, "typed").items) == (2, 2)
    a = dynamodb.get_item(TableName="plain", Key={"pk": {"S": "a"}})["Item"]
    assert a == {"pk": {"S": "a"}, "n": {"N": "1"}, "f": {"N": "2.5"}, "tags": {"L": [{"S": "x"}]},
                 "m": {"M": {"deep": {"BOOL": True}}}}
    one = dynamodb.get_item(TableName="typed", Key={"id": {"N": "1"}})["Item"]
    assert one["blob"] == {"B": b"hello"} and sorted(one["ss"]["SS"]) == ["a", "b"]


def test_scan_output_and_batch_write_files(dynamodb, db_gen):
    db_gen.table("scanned", simple_table("scanned"))
    db_gen.data("scanned", {
        "Items": [{"pk": {"S": "a"}, "v": {"N": "1"}}, {"pk": {"S": "b"}, "v": {"N": "2"}}],
        "Count": 2, "ScannedCount": 2, "ConsumedCapacity": None,
    })
    db_gen.table("batched", simple_table("batched"))
    db_gen.data("batched", {"batched": [
        {"PutRequest": {"Item": {"pk": {"S": "x"}}}},
        {"PutRequest": {"Item": {"pk": {"S": "y"}}}},
        {"PutRequest": {"Item": {"pk": {"S": "z"}}}},
    ]})
    report = seed(dynamodb, db_gen.root, progress=None)
    assert report.ok, report.summary()
    assert count(dynamodb, "scanned") == 2 and count(dynamodb, "batched") == 3


def test_scan_output_of_a_seeded_table_reseeds_it(dynamodb, db_gen, tmp_path):
    """`aws dynamodb scan` output written back as the data file round-trips (binary included)."""
    db_gen.table("t", simple_table("t"))
    db_gen.data("t", [{"pk": {"S": "a"}, "b": {"B": "AAEC"}, "n": {"N": "1.5"}}])
    assert seed(dynamodb, db_gen.root, progress=None).ok
    cli_like = dynamodb.scan(TableName="t")
    for item in cli_like["Items"]:  # the CLI prints binary as base64
        item["b"]["B"] = "AAEC"
    db_gen.data("t", {"Items": cli_like["Items"], "Count": cli_like["Count"]})
    assert seed(dynamodb, db_gen.root, progress=None).ok
    assert dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]["b"] == {"B": b"\x00\x01\x02"}


def test_batch_write_file_for_another_table_is_refused(dynamodb, db_gen):
    db_gen.table("t", simple_table("t"))
    data = db_gen.data("t", {"other": [{"PutRequest": {"Item": {"pk": {"S": "x"}}}}]})
    report = seed(dynamodb, db_gen.root, progress=None)
    assert result(report, "t").file == str(data)
    assert "for table 'other', not 't'" in result(report, "t").error


# --------------------------------------------------------------------------- describe-table files


def test_describe_table_file_is_seeded_with_its_indexes(dynamodb, db_gen):
    db_gen.table("orders", DESCRIBE_ON_DEMAND)
    db_gen.data("orders", [
        {"customer": "ada", "order_id": "o1", "status": "shipped", "placed_at": 3, "total": 10},
        {"customer": "ada", "order_id": "o2", "status": "open", "placed_at": 1, "total": 20},
        {"customer": "bob", "order_id": "o3", "status": "shipped", "placed_at": 2, "total": 30.5},
    ])
    for _ in range(2):  # the second run deletes a table with deletion protection on
        report = seed(dynamodb, db_gen.root, progress=None)
        assert report.ok, report.summary()
        assert result(report, "orders").items == 3

    table = dynamodb.describe_table(TableName="orders")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["status-index"]
    assert [i["IndexName"] for i in table["LocalSecondaryIndexes"]] == ["placed_at-lsi"]
    assert table["StreamSpecification"]["StreamEnabled"] is True

    shipped = dynamodb.query(
        TableName="orders", IndexName="status-index",
        KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "shipped"}},
    )["Items"]
    assert [item["order_id"]["S"] for item in shipped] == ["o3", "o1"]  # sorted by placed_at
    assert {"total", "customer", "order_id", "status", "placed_at"} == set(shipped[0])
    by_date = dynamodb.query(
        TableName="orders", IndexName="placed_at-lsi",
        KeyConditionExpression="customer = :c", ExpressionAttributeValues={":c": {"S": "ada"}},
    )["Items"]
    assert [item["order_id"]["S"] for item in by_date] == ["o2", "o1"]


# --------------------------------------------------------------------------- idempotence


def test_reseeding_is_idempotent_and_from_scratch(dynamodb, db_gen):
    db_gen.table("words", WORDS_REQUEST)
    items = [{"word": f"w{i}", "language_code": "it"} for i in range(60)]
    db_gen.data("words", items)
    dynamodb.create_table(**simple_table("untouched"), BillingMode="PAY_PER_REQUEST")
    dynamodb.put_item(TableName="untouched", Item={"pk": {"S": "keep"}})

    first = seed(dynamodb, db_gen.root, progress=None)
    dynamodb.put_item(TableName="words", Item={"word": {"S": "added-by-hand"}})
    second = seed(dynamodb, db_gen.root, progress=None)
    assert first.ok and second.ok
    assert result(first, "words").items == result(second, "words").items == 60 == count(dynamodb, "words")
    assert "Item" not in dynamodb.get_item(TableName="words", Key={"word": {"S": "added-by-hand"}})

    db_gen.data("words", items[:10])
    third = seed(dynamodb, db_gen.root, progress=None)
    assert result(third, "words").items == 10 == count(dynamodb, "words")
    assert "Item" not in dynamodb.get_item(TableName="words", Key={"word": {"S": "w42"}})
    assert count(dynamodb, "untouched") == 1  # tables not in db_gen are left alone
    assert [r.table for r in third.results] == ["words"]


def test_duplicate_keys_in_a_file_last_one_wins(dynamodb, db_gen):
    db_gen.table("t", simple_table("t"))
    db_gen.data("t", [{"pk": "a", "v": 1}, {"pk": "b"}, {"pk": "a", "v": 2}] * 20)
    report = seed(dynamodb, db_gen.root, progress=None)
    assert result(report, "t").items == 2 == count(dynamodb, "t")
    assert dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]["v"] == {"N": "2"}


# --------------------------------------------------------------------------- bad files


def test_broken_json_is_reported_and_other_tables_still_load(dynamodb, db_gen):
    broken = db_gen.table("broken", '{\n  "TableName": "broken",\n  "KeySchema": [\n}\n')
    db_gen.table("words", WORDS_REQUEST)
    db_gen.data("words", [{"word": "ciao", "language_code": "it"}])
    report = seed(dynamodb, db_gen.root, progress=None)
    assert not report.ok
    bad = result(report, "broken")
    assert bad.file == str(broken)
    assert bad.error.startswith("invalid JSON at line 4, column 1")
    assert f"{broken}: invalid JSON at line 4, column 1" in report.summary()
    assert result(report, "words").error is None and count(dynamodb, "words") == 1
    assert "broken" not in dynamodb.list_tables()["TableNames"]


def test_broken_data_file_names_line_and_column(dynamodb, db_gen):
    db_gen.table("t", simple_table("t"))
    data = db_gen.data("t", '[{"pk": "a"},\n {"pk": "b" "x": 1}]')
    report = seed(dynamodb, db_gen.root, progress=None)
    assert result(report, "t").file == str(data)
    assert result(report, "t").error.startswith("invalid JSON at line 2, column 13")


def test_validation_error_names_the_unknown_key(dynamodb, db_gen):
    bad = db_gen.table("t", {**simple_table("t"), "ProvisionedThroughpt": {"ReadCapacityUnits": 1}})
    report = seed(dynamodb, db_gen.root, progress=None)
    r = result(report, "t")
    assert r.file == str(bad)
    assert 'Unknown parameter in input: "ProvisionedThroughpt"' in r.error
    assert dynamodb.list_tables()["TableNames"] == []


def test_item_missing_the_hash_key_names_file_and_index(dynamodb, db_gen):
    db_gen.table("words", WORDS_REQUEST)
    data = db_gen.data("words", [{"word": "ciao"}, {"word": "hola"}, {"meaning": "orphan"}])
    report = seed(dynamodb, db_gen.root, progress=None)
    r = result(report, "words")
    assert (r.file, r.error) == (str(data), "item 2 has no key attribute 'word'")
    assert f"{data}: item 2 has no key attribute 'word'" in report.summary()


def test_item_of_the_wrong_type(dynamodb, db_gen):
    db_gen.table("t", simple_table("t", "id", "N"))
    data = db_gen.data("t", [{"id": 1}, {"id": "two"}])
    r = result(seed(dynamodb, db_gen.root, progress=None), "t")
    assert (r.file, r.error) == (str(data), "item 1: key attribute 'id' is of type S, the table defines it as N")


def test_mixed_formats_are_reported(dynamodb, db_gen):
    db_gen.table("t", simple_table("t"))
    data = db_gen.data("t", [{"pk": {"S": "a"}}, {"pk": {"S": "b"}}, {"pk": "c"}])
    r = result(seed(dynamodb, db_gen.root, progress=None), "t")
    assert r.file == str(data)
    assert "mixed item formats" in r.error and "item 2 is plain JSON" in r.error


def test_data_file_without_table_file(dynamodb, db_gen):
    db_gen.table("words", WORDS_REQUEST)
    orphan = db_gen.data("ghosts", [{"pk": "boo"}])
    report = seed(dynamodb, db_gen.root, progress=None)
    r = result(report, "ghosts")
    assert r.file == str(orphan)
    assert str(db_gen.root / "tables" / "ghosts.json") in r.error
    assert result(report, "words").error is None


def test_bad_files_leave_the_existing_table_untouched(dynamodb, db_gen):
    db_gen.table("t", simple_table("t"))
    db_gen.data("t", [{"pk": "a"}, {"pk": "b"}])
    assert seed(dynamodb, db_gen.root, progress=None).ok
    db_gen.data("t", "[{")
    assert not seed(dynamodb, db_gen.root, progress=None).ok
    assert count(dynamodb, "t") == 2


def test_item_the_service_refuses_is_named(dynamodb, db_gen):
    db_gen.table("t", simple_table("t"))
    data = db_gen.data("t", [{"pk": f"k{i}"} for i in range(30)] + [{"pk": "huge", "blob": "x" * 500_000}])
    r = result(seed(dynamodb, db_gen.root, progress=None), "t")
    assert r.file == str(data)
    assert r.error.startswith("item 30 rejected by the service: ValidationException")


def test_two_files_defining_the_same_table(dynamodb, db_gen):
    db_gen.table("a", simple_table("same"))
    second = db_gen.table("b", simple_table("same"))
    report = seed(dynamodb, db_gen.root, progress=None)
    assert [r.error is None for r in report.results] == [True, False]
    assert report.results[1].file == str(second) and "already defined by" in report.results[1].error


def test_missing_folders_mean_nothing_to_do(dynamodb, tmp_path):
    assert seed(dynamodb, tmp_path / "nowhere").results == []
    (tmp_path / "only_data" / "table_data").mkdir(parents=True)
    assert seed(dynamodb, tmp_path / "only_data").ok


def test_table_without_data_file_is_created_empty(dynamodb, db_gen):
    db_gen.table("empty", simple_table("empty"))
    report = seed(dynamodb, db_gen.root, progress=None)
    assert result(report, "empty").items == 0 and count(dynamodb, "empty") == 0


# --------------------------------------------------------------------------- a large load


def test_ten_thousand_items(dynamodb, db_gen, capsys):
    db_gen.table("big", simple_table("big"))
    db_gen.data("big", [
        {"pk": f"item-{i:05d}", "n": i, "price": f"{i / 100:.2f}", "text": "lorem ipsum dolor sit amet " * 3}
        for i in range(10_000)
    ])
    progress = io.StringIO()
    started = time.monotonic()
    report = seed(dynamodb, db_gen.root, progress=progress)
    seconds = time.monotonic() - started
    assert report.ok, report.summary()
    assert count(dynamodb, "big") == 10_000
    assert result(report, "big").items == 10_000
    lines = progress.getvalue().splitlines()
    assert lines[0].startswith("big: 1,000/10,000 items (10%)") and lines[-1].startswith("big: 10,000/10,000 items (100%)")
    with capsys.disabled():
        print(f"\ndb_gen: 10,000 items seeded in {seconds:.2f} s (table load {result(report, 'big').seconds:.2f} s)")
