"""S3 -> Lambda: a bucket's ``LambdaFunctionConfigurations`` invoke Cloudmicro functions.

moto keeps the configuration (it calls Lambda configurations ``cloud_function``) and reports each
object event through ``moto.s3.notifications.send_event``, but its Lambda delivery looks the
function up in moto's own Lambda backend, which knows none of ours, so nothing arrives.
:data:`PATCHES` changes that, pinned to moto 5.2.5:

* ``send_event`` still runs moto's queue, topic and EventBridge deliveries, but queues and topics
  get the event AWS sends (:func:`queue_and_topic_event` replaces moto's thinner record, whose
  keys also had ``/`` encoded), and so does the default event bus (:func:`to_eventbridge`); moto's own
  Lambda call is made inert, and for each Lambda configuration the event matches (event type
  with wildcards, prefix/suffix on the encoded key: :mod:`.s3_events`) the event AWS would send
  is built and handed to :func:`emulator.moto.delivery.deliver`, an asynchronous Invoke
  through the endpoint. Delivery happens before the S3 call answers, so once PutObject returns
  the event is in the function's async queue.
* moto's extra events are dropped for every destination (functions, queues, topics and
  EventBridge), so each operation sends one event as on AWS: the ``ObjectCreated:Put`` and
  ``ObjectTagging:Put`` that CompleteMultipartUpload makes, and the ``ObjectTagging:Put`` after
  every PutObject and CopyObject. moto's ``s3:TestEvent`` goes to queues and topics only, as on
  AWS.
* In a versioned bucket moto sends nothing for a delete marker and reports a version delete
  only once the key's last version is gone; every destination gets
  ``ObjectRemoved:DeleteMarkerCreated`` and ``ObjectRemoved:Delete`` (with ``versionId``) as AWS
  sends them instead (:func:`notify_every_destination`). With versioning suspended, a delete
  without a version id makes a delete marker whose version id is ``null`` on AWS ("Deleting
  objects from versioning-suspended buckets"): every destination gets
  ``ObjectRemoved:DeleteMarkerCreated`` with ``versionId: "null"`` and DeleteObject answers
  ``DeleteMarker: true`` (moto itself still removes the key and its versions).
* PutBucketNotificationConfiguration checks each function through the endpoint (GetFunction),
  unless ``SkipDestinationValidation`` is set: an unknown function is rejected with AWS's
  ``InvalidArgument`` "Unable to validate the following destination configurations". moto does
  not check (it only looks at the ARN's shape). Filter rule names are accepted in any case
  (``Prefix``), as AWS does; moto fails on anything but lower case. Other rule names, empty
  values, repeated rules and overlapping configurations get AWS's 400 ``InvalidArgument``
  (:func:`.s3_events.check_notification_configuration`) instead of moto's AssertionError (500).

Where AWS has data moto lacks, events carry stand-ins: the request id and ``x-amz-id-2`` are
generated per S3 request, ``sourceIPAddress`` is the caller's address as the server saw it, and
the principals are AWS's documentation examples.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from emulator.domain.arn import Arn
from emulator.moto import delivery as moto_delivery
from emulator.moto.patching import Patch, PatchSet, replace_with
from emulator.push.s3 import (
    NotificationConfigurationError,
    ObjectEvent,
    build_event,
    check_notification_configuration,
    configuration_matches,
    eventbridge_detail,
)

log = logging.getLogger(__name__)

PUT = "s3:ObjectCreated:Put"
TAGGING_PUT = "s3:ObjectTagging:Put"
REMOVED = "s3:ObjectRemoved:Delete"
DELETE_MARKER_CREATED = "s3:ObjectRemoved:DeleteMarkerCreated"
NULL_VERSION = "null"  # the version id of objects and delete markers made while versioning is suspended

VALIDATION_MESSAGE = "Unable to validate the following destination configurations"

_local = threading.local()  # per moto request thread: request facts, events not to pass on
_http: httpx.Client | None = None


class _Sequencer:
    """Increasing hex strings of one width (so they also compare as strings)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> str:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns())
            return f"{self._last:018X}"


