"""S3 event notifications as AWS shapes them: which configurations an event matches, and the
event a Lambda function receives. Pure functions; :mod:`.s3_notifications` feeds them from moto.

Sources (AWS S3 User Guide):

* Event message structure (version 2.1):
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
* Event types and wildcards:
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html
* Key name filtering:
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html
* EventBridge event message structure (:func:`eventbridge_detail`):
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html

What those pages say, and what AWS does where they are silent:

* ``eventName`` drops the ``s3:`` prefix (``ObjectCreated:Put``); ``eventTime`` is ISO 8601 with
  milliseconds and ``Z``.
* ``s3.object.key`` is URL-encoded "as ``application/x-www-form-urlencoded``": a space becomes
  ``+`` ("red flower.jpg" -> "red+flower.jpg"). :func:`encode_key` follows the form-urlencoded
  serializer (letters, digits and ``*-._`` stay, everything else is UTF-8 percent-encoded)
  except that ``/`` stays as it is, which is what S3 sends (``a@b`` -> ``a%40b``,
  ``dt=2024/x`` -> ``dt%3D2024/x``).
* Prefix and suffix filters compare against that encoded key: the filtering page says a space
  in a filter value must be written ``+`` and other special characters percent-encoded.
  Rule names are case-insensitive (``prefix``, ``Prefix``).
* A configuration's event ``s3:ObjectCreated:*`` matches every ``s3:ObjectCreated:...`` type.
* Created and restore events carry ``size`` and ``eTag`` (no quotes); removed events carry only
  ``key``, ``versionId`` (versioned buckets) and ``sequencer``. Tagging and ACL events are
  version 2.3 with ``key``, ``eTag`` and ``versionId``, and no ``size`` or ``sequencer``.
* ``versionId`` is present only for a bucket with versioning configured.
* ``sequencer`` is a hex string; for one key a later event has a greater value (compared as
  strings of equal length).

PutBucketNotificationConfiguration's checks (:func:`check_notification_configuration`), with
AWS's ``InvalidArgument`` messages: a filter rule is named ``prefix`` or ``suffix`` (any case;
"filter rule name must be either prefix or suffix"), has a value ("filter value cannot be
empty") of at most 1,024 bytes, and a filter has at most one of each ("Cannot specify more than
one prefix rule in a filter."). Two configurations (Lambda, queue or topic alike) overlap when
they share an event type, wildcards expanded, and some key passes both filters: their prefixes
are prefixes of one another and so are their suffixes (a missing rule is the empty string).
AWS refuses that with "Configurations overlap. Configurations on the same bucket cannot share a
common event type." (the filtering page: "overlapping prefixes, overlapping suffixes, or
overlapping combinations of prefixes and suffixes for the same event types").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "KeyFilter",
    "NotificationConfigurationError",
    "ObjectEvent",
    "build_event",
    "check_notification_configuration",
    "configuration_matches",
    "encode_key",
    "event_type_matches",
    "event_types_overlap",
    "filter_rules",
    "format_time",
    "key_filter",
    "key_filter_matches",
    "key_filters_overlap",
]

OVERLAP_MESSAGE = "Configurations overlap. Configurations on the same bucket cannot share a common event type."
_MAX_RULE_VALUE_BYTES = 1024
#: the configuration lists of PutBucketNotificationConfiguration's XML (Lambda's is "CloudFunction")
_CONFIGURATION_KINDS = ("TopicConfiguration", "QueueConfiguration", "CloudFunctionConfiguration")

#: S3's event message versions: 2.3 for tagging, ACL, lifecycle and restore-delete events
EVENT_VERSION = "2.1"
EVENT_VERSION_2_3 = "2.3"
_VERSION_2_3_TYPES = ("ObjectTagging:", "ObjectAcl:", "LifecycleExpiration:", "LifecycleTransition",
                      "IntelligentTiering", "ObjectRestore:Delete")

#: identities in events: moto has no IAM principal for the caller, so these are AWS's examples
USER_PRINCIPAL_ID = "AWS:AIDAJDPLRKLG7UEXAMPLE"
OWNER_PRINCIPAL_ID = "A3NL1KOZZKExample"

_FORM_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._/")


@dataclass(frozen=True)
class ObjectEvent:
    """One S3 object event, as the bucket saw it (``key`` not encoded)."""

    name: str  # "s3:ObjectCreated:Put"
    region: str
    bucket: str
    bucket_arn: str
    key: str
    time: datetime
    sequencer: str
    request_id: str
    host_id: str
    source_ip: str = "127.0.0.1"
    size: int | None = None
    etag: str | None = None  # without quotes
    version_id: str | None = None  # None: bucket without versioning
    restore_expiry: datetime | None = None  # ObjectRestore:Completed
    storage_class: str | None = None  # ObjectRestore:Completed


def encode_key(key: str) -> str:
    """The key as S3 writes it into events and matches it against filters (see module doc)."""
    out: list[str] = []
    for byte in key.encode("utf-8"):
        if byte in _FORM_SAFE:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def event_type_matches(configured: Iterable[str], name: str) -> bool:
    """Whether ``name`` (``s3:ObjectCreated:Put``) is one of ``configured`` or under its wildcard."""
    configured = set(configured)
    if name in configured:
        return True
    parts = name.split(":")
    return len(parts) == 3 and f"{parts[0]}:{parts[1]}:*" in configured


def filter_rules(filters: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """``(name, value)`` pairs, names lower-cased, from moto's parsed ``Filter`` (``S3Key.FilterRule``)
    or the API shape (``Key.FilterRules``)."""
    if not filters:
        return []
    key_filter = filters.get("S3Key") or filters.get("Key") or {}
    rules = key_filter.get("FilterRule", key_filter.get("FilterRules")) or []
    if isinstance(rules, Mapping):
        rules = [rules]
    return [(str(rule.get("Name", "")).lower(), str(rule.get("Value", ""))) for rule in rules]


def key_filter_matches(rules: Sequence[tuple[str, str]], key: str) -> bool:
    """Whether the (raw) ``key`` passes every prefix/suffix rule, compared in its encoded form."""
    encoded = encode_key(key)
    for name, value in rules:
        if name == "prefix" and not encoded.startswith(value):
            return False
        if name == "suffix" and not encoded.endswith(value):
            return False
    return True


def configuration_matches(events: Iterable[str], filters: Mapping[str, Any] | None, name: str, key: str) -> bool:
    return event_type_matches(events, name) and key_filter_matches(filter_rules(filters), key)


def format_time(moment: datetime) -> str:
    """``2024-05-01T12:00:00.123Z`` (a naive ``moment`` is taken as UTC, as moto keeps its times)"""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _object(event: ObjectEvent, short_name: str) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": encode_key(event.key)}
    if short_name.startswith(("ObjectTagging:", "ObjectAcl:")):
        if event.etag is not None:
            obj["eTag"] = event.etag
        if event.version_id is not None:
            obj["versionId"] = event.version_id
        return obj
    if short_name.startswith(("ObjectCreated:", "ObjectRestore:")):
        if event.size is not None:
            obj["size"] = event.size
        if event.etag is not None:
            obj["eTag"] = event.etag
    if event.version_id is not None:
        obj["versionId"] = event.version_id
    obj["sequencer"] = event.sequencer
    return obj


def build_event(event: ObjectEvent, configuration_id: str) -> dict[str, Any]:
    """The payload a function gets for ``event`` through the configuration ``configuration_id``."""
    short_name = re.sub(r"^s3:", "", event.name)
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION_2_3 if short_name.startswith(_VERSION_2_3_TYPES) else EVENT_VERSION,
        "eventSource": "aws:s3",
        "awsRegion": event.region,
        "eventTime": format_time(event.time),
        "eventName": short_name,
        "userIdentity": {"principalId": USER_PRINCIPAL_ID},
        "requestParameters": {"sourceIPAddress": event.source_ip},
        "responseElements": {"x-amz-request-id": event.request_id, "x-amz-id-2": event.host_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": event.bucket,
                "ownerIdentity": {"principalId": OWNER_PRINCIPAL_ID},
                "arn": event.bucket_arn,
            },
            "object": _object(event, short_name),
        },
    }
    if short_name == "ObjectRestore:Completed" and event.restore_expiry is not None:
        record["glacierEventData"] = {"restoreEventData": {
            "lifecycleRestorationExpiryTime": format_time(event.restore_expiry),
            "lifecycleRestoreStorageClass": event.storage_class or "STANDARD",
        }}
    return {"Records": [record]}


#: EventBridge's ``reason``: the API that created or deleted the object
_REASONS = {"ObjectCreated:Put": "PutObject", "ObjectCreated:Post": "POST Object", "ObjectCreated:Copy": "CopyObject",
            "ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
            "ObjectRemoved:Delete": "DeleteObject", "ObjectRemoved:DeleteMarkerCreated": "DeleteObject"}
_DELETION_TYPES = {"ObjectRemoved:Delete": "Permanently Deleted",
                   "ObjectRemoved:DeleteMarkerCreated": "Delete Marker Created"}


def eventbridge_detail(event: ObjectEvent, requester: str) -> dict[str, Any]:
    """The ``detail`` of the event S3 sends to EventBridge for ``event`` (the key is not encoded;
    ``version-id`` only in a versioned bucket; deleted objects have no ``size``)."""
    short_name = re.sub(r"^s3:", "", event.name)
    obj: dict[str, Any] = {"key": event.key}
    if event.size is not None and not short_name.startswith("ObjectRemoved"):
        obj["size"] = event.size
    if event.etag:
        obj["etag"] = event.etag
    if event.version_id is not None:
        obj["version-id"] = event.version_id
    obj["sequencer"] = event.sequencer
    detail: dict[str, Any] = {"version": "0", "bucket": {"name": event.bucket}, "object": obj,
                              "request-id": event.request_id, "requester": requester,
                              "source-ip-address": event.source_ip}
    if short_name in _REASONS:
        detail["reason"] = _REASONS[short_name]
    if short_name in _DELETION_TYPES:
        detail["deletion-type"] = _DELETION_TYPES[short_name]
    return detail


# --- PutBucketNotificationConfiguration checks ------------------------------------------------


class NotificationConfigurationError(ValueError):
    """AWS's ``InvalidArgument`` for a notification configuration, with its ArgumentName/Value."""

    def __init__(self, message: str, argument_name: str, argument_value: str) -> None:
        super().__init__(message)
        self.message = message
        self.argument_name = argument_name
        self.argument_value = argument_value


