"""Writing to the service: tables deleted and created, items loaded, and :func:`seed` over a folder.

* Seeding is "from scratch" and idempotent: each table defined in ``tables/`` is deleted
  (deletion protection is switched off first: these tables belong to db_gen), created,
  waited for, and loaded. Tables not defined in db_gen are never touched. Everything about
  a table is checked (:mod:`~emulator.aws.db_gen.tables`, :mod:`~emulator.aws.db_gen.items`)
  before any API call touches it: a table whose files are bad is left as it is.
* Loading: BatchWriteItem in batches of 25 on a small thread pool sharing the caller's
  client (botocore clients are thread-safe), with UnprocessedItems retried under
  exponential backoff with jitter. A batch the service refuses is retried item by item
  to name the item at fault. Large loads draw a progress bar on ``progress``.
* Per-file problems never raise out of :func:`seed`: each table gets a
  :class:`TableResult`, with the error and the file it is about when something failed.
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import ClientError, WaiterError
from botocore.model import ServiceModel

from emulator.aws.db_gen.files import DbGenError
from emulator.aws.db_gen.items import check_item_keys, dedupe_by_key, read_item_file
from emulator.aws.db_gen.tables import load_table_definition
from emulator.domain.backoff import Backoff

BATCH_SIZE = 25
PROGRESS_THRESHOLD = 1000
MAX_BATCH_ATTEMPTS = 10
BACKOFF_BASE = 0.05
BACKOFF_CAP = 2.0
WAITER_DELAY = 0.2  # seconds between DescribeTable polls
WAITER_MAX_ATTEMPTS = 300


# --------------------------------------------------------------------------- report


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
    waits = Backoff(BACKOFF_BASE, BACKOFF_CAP, jitter=True)
    for _ in range(MAX_BATCH_ATTEMPTS):
        if stop.is_set():
            return 0
        try:
            response = client.batch_write_item(RequestItems={table: requests})
        except ClientError as exc:
            raise DbGenError(data_file, _rejected_batch(client, table, start, batch, exc)) from exc
        requests = response.get("UnprocessedItems", {}).get(table, [])
        if not requests:
            return len(batch)
        time.sleep(waits.next())
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