_sequencer = _Sequencer()


# --- request facts ----------------------------------------------------------------------------


def _request_facts() -> tuple[str, str, str]:
    """(source IP, request id, host id) of the S3 request this thread is serving."""
    if getattr(_local, "request_id", None) is None:
        _local.request_id = os.urandom(8).hex().upper()
        _local.host_id = base64.b64encode(os.urandom(48)).decode()
    return getattr(_local, "source_ip", "127.0.0.1"), _local.request_id, _local.host_id


@contextmanager
def _dropped(*names: str) -> Iterator[None]:
    """While inside, moto's events named ``names`` go nowhere (this thread): AWS sends none, or
    Cloudmicro sends its own."""
    before: frozenset[str] = getattr(_local, "dropped", frozenset())
    _local.dropped = before | set(names)
    try:
        yield
    finally:
        _local.dropped = before


def _is_dropped(event_name: str) -> bool:
    return event_name in getattr(_local, "dropped", ())


# --- delivery ---------------------------------------------------------------------------------


def _version_id(bucket: Any, version_id: Any) -> str | None:
    if getattr(bucket, "versioning_status", None) not in ("Enabled", "Suspended") or version_id is None:
        return None
    return str(version_id)


def _object_event(event_name: str, bucket: Any, key_name: str, *, size: int | None = None,
                  etag: str | None = None, version_id: Any = None, key: Any = None) -> ObjectEvent:
    """What the bucket saw, with this request's facts. One operation's event has one sequencer,
    whichever destinations (functions, queues, topics) it goes to."""
    source_ip, request_id, host_id = _request_facts()
    sequencers: dict[tuple[str, str], str] = _local.__dict__.setdefault("sequencers", {})
    sequencer = sequencers.get((event_name, key_name))
    if sequencer is None:
        sequencer = sequencers[(event_name, key_name)] = _sequencer.next()
    return ObjectEvent(
        name=event_name, region=bucket.region_name, bucket=bucket.name, bucket_arn=bucket.arn,
        key=key_name, time=datetime.now(UTC), sequencer=sequencer,
        request_id=request_id, host_id=host_id, source_ip=source_ip, size=size, etag=etag,
        version_id=_version_id(bucket, version_id),
        restore_expiry=getattr(key, "_expiry", None), storage_class=getattr(key, "storage_class", None),
    )


def _key_facts(key: Any) -> dict[str, Any]:
    etag = getattr(key, "etag", None)
    return {"size": getattr(key, "size", None), "etag": etag.replace('"', "") if isinstance(etag, str) else None,
            "version_id": getattr(key, "version_id", None), "key": key}


