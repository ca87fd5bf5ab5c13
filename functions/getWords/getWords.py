"""Example function: list every word of the ``words`` table (seeded from db_gen/).

Scans the whole table, following LastEvaluatedKey, and returns plain JSON:
``{"items": [...], "count": N}``, sorted by word. Numbers come back as int or float,
sets as sorted lists, binary as base64 text. The table name can be changed with the
WORDS_TABLE environment variable; the endpoint comes from boto3's usual configuration
(AWS_ENDPOINT_URL when run locally).
"""

import base64
import os
from decimal import Decimal

import boto3
from boto3.dynamodb.types import Binary


def getWords_handler(event, context):
    dynamodb = boto3.resource("dynamodb", region_name=os.environ.get("AWS_REGION"))
    table = dynamodb.Table(os.environ.get("WORDS_TABLE", "words"))
    items = [to_json(item) for item in scan_all(table)]
    items.sort(key=lambda item: str(item.get("word", "")))
    return {"items": items, "count": len(items)}


def scan_all(table):
    """Every item of ``table``, one Scan page after another."""
    kwargs = {}
    while True:
        page = table.scan(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def to_json(value):
    """A DynamoDB value as plain JSON: Decimal -> int/float, set -> list, Binary -> base64."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: to_json(inner) for key, inner in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((to_json(inner) for inner in value), key=str)
    if isinstance(value, list):
        return [to_json(inner) for inner in value]
    if isinstance(value, Binary):
        value = value.value
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value
