"""Lambda's Invoke operation: check the request as AWS checks it, then run it through the seam
(``RequestResponse``), queue it (``Event``) or only check it (``DryRun``).

https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Protocol

from emulator.domain import json_text
from emulator.domain.errors import (
    InvalidParameterValueException,
    InvalidRequestContentException,
    RequestTooLargeException,
)
from emulator.invocation.invocation import Invocation
from emulator.invocation.service import InvokeService
from emulator.invocation.streaming import ResponseStream

MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD = 1024 * 1024
MAX_RESPONSE_PAYLOAD = 6 * 1024 * 1024 + 100
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
#: InvokeWithResponseStream's (it has no Event)
STREAM_INVOCATION_TYPES = ("RequestResponse", "DryRun")


class EventQueue(Protocol):
    """Where ``Event`` invokes go (emulator/invocation/async_queue.py)."""

    async def enqueue(self, inv: Invocation) -> None: ...


@dataclass(frozen=True)
class InvokeRequest:
    function_name: str
    payload: bytes
    invocation_type: str = "RequestResponse"
    log_type: str = "None"
    client_context: str | None = None
    qualifier: str | None = None


@dataclass(frozen=True)
class InvokeOutcome:
    status: int
    request_id: str
    payload: bytes = b""
    function_error: str | None = None
    log_result: str | None = None
    #: the version that ran (X-Amz-Executed-Version): an alias's pick, else the one named
    executed_version: str = "$LATEST"


class Invoker:
    """The Invoke operation of one control plane."""

    def __init__(self, service: InvokeService, events: EventQueue) -> None:
        self.service = service
        self.events = events

    async def invoke(self, request: InvokeRequest, stream: ResponseStream | None = None) -> InvokeOutcome:
        """Invoke (InvokeWithResponseStream when ``stream`` is given: the response goes to it as
        the runtime writes it, and the outcome's payload is empty when the runtime streamed)."""
        function = await self.service.resolve(request.function_name, request.qualifier)
        kind = request.invocation_type
        kinds = INVOCATION_TYPES if stream is None else STREAM_INVOCATION_TYPES
        if kind not in kinds:
            listed = "Event, RequestResponse, DryRun" if stream is None else "RequestResponse, DryRun"
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{kind}' at 'invocationType' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{listed}]"
            )
        payload = checked_payload(request.payload, kind)
        client_context = _client_context(request.client_context)
        if kind == "DryRun":
            if stream is not None:
                stream.finish()
            return InvokeOutcome(204, "")
        if stream is not None:
            stream.executed_version = function.version
        inv = Invocation(function, payload, client_context=client_context, stream=stream)
        if kind == "Event":
            await self.events.enqueue(inv)
            return InvokeOutcome(202, inv.request_id)
        executed = await self.service.execute(inv)
        return InvokeOutcome(
            200,
            inv.request_id,
            executed.result.payload,
            executed.result.function_error,
            executed.log.tail_b64() if request.log_type == "Tail" else None,
            inv.function.version,
        )


def checked_payload(payload: bytes, kind: str) -> bytes:
    """The payload Invoke accepts for ``kind``: at most 6 MB (1 MB for Event), JSON, ``{}`` when empty."""
    limit = MAX_ASYNC_PAYLOAD if kind == "Event" else MAX_SYNC_PAYLOAD
    if len(payload) > limit:
        if kind == "Event":
            raise RequestTooLargeException(
                f"{len(payload)} byte payload is too large for the Event invocation type (limit {limit} bytes)"
            )
        raise RequestTooLargeException(f"Request must be smaller than {limit} bytes for the InvokeFunction operation")
    if not payload.strip():
        return b"{}"
    try:
        json_text.loads(payload)
    except ValueError as exc:
        raise InvalidRequestContentException(
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        ) from None
    return payload


def _client_context(value: str | None) -> str | None:
    if not value:
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode()
        json_text.loads(decoded)
    except (binascii.Error, ValueError):
        raise InvalidRequestContentException(
            "Client context must be a valid Base64-encoded JSON object."
        ) from None
    return decoded
