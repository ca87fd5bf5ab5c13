"""A function's response, streamed: one :class:`ResponseStream` per invocation whose caller wants
the response as the runtime writes it (InvokeWithResponseStream; Function URLs in
``RESPONSE_STREAM`` mode).

How it is used:

- The **caller** makes the stream, sets it on the invocation (``Invocation(..., stream=s)``), runs
  the invocation through the seam (``InvokeService.execute``) in a task, and reads the chunks with
  ``async for chunk in s`` while it runs. ``await s.begun()`` returns once an environment has the
  invocation (or the stream ended before that): answer the client then, so that errors the seam
  raises first (throttling, unknown function, failed install) can still be HTTP errors. After the
  loop ends, ``s.error_type`` / ``s.error_body`` say whether the function failed (a function error
  reported by the runtime, a timeout, a crash: ``error_type`` is AWS's, e.g. ``Sandbox.Timedout``)
  and ``s.total`` how many bytes the runtime streamed. A caller whose client went away calls
  ``s.abandon()``: the invocation runs on, what the runtime still writes is dropped.
- The **Runtime API** calls ``await s.put(chunk)`` for each piece of a streamed response as it
  arrives (``Lambda-Runtime-Function-Response-Mode: streaming``), after ``s.open(content_type)``.
  ``put`` waits while the reader is :data:`BUFFER_LIMIT` bytes behind: a slow reader slows the
  runtime's upload (TCP backpressure), memory stays bounded.
- The **invocation** ends the stream when it completes (:meth:`settle`, from
  ``Invocation.finish``), whatever ended it: a runtime's buffered (non-streaming) answer becomes
  the stream's one chunk, an error its ``error_type`` / ``error_body``. :meth:`finish` is
  idempotent: the first end wins.

Everything runs on the control plane's event loop (no threads).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator

#: bytes a stream holds for its reader before ``put`` waits (the runtime's upload then stalls)
BUFFER_LIMIT = 1024 * 1024
#: the largest streamed response (AWS's default since July 2025: "response streaming functions
#: can return payloads up to 200 MB", configuration-response-streaming.html; it was a 20 MB soft
#: limit before)
MAX_STREAMED_RESPONSE = 200 * 1024 * 1024


class ResponseStream:
    """The chunks of one invocation's response, from its runtime to one reader (see the module doc)."""

    def __init__(self, buffer_limit: int = BUFFER_LIMIT) -> None:
        #: the runtime's ``Content-Type`` for the stream (None until it streams, or when it sent none)
        self.content_type: str | None = None
        #: set when the function failed: AWS's error type (``Sandbox.Timedout``, the runtime's
        #: ``Lambda-Runtime-Function-Error-Type``, ...) and the error document
        self.error_type: str | None = None
        self.error_body: bytes | None = None
        #: the invocation's request id, once an environment has it (:meth:`begin`)
        self.request_id: str | None = None
        #: bytes put so far (the whole response once the stream has ended)
        self.total = 0
        #: True once the runtime answered in streaming mode (:meth:`open`)
        self.streamed = False
        #: the function version that runs (X-Amz-Executed-Version; set by the Invoke operation)
        self.executed_version = "$LATEST"
        self.finished = False
        self.abandoned = False
        self._limit = buffer_limit
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._begun = asyncio.Event()

    # --- the runtime's side ------------------------------------------------------------

    def open(self, content_type: str | None) -> None:
        """The runtime answers in streaming mode, with this ``Content-Type``."""
        self.streamed = True
        self.content_type = content_type

    async def put(self, chunk: bytes) -> None:
        """Add a chunk for the reader; waits while the reader is behind. After the end (or once
        the reader has gone) the chunk is dropped."""
        if not chunk:
            return
        self.total += len(chunk)
        while self._buffered >= self._limit and not (self.finished or self.abandoned):
            self._writable.clear()
            await self._writable.wait()
        if self.finished or self.abandoned:
            return
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        self._readable.set()

    def finish(self, error_type: str | None = None, error_body: bytes | None = None) -> None:
        """End the stream (a function error when ``error_type`` is given); later ends are ignored."""
        if self.finished:
            return
        self.finished = True
        if error_type is not None:
            self.error_type = error_type
            self.error_body = error_body if error_body is not None else b""
        self._readable.set()
        self._writable.set()
        self._begun.set()

    def settle(self, payload: bytes, failed: bool) -> None:
        """End the stream with the invocation's result (``Invocation.finish`` calls this): an
        error's type comes from its document; a buffered answer is the stream's one chunk."""
        if self.finished:
            return
        if failed:
            self.finish(error_type_of(payload), payload)
            return
        if not self.streamed and payload:
            self._chunks.append(payload)  # already in memory, at most 6 MB: no wait
            self._buffered += len(payload)
            self.total += len(payload)
        self.finish()

    # --- the seam's side ------------------------------------------------------------------

    def begin(self, request_id: str) -> None:
        """An environment has the invocation ``request_id`` (``InvokeService.execute``)."""
        self.request_id = request_id
        self._begun.set()

    async def begun(self) -> None:
        """Return once an environment has the invocation, or the stream has ended."""
        await self._begun.wait()

    # --- the reader's side ------------------------------------------------------------------

    def abandon(self) -> None:
        """The reader has gone: what the runtime writes from now on is dropped (it runs on)."""
        self.abandoned = True
        self._chunks.clear()
        self._buffered = 0
        self._writable.set()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._read()

    async def _read(self) -> AsyncIterator[bytes]:
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._buffered < self._limit:
                    self._writable.set()
                yield chunk
            elif self.finished or self.abandoned:
                return
            else:
                self._readable.clear()
                await self._readable.wait()


def error_type_of(document: bytes) -> str:
    """The ``errorType`` of an error document (``Unhandled`` when it names none)."""
    try:
        parsed = json.loads(document)
    except ValueError:
        return "Unhandled"
    kind = parsed.get("errorType") if isinstance(parsed, dict) else None
    return kind if isinstance(kind, str) and kind else "Unhandled"


def error_details(document: bytes | None) -> str:
    """An error document as InvokeComplete's ``ErrorDetails``: its ``errorMessage``, else its text."""
    if not document:
        return ""
    try:
        parsed = json.loads(document)
    except ValueError:
        return document.decode(errors="replace")
    message = parsed.get("errorMessage") if isinstance(parsed, dict) else None
    return message if isinstance(message, str) else document.decode(errors="replace")
