"""What every db_gen file reader shares: the error that names a file, and the JSON reader.

:class:`DbGenError` is how a problem with one file travels up to :func:`~emulator.aws.db_gen.writing.seed`,
which turns it into that table's :class:`~emulator.aws.db_gen.writing.TableResult`.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any


class DbGenError(Exception):
    """A problem with one db_gen file: ``str(error) == f"{file}: {message}"``."""

    def __init__(self, file: Path | str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = str(file)
        self.message = message


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
