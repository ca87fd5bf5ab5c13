"""Seeding the db_gen tables through the endpoint: at start (in the background) and on demand."""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.config import Config

from .db_gen import SeedReport, seed

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


def wait_for_endpoint(endpoint: str, timeout: float = 30) -> None:
    """Block until the control plane at ``endpoint`` answers its health check."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(endpoint + "/_cloudmicro/health", timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


async def seed_in_background(endpoint: str, region: str, db_gen_dir: Path, status: SeedStatus) -> None:
    """Seed once the endpoint answers; never raises (problems go to the log and the status)."""
    if not (db_gen_dir / "tables").is_dir():
        status.status = "nothing to seed"
        return
    status.status = "seeding"
    try:
        await asyncio.to_thread(wait_for_endpoint, endpoint)
        report = await asyncio.to_thread(seed_endpoint, endpoint, region, db_gen_dir, None)
    except Exception as exc:  # noqa: BLE001 - seeding must never take the control plane down
        status.status = "failed"
        status.errors = [f"seeding failed: {exc}"]
        log.error("db_gen seeding failed: %s", exc)
        return
    status.summary = report.summary().splitlines()
    status.errors = [f"{r.file}: {r.error}" if r.file else str(r.error) for r in report.errors]
    status.status = "done" if report.ok else "done with errors"
    level = logging.INFO if report.ok else logging.WARNING
    for line in status.summary:
        log.log(level, "db_gen: %s", line)
