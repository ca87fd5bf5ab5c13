"""Data files: ``table_data/<t>.json`` read into DynamoDB JSON items, checked against the table's keys.

* A data file holds a JSON list of items, `aws dynamodb scan` output (``{"Items": [...]}``)
  or a batch-write-item file (``{"<table>": [{"PutRequest": {"Item": ...}}]}``).
* Items are plain JSON or DynamoDB JSON (type descriptors), decided for the whole file;
  mixing them is an error naming both items. DynamoDB JSON values are checked type by type
  (B/BS base64 text becomes bytes for boto3). Numbers keep their precision (floats are
  parsed as Decimal).
* Every item must carry the table's key attributes with the defined types (index keys are
  checked when present). Two items with the same key: the later one wins, as with
  successive PutItem calls (BatchWriteItem itself refuses duplicate keys in one call).

Pure functions: no service call. Problems are :class:`DbGenError` (naming the file) or
ValueError (naming the item) for the caller to attach the file to.
"""

from __future__ import annotations

import base64
import binascii
import json
from decimal import Decimal, DecimalException
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from emulator.aws.db_gen.files import DbGenError, read_json

TYPE_DESCRIPTORS = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})


def load_items(path: Path) -> list[dict]:
    """Read a data file and return its items in DynamoDB JSON (ready for BatchWriteItem).

    Accepts a JSON list of items, scan output (``{"Items": [...]}``) or a batch-write-item
    file; items are plain JSON or DynamoDB JSON, decided for the whole file. Raises
    :class:`DbGenError` naming the file (and the item index) on any problem.
    """
    items, _ = read_item_file(Path(path))
    return items


def read_item_file(path: Path) -> tuple[list[dict], str | None]:
    """Like :func:`load_items`, also returning the table a batch-write-item file names."""
    raw, table = item_list(read_json(path), path)
    try:
        return to_dynamodb_items(raw), table
    except ValueError as exc:
        raise DbGenError(path, str(exc)) from exc


def item_list(document: Any, path: Path) -> tuple[list, str | None]:
    """The raw items of a data file's document, and the table name a batch-write file gives."""
    if isinstance(document, list):
        return document, None
    if isinstance(document, dict) and isinstance(document.get("Items"), list):
        return document["Items"], None
    if isinstance(document, dict) and document and all(isinstance(v, list) for v in document.values()):
        if len(document) > 1:
            tables = ", ".join(document)
            raise DbGenError(path, f"a batch-write-item file for several tables ({tables}): one table per file")
        (table, requests), = document.items()
        return [_put_request_item(request, index, path) for index, request in enumerate(requests)], table
    raise DbGenError(
        path,
        'expected a JSON list of items, scan output ({"Items": [...]}) or a batch-write-item file '
        '({"<table>": [{"PutRequest": {"Item": {...}}}]})',
    )


def _put_request_item(request: Any, index: int, path: Path) -> Any:
    if isinstance(request, dict) and set(request) == {"PutRequest"} and isinstance(request["PutRequest"], dict) \
            and "Item" in request["PutRequest"]:
        return request["PutRequest"]["Item"]
    raise DbGenError(path, f"request {index}: only {{\"PutRequest\": {{\"Item\": ...}}}} requests are supported")


def is_dynamodb_json(item: dict) -> bool:
    """True when every top-level value is a single-key dict keyed by a type descriptor."""
    return bool(item) and all(
        isinstance(value, dict) and len(value) == 1 and next(iter(value)) in TYPE_DESCRIPTORS
        for value in item.values()
    )


def detect_format(items: list) -> str:
    """``"dynamodb"`` or ``"plain"`` for a whole list of items; ValueError when mixed.

    An empty item fits either format. The first non-empty item sets the file's format,
    and the first item that does not match it is named in the error.
    """
    first: tuple[int, str] | None = None
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"item {index} is not a JSON object")
        if not item:
            continue
        kind = "dynamodb" if is_dynamodb_json(item) else "plain"
        if first is None:
            first = (index, kind)
        elif kind != first[1]:
            raise ValueError(
                f"mixed item formats: item {first[0]} is {_FORMAT_NAMES[first[1]]} "
                f"but item {index} is {_FORMAT_NAMES[kind]}"
            )
    return first[1] if first else "plain"


_FORMAT_NAMES = {"dynamodb": "DynamoDB JSON (type descriptors)", "plain": "plain JSON"}


def to_dynamodb_items(items: list) -> list[dict]:
    """Convert raw items (either format, decided on the whole list) to DynamoDB JSON."""
    if detect_format(items) == "plain":
        serializer = TypeSerializer()
        return [_serialize_plain(item, index, serializer) for index, item in enumerate(items)]
    return [
        {name: typed_value(value, f"item {index}, attribute {name!r}") for name, value in item.items()}
        for index, item in enumerate(items)
    ]


