"""Snapshots of the events functions receive, committed as tests/integration/snapshots/<name>.json,
so that a change of an event's shape is a reviewed diff.

A snapshot is the delivered event with each value that differs from run to run (ids, times,
receipt handles, sequence numbers, ...) replaced by a placeholder naming its kind: ``"<uuid>"``,
``"<epoch-ms>"``, ``"<iso8601-ms>"``... A placeholder may stand for a whole value or for part of a
string (``"arn:aws:sns:us-east-1:123456789012:topic:<uuid>"``), and ``{"<json>": ...}`` stands
for a string holding JSON, compared as the value it holds. Everything else (each key, the
nesting, each type and each constant value) must be exactly as in the file.

:func:`check_snapshot` compares an event with its file, guided by the file: where the file has a
placeholder, the delivered value must have that placeholder's form (its regex, type and parser);
anything else must be equal, types included (``1`` is not ``1.0`` nor ``true``). A difference
fails with a unified diff of the file against the event as it would be written.

To accept an intended change, regenerate the files and review the diff::

    CLOUDMICRO_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/integration/test_event_shapes.py
    git diff tests/integration/snapshots/

Regenerating replaces the values at the paths the test names as varying (``varying``: globs over
dotted paths with list indices written ``*``, e.g. ``Records.*.messageId``; a ``*`` matches dots
too) by what it gives for them: a placeholder, a string with placeholders in it, or
``"<json>"``. It fails when a value there does not have that form, or when a path matches nothing.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import fnmatch
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE_VARIABLE = "CLOUDMICRO_UPDATE_SNAPSHOTS"
JSON_KEY = "<json>"

#: plausible moments for a timestamp made by this run: 2020-01-01 .. 2100-01-01
_EARLIEST, _LATEST = 1577836800, 4102444800


def _plausible_epoch(seconds: float) -> bool:
    return _EARLIEST <= seconds < _LATEST


def _parses_as_time(text: str, form: str) -> bool:
    try:
        moment = datetime.strptime(text, form).replace(tzinfo=UTC)
    except ValueError:
        return False
    return _plausible_epoch(moment.timestamp())


def _base64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True)
class Placeholder:
    """A kind of value that changes from run to run: the JSON types it has, the regex a string
    of it matches (also used to find it inside a longer string), and a parser's verdict."""

    name: str
    pattern: str | None = None
    types: tuple[type, ...] = (str,)
    check: Callable[[Any], bool] | None = None

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, self.types):
            return False
        if self.pattern is not None and not (isinstance(value, str) and re.fullmatch(self.pattern, value)):
            return False
        return self.check is None or self.check(value)


