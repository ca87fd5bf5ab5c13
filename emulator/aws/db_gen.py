"""db_gen: create DynamoDB tables from files and seed them with items.

Layout (``db_gen_dir``)::

    tables/<t>.json       a CreateTable request, or `aws dynamodb describe-table` output as is
    table_data/<t>.json   the items of the table defined by tables/<t>.json

Design
------
* Everything about a table is checked before any API call touches it: the table file is
  cleaned (describe-table's read-only fields dropped, summaries turned back into request
  fields) and then validated with botocore's own parameter validation against the
  CreateTable input shape, so an unknown or mistyped key is reported with the file's name
  before the service sees it. Items are parsed, converted to DynamoDB JSON and checked
  against the table's key schema. A table whose files are bad is left as it is.
* Which describe-table fields are read-only is read from botocore's service model: the
  members of ``TableDescription`` (and of the index and throughput descriptions) that the
  matching CreateTable shape does not have. A fixed list of the well-known ones backs it
  up for older botocore versions. Keys in neither shape are kept, so validation names them.
  ``WarmThroughput``, the default ``OnDemandThroughput`` (-1/-1) and a 0/0
  ``ProvisionedThroughput`` are dropped too; LSIs never keep a ``ProvisionedThroughput``.
* If a table file gives neither ``BillingMode`` nor ``ProvisionedThroughput``, the table
  is created with ``BillingMode: PAY_PER_REQUEST``.
* Data files may hold plain JSON items or DynamoDB JSON (type descriptors), decided per
  file; a JSON list, `aws dynamodb scan` output (``{"Items": [...]}``) or a batch-write-item
  file (``{"<table>": [{"PutRequest": {"Item": ...}}]}``). Numbers keep their precision
  (floats are parsed as Decimal). Two items with the same key: the later one wins, as with
  successive PutItem calls (BatchWriteItem itself refuses duplicate keys in one call).
* Seeding is "from scratch" and idempotent: each table defined in ``tables/`` is deleted
  (deletion protection is switched off first: these tables belong to db_gen), created,
  waited for, and loaded. Tables not defined in db_gen are never touched.
* Loading: BatchWriteItem in batches of 25 on a small thread pool sharing the caller's
  client (botocore clients are thread-safe), with UnprocessedItems retried under
  exponential backoff with jitter. A batch the service refuses is retried item by item
  to name the item at fault. Large loads draw a progress bar on ``progress``.
* Per-file problems never raise out of :func:`seed`: each table gets a
  :class:`TableResult`, with the error and the file it is about when something failed.
  No module-level mutable state: everything is passed in.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from decimal import Decimal, DecimalException
from pathlib import Path
from typing import Any, TextIO

import botocore.session
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError, ParamValidationError, WaiterError
from botocore.model import NoShapeFoundError, ServiceModel
from botocore.validate import validate_parameters

BATCH_SIZE = 25
PROGRESS_THRESHOLD = 1000
MAX_BATCH_ATTEMPTS = 10
BACKOFF_BASE = 0.05
BACKOFF_CAP = 2.0
WAITER_DELAY = 0.2  # seconds between DescribeTable polls
WAITER_MAX_ATTEMPTS = 300

TYPE_DESCRIPTORS = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})

# Read-only describe-table fields, for botocore versions whose model predates some of them.
READ_ONLY_TABLE_FIELDS = frozenset({
    "TableStatus", "CreationDateTime", "ItemCount", "TableSizeBytes", "TableArn", "TableId",
    "LatestStreamArn", "LatestStreamLabel", "BillingModeSummary", "TableClassSummary",
    "SSEDescription", "RestoreSummary", "ArchivalSummary", "GlobalTableVersion", "Replicas",
    "GlobalTableWitnesses", "DisassociationProtectionEnabled", "MultiRegionConsistency",
})
READ_ONLY_INDEX_FIELDS = frozenset({
    "IndexStatus", "IndexSizeBytes", "ItemCount", "IndexArn", "Backfilling",
})
READ_ONLY_THROUGHPUT_FIELDS = frozenset({
    "NumberOfDecreasesToday", "LastIncreaseDateTime", "LastDecreaseDateTime",
})


class DbGenError(Exception):
    """A problem with one db_gen file: ``str(error) == f"{file}: {message}"``."""

    def __init__(self, file: Path | str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = str(file)
        self.message = message


@dataclass(frozen=True)
class TableResult:
    """What seeding did to one table; ``file`` names the file an ``error`` is about."""

    table: str
    items: int
    seconds: float
    error: str | None = None
    file: str | None = None


@dataclass(frozen=True)
class SeedReport:
    """The outcome of :func:`seed`, one result per table file (and per orphan data file)."""

    results: list[TableResult]

    @property
    def ok(self) -> bool:
        """True when every table was created and loaded."""
        return all(result.error is None for result in self.results)

    @property
    def errors(self) -> list[TableResult]:
        """The results that failed."""
        return [result for result in self.results if result.error is not None]

    def summary(self) -> str:
        """Human-readable lines: a headline, then one line per table."""
        loaded = [r for r in self.results if r.error is None]
        items = sum(r.items for r in loaded)
        head = f"db_gen: {_plural(len(loaded), 'table')} seeded ({_plural(items, 'item')})"
        if self.errors:
            head += f", {_plural(len(self.errors), 'error')}"
        if not self.results:
            head = "db_gen: no tables to seed"
        width = max((len(r.table) for r in self.results), default=0)
        lines = [head]
        for r in self.results:
            if r.error is None:
                lines.append(f"  {r.table:<{width}}  {_plural(r.items, 'item')} in {r.seconds:.2f} s")
            else:
                where = f"{r.file}: " if r.file else ""
                lines.append(f"  {r.table:<{width}}  ERROR {where}{r.error}")
        return "\n".join(lines)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


# --------------------------------------------------------------------------- JSON files


def read_json(path: Path) -> Any:
    """Parse a JSON file with floats (and NaN/Infinity) as Decimal; errors name line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DbGenError(path, f"cannot read the file: {exc}") from exc
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=Decimal)
    except json.JSONDecodeError as exc:
        raise DbGenError(path, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc


# --------------------------------------------------------------------------- table files


def dynamodb_service_model() -> ServiceModel:
    """botocore's DynamoDB service model, read from botocore's own data (no client needed)."""
    return botocore.session.get_session().get_service_model("dynamodb")


def load_table_definition(path: Path, service_model: ServiceModel | None = None) -> dict:
    """Read a table file and return a cleaned, validated CreateTable request.

    The file holds a CreateTable request or `aws dynamodb describe-table` output (wrapped in
    ``{"Table": ...}`` or not). ``TableName`` defaults to the file's stem; with neither
    ``BillingMode`` nor ``ProvisionedThroughput`` the table is PAY_PER_REQUEST. Raises
    :class:`DbGenError` naming the file and the problem (unknown key, missing key
    attribute definition, ...).
    """
    path = Path(path)
    model = service_model or dynamodb_service_model()
    document = read_json(path)
    if not isinstance(document, dict):
        raise DbGenError(path, "a table file must hold a JSON object: a CreateTable request or describe-table output")
    request = to_create_table_request(document, model)
    request.setdefault("TableName", path.stem)
    if "BillingMode" not in request and "ProvisionedThroughput" not in request:
        request["BillingMode"] = "PAY_PER_REQUEST"
    validate_create_table(path, request, model)
    return request


def to_create_table_request(document: dict, model: ServiceModel) -> dict:
    """Turn a CreateTable request or describe-table output into a CreateTable request.

    Drops read-only fields, turns ``BillingModeSummary`` into ``BillingMode`` and
    ``TableClassSummary`` into ``TableClass``, drops ``WarmThroughput``, the default
    ``OnDemandThroughput`` (-1/-1) and a 0/0 ``ProvisionedThroughput``, and cleans each
    index the same way. Unknown keys are kept so that validation reports them.
    """
    table = document["Table"] if set(document) == {"Table"} and isinstance(document["Table"], dict) else document
    drop = READ_ONLY_TABLE_FIELDS | _read_only_members(model, "TableDescription", "CreateTableInput")
    request = {key: value for key, value in table.items() if key not in drop}
    billing = _billing_mode(table)
    if billing is not None:
        request["BillingMode"] = billing
    table_class = _summary_field(table, "TableClassSummary", "TableClass")
    if table_class is not None and "TableClass" not in request:
        request["TableClass"] = table_class
    if "GlobalTableSourceArn" not in request:
        request.pop("GlobalTableSettingsReplicationMode", None)
    _clean_capacity(request, model)
    for field, shape in (("GlobalSecondaryIndexes", "GlobalSecondaryIndex"),
                         ("LocalSecondaryIndexes", "LocalSecondaryIndex")):
        if isinstance(request.get(field), list):
            request[field] = [_clean_index(index, model, shape) for index in request[field]]
    return request


def _read_only_members(model: ServiceModel, description: str, request: str) -> frozenset[str]:
    """Members of a describe shape that the matching request shape does not have."""
    try:
        described = model.shape_for(description).members
        requested = model.shape_for(request).members
    except (NoShapeFoundError, AttributeError):
        return frozenset()
    return frozenset(described) - frozenset(requested)


def _summary_field(table: dict, summary: str, field: str) -> Any:
    value = table.get(summary)
    return value.get(field) if isinstance(value, dict) else None


def _billing_mode(table: dict) -> str | None:
    return table.get("BillingMode") or _summary_field(table, "BillingModeSummary", "BillingMode")


def _clean_capacity(request: dict, model: ServiceModel) -> None:
    """Drop warm throughput, default on-demand limits and 0/0 or read-only throughput parts."""
    request.pop("WarmThroughput", None)
    on_demand = request.get("OnDemandThroughput")
    if isinstance(on_demand, dict):
        limits = {key: value for key, value in on_demand.items() if value != -1}
        if limits:
            request["OnDemandThroughput"] = limits
        else:
            del request["OnDemandThroughput"]
    throughput = request.get("ProvisionedThroughput")
    if isinstance(throughput, dict):
        drop = READ_ONLY_THROUGHPUT_FIELDS | _read_only_members(
            model, "ProvisionedThroughputDescription", "ProvisionedThroughput")
        throughput = {key: value for key, value in throughput.items() if key not in drop}
        if throughput.get("ReadCapacityUnits", 0) == 0 and throughput.get("WriteCapacityUnits", 0) == 0:
            del request["ProvisionedThroughput"]
        else:
            request["ProvisionedThroughput"] = throughput


def _clean_index(index: Any, model: ServiceModel, shape: str) -> Any:
    if not isinstance(index, dict):
        return index
    drop = READ_ONLY_INDEX_FIELDS | _read_only_members(model, shape + "Description", shape)
    cleaned = {key: value for key, value in index.items() if key not in drop}
    if shape == "LocalSecondaryIndex":
        cleaned.pop("ProvisionedThroughput", None)  # LSIs share the table's throughput
    _clean_capacity(cleaned, model)
    return cleaned


def validate_create_table(path: Path, request: dict, model: ServiceModel) -> None:
    """Check ``request`` with botocore's parameter validation, then the key schema and billing.

    Raises :class:`DbGenError` naming ``path`` and every problem botocore found.
    """
    try:
        validate_parameters(request, model.operation_model("CreateTable").input_shape)
    except ParamValidationError as exc:
        report = str(exc.kwargs.get("report", exc)).strip()
        problems = "; ".join(line.strip() for line in report.splitlines() if line.strip())
        raise DbGenError(path, f"not a valid CreateTable request: {problems}") from exc
    problem = _key_schema_problem(request) or _billing_problem(request)
    if problem:
        raise DbGenError(path, problem)


def _key_schemas(request: dict) -> Iterable[tuple[str, list[dict]]]:
    yield "the table", request["KeySchema"]
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        for index in request.get(kind, []):
            yield f"index {index['IndexName']!r}", index["KeySchema"]


def _key_schema_problem(request: dict) -> str | None:
    defined = {d["AttributeName"] for d in request["AttributeDefinitions"]}
    used: set[str] = set()
    for owner, schema in _key_schemas(request):
        for element in schema:
            name = element["AttributeName"]
            used.add(name)
            if name not in defined:
                return f"key attribute {name!r} of {owner} has no entry in AttributeDefinitions"
    unused = sorted(defined - used)
    if unused:
        names = ", ".join(map(repr, unused))
        return f"AttributeDefinitions names {names}, used by no key schema (DynamoDB refuses that)"
    return None


def _billing_problem(request: dict) -> str | None:
    billing = request.get("BillingMode", "PROVISIONED")
    indexes = request.get("GlobalSecondaryIndexes", [])
    if billing == "PAY_PER_REQUEST":
        if "ProvisionedThroughput" in request or any("ProvisionedThroughput" in i for i in indexes):
            return "ProvisionedThroughput cannot be given with BillingMode PAY_PER_REQUEST"
        return None
    if "ProvisionedThroughput" not in request:
        return "BillingMode PROVISIONED needs ProvisionedThroughput"
    for index in indexes:
        if "ProvisionedThroughput" not in index:
            return f"index {index['IndexName']!r} needs ProvisionedThroughput (the table is PROVISIONED)"
    return None


# --------------------------------------------------------------------------- data files


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


# --------------------------------------------------------------------------- progress


class Progress:
    """A stdlib progress display: a ``\\r`` bar on a TTY, a line per 10% otherwise."""

    def __init__(self, stream: TextIO, label: str, total: int, width: int = 30) -> None:
        self.stream, self.label, self.total, self.width = stream, label, max(total, 1), width
        self.done = 0
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._last_decile = 0
        self._tty = _isatty(stream)

    def advance(self, count: int) -> None:
        """Record ``count`` more items written (call from one thread)."""
        self.done += count
        if self._tty:
            now = time.monotonic()
            if now - self._last_draw >= 0.1 or self.done >= self.total:
                self._last_draw = now
                self._draw()
        else:
            decile = self.done * 10 // self.total
            if decile > self._last_decile and self.done < self.total:
                self._last_decile = decile
                self._line()

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self._tty:
            self._draw()
            self.stream.write("\n")
        else:
            self._line()
        self.stream.flush()

    def _rate(self) -> float:
        return self.done / max(time.monotonic() - self.started, 1e-9)

    def _draw(self) -> None:
        filled = self.width * self.done // self.total
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(
            f"\r{self.label} [{bar}] {self.done:,}/{self.total:,} {100 * self.done // self.total:3d}% "
            f"{self._rate():,.0f} items/s"
        )
        self.stream.flush()

    def _line(self) -> None:
        self.stream.write(
            f"{self.label}: {self.done:,}/{self.total:,} items ({100 * self.done // self.total}%), "
            f"{self._rate():,.0f} items/s\n"
        )
        self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# --------------------------------------------------------------------------- service calls


def _error_text(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', exc)}"


def _error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _waiter_config() -> dict[str, float]:
    return {"Delay": WAITER_DELAY, "MaxAttempts": WAITER_MAX_ATTEMPTS}


def delete_table_if_exists(client: Any, name: str) -> None:
    """Delete table ``name`` (switching deletion protection off) and wait until it is gone."""
    try:
        table = client.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            return
        raise
    if table.get("TableStatus") in ("CREATING", "UPDATING"):
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig=_waiter_config())
    if table.get("DeletionProtectionEnabled"):
        client.update_table(TableName=name, DeletionProtectionEnabled=False)
    try:
        client.delete_table(TableName=name)
    except ClientError as exc:
        if _error_code(exc) != "ResourceNotFoundException":
            raise
    client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig=_waiter_config())


