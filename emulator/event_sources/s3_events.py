"""S3 event notifications as AWS shapes them: which configurations an event matches, and the
event a Lambda function receives. Pure functions; :mod:`.s3_notifications` feeds them from moto.

Sources (AWS S3 User Guide):

* Event message structure (version 2.1):
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
* Event types and wildcards:
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html
* Key name filtering:
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html

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
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "ObjectEvent",
    "encode_key",
    "event_type_matches",
    "key_filter_matches",
    "configuration_matches",
    "filter_rules",
    "build_event",
    "format_time",
]

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
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
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