PLACEHOLDERS: dict[str, Placeholder] = {p.name: p for p in (
    Placeholder("<uuid>", r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    Placeholder("<hex32>", r"[0-9a-f]{32}"),
    Placeholder("<md5>", r"[0-9a-f]{32}"),
    # SQS attributes: milliseconds since the epoch, as a string
    Placeholder("<epoch-ms>", r"\d{13}", check=lambda v: _plausible_epoch(int(v) / 1000)),
    # seconds since the epoch as a JSON number: with a fraction (Kinesis), or whole (AWS's DynamoDB records)
    Placeholder("<epoch-s:float>", None, (float,), check=_plausible_epoch),
    Placeholder("<epoch-s:int>", None, (int,), check=_plausible_epoch),
    # 2024-05-06T07:08:09Z (EventBridge) and 2024-05-06T07:08:09.123Z (S3, SNS)
    Placeholder("<iso8601>", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                check=lambda v: _parses_as_time(v, "%Y-%m-%dT%H:%M:%SZ")),
    Placeholder("<iso8601-ms>", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                check=lambda v: _parses_as_time(v, "%Y-%m-%dT%H:%M:%S.%fZ")),
    # a DynamoDB stream's label, the end of its ARN: 2024-05-06T07:08:09.123 on AWS, and with
    # microseconds (2024-05-06T07:08:09.123456) from moto
    Placeholder("<stream-label>", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(?:\d{3})?",
                check=lambda v: _parses_as_time(v, "%Y-%m-%dT%H:%M:%S.%f")),
    # a size that counts varying parts too (moto's DynamoDB SizeBytes includes the record's time)
    Placeholder("<byte-count>", None, (int,), check=lambda v: v > 0),
    Placeholder("<receipt-handle>", r"[A-Za-z0-9+/=_-]{20,}"),
    # an SQS FIFO message's: 20 digits, leading zeros kept
    Placeholder("<sqs-sequence-number>", r"\d{20}"),
    # a DynamoDB or Kinesis stream record's: a decimal number as a string
    Placeholder("<sequence-number>", r"0|[1-9]\d{0,128}"),
    # S3: an event's sequencer, a request id, and a host id (x-amz-id-2)
    Placeholder("<sequencer>", r"[0-9A-F]{16,}"),
    Placeholder("<s3-request-id>", r"[0-9A-F]{16}"),
    Placeholder("<s3-host-id>", r"[A-Za-z0-9+/=]{20,}"),
    # SNS: an RSA-SHA1 signature (256 bytes, base64)
    Placeholder("<signature>", r"[A-Za-z0-9+/=]{300,}", check=lambda v: len(_base64(v) or b"") == 256),
)}

_TOKEN = re.compile("|".join(re.escape(name) for name in PLACEHOLDERS))


# --------------------------------------------------------------------------- comparing


def _template(expected: str) -> re.Pattern[str] | None:
    """A string with placeholders inside it, as a regex (None when it has none)."""
    parts = _TOKEN.split(expected)
    if len(parts) == 1:
        return None
    names = _TOKEN.findall(expected)
    regex = re.escape(parts[0])
    for name, literal in zip(names, parts[1:], strict=True):
        pattern = PLACEHOLDERS[name].pattern
        assert pattern is not None, f"{name} stands for a whole value, not part of a string"
        regex += f"(?:{pattern})" + re.escape(literal)
    return re.compile(regex)


def _path(parent: str, key: str | int) -> str:
    return f"{parent}[{key}]" if isinstance(key, int) else (f"{parent}.{key}" if parent else str(key))


def normalize(expected: Any, actual: Any, path: str = "", problems: list[str] | None = None) -> Any:
    """``actual`` with each value that the snapshot's placeholder accepts replaced by that
    placeholder: equal to ``expected`` exactly when the event matches the snapshot. Values a
    placeholder refuses are kept (they show in the diff) and explained in ``problems``."""
    problems = [] if problems is None else problems
    if isinstance(expected, dict) and list(expected) == [JSON_KEY]:
        if not isinstance(actual, str):
            problems.append(f"{path}: {actual!r} is not a string holding JSON")
            return actual
        try:
            parsed = json.loads(actual)
        except ValueError:
            problems.append(f"{path}: {actual!r} is not JSON")
            return actual
        return {JSON_KEY: normalize(expected[JSON_KEY], parsed, path + ".<json>", problems)}
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {k: normalize(expected.get(k), v, _path(path, k), problems) for k, v in actual.items()}
    if isinstance(expected, list) and isinstance(actual, list):
        return [normalize(expected[i] if i < len(expected) else None, v, _path(path, i), problems)
                for i, v in enumerate(actual)]
    if isinstance(expected, str) and expected in PLACEHOLDERS:
        if PLACEHOLDERS[expected].accepts(actual):
            return expected
        problems.append(f"{path}: {actual!r} is not a {expected}")
        return actual
    if isinstance(expected, str) and (regex := _template(expected)) is not None:
        if isinstance(actual, str) and regex.fullmatch(actual):
            return expected
        problems.append(f"{path}: {actual!r} does not have the form {expected!r}")
        return actual
    return actual


def dump(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- regenerating


def _dotted(path: str) -> str:
    return re.sub(r"\[\d+\]", ".*", path)


def generate(actual: Any, varying: Mapping[str, str], path: str = "", used: set[str] | None = None) -> Any:
    """The snapshot of ``actual``: values at the ``varying`` paths replaced by their placeholder
    (``"<json>"`` parses a string holding JSON, and the paths go on inside it)."""
    used = set() if used is None else used
    rule = next((glob for glob in varying if fnmatch.fnmatchcase(_dotted(path), glob)), None) if path else None
    if rule is not None:
        used.add(rule)
        name = varying[rule]
        if name == JSON_KEY:
            assert isinstance(actual, str), f"{path}: {actual!r} is not a string holding JSON"
            return {JSON_KEY: generate(json.loads(actual), varying, path + ".<json>", used)}
        if name in PLACEHOLDERS:
            assert PLACEHOLDERS[name].accepts(actual), f"{path}: {actual!r} is not a {name}"
            return name
        regex = _template(name)
        assert regex is not None, f"{path}: {name!r} is neither a placeholder nor a string with placeholders in it"
        assert isinstance(actual, str) and regex.fullmatch(actual), f"{path}: {actual!r} does not have the form {name!r}"
        return name
    if isinstance(actual, dict):
        return {k: generate(v, varying, _path(path, k), used) for k, v in actual.items()}
    if isinstance(actual, list):
        return [generate(v, varying, _path(path, i), used) for i, v in enumerate(actual)]
    return actual


def check_snapshot(name: str, actual: Any, varying: Mapping[str, str]) -> None:
    """Compare ``actual`` (a delivered event) with snapshots/<name>.json, or write that file when
    ``CLOUDMICRO_UPDATE_SNAPSHOTS=1``."""
    file = SNAPSHOTS / f"{name}.json"
    shown = file.relative_to(ROOT) if file.is_relative_to(ROOT) else file
    if os.environ.get(UPDATE_VARIABLE, "") not in ("", "0"):
        used: set[str] = set()
        snapshot = generate(actual, varying, used=used)
        unused = set(varying) - used
        assert not unused, f"{name}: varying paths that matched nothing (fix the test): {sorted(unused)}"
        problems: list[str] = []
        assert dump(normalize(snapshot, actual, problems=problems)) == dump(snapshot) and not problems, problems
        SNAPSHOTS.mkdir(exist_ok=True)
        if not file.exists() or file.read_text() != dump(snapshot):
            file.write_text(dump(snapshot))
        return
    if not file.exists():
        raise AssertionError(f"no snapshot {shown}: write it with {UPDATE_VARIABLE}=1, then review and commit it")
    expected = json.loads(file.read_text())
    problems = []
    seen = normalize(expected, actual, problems=problems)
    if dump(seen) == dump(expected):
        return
    diff = "".join(difflib.unified_diff(dump(expected).splitlines(keepends=True), dump(seen).splitlines(keepends=True),
                                        fromfile=f"{shown} (committed)", tofile=f"{name} (delivered now)"))
    because = "".join(f"\n  {p}" for p in problems)
    raise AssertionError(
        f"the delivered {name} event differs from its snapshot {shown}:\n{diff}"
        + (f"\nvalues that do not have their placeholder's form:{because}" if problems else "")
        + f"\nIf the change is intended: {UPDATE_VARIABLE}=1 .venv/bin/python -m pytest "
          f"tests/integration/test_event_shapes.py, then review `git diff {shown.parent}`")