def create_table(client: Any, request: dict) -> None:
    """Create the table and wait until it is ACTIVE."""
    client.create_table(**request)
    client.get_waiter("table_exists").wait(TableName=request["TableName"], WaiterConfig=_waiter_config())


def write_items(
    client: Any, table: str, items: list[dict], data_file: Path,
    workers: int = 8, progress: TextIO | None = None,
) -> int:
    """BatchWriteItem ``items`` into ``table`` on ``workers`` threads; returns the count written.

    Raises :class:`DbGenError` naming ``data_file`` (and the item, when the service rejects one).
    """
    batches = [(start, items[start:start + BATCH_SIZE]) for start in range(0, len(items), BATCH_SIZE)]
    bar = Progress(progress, table, len(items)) if progress is not None and len(items) > PROGRESS_THRESHOLD else None
    stop = threading.Event()
    written = 0
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="db_gen") as pool:
            futures = [
                pool.submit(_write_batch, client, table, start, batch, data_file, stop) for start, batch in batches
            ]
            try:
                for future in as_completed(futures):
                    count = future.result()
                    written += count
                    if bar:
                        bar.advance(count)
            except BaseException:
                stop.set()
                for future in futures:
                    future.cancel()
                raise
    finally:
        if bar:
            bar.close()
    return written