def _serialize_plain(item: dict, index: int, serializer: TypeSerializer) -> dict:
    typed = {}
    for name, value in item.items():
        try:
            typed[name] = serializer.serialize(value)
        except (TypeError, ValueError, DecimalException) as exc:
            raise ValueError(f"item {index}, attribute {name!r}: {_describe_error(exc)}") from exc
    return typed


def _describe_error(exc: Exception) -> str:
    if isinstance(exc, DecimalException):
        return "a number DynamoDB cannot store (more than 38 significant digits, or out of range)"
    return str(exc)


def typed_value(value: Any, where: str) -> dict:
    """Check one DynamoDB JSON attribute value; B/BS base64 text becomes bytes for boto3."""
    if not (isinstance(value, dict) and len(value) == 1 and next(iter(value)) in TYPE_DESCRIPTORS):
        raise ValueError(f"{where}: expected a type descriptor such as {{\"S\": ...}}, got {_short(value)}")
    (tag, inner), = value.items()
    return {tag: _TYPED_CHECKS[tag](inner, f"{where} ({tag})")}


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected a string, got {_short(value)}")
    return value


def _number(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError(f"{where}: expected a number as a string, got {_short(value)}")
    try:
        number = Decimal(value)
    except DecimalException:
        raise ValueError(f"{where}: {value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{where}: {value!r} is not a finite number")
    return str(value)


def _binary(value: Any, where: str) -> bytes:
    try:
        return base64.b64decode(_string(value, where), validate=True)
    except binascii.Error:
        raise ValueError(f"{where}: not valid base64") from None


def _set_of(check: Any) -> Any:
    def check_set(value: Any, where: str) -> list:
        if not isinstance(value, list) or not value:
            raise ValueError(f"{where}: expected a non-empty list")
        members = [check(member, f"{where}[{i}]") for i, member in enumerate(value)]
        if len({Decimal(m) if isinstance(m, str) and check is _number else m for m in members}) != len(members):
            raise ValueError(f"{where}: a set cannot hold duplicates")
        return members
    return check_set


def _map(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected an object, got {_short(value)}")
    return {name: typed_value(inner, f"{where}.{name}") for name, inner in value.items()}


def _list(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected a list, got {_short(value)}")
    return [typed_value(inner, f"{where}[{i}]") for i, inner in enumerate(value)]


def _null(value: Any, where: str) -> bool:
    if value is not True:
        raise ValueError(f"{where}: must be true")
    return True


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where}: expected true or false, got {_short(value)}")
    return value


_TYPED_CHECKS = {
    "S": _string, "N": _number, "B": _binary, "SS": _set_of(_string), "NS": _set_of(_number),
    "BS": _set_of(_binary), "M": _map, "L": _list, "NULL": _null, "BOOL": _bool,
}


# --------------------------------------------------------------------------- keys


def key_types(request: dict) -> dict[str, str]:
    """The table's own key attributes and their scalar types (S, N or B)."""
    types = {d["AttributeName"]: d["AttributeType"] for d in request["AttributeDefinitions"]}
    return {element["AttributeName"]: types[element["AttributeName"]] for element in request["KeySchema"]}


def index_key_types(request: dict) -> dict[str, tuple[str, str]]:
    """Index key attributes (not table keys): name -> (type, index name)."""
    types = {d["AttributeName"]: d["AttributeType"] for d in request["AttributeDefinitions"]}
    keys: dict[str, tuple[str, str]] = {}
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        for index in request.get(kind, []):
            for element in index["KeySchema"]:
                keys.setdefault(element["AttributeName"], (types[element["AttributeName"]], index["IndexName"]))
    return keys


def check_item_keys(items: list[dict], request: dict) -> None:
    """ValueError naming the first item whose key (or index key) attributes are missing or mistyped."""
    table_keys = key_types(request)
    index_keys = {name: spec for name, spec in index_key_types(request).items() if name not in table_keys}
    for index, item in enumerate(items):
        for name, expected in table_keys.items():
            if name not in item:
                raise ValueError(f"item {index} has no key attribute {name!r}")
            _check_key_value(item[name], expected, f"item {index}: key attribute {name!r}")
        for name, (expected, index_name) in index_keys.items():
            if name in item:
                where = f"item {index}: attribute {name!r} (key of index {index_name!r})"
                _check_key_value(item[name], expected, where)


def _check_key_value(value: dict, expected: str, where: str) -> None:
    (tag, inner), = value.items()
    if tag != expected:
        raise ValueError(f"{where} is of type {tag}, the table defines it as {expected}")
    if tag in ("S", "B") and len(inner) == 0:
        raise ValueError(f"{where} is empty (key values cannot be empty)")


def dedupe_by_key(items: list[dict], request: dict) -> list[dict]:
    """Keep the last item for each primary key, in first-seen order."""
    names = list(key_types(request))
    unique: dict[tuple, dict] = {}
    for item in items:
        unique[tuple(_key_part(item[name]) for name in names)] = item
    return list(unique.values())


def _key_part(value: dict) -> Any:
    (tag, inner), = value.items()
    return Decimal(inner) if tag == "N" else inner
