"""Where moto's threads hand events to our functions: an asynchronous Invoke through the endpoint.

moto delivers to Lambda through its own Lambda backend, which knows nothing of our functions:
S3 ``LambdaFunctionConfigurations`` are silently dropped, SNS ``lambda`` subscriptions raise
(Publish fails) and EventBridge Lambda targets raise ``NotImplementedError`` (PutEvents fails).
The patches of this package (:mod:`emulator.moto.services` lists them) build the event as AWS
shapes it and hand it to :func:`invoke_async`, an ``InvocationType: Event`` Invoke of the
function through the Cloudmicro endpoint. So the event goes through the same asynchronous queue
as any Event invoke (retries, destinations, DLQ), whether moto is embedded or a separate server
(``python -m emulator.moto.server``), and deliveries moto makes internally (S3 -> SNS topic ->
Lambda, S3 -> EventBridge -> Lambda) arrive too.

The endpoint is a stack (:func:`configure` / :func:`release`): control planes started in one
process share the embedded moto, and the newest one gets its deliveries.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

_lock = threading.Lock()
_endpoints: list[tuple[object, str]] = []  # a stack: the newest control plane in this process wins
_http: httpx.Client | None = None


def configure(endpoint: str) -> object:
    """Deliver to ``endpoint`` from now on; returns a token for :func:`release`."""
    token = object()
    with _lock:
        _endpoints.append((token, endpoint.rstrip("/")))
    return token


def release(token: object) -> None:
    """Forget an endpoint given to :func:`configure` (its control plane stopped)."""
    with _lock:
        _endpoints[:] = [(t, e) for t, e in _endpoints if t is not token]


def endpoint() -> str | None:
    with _lock:
        return _endpoints[-1][1] if _endpoints else None


@dataclass(frozen=True)
class Refusal:
    """Why an asynchronous Invoke was not accepted: the HTTP status (None: no answer), Lambda's
    error type (``ResourceNotFoundException``...) and message."""

    status: int | None
    error_type: str
    message: str


def _client() -> httpx.Client:
    global _http
    if _http is None:
        _http = httpx.Client(timeout=httpx.Timeout(30, connect=5))
    return _http


def invoke_async(function_arn: str, payload: bytes, *, source: str) -> Refusal | None:
    """Invoke ``function_arn`` asynchronously (``InvocationType: Event``) with ``payload``.

    None when the event was queued; otherwise the :class:`Refusal`, logged. Called from moto's
    threads. ``source`` names the sender in log messages ("S3 bucket b").
    """
    target = endpoint()
    if target is None:
        log.warning("%s: no Cloudmicro endpoint to deliver to %s", source, function_arn)
        return Refusal(None, "NoEndpoint", "no Cloudmicro endpoint to deliver to")
    url = f"{target}/2015-03-31/functions/{quote(function_arn, safe='')}/invocations"
    try:
        reply = _client().post(url, content=payload, headers={"X-Amz-Invocation-Type": "Event"})
    except httpx.HTTPError as exc:
        log.warning("%s: could not deliver to %s: %s", source, function_arn, exc)
        return Refusal(None, type(exc).__name__, str(exc))
    if reply.status_code == 202:
        return None
    log.warning("%s: delivery to %s refused: HTTP %d %s", source, function_arn,
                reply.status_code, reply.text[:300])
    return Refusal(reply.status_code, reply.headers.get("x-amzn-errortype", "").split(":")[0],
                   _error_message(reply))


def _error_message(reply: httpx.Response) -> str:
    try:
        body = reply.json()
    except ValueError:
        return reply.text[:300]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("Message") or reply.text[:300])
    return reply.text[:300]


def deliver(function_arn: str, payload: bytes, *, source: str) -> bool:
    """:func:`invoke_async`, True when the event was queued (a refusal is logged)."""
    return invoke_async(function_arn, payload, source=source) is None


def function_exists(function_arn: str) -> bool:
    """Whether the Cloudmicro endpoint knows the function (GetFunction answers 200)."""
    target = endpoint()
    if target is None:
        return False
    try:
        reply = _client().get(f"{target}/2015-03-31/functions/{quote(function_arn, safe='')}")
    except httpx.HTTPError:
        return False
    return reply.status_code == 200