def _write_batch(client: Any, table: str, start: int, batch: list[dict], data_file: Path, stop: threading.Event) -> int:
    requests = [{"PutRequest": {"Item": item}} for item in batch]
    for attempt in range(MAX_BATCH_ATTEMPTS):
        if stop.is_set():
            return 0
        try:
            response = client.batch_write_item(RequestItems={table: requests})
        except ClientError as exc:
            raise DbGenError(data_file, _rejected_batch(client, table, start, batch, exc)) from exc
        requests = response.get("UnprocessedItems", {}).get(table, [])
        if not requests:
            return len(batch)
        time.sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempt)))
    span = f"items {start}-{start + len(batch) - 1}"
    raise DbGenError(data_file, f"{len(requests)} of {span} still unprocessed after {MAX_BATCH_ATTEMPTS} attempts")


def _rejected_batch(client: Any, table: str, start: int, batch: list[dict], exc: ClientError) -> str:
    """Find which item of a rejected batch the service refuses, by putting them one by one."""
    if _error_code(exc) == "ValidationException":
        for offset, item in enumerate(batch):
            try:
                client.put_item(TableName=table, Item=item)
            except ClientError as item_exc:
                return f"item {start + offset} rejected by the service: {_error_text(item_exc)}"
    return f"BatchWriteItem of items {start}-{start + len(batch) - 1} failed: {_error_text(exc)}"


