"""Deliveries from moto to our functions (S3 notifications, SNS subscriptions, EventBridge
targets) and Step Functions tasks that call our endpoint.

moto delivers to Lambda through its own Lambda backend, which knows nothing of our
functions: S3 ``LambdaFunctionConfigurations`` are silently dropped, SNS ``lambda``
subscriptions raise (Publish fails) and EventBridge Lambda targets raise
``NotImplementedError`` (PutEvents fails). Each event source module patches its delivery
point in moto (``patch_moto()``) to build the event as AWS shapes it and hand it to
:func:`deliver`, an asynchronous Invoke (``InvocationType: Event``) of the function through
the Cloudmicro endpoint. So the event goes through the same async queue as any Event
invoke (retries, destinations, DLQ), whether moto is embedded or a separate server
(``python -m emulator.moto.server``), and deliveries moto makes internally (S3 -> SNS
topic -> Lambda, S3 -> EventBridge -> Lambda) arrive too.

Patches are applied per service on first use (:func:`prepare`), so a control plane that
never touches S3 does not import moto's S3; the moto server applies them all at start. A
service's request also prepares the services its deliveries pass through (:data:`DEPENDS`): an
S3 request prepares SNS and EventBridge (a bucket notifies topics and the event bus), an
EventBridge request prepares SNS (topic targets). CloudFormation can create anything, so it
prepares every patch; so does a request whose service is unknown (unsigned, or SigV2: S3 clients
use both), except Step Functions'. That one is heavy (about 1.5 s and 130 MB: moto's ASL
interpreter) and only matters once an execution starts, which is a SigV4 StartExecution or an
EventBridge target (:mod:`emulator.push.eventbridge` prepares it before delivering to a
state machine). Without these, a delivery would take moto's own path, which knows none of our
functions and drops the event silently.

Step Functions: moto runs state machines (its port of an ASL interpreter) when
``execute_state_machine`` is on; :mod:`emulator.moto.stepfunctions` turns that on and has
its tasks call the Cloudmicro endpoint (see there), so Lambda tasks reach our functions
and service integrations reach moto through the gateway.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

#: SigV4 service name -> "module:function" that patches moto's delivery for it (several: space-separated)
PATCHERS: dict[str, str] = {
    "states": "emulator.moto.stepfunctions:patch",
    "sns": "emulator.push.sns:patch_moto",
    "events": "emulator.push.eventbridge:patch_moto emulator.schedules.checks:patch_moto_rules",
    "scheduler": "emulator.schedules.checks:patch_moto",
    "s3": "emulator.moto.s3:patch_moto",
}

#: service -> the services whose patched code its deliveries go through
DEPENDS: dict[str, tuple[str, ...]] = {"s3": ("sns", "events"), "events": ("sns",)}
#: services whose requests prepare every patch (CloudFormation creates resources of any service)
PREPARE_ALL: frozenset[str] = frozenset({"cloudformation"})
#: patches a request of unknown service does not prepare: heavy, and prepared where they are used
ON_USE_ONLY: frozenset[str] = frozenset({"states"})

_lock = threading.Lock()
_prepare_lock = threading.RLock()
_prepared: set[str | None] = set()  # services (None: unsigned) whose requests were prepared for
_applied: set[str] = set()  # services whose patches are applied
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


def prepare(service: str | None) -> None:
    """Apply the patches a request for ``service`` needs, once (a set lookup after the first call).

    ``service`` is the SigV4 service name, or None when the request does not say (unsigned or
    SigV2): then every patch but Step Functions' is applied (see the module doc).
    """
    if service in _prepared:
        return
    with _prepare_lock:
        if service in _prepared:
            return
        for name in needed(service):
            _apply(name)
        _prepared.add(service)


def needed(service: str | None) -> list[str]:
    """The services whose patches a request for ``service`` needs, the service's own first."""
    if service in PREPARE_ALL:
        return list(PATCHERS)
    if service is None:
        return [name for name in PATCHERS if name not in ON_USE_ONLY]
    order: list[str] = []
    pending = [service]
    while pending:
        name = pending.pop(0)
        if name in order:
            continue
        order.append(name)
        pending += DEPENDS.get(name, ())
    return [name for name in order if name in PATCHERS]


def _apply(service: str) -> None:
    if service in _applied:
        return
    for spec in PATCHERS[service].split():
        module_name, _, function = spec.partition(":")
        patch: Callable[[], None] = getattr(importlib.import_module(module_name), function)
        patch()
    _applied.add(service)


def apply_all() -> None:
    for service in PATCHERS:
        prepare(service)


@dataclass(frozen=True)
class Refusal:
    """Why an asynchronous Invoke was not accepted: the HTTP status (None: no answer), Lambda's
    error type (``ResourceNotFoundException``...) and message."""

    status: int | None
    error_type: str
    message: str


def invoke_async(function_arn: str, payload: bytes, *, source: str) -> Refusal | None:
    """Invoke ``function_arn`` asynchronously (``InvocationType: Event``) with ``payload``.

    None when the event was queued; otherwise the :class:`Refusal`, logged. Called from moto's
    threads. ``source`` names the sender in log messages ("S3 bucket b").
    """
    global _http
    target = endpoint()
    if target is None:
        log.warning("%s: no Cloudmicro endpoint to deliver to %s", source, function_arn)
        return Refusal(None, "NoEndpoint", "no Cloudmicro endpoint to deliver to")
    if _http is None:
        _http = httpx.Client(timeout=httpx.Timeout(30, connect=5))
    url = f"{target}/2015-03-31/functions/{quote(function_arn, safe='')}/invocations"
    try:
        reply = _http.post(url, content=payload, headers={"X-Amz-Invocation-Type": "Event"})
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
