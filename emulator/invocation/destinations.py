"""Where asynchronous invocations report: destinations (invocation records) and the
function's dead-letter queue (the event itself).

Shapes follow "Capturing records of Lambda asynchronous invocations"
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html):

* an invocation record ``{version "1.0", timestamp, requestContext {requestId, functionArn
  (with ``:$LATEST``), condition, approximateInvokeCount}, requestPayload, responseContext
  {statusCode, executedVersion, functionError?}, responsePayload}``, where ``condition`` is
  ``Success``, ``RetriesExhausted`` or ``EventAgeExceeded`` (which has the last attempt's
  response when there was one, and none when the event never ran);
* SQS and SNS destinations get the record as the message; a Lambda destination is invoked
  asynchronously with it (through the same checks as an Event invoke: a record over 1 MB is
  not delivered); an S3 bucket (OnFailure only) gets it as a JSON object named
  ``aws/lambda/async/<function-name>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<random UUID>`` (the
  record's timestamp, UTC); an EventBridge bus gets an event with source ``lambda``,
  detail-type ``Lambda Function Invocation Result - Success`` / ``- Failure``, resources
  ``[bus ARN, function ARN:$LATEST]`` and the record as detail;
* a dead-letter queue or topic gets the event payload, with message attributes
  ``RequestID`` (String), ``ErrorCode`` (Number, the response status) and ``ErrorMessage``
  (String, the first 1 KB of the error).
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from emulator.aws.clients import AwsClients
from emulator.domain import json_text
from emulator.domain.arn import Arn
from emulator.invocation.invocation import InvocationResult

log = logging.getLogger(__name__)

SUCCESS = "Success"
RETRIES_EXHAUSTED = "RetriesExhausted"
EVENT_AGE_EXCEEDED = "EventAgeExceeded"



@dataclass(frozen=True)
class AsyncOutcome:
    """How one asynchronous event ended."""

    function_arn: str
    request_id: str
    payload: bytes
    condition: str
    attempts: int
    result: InvocationResult | None = None
    #: the version that ran (an alias's pick, a version, or $LATEST)
    executed_version: str = "$LATEST"

    @property
    def succeeded(self) -> bool:
        return self.condition == SUCCESS

    def error_message(self) -> str:
        if self.result is None:
            if self.condition == EVENT_AGE_EXCEEDED:
                return "The event was older than the function's MaximumEventAgeInSeconds"
            return "The function's reserved concurrency is 0, so the event was not run"
        try:
            body = json_text.loads(self.result.payload)
        except ValueError:
            return self.result.payload.decode("utf-8", "replace")
        if isinstance(body, dict) and "errorMessage" in body:
            return str(body["errorMessage"])
        return self.result.payload.decode("utf-8", "replace")


def _json_or_text(data: bytes) -> Any:
    try:
        return json_text.loads(data) if data else None
    except ValueError:
        return data.decode("utf-8", "replace")


def _first_kb(text: str) -> str:
    """The first 1 KB (1,024 bytes) of ``text``, not cutting a character in two."""
    return text.encode()[:1024].decode("utf-8", "ignore")


def _now_iso_ms() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def s3_record_key(function_arn: str, timestamp: str) -> str:
    """Where an S3 destination keeps a record: ``aws/lambda/async/<function-name>/YYYY/MM/DD/
    YYYY-MM-DDTHH.MM.SS-<random UUID>``, from the record's ``timestamp`` (ISO, UTC)."""
    moment = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    name = Arn.parse(function_arn).function_name
    return f"aws/lambda/async/{name}/{moment:%Y/%m/%d}/{moment:%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}"


def _qualified(function_arn: str) -> str:
    """The record's functionArn: as invoked (alias or version), ``:$LATEST`` when unqualified."""
    return function_arn if Arn.parse(function_arn).qualifier else f"{function_arn}:$LATEST"


def invocation_record(outcome: AsyncOutcome) -> dict[str, Any]:
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": _now_iso_ms(),
        "requestContext": {
            "requestId": outcome.request_id,
            "functionArn": _qualified(outcome.function_arn),
            "condition": outcome.condition,
            "approximateInvokeCount": outcome.attempts,
        },
        "requestPayload": _json_or_text(outcome.payload),
    }
    if outcome.result is not None:
        context: dict[str, Any] = {"statusCode": 200, "executedVersion": outcome.executed_version}
        if outcome.result.function_error:
            context["functionError"] = outcome.result.function_error
        record["responseContext"] = context
        record["responsePayload"] = _json_or_text(outcome.result.payload)
    return record


class Destinations:
    """Sends records and dead letters to the local AWS services (a Lambda destination is the
    asynchronous queue's own: :meth:`emulator.invocation.async_queue.AsyncInvoker` submits to itself)."""

    def __init__(self, clients: AwsClients) -> None:
        self.clients = clients

    async def report(self, destination: str, outcome: AsyncOutcome) -> None:
        """Send ``outcome``'s invocation record to ``destination`` (logged, never raised)."""
        record = invocation_record(outcome)
        body = json.dumps(record)
        try:
            arn = Arn.parse(destination)
            if arn.service in ("sqs", "sns"):
                await self.clients.send_to(arn, body)
            elif arn.service == "events":
                await self._put_event(destination, outcome, body)
            elif arn.service == "s3":
                await self.clients.call(self.clients.client("s3").put_object, Bucket=arn.resource,
                                        Key=s3_record_key(outcome.function_arn, record["timestamp"]),
                                        Body=body.encode())
            else:
                raise ValueError(f"unsupported destination service {arn.service!r}")
        except Exception as exc:  # noqa: BLE001 - a destination failure must not lose the loop
            log.warning("could not send the %s record of %s (%s) to %s: %s", outcome.condition,
                        outcome.function_arn, outcome.request_id, destination, exc)

    async def dead_letter(self, target: str, outcome: AsyncOutcome) -> None:
        """Send the event to the function's dead-letter queue or topic (logged, never raised)."""
        message = outcome.payload.decode("utf-8", "replace")
        attributes = {
            "RequestID": {"DataType": "String", "StringValue": outcome.request_id},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": _first_kb(outcome.error_message()) or "error"},
        }
        try:
            await self.clients.send_to(target, message, attributes=attributes)
        except Exception as exc:  # noqa: BLE001
            log.warning("could not send event %s of %s to its dead-letter target %s: %s",
                        outcome.request_id, outcome.function_arn, target, exc)

    async def _put_event(self, bus_arn: str, outcome: AsyncOutcome, body: str) -> None:
        kind = "Success" if outcome.succeeded else "Failure"
        reply = await self.clients.call(self.clients.client("events").put_events, Entries=[{
            "Source": "lambda",
            "DetailType": f"Lambda Function Invocation Result - {kind}",
            "Detail": body,
            "Resources": [bus_arn, _qualified(outcome.function_arn)],
            "EventBusName": bus_arn,
        }])
        if reply.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents refused the record: {reply['Entries']}")