@dataclass(frozen=True)
class KeyFilter:
    """A configuration's key filter; a missing rule is ``""`` (every key has that prefix/suffix)."""

    prefix: str = ""
    suffix: str = ""


def key_filter(rules: Sequence[tuple[str | None, str | None]]) -> KeyFilter:
    """The filter made of ``(Name, Value)`` rules as sent; raises :class:`NotificationConfigurationError`."""
    found: dict[str, str] = {}
    for name, value in rules:
        kind = (name or "").strip().lower()
        if kind not in ("prefix", "suffix"):
            raise NotificationConfigurationError("filter rule name must be either prefix or suffix",
                                                 "FilterRule.Name", name or "")
        if not value:
            raise NotificationConfigurationError("filter value cannot be empty", name or "", value or "")
        if len(value.encode("utf-8")) > _MAX_RULE_VALUE_BYTES:
            raise NotificationConfigurationError(
                "Size of filter rule value cannot exceed 1024 bytes in UTF-8 representation", "FilterRule.Value", value)
        if kind in found:
            raise NotificationConfigurationError(f"Cannot specify more than one {kind} rule in a filter.",
                                                 "FilterRule.Name", name or "")
        found[kind] = value
    return KeyFilter(found.get("prefix", ""), found.get("suffix", ""))


