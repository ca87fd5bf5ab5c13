"""Which of moto's services Cloudmicro patches, and when the patches go in.

Patches are applied per service on first use (:func:`prepare`, called by the embedded backend
for every request and by the in-process transport for every client), so a control plane that
never touches S3 does not import moto's S3; the moto server applies them all at start
(:func:`apply_all`). A service's request also prepares the services its deliveries pass through
(:data:`DEPENDS`): an S3 request prepares SNS and EventBridge (a bucket notifies topics and the
event bus), an EventBridge request prepares SNS (topic targets). CloudFormation can create
anything, so it prepares every patch but Step Functions' (its state machines are made through
the Step Functions API at the endpoint, whose requests prepare it: 0.4 s a stack without one
does not pay); so does a request whose service is unknown (unsigned, or SigV2: S3 clients use
both), except Step Functions' and CloudFormation's. Those are heavy (about
1.5 s and 130 MB for moto's ASL interpreter; 2 s for CloudFormation's engine, which imports
every moto model) and only matter once they are used: Step Functions' at a SigV4
StartExecution or an EventBridge target (:mod:`emulator.moto.events` prepares it before
delivering to a state machine), CloudFormation's at a SigV4 request or, unsigned, when moto
makes its CloudFormation app (:func:`prepare_app`, which the embedded moto calls). Without these,
a delivery would take moto's own path, which knows none of our functions and drops the event silently.

Each service's patch sets are found by a function that imports their module when first
needed (the Step Functions module imports moto's ASL interpreter as it loads).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable

from emulator.moto.patching import PatchSet


def _s3() -> PatchSet:
    from emulator.moto.s3 import PATCHES

    return PATCHES


def _sns() -> PatchSet:
    from emulator.moto.sns import PATCHES

    return PATCHES


def _events() -> PatchSet:
    from emulator.moto.events import PATCHES

    return PATCHES


def _scheduler() -> PatchSet:
    from emulator.moto.scheduler import PATCHES

    return PATCHES


def _apigateway() -> PatchSet:
    from emulator.moto.apigateway import PATCHES

    return PATCHES


def _elbv2() -> PatchSet:
    from emulator.moto.elbv2 import PATCHES

    return PATCHES


def _apigateway_import() -> PatchSet:
    from emulator.moto.apigateway_import import PATCHES

    return PATCHES


def _apigatewayv2_import() -> PatchSet:
    from emulator.moto.apigatewayv2_import import PATCHES

    return PATCHES


def _cloudformation() -> PatchSet:
    from emulator.moto.cloudformation_stacks import PATCHES

    return PATCHES


def _cloudformation_updates() -> PatchSet:
    from emulator.moto.cloudformation_updates import PATCHES

    return PATCHES


def _cloudformation_lambda() -> PatchSet:
    from emulator.moto.cloudformation_lambda import PATCHES

    return PATCHES


def _cloudformation_cdk() -> PatchSet:
    from emulator.moto.cloudformation_cdk import PATCHES

    return PATCHES


def _cloudformation_intrinsics() -> PatchSet:
    from emulator.moto.cloudformation_intrinsics import PATCHES

    return PATCHES


def _cloudformation_services() -> PatchSet:
    from emulator.moto.cloudformation_services import PATCHES

    return PATCHES


def _cloudformation_sam() -> PatchSet:
    from emulator.moto.cloudformation_sam import PATCHES

    return PATCHES


def _logs() -> PatchSet:
    from emulator.moto.logs import PATCHES

    return PATCHES


def _states() -> PatchSet:
    from emulator.moto.stepfunctions import PATCHES

    return PATCHES


#: SigV4 service name -> its patch sets
PATCHERS: dict[str, tuple[Callable[[], PatchSet], ...]] = {
    "states": (_states,),
    "logs": (_logs,),
    "sns": (_sns,),
    "events": (_events,),
    "scheduler": (_scheduler,),
    "s3": (_s3,),
    "apigateway": (_apigateway, _apigateway_import, _apigatewayv2_import),
    "elasticloadbalancing": (_elbv2,),
    # the engine's set first: the Lambda and services sets wrap its resource_class_from_type
    "cloudformation": (_cloudformation, _cloudformation_updates, _cloudformation_lambda, _cloudformation_services,
                       _cloudformation_cdk, _cloudformation_sam, _cloudformation_intrinsics),
}
#: service -> the services whose patched code its deliveries go through
DEPENDS: dict[str, tuple[str, ...]] = {"s3": ("sns", "events"), "events": ("sns",)}
#: services whose requests prepare every patch but Step Functions' (CloudFormation creates
#: resources of any service; a state machine through the Step Functions API, which prepares its own)
PREPARE_ALL: frozenset[str] = frozenset({"cloudformation"})
#: patches a request of unknown service does not prepare: heavy, and prepared where they are used
ON_USE_ONLY: frozenset[str] = frozenset({"states", "cloudformation"})

_lock = threading.RLock()
_prepared: set[str | None] = set()  # services (None: unsigned) whose requests were prepared for


def prepare(service: str | None) -> None:
    """Apply the patches a request for ``service`` needs, once (a set lookup after the first call).

    ``service`` is the SigV4 service name, or None when the request does not say (unsigned or
    SigV2): then every patch but Step Functions' is applied (see the module doc).
    """
    if service in _prepared:
        return
    with _lock:
        if service in _prepared:
            return
        for name in needed(service):
            for patch_set in PATCHERS[name]:
                patch_set().apply()
        _prepared.add(service)


def needed(service: str | None) -> list[str]:
    """The services whose patches a request for ``service`` needs, the service's own first."""
    if service in PREPARE_ALL:
        return [name for name in PATCHERS if name != "states"]
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


def prepare_app(service: str) -> None:
    """Apply a service's patches as moto makes its app (its first request): how an unsigned
    request for a service of :data:`ON_USE_ONLY` gets them (moto alone can tell its service)."""
    if service in PATCHERS:
        prepare(service)


def warm_cloudformation(endpoint: str, region: str) -> None:
    """Import CloudFormation's engine and apply every patch it needs now (about 1.5 s of imports),
    and make the Lambda client its provider calls the control plane's ``endpoint`` with, so that
    the first CreateStack does not pay for them: ``dev --template`` runs this while the control
    plane starts."""
    from emulator.moto import boto_data

    boto_data.PATCHES.apply()  # before moto.ec2 is imported: its import reads the region lists
    prepare("cloudformation")
    for module in ("moto.cloudformation.models", "moto.cloudformation.responses"):
        importlib.import_module(module)
    from emulator.moto.cloudformation_lambda import lambda_client, members

    members("CreateFunction")  # Lambda's model, read once
    lambda_client(region, endpoint)


def apply_all() -> None:
    for service in PATCHERS:
        prepare(service)


def bucket_cors_only() -> None:
    """Turn off moto's global CORS (flask-cors on every service, allowing any origin): S3 then
    answers by the bucket's CORS configuration, as AWS does, and the endpoint's guard answers CORS
    for the other services, for allowed origins only (:mod:`emulator.app.guard`)."""
    from moto.moto_server import werkzeug_app

    werkzeug_app.DISABLE_GLOBAL_CORS = True  # read by create_backend_app
