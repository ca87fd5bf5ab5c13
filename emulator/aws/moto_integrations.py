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
(``python -m emulator.aws.moto_server``), and deliveries moto makes internally (S3 -> SNS
topic -> Lambda, S3 -> EventBridge -> Lambda) arrive too.

Patches are applied per service on first use (:func:`prepare`), so a control plane that
never touches S3 does not import moto's S3; the moto server applies them all at start.

Step Functions: moto runs state machines (its port of an ASL interpreter) when
``execute_state_machine`` is on; its tasks call AWS with boto3 at ``localhost:$MOTO_PORT``.
Here they call the Cloudmicro endpoint instead, so Lambda tasks reach our functions and
service integrations reach moto through the gateway.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import threading
from typing import Any, Callable
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

#: SigV4 service name -> "module:function" that patches moto's delivery for it
PATCHERS: dict[str, str] = {
    "states": "emulator.aws.moto_integrations:patch_step_functions",
}

_lock = threading.Lock()
_prepared: set[str] = set()
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
    """Apply the patch for ``service`` once (cheap after the first call)."""
    if service is None or service in _prepared or service not in PATCHERS:
        return
    with _lock:
        if service in _prepared:
            return
        module_name, _, function = PATCHERS[service].partition(":")
        patch: Callable[[], None] = getattr(importlib.import_module(module_name), function)
        patch()
        _prepared.add(service)


def apply_all() -> None:
    for service in PATCHERS:
        prepare(service)


def deliver(function_arn: str, payload: bytes, *, source: str) -> bool:
    """Invoke ``function_arn`` asynchronously with ``payload``; False (logged) when it cannot.

    Called from moto's threads. ``source`` names the sender in log messages ("S3 bucket b").
    """
    global _http
    target = endpoint()
    if target is None:
        log.warning("%s: no Cloudmicro endpoint to deliver to %s", source, function_arn)
        return False
    if _http is None:
        _http = httpx.Client(timeout=httpx.Timeout(30, connect=5))
    url = f"{target}/2015-03-31/functions/{quote(function_arn, safe='')}/invocations"
    try:
        reply = _http.post(url, content=payload, headers={"X-Amz-Invocation-Type": "Event"})
    except httpx.HTTPError as exc:
        log.warning("%s: could not deliver to %s: %s", source, function_arn, exc)
        return False
    if reply.status_code != 202:
        log.warning("%s: delivery to %s refused: HTTP %d %s", source, function_arn,
                    reply.status_code, reply.text[:300])
        return False
    return True


def _sfn_boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service_name=service, region_name=region, endpoint_url=endpoint(),
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1},
                      connect_timeout=60, read_timeout=960),
    )


def patch_step_functions() -> None:
    """Run state machines, with their tasks calling the Cloudmicro endpoint."""
    import moto.stepfunctions.parser.asl as asl
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"]["execute_state_machine"] = True
    for info in pkgutil.walk_packages(asl.__path__, asl.__name__ + "."):
        try:
            module = importlib.import_module(info.name)
        except Exception:  # noqa: BLE001 - a module we cannot import cannot call AWS either
            continue
        if getattr(module, "boto_client_for", None) is not None:
            module.boto_client_for = _sfn_boto_client_for  # type: ignore[attr-defined]