def _event_family(event: str) -> tuple[str, bool]:
    """``("s3:ObjectCreated:", True)`` for a wildcard, ``("s3:ObjectCreated:Put", False)`` otherwise."""
    if event.endswith(":*"):
        return event[:-1], True
    return event, False


def _events_meet(a: str, b: str) -> bool:
    (a_text, a_wild), (b_text, b_wild) = _event_family(a), _event_family(b)
    if a_wild and b_wild:
        return a_text == b_text
    if a_wild:
        return b_text.startswith(a_text)
    if b_wild:
        return a_text.startswith(b_text)
    return a_text == b_text


def event_types_overlap(a: Iterable[str], b: Iterable[str]) -> str | None:
    """An event type of ``a`` that ``b`` shares (wildcards expanded), or None."""
    b = list(b)
    for event in a:
        if any(_events_meet(event, other) for other in b):
            return event
    return None


def key_filters_overlap(a: KeyFilter, b: KeyFilter) -> bool:
    """Whether some key passes both filters (one prefix starts the other, one suffix ends the other)."""
    prefixes = a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix)
    suffixes = a.suffix.endswith(b.suffix) or b.suffix.endswith(a.suffix)
    return prefixes and suffixes


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _configuration(entry: Mapping[str, Any]) -> tuple[list[str], KeyFilter]:
    events = [str(e) for e in _as_list(entry.get("Event"))]
    filters = entry.get("Filter") or {}
    s3_key = filters.get("S3Key") if isinstance(filters, Mapping) else None
    rules = _as_list(s3_key.get("FilterRule")) if isinstance(s3_key, Mapping) else []
    pairs = [(rule.get("Name"), rule.get("Value")) if isinstance(rule, Mapping) else (None, None) for rule in rules]
    return events, key_filter(pairs)


def check_notification_configuration(configuration: Mapping[str, Any] | None) -> None:
    """PutBucketNotificationConfiguration's checks of filter rules and overlaps (module doc).

    ``configuration`` is the parsed ``NotificationConfiguration`` XML element (xmltodict's shape:
    a single configuration is a dict, several a list). Raises :class:`NotificationConfigurationError`.
    """
    if not isinstance(configuration, Mapping):
        return
    parsed: list[tuple[list[str], KeyFilter]] = []
    for kind in _CONFIGURATION_KINDS:
        for entry in _as_list(configuration.get(kind)):
            if isinstance(entry, Mapping):
                parsed.append(_configuration(entry))
    for index, (events, filter_a) in enumerate(parsed):
        for other_events, filter_b in parsed[index + 1:]:
            shared = event_types_overlap(events, other_events)
            if shared is not None and key_filters_overlap(filter_a, filter_b):
                raise NotificationConfigurationError(OVERLAP_MESSAGE, "Event", shared)
