"""Seeding the db_gen tables through the endpoint: at start (in the background) and on demand."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.config import Config

from emulator.aws.db_gen import SeedReport, seed

log = logging.getLogger(__name__)


def dynamodb_client(endpoint: str, region: str) -> Any:
    return boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name=region,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=16),
    )


def seed_endpoint(endpoint: str, region: str, db_gen_dir: Path, progress: TextIO | None) -> SeedReport:
    return seed(dynamodb_client(endpoint, region), db_gen_dir, progress=progress)


@dataclass
class SeedStatus:
    """What the health endpoint says about seeding."""

    status: str = "idle"
    summary: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "tables": self.summary, "errors": self.errors}


def wait_for_endpoint(endpoint: str, timeout: float = 30, stop: threading.Event | None = None) -> None:
    """Block until the control plane at ``endpoint`` answers its health check (or ``stop`` is set)."""
    deadline = time.monotonic() + timeout
    while stop is None or not stop.is_set():
        try:
            urllib.request.urlopen(endpoint + "/_cloudmicro/health", timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


async def endpoint_answers(endpoint: str, timeout: float = 30) -> None:
    """:func:`wait_for_endpoint` from the event loop, in a thread that ends when the waiting task
    is cancelled: a control plane stopped before it first answered would otherwise wait for the
    thread (its event loop's executor) for the whole timeout before it exits."""
    stop = threading.Event()
    try:
        await asyncio.to_thread(wait_for_endpoint, endpoint, timeout, stop)
    finally:
        stop.set()


async def seed_in_background(endpoint: str, region: str, db_gen_dir: Path, status: SeedStatus) -> None:
    """Seed once the endpoint answers; never raises (problems go to the log and the status).

    The seeding runs as ``cloudmicro seed`` in a child process: a boto3 client and its models
    would otherwise stay in the control plane's memory (about 12 MiB measured).
    """
    if not (db_gen_dir / "tables").is_dir():
        status.status = "nothing to seed"
        return
    status.status = "seeding"
    try:
        await endpoint_answers(endpoint)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "emulator", "seed", "--endpoint", endpoint, "--db-gen-dir", str(db_gen_dir),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "CLOUDMICRO_REGION": region},
        )
        try:
            _, err = await proc.communicate()
        except asyncio.CancelledError:  # the control plane stops: stop the child, and reap it
            proc.kill()
            await asyncio.shield(proc.wait())
            raise
    except Exception as exc:  # noqa: BLE001 - seeding must never take the control plane down
        status.status = "failed"
        status.errors = [f"seeding failed: {exc}"]
        log.error("db_gen seeding failed: %s", exc)
        return
    lines = [line for line in err.decode(errors="replace").splitlines() if line.strip() and "\r" not in line]
    status.summary = [line.strip() for line in lines if not line.startswith("cloudmicro:")]
    if proc.returncode == 0:
        status.status = "done"
    else:
        status.status = "done with errors"
        status.errors = [line.strip() for line in lines if ".json" in line] or lines[-5:]
    level = logging.INFO if proc.returncode == 0 else logging.WARNING
    for line in status.summary:
        log.log(level, "db_gen: %s", line)


def db_gen_table_names(db_gen_dir: Path) -> set[str]:
    """The tables ``db_gen/tables`` defines (each file's TableName, else its name)."""
    names: set[str] = set()
    for path in sorted((db_gen_dir / "tables").glob("*.json")):
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        name = document.get("TableName") if isinstance(document, dict) else None
        names.add(name if isinstance(name, str) and name else path.stem)
    return names


async def reseed_when_lost(endpoint: str, region: str, db_gen_dir: Path, status: SeedStatus,
                           table_names: Callable[[], Awaitable[set[str]]], interval: float = 2.0) -> None:
    """Seed the db_gen tables again when the AWS backend lost them all (a moto server that
    restarted: the compose stack's keeps its data in memory). Once they have been seen, every
    ``interval`` s; a backend that does not answer (restarting) is asked again. Never raises."""
    wanted = db_gen_table_names(db_gen_dir)
    if not wanted:
        return
    seen = False
    while True:
        await asyncio.sleep(interval)
        try:
            present = await table_names()
        except Exception:  # noqa: BLE001 - down or restarting: ask again
            continue
        if wanted <= present:
            seen = True
        elif seen and not wanted & present:
            log.warning("the AWS backend lost the db_gen tables %s (moto restarted?): seeding them again",
                        ", ".join(sorted(wanted)))
            seen = False
            await seed_in_background(endpoint, region, db_gen_dir, status)