# --------------------------------------------------------------------------- seeding


def seed(
    dynamodb_client: Any, db_gen_dir: Path, progress: TextIO | None = sys.stderr, workers: int = 8,
) -> SeedReport:
    """Create every table defined in ``db_gen_dir/tables`` from scratch and load its data.

    For each ``tables/<t>.json``: check it and ``table_data/<t>.json`` (if any), then delete
    the table if it exists, create it, wait until ACTIVE and load the items. A table whose
    files are bad is reported and left untouched; the others still load. A data file with
    no table file is reported. Never raises for a per-file problem. A missing ``db_gen_dir``
    or ``tables/`` folder means nothing to do. ``workers`` is capped at the client's
    connection pool size.
    """
    db_gen_dir = Path(db_gen_dir)
    tables_dir, data_dir = db_gen_dir / "tables", db_gen_dir / "table_data"
    if not tables_dir.is_dir():
        return SeedReport([])
    model = dynamodb_client.meta.service_model
    workers = max(1, min(workers, dynamodb_client.meta.config.max_pool_connections or workers))
    table_files = sorted(tables_dir.glob("*.json"))
    data_files = {p.stem: p for p in sorted(data_dir.glob("*.json"))} if data_dir.is_dir() else {}
    results: list[TableResult] = []
    claimed: dict[str, Path] = {}
    for table_file in table_files:
        results.append(_seed_table(
            dynamodb_client, model, table_file, data_files.get(table_file.stem), claimed, progress, workers,
        ))
    defined = {p.stem for p in table_files}
    for stem, data_file in data_files.items():
        if stem not in defined:
            message = f"no table file {tables_dir / (stem + '.json')} for this data file"
            results.append(TableResult(stem, 0, 0.0, message, str(data_file)))
    return SeedReport(results)


