"""InvokeWithResponseStream: the function's response as an event stream, chunk by chunk.

The invocation runs through the seam (the Invoke operation, with a
:class:`~emulator.invocation.streaming.ResponseStream`). Errors found before an environment has
the invocation (unknown function, throttling, a failed install, a bad payload) are HTTP errors
as for Invoke; from then on the answer is 200, ``Content-Type: application/vnd.amazon.eventstream``,
one ``PayloadChunk`` event per piece the runtime streams (a buffered answer is one chunk), then
``InvokeComplete``, with ``ErrorCode`` / ``ErrorDetails`` when the function failed and
``LogResult`` with ``X-Amz-Log-Type: Tail``.

https://docs.aws.amazon.com/lambda/latest/api/API_InvokeWithResponseStream.html
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from emulator.api import validation
from emulator.api.deps import plane_of
from emulator.domain.errors import LambdaError
from emulator.invocation import eventstream
from emulator.invocation.invoke_api import InvokeOutcome, InvokeRequest
from emulator.invocation.streaming import ResponseStream, error_details

log = logging.getLogger(__name__)
router = APIRouter()

EVENT_STREAM = "application/vnd.amazon.eventstream"
#: invocations whose client went away: they run to their end (as on AWS), held here meanwhile
_running: set[asyncio.Task[InvokeOutcome]] = set()


async def invoke_with_response_stream(request: Request) -> Response:
    headers = request.headers
    name = request.path_params["function_name"]
    qualifier = request.query_params.get("Qualifier")
    validation.check("InvokeWithResponseStream", {"FunctionName": name, "Qualifier": qualifier})
    invoke = InvokeRequest(
        function_name=name,
        payload=await request.body(),
        invocation_type=headers.get("x-amz-invocation-type", "RequestResponse"),
        log_type=headers.get("x-amz-log-type", "None"),
        client_context=headers.get("x-amz-client-context"),
        qualifier=qualifier,
    )
    stream = ResponseStream()
    task = asyncio.create_task(plane_of(request).invoker.invoke(invoke, stream))
    _running.add(task)
    task.add_done_callback(_done)
    begun = asyncio.create_task(stream.begun())
    await asyncio.wait((task, begun), return_when=asyncio.FIRST_COMPLETED)
    begun.cancel()
    if task.done() and (task.exception() is not None or task.result().status != 200):
        outcome = task.result()  # raises the seam's error: an HTTP error, as for Invoke
        return Response(status_code=outcome.status, headers={"x-amzn-RequestId": outcome.request_id})
    reply = {"x-amzn-RequestId": stream.request_id or "", "X-Amz-Executed-Version": stream.executed_version}
    return StreamingResponse(_events(stream, task), headers=reply, media_type=EVENT_STREAM)


async def _events(stream: ResponseStream, task: asyncio.Task[InvokeOutcome]) -> AsyncIterator[bytes]:
    """The event stream: a PayloadChunk per chunk as it comes, then InvokeComplete."""
    try:
        async for chunk in stream:
            yield eventstream.payload_chunk(chunk)
        try:
            outcome = await asyncio.shield(task)
        except LambdaError as exc:  # the seam failed after the stream began (an executor error)
            yield eventstream.invoke_complete(exc.code, exc.message)
            return
        failed = stream.error_type is not None
        yield eventstream.invoke_complete(
            stream.error_type, error_details(stream.error_body) if failed else None, outcome.log_result
        )
    finally:
        if not stream.finished:
            stream.abandon()  # the client went away: the invocation runs on, unread


def _done(task: asyncio.Task[InvokeOutcome]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None and not isinstance(task.exception(), LambdaError):
        log.error("InvokeWithResponseStream failed", exc_info=task.exception())


# A plain (Starlette) route, as Invoke's.
router.add_route("/2021-11-15/functions/{function_name}/response-streaming-invocations",
                 invoke_with_response_stream, methods=["POST"])
