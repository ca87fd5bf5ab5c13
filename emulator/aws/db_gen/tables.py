"""Table files: ``tables/<t>.json`` read, cleaned and validated into a CreateTable request.

* A table file holds a CreateTable request, or `aws dynamodb describe-table` output as is
  (wrapped in ``{"Table": ...}`` or not). It is cleaned (describe-table's read-only fields
  dropped, summaries turned back into request fields) and then validated with botocore's own
  parameter validation against the CreateTable input shape, so an unknown or mistyped key is
  reported with the file's name before the service sees it; then the key schema and billing
  are checked.
* Which describe-table fields are read-only is read from botocore's service model: the
  members of ``TableDescription`` (and of the index and throughput descriptions) that the
  matching CreateTable shape does not have. A fixed list of the well-known ones backs it
  up for older botocore versions. Keys in neither shape are kept, so validation names them.
  ``WarmThroughput``, the default ``OnDemandThroughput`` (-1/-1) and a 0/0
  ``ProvisionedThroughput`` are dropped too; LSIs never keep a ``ProvisionedThroughput``.
* If a table file gives neither ``BillingMode`` nor ``ProvisionedThroughput``, the table
  is created with ``BillingMode: PAY_PER_REQUEST``.

Pure functions: no service call (the service model comes from botocore's data or the caller).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.model import NoShapeFoundError, ServiceModel
from botocore.validate import validate_parameters

from emulator.aws.db_gen.files import DbGenError, read_json

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
