"""db_gen: create DynamoDB tables from files and seed them with items.

Layout (``db_gen_dir``)::

    tables/<t>.json       a CreateTable request, or `aws dynamodb describe-table` output as is
    table_data/<t>.json   the items of the table defined by tables/<t>.json

:func:`seed` deletes and re-creates every table defined in ``tables/`` and loads its items;
everything about a table is checked before any API call touches it, and a problem with one
file becomes that table's error in the :class:`SeedReport` instead of an exception.

Threads: this is blocking code (boto3 calls and waiters), never to be called on an event
loop. The control plane runs it as ``cloudmicro seed`` in a child process
(:mod:`emulator.aws.seeding`); the batch writes of one table run on a small thread pool
sharing the caller's client (botocore clients are thread-safe). No module-level mutable
state: everything is passed in.

Modules, each depending only on those above it:

* :mod:`~emulator.aws.db_gen.files`: :class:`DbGenError` (a problem naming its file) and
  the JSON reader (floats as Decimal, errors with line and column).
* :mod:`~emulator.aws.db_gen.tables`: table files read, describe-table output cleaned into a
  CreateTable request, validated by botocore's model, key schema and billing checked.
* :mod:`~emulator.aws.db_gen.items`: data files read (list, scan output, batch-write-item),
  plain JSON or DynamoDB JSON detected per file and converted, typed values checked, items
  checked against the key schema, duplicate keys resolved (last one wins).
* :mod:`~emulator.aws.db_gen.writing`: tables deleted and created, batch writes with
  backoff, progress output, and :func:`seed` with its :class:`SeedReport`.
"""

from __future__ import annotations

from emulator.aws.db_gen.files import DbGenError
from emulator.aws.db_gen.items import (
    check_item_keys,
    dedupe_by_key,
    detect_format,
    is_dynamodb_json,
    load_items,
    to_dynamodb_items,
)
from emulator.aws.db_gen.tables import load_table_definition
from emulator.aws.db_gen.writing import Progress, SeedReport, TableResult, seed

__all__ = [
    "DbGenError",
    "Progress",
    "SeedReport",
    "TableResult",
    "check_item_keys",
    "dedupe_by_key",
    "detect_format",
    "is_dynamodb_json",
    "load_items",
    "load_table_definition",
    "seed",
    "to_dynamodb_items",
]