def queue_and_topic_event(event_name: Any, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
    """Stands in for moto's ``_get_s3_event``, which builds what queues and topics get: the
    event AWS sends, as functions get it (moto's lacks the identities, request facts, sequencer
    and version, and encodes ``/`` in keys)."""
    name = str(getattr(event_name, "value", event_name))
    return build_event(_object_event(name, bucket, key.name, **_key_facts(key)), notification_id)


def to_eventbridge(account_id: str, bucket: Any, event_name: Any, key: Any) -> None:
    """Stands in for moto's ``_send_event_bridge_message``: the event S3 sends to the default
    bus, with this request's facts (moto's had one fixed id for every event, the documentation's
    sample request id, sequencer and address, a ``reason`` of "ObjectCreated", and went to
    every bus)."""
    from moto.events.models import events_backends
    from moto.events.utils import EventMessageType
    from moto.s3.notifications import _detail_type

    name = str(getattr(event_name, "value", event_name))
    try:
        detail_type = _detail_type(name)
    except ValueError:
        return
    event = _object_event(name, bucket, key.name, **_key_facts(key))
    message: EventMessageType = {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": "aws.s3",
        "account": account_id, "time": event.time.timestamp(), "region": bucket.region_name,
        "resources": [bucket.arn], "detail": eventbridge_detail(event, account_id)}
    bus = events_backends[account_id][bucket.region_name].event_buses.get("default")
    for rule in list(bus.rules.values()) if bus is not None else []:
        rule.send_to_targets(message, transform_input=False)


@dataclass(frozen=True)
class _RemovedKey:
    """What ``send_event`` reads of a key, for a delete moto reports no event for."""

    name: str
    version_id: str | None


def notify_every_destination(event_name: str, bucket: Any, key_name: str, version_id: str | None) -> None:
    """An event moto does not send (the deletes of a versioned bucket), sent the way moto's are:
    to the functions, queues, topics and EventBridge the configuration names."""
    from moto.s3 import notifications

    notifications.send_event(bucket.account_id, notifications.S3NotificationEvent(event_name), bucket,
                             _RemovedKey(key_name, version_id))


def _never_failing(send: Callable[..., None]) -> Callable[..., None]:
    """A delivery that logs what goes wrong: S3's notifications are asynchronous, never the S3 call's failure."""
    @functools.wraps(send)
    def sending(*args: Any) -> None:
        try:
            send(*args)
        except Exception:
            log.exception("S3 notification: %s failed", send.__name__)
    return sending


def notify_functions(event_name: str, bucket: Any, key_name: str, *, size: int | None = None,
                     etag: str | None = None, version_id: Any = None, key: Any = None) -> int:
    """Deliver ``event_name`` for ``key_name`` to every matching Lambda configuration of
    ``bucket`` (a moto bucket); returns how many deliveries were accepted."""
    config = bucket.notification_configuration
    if config is None or not config.cloud_function:
        return 0
    matching = [n for n in config.cloud_function if configuration_matches(n.events, n.filters, event_name, key_name)]
    if not matching:
        return 0
    event = _object_event(event_name, bucket, key_name, size=size, etag=etag, version_id=version_id, key=key)
    delivered = 0
    for notification in matching:
        payload = json.dumps(build_event(event, notification.id)).encode()
        delivered += moto_delivery.deliver(notification.arn, payload, source=f"S3 bucket {bucket.name}")
    return delivered


def _notify_key(event_name: str, bucket: Any, key: Any) -> None:
    """``send_event``'s view: ``key`` is a moto FakeKey (or a delete marker)."""
    if key is None:
        return
    notify_functions(event_name, bucket, key.name, **_key_facts(key))


# --- destination validation -------------------------------------------------------------------


def _function_exists(arn: str) -> bool | None:
    """Whether the endpoint knows the function; None when there is no endpoint to ask."""
    global _http
    target = moto_delivery.endpoint()
    if target is None:
        return None
    if _http is None:
        _http = httpx.Client(timeout=httpx.Timeout(10, connect=5))
    try:
        reply = _http.get(f"{target}/2015-03-31/functions/{quote(arn, safe='')}")
    except httpx.HTTPError as exc:
        log.warning("S3 notification: could not check function %s: %s", arn, exc)
        return None
    if reply.status_code >= 500:
        log.warning("S3 notification: checking function %s: HTTP %d", arn, reply.status_code)
        return None
    return reply.status_code == 200


def validate_functions(arns: list[str]) -> None:
    """Raise AWS's InvalidArgument when a function does not exist (moto's S3 error class)."""
    from moto.s3.exceptions import InvalidArgumentError

    for arn in dict.fromkeys(arns):
        if _function_exists(arn) is False:
            # AWS names the first destination it could not validate, in these words
            raise InvalidArgumentError(VALIDATION_MESSAGE, f"{arn}, null", f"Not authorized to invoke function [{arn}]")


_RULE_NAME = re.compile(rb"<Name>\s*(prefix|suffix)\s*</Name>", re.IGNORECASE)


def _lower_rule_names(body: Any) -> Any:
    if isinstance(body, str):
        return _RULE_NAME.sub(lambda m: b"<Name>%s</Name>" % m.group(1).lower(), body.encode()).decode()
    if isinstance(body, bytes):
        return _RULE_NAME.sub(lambda m: b"<Name>%s</Name>" % m.group(1).lower(), body)
    return body


def check_configuration_body(body: Any) -> None:
    """PutBucketNotificationConfiguration's filter and overlap checks (:mod:`.s3_events`), raised as
    moto's ``InvalidArgumentError`` (AWS's 400 InvalidArgument) before moto parses the body (it
    asserts on rule names and values: a 500)."""
    import xmltodict
    from moto.s3.exceptions import InvalidArgumentError

    try:
        parsed = xmltodict.parse(body)
    except Exception:  # noqa: BLE001 - malformed XML: moto's own error
        return
    try:
        check_notification_configuration((parsed or {}).get("NotificationConfiguration"))
    except NotificationConfigurationError as exc:
        raise InvalidArgumentError(exc.message, exc.argument_name, exc.argument_value) from None


# --- the patch --------------------------------------------------------------------------------


def _wrapping(make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Callable[[Any], Any]:
    """A patch ``make`` whose replacement carries the original's name and docstring."""
    return lambda original: functools.wraps(original)(make(original))


def _send_event(original: Callable[..., None]) -> Callable[..., None]:
    def patched(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        name = str(getattr(event_name, "value", event_name))
        if _is_dropped(name):
            return
        original(account_id, event_name, bucket, key)
        try:
            _notify_key(name, bucket, key)
        except Exception:
            log.exception("S3 notification for %s failed", getattr(bucket, "name", bucket))
    return patched


def _delete_object(original: Callable[..., Any]) -> Callable[..., Any]:
    def patched(self: Any, bucket_name: str, key_name: str, version_id: str | None = None,
                bypass: bool = False) -> Any:
        bucket = self.get_bucket(bucket_name)
        if getattr(bucket, "versioning_status", None) == "Suspended" and version_id is None:
            return suspended_delete(self, bucket, key_name, bypass)
        if not bucket.is_versioned:
            return original(self, bucket_name, key_name, version_id=version_id, bypass=bypass)
        existed = version_id is not None and any(
            str(v.version_id) == str(version_id) for v in bucket.keys.getlist(key_name, []))
        with _dropped(REMOVED):
            success, meta = original(self, bucket_name, key_name, version_id=version_id, bypass=bypass)
        try:
            if success and version_id is None and meta.get("delete-marker") == "true":
                notify_every_destination(DELETE_MARKER_CREATED, bucket, key_name, meta.get("version-id"))
            elif success and existed:
                notify_every_destination(REMOVED, bucket, key_name, version_id)
        except Exception:
            log.exception("S3 notification for %s failed", bucket_name)
        return success, meta

    def suspended_delete(self: Any, bucket: Any, key_name: str, bypass: bool) -> Any:
        # AWS puts a delete marker whose version id is "null"; moto removes the key. Functions get
        # AWS's event, and the response says what AWS's says (x-amz-delete-marker, version "null").
        with _dropped(REMOVED):
            success, meta = original(self, bucket.name, key_name, version_id=None, bypass=bypass)
        if success:
            meta = {**meta, "delete-marker": "true", "version-id": NULL_VERSION}
            try:
                notify_every_destination(DELETE_MARKER_CREATED, bucket, key_name, NULL_VERSION)
            except Exception:
                log.exception("S3 notification for %s failed", bucket.name)
        return success, meta
    return patched


def _dropping(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A call during which moto's events of these names are not passed on."""
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(*args: Any, **kwargs: Any) -> Any:
            with _dropped(*names):
                return original(*args, **kwargs)
        return patched
    return make


def _setup_class(original: Callable[..., None]) -> Callable[..., None]:
    def patched(self: Any, request: Any, full_url: Any = None, headers: Any = None) -> None:
        original(self, request, full_url, headers)
        _local.source_ip = getattr(request, "remote_addr", None) or "127.0.0.1"
        _local.request_id = None
        _local.sequencers = {}
    return patched


def _config_from_body(original: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    def patched(self: Any) -> dict[str, Any]:
        check_configuration_body(self.body)
        self.body = _lower_rule_names(self.body)
        config = original(self)
        skip = str(self.headers.get("x-amz-skip-destination-validation", "")).lower() == "true"
        if config and not skip:
            # a function in another region gets moto's own error (the region is checked after this)
            region = self.backend.get_bucket(self.bucket_name).region_name
            arns = [c["CloudFunction"] for c in config.get("CloudFunctionConfiguration") or []]
            validate_functions([arn for arn in arns if _region(arn) == region])
        return config
    return patched


def _with_request_facts(original: Callable[[str], dict[str, Any]]) -> Callable[[str], dict[str, Any]]:
    """The s3:TestEvent as AWS sends it: moto's, with the request's RequestId and HostId."""
    def test_event(bucket_name: str) -> dict[str, Any]:
        _, request_id, host_id = _request_facts()
        return {**original(bucket_name), "RequestId": request_id, "HostId": host_id}
    return test_event


#: what ``POST /bucket/key`` can do: a multipart upload, a restore, a select (else moto fails on a KeyError)
_OBJECT_POSTS = ("uploads", "uploadId", "restore", "select")


def _object_post(original: Callable[..., Any]) -> Callable[..., Any]:
    """``POST /bucket/key`` with none of the object POST operations: S3's 405 MethodNotAllowed,
    as AWS answers a form posted to an object's path, instead of moto's 500."""
    def post(self: Any, request: Any, body: bytes, bucket_name: str, query: dict[str, Any], key_name: str) -> Any:
        if not any(name in query for name in _OBJECT_POSTS):
            from moto.s3.exceptions import MethodNotAllowed

            raise MethodNotAllowed("POST", "OBJECT")
        return original(self, request, body, bucket_name, query, key_name)
    return post


def _object_preflight(original: Callable[..., Any]) -> Callable[..., Any]:
    """A CORS preflight on an object's path answered by the bucket's CORS rules, as S3 does:
    moto first checks the (never signed) preflight against the object's ACL and answers 403."""
    def key_response(self: Any, request: Any, full_url: str) -> Any:
        if request.method == "OPTIONS":
            return self._response_options(request.headers, self.parse_bucket_name_from_url(request, full_url))
        return original(self, request, full_url)
    return key_response


def _region(arn: str) -> str | None:
    parsed = Arn.maybe(arn)
    return parsed.region if parsed is not None else None


def _patches() -> Iterator[Patch]:
    import moto.s3.notifications as notifications
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    yield Patch(notifications, "_invoke_awslambda", replace_with(lambda *args, **kwargs: None))  # not ours
    yield Patch(notifications, "_get_s3_event", replace_with(queue_and_topic_event))
    yield Patch(notifications, "_get_test_event", _with_request_facts)
    yield Patch(notifications, "_send_event_bridge_message", replace_with(_never_failing(to_eventbridge)))
    yield Patch(notifications, "send_event", _wrapping(_send_event))
    yield Patch(S3Backend, "delete_object", _wrapping(_delete_object))
    yield Patch(S3Backend, "complete_multipart_upload", _wrapping(_dropping(PUT, TAGGING_PUT)))
    yield Patch(S3Response, "put_object", _wrapping(_dropping(TAGGING_PUT)))
    yield Patch(S3Response, "copy_object", _wrapping(_dropping(TAGGING_PUT)))
    yield Patch(S3Response, "setup_class", _wrapping(_setup_class))
    yield Patch(S3Response, "_notification_config_from_body", _wrapping(_config_from_body))
    yield Patch(S3Response, "_key_response_post", _wrapping(_object_post))
    yield Patch(S3Response, "_key_response", _wrapping(_object_preflight))


#: the S3 notification patches described in the module docstring
PATCHES = PatchSet("s3", _patches)
