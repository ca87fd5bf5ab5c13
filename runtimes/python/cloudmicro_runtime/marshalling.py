"""Marshalling: the event in and the result out as JSON, the way awslambdaric's simplejson does."""

from __future__ import annotations

import json
import os
import sys

from .errors import FaultException

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time; type checkers still see these names.
    from typing import Any

UNICODE_OUTPUT_EXECUTION_ENVS = frozenset(
    {"AWS_Lambda_python3.12", "AWS_Lambda_python3.13", "AWS_Lambda_python3.14", "AWS_Lambda_python3.15"}
)


def _ensure_ascii() -> bool:
    return os.environ.get("AWS_EXECUTION_ENV") not in UNICODE_OUTPUT_EXECUTION_ENVS


class _RawNumbers:
    """Writes ``Decimal`` values as their literal text, as simplejson's ``RawJSON`` does.

    The C encoder cannot emit raw text, so each Decimal is first encoded as a string holding a
    random per-process token and its index, and those strings are then replaced by the number.
    """

    _token = ""

    def __init__(self) -> None:
        self.values: list[str] = []

    def placeholder(self, text: str) -> str:
        if not _RawNumbers._token:
            _RawNumbers._token = "\x1fcloudmicro-raw-" + os.urandom(12).hex() + "-"
        self.values.append(text)
        return _RawNumbers._token + str(len(self.values) - 1)

    def substitute(self, encoded: str) -> str:
        if not self.values:
            return encoded
        import re

        quoted_token = json.dumps(_RawNumbers._token, ensure_ascii=True)[:-1]  # '"\\u001fcloudmicro-raw-...-'
        pattern = re.compile(re.escape(quoted_token) + r'(\d+)"')
        return pattern.sub(lambda match: self.values[int(match.group(1))], encoded)


def to_json(value: Any) -> str:
    """Serialize like awslambdaric's ``to_json`` (simplejson with its Decimal handling)."""
    raw = _RawNumbers()

    def default(obj: Any) -> Any:
        decimal = sys.modules.get("decimal")  # a Decimal exists only once decimal was imported
        if decimal is not None and isinstance(obj, decimal.Decimal):
            return float("nan") if obj.is_nan() else raw.placeholder(str(obj))
        if isinstance(obj, bytes):
            return obj.decode("utf-8")
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    encoder = json.JSONEncoder(ensure_ascii=_ensure_ascii(), allow_nan=True, default=default)
    return raw.substitute(encoder.encode(value))


def marshal_response(result: Any) -> tuple[bytes, str]:
    """Body and content type of a handler's result; bytes are passed through as awslambdaric."""
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        return to_json(result).encode("utf-8"), "application/json"
    except Exception as exc:
        raise FaultException(FaultException.MARSHAL_ERROR, f"Unable to marshal response: {exc}")


def unmarshal_event(body: bytes, content_type: str | None) -> Any:
    """The event: JSON-decoded (BOM tolerated, as simplejson), or raw bytes for other types."""
    if content_type is not None and content_type != "application/json":
        return body
    try:
        text = body.decode("utf-8")
        if text.startswith("\ufeff"):
            text = text[1:]
        return json.loads(text)
    except Exception as exc:
        raise FaultException(FaultException.UNMARSHAL_ERROR, f"Unable to unmarshal input: {exc}")


def parse_json_header(value: str, name: str) -> Any:
    """A JSON header of ``/next`` (client context, Cognito identity), or the context fault."""
    try:
        return json.loads(value)
    except Exception as exc:
        raise FaultException(
            FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR, f"Unable to parse {name} JSON: {exc}"
        )
