"""One invocation of a function: its request, its result, and its log."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from emulator.domain.functions import FunctionConfig
from emulator.invocation.output import Output
from emulator.invocation.streaming import ResponseStream


def new_trace_id() -> str:
    """An X-Ray trace header value as Lambda passes it (not sampled)."""
    epoch = f"{int(time.time()):08x}"
    return f"Root=1-{epoch}-{os.urandom(12).hex()};Parent={os.urandom(8).hex()};Sampled=0"


@dataclass(frozen=True)
class InvocationResult:
    """What the runtime answered, or the platform's error in its place."""

    payload: bytes
    #: "Unhandled" when the function failed, else None
    function_error: str | None = None
    #: a platform failure that makes the environment unusable (timeout, crash)
    fatal: bool = False
    #: the line the platform adds to the log (e.g. the timeout notice)
    platform_log: str = ""
    #: extra REPORT fields for a platform failure, e.g. ``Status: timeout``
    report_status: str = ""

    @classmethod
    def platform_error(
        cls, error_type: str, message: str, *, platform_log: str = "", report_status: str = ""
    ) -> InvocationResult:
        """An error the platform answers in the function's place; the environment is lost."""
        body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        return cls(body, "Unhandled", fatal=True, platform_log=platform_log, report_status=report_status)


@dataclass
class Invocation:
    """An invocation on its way through an environment."""

    function: FunctionConfig
    payload: bytes
    client_context: str | None = None
    cognito_identity: str | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    trace_id: str = field(default_factory=new_trace_id)
    #: epoch milliseconds by which the function must answer (set when it is handed out)
    deadline_ms: int = 0
    started_at: float = 0.0
    future: asyncio.Future[InvocationResult] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    #: what the function printed while it ran (bounded: emulator/invocation/output.py)
    output: Output = field(default_factory=Output)
    #: set by the caller that wants the response as the runtime streams it (InvokeWithResponseStream,
    #: streaming Function URLs: emulator/invocation/streaming.py); None (the rule): a streamed
    #: response is gathered into the result's payload, up to the buffered limit (6 MB)
    stream: ResponseStream | None = None

    def start(self) -> None:
        """The runtime has received the invocation: the timeout clock runs from now."""
        self.started_at = time.monotonic()
        self.deadline_ms = int(time.time() * 1000) + self.function.timeout * 1000

    def finish(self, result: InvocationResult) -> bool:
        """Complete the invocation once; later answers are ignored (returns False)."""
        if self.future.done():
            return False
        self.future.set_result(result)
        return True

    @property
    def done(self) -> bool:
        return self.future.done()

    def runtime_headers(self) -> dict[str, str]:
        headers = {
            "Lambda-Runtime-Aws-Request-Id": self.request_id,
            "Lambda-Runtime-Deadline-Ms": str(self.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.function.qualified_arn,
            "Lambda-Runtime-Trace-Id": self.trace_id,
        }
        if self.client_context:
            headers["Lambda-Runtime-Client-Context"] = self.client_context
        if self.cognito_identity:
            headers["Lambda-Runtime-Cognito-Identity"] = self.cognito_identity
        return headers


def utc_timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