def _seed_table(
    client: Any, model: ServiceModel, table_file: Path, data_file: Path | None,
    claimed: dict[str, Path], progress: TextIO | None, workers: int,
) -> TableResult:
    started = time.monotonic()
    name = table_file.stem
    try:
        request = load_table_definition(table_file, model)
        name = request["TableName"]
        if name in claimed:
            raise DbGenError(table_file, f"table {name!r} is already defined by {claimed[name]}")
        claimed[name] = table_file
        items = _checked_items(data_file, request) if data_file else []
        _recreate(client, request, table_file)
        count = write_items(client, name, items, data_file, workers, progress) if data_file and items else 0
    except DbGenError as exc:
        return TableResult(name, 0, time.monotonic() - started, exc.message, exc.file)
    return TableResult(name, count, time.monotonic() - started)


def _checked_items(data_file: Path, request: dict) -> list[dict]:
    items, batch_table = read_item_file(data_file)
    if batch_table is not None and batch_table not in (request["TableName"], data_file.stem):
        raise DbGenError(data_file, f"the batch-write-item file is for table {batch_table!r}, "
                                    f"not {request['TableName']!r}")
    try:
        check_item_keys(items, request)
    except ValueError as exc:
        raise DbGenError(data_file, str(exc)) from exc
    return dedupe_by_key(items, request)


def _recreate(client: Any, request: dict, table_file: Path) -> None:
    name = request["TableName"]
    try:
        delete_table_if_exists(client, name)
    except (ClientError, WaiterError) as exc:
        raise DbGenError(table_file, f"cannot delete the existing table {name!r}: {_service_text(exc)}") from exc
    try:
        create_table(client, request)
    except (ClientError, WaiterError) as exc:
        raise DbGenError(table_file, f"CreateTable failed: {_service_text(exc)}") from exc


def _service_text(exc: Exception) -> str:
    return _error_text(exc) if isinstance(exc, ClientError) else str(exc)
