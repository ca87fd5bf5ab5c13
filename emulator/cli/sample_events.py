"""Sample events, shaped as AWS sends them to a function (``cloudmicro events generate``).

Where Cloudmicro builds an event for real, the sample comes from the same builder, so a sample
and a delivered event cannot drift apart: SQS (:func:`emulator.esm.sqs.to_record`),
S3 (:func:`emulator.push.s3.build_event`), SNS
(:func:`emulator.push.sns.sns_event`), EventBridge
(:func:`emulator.push.eventbridge.envelope`) and schedules
(:func:`emulator.schedules.events.scheduled_event`), and the HTTP front doors' requests
(:mod:`emulator.frontdoor.events`). DynamoDB Streams records are built here. Sources (see
docs/aws-lambda-reference.md, section 13):

* SQS: https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html (FIFO attributes included for
  a ``.fifo`` queue).
* S3: https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
* SNS: https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html
* DynamoDB Streams: https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html (``eventVersion``
  1.1 and ``ApproximateCreationDateTime`` as real records carry them).
* Scheduled Event: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html
* EventBridge: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html
* API Gateway REST (proxy, payload 1.0):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
* API Gateway HTTP API (payload 2.0):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
* Lambda function URLs: https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html
* ALB Lambda targets: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html

Everything here is pure: :func:`generate` takes the options and a clock and returns a dict.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from emulator.frontdoor.events import (
    alb_event,
    function_url_domain,
    function_url_event,
    http_api_event,
    rest_event,
)
from emulator.frontdoor.request import HttpRequest

__all__ = ["SOURCES", "SampleEventError", "generate", "options_of"]

#: AWS's example sender / principal ids (with-sqs.html, the S3 event structure page)
_SQS_SENDER_ID = "AIDAIENQZJOLO23YVJ4VO"
_USER_AGENT = "curl/8.5.0"


class SampleEventError(ValueError):
    """An unknown source, an option that does not apply to it, or a bad option value."""


def _random_b64(size: int) -> str:
    return base64.b64encode(os.urandom(size)).decode("ascii")


def _arn(value: str, service: str, region: str, account_id: str, resource: str) -> str:
    """``value`` when it is an ARN already, else the ARN of the resource named ``value``."""
    return value if value.startswith("arn:") else f"arn:aws:{service}:{region}:{account_id}:{resource}{value}"


# --------------------------------------------------------------------------- SQS


def sqs(*, region: str, account_id: str, now: float, queue: str = "my-queue",
        body: str = '{"hello": "world"}') -> dict[str, Any]:
    """One SQS message as Lambda's SQS event (FIFO attributes for a ``.fifo`` queue)."""
    from emulator.domain.arn import Arn
    from emulator.esm.mappings import EventSourceMapping
    from emulator.esm.sqs import to_record

    queue_arn = _arn(queue, "sqs", region, account_id, "")
    millis = str(int(now * 1000))
    attributes = {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": millis,
        "SenderId": _SQS_SENDER_ID,
        "ApproximateFirstReceiveTimestamp": millis,
    }
    if queue_arn.endswith(".fifo"):
        attributes.update({
            "SequenceNumber": str(int(now * 1_000_000)).rjust(20, "1"),
            "MessageGroupId": "default",
            "MessageDeduplicationId": hashlib.sha256(body.encode()).hexdigest(),
        })
    message = {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": "AQEB" + _random_b64(96),
        "Body": body,
        "Attributes": attributes,
        "MessageAttributes": {},
        "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),
    }
    mapping = EventSourceMapping(function_name="sample", function_arn="", event_source_arn=queue_arn,
                                 kind="sqs", batch_size=10)
    return {"Records": [to_record(message, mapping, Arn.parse(queue_arn).region)]}


# --------------------------------------------------------------------------- S3


def _s3(name: str, *, region: str, now: float, bucket: str, key: str, size: int | None) -> dict[str, Any]:
    from emulator.push.s3 import ObjectEvent, build_event

    created = name.startswith("s3:ObjectCreated:")
    event = ObjectEvent(
        name=name, region=region, bucket=bucket, bucket_arn=f"arn:aws:s3:::{bucket}", key=key,
        time=datetime.fromtimestamp(now, UTC),
        sequencer=f"{int(now * 1_000_000):X}".rjust(18, "0"),
        request_id=os.urandom(8).hex().upper(), host_id=_random_b64(48),
        size=size if created else None,
        etag=hashlib.md5(f"{bucket}/{key}".encode()).hexdigest() if created else None,
    )
    return build_event(event, "cloudmicro-sample")


def s3(*, region: str, account_id: str, now: float, bucket: str = "my-bucket",
       key: str = "incoming/photo.jpg", size: int = 1024) -> dict[str, Any]:
    """An S3 ``ObjectCreated:Put`` notification (``key`` as given: it is encoded as S3 does)."""
    return _s3("s3:ObjectCreated:Put", region=region, now=now, bucket=bucket, key=key, size=size)


def s3_delete(*, region: str, account_id: str, now: float, bucket: str = "my-bucket",
              key: str = "incoming/photo.jpg") -> dict[str, Any]:
    """An S3 ``ObjectRemoved:Delete`` notification (no size or eTag, as AWS sends it)."""
    return _s3("s3:ObjectRemoved:Delete", region=region, now=now, bucket=bucket, key=key, size=None)


# --------------------------------------------------------------------------- SNS


def sns(*, region: str, account_id: str, now: float, topic: str = "my-topic",
        message: str = "Hello from SNS!", subject: str | None = None) -> dict[str, Any]:
    """An SNS notification as a subscribed function gets it (the signature is a placeholder)."""
    from emulator.push.sns import sns_event, timestamp

    topic_arn = _arn(topic, "sns", region, account_id, "")
    cert = hashlib.md5(topic_arn.encode()).hexdigest()
    return sns_event(
        subscription_arn=f"{topic_arn}:{uuid.uuid4()}", topic_arn=topic_arn, message_id=str(uuid.uuid4()),
        message=message, subject=subject, message_attributes={},
        timestamp=timestamp(datetime.fromtimestamp(now, UTC)),
        signature=_random_b64(256),
        signing_cert_url=f"https://sns.{topic_arn.split(':')[3]}.amazonaws.com/SimpleNotificationService-{cert}.pem",
    )


# --------------------------------------------------------------------------- DynamoDB Streams

_DEFAULT_ITEM = {"id": "1", "message": "hello"}


def _typed(item: Any, what: str) -> dict[str, Any]:
    """A plain JSON object as DynamoDB JSON (``{"S": ...}``, ``{"N": ...}``...)."""
    from boto3.dynamodb.types import TypeSerializer

    if not isinstance(item, dict) or not item:
        raise SampleEventError(f"{what} must be a non-empty JSON object, like {json.dumps(_DEFAULT_ITEM)}")
    exact = json.loads(json.dumps(item), parse_float=Decimal)
    serializer = TypeSerializer()
    try:
        return {name: serializer.serialize(value) for name, value in exact.items()}
    except (TypeError, ValueError) as exc:
        raise SampleEventError(f"{what}: {exc}") from None


def dynamodb(*, region: str, account_id: str, now: float, table: str = "my-table",
             item: dict[str, Any] | None = None, old_item: dict[str, Any] | None = None,
             key_names: str = "id", event_name: str = "INSERT") -> dict[str, Any]:
    """One DynamoDB Streams record (view type NEW_AND_OLD_IMAGES).

    INSERT carries NewImage, REMOVE OldImage, MODIFY both (``old_item`` defaults to ``item``).
    """
    kind = event_name.upper()
    if kind not in ("INSERT", "MODIFY", "REMOVE"):
        raise SampleEventError(f"--event-name must be INSERT, MODIFY or REMOVE, not {event_name!r}")
    new = _typed(item if item is not None else _DEFAULT_ITEM, "--item")
    old = _typed(old_item, "--old-item") if old_item is not None else new
    names = [name.strip() for name in key_names.split(",") if name.strip()]
    missing = [name for name in names if name not in new or name not in old]
    if not names or missing:
        raise SampleEventError(f"the key attribute(s) {', '.join(missing or ['(none)'])} must be in the item; "
                               "name the item's key attributes with --key-names (comma-separated)")
    record: dict[str, Any] = {"ApproximateCreationDateTime": float(int(now)),
                              "Keys": {name: new[name] for name in names}}
    if kind in ("INSERT", "MODIFY"):
        record["NewImage"] = new
    if kind in ("MODIFY", "REMOVE"):
        record["OldImage"] = old
    record["SequenceNumber"] = str(int(now * 1_000_000)).rjust(21, "1")
    record["SizeBytes"] = len(json.dumps([record.get("Keys"), record.get("NewImage"), record.get("OldImage")],
                                         separators=(",", ":")))
    record["StreamViewType"] = "NEW_AND_OLD_IMAGES"
    label = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    return {"Records": [{
        "eventID": uuid.uuid4().hex,
        "eventName": kind,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": record,
        "eventSourceARN": f"arn:aws:dynamodb:{region}:{account_id}:table/{table}/stream/{label}",
    }]}


# --------------------------------------------------------------------------- EventBridge


def schedule(*, region: str, account_id: str, now: float, rule: str = "my-schedule") -> dict[str, Any]:
    """The "Scheduled Event" a schedule rule sends its targets."""
    from emulator.schedules.events import scheduled_event
    from emulator.schedules.timetable import ScheduleSpec

    arn = _arn(rule, "events", region, account_id, "rule/")
    spec = ScheduleSpec(kind="RULE", name=arn.rsplit("/", 1)[-1], group="default", arn=arn,
                        expression="rate(5 minutes)")
    return scheduled_event(spec, now)


def eventbridge(*, region: str, account_id: str, now: float, source: str = "com.example.orders",
                detail_type: str = "Order Placed",
                detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """An event from a bus, as a rule's Lambda target gets it."""
    from emulator.push.eventbridge import envelope

    if detail is not None and not isinstance(detail, dict):
        raise SampleEventError("--detail must be a JSON object")
    return envelope({
        "version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
        "account": account_id, "time": now, "region": region, "resources": [],
        "detail": detail if detail is not None else {"orderId": "1234", "amount": 42},
    })


# --------------------------------------------------------------------------- HTTP front doors


def _http_request(path: str, method: str, query: str, body: str | None, host: str, *,
                  lower: bool, content_length: bool = False) -> HttpRequest:
    """The request a client sends (curl, HTTPS); the builders add the forwarding headers."""
    if not path.startswith("/"):
        path = "/" + path
    headers = [("Accept", "*/*")]
    if content_length:
        headers.append(("Content-Length", str(len((body or "").encode()))))
    headers += [("Host", host), ("User-Agent", _USER_AGENT)]
    if body is not None:
        headers.append(("Content-Type", "application/json"))
    if lower:
        headers = [(name.lower(), value) for name, value in headers]
    return HttpRequest(method=method.upper(), path=path, raw_path=quote(path, safe="/:@!$&'()*+,;=-._~"),
                       query=query.lstrip("?").encode(), headers=tuple(headers), body=(body or "").encode(),
                       source_ip="127.0.0.1", scheme="https", host=host)


def _api_host(region: str) -> tuple[str, str]:
    api_id = "a1b2c3d4e5"
    return api_id, f"{api_id}.execute-api.{region}.amazonaws.com"


def apigateway(*, region: str, account_id: str, now: float, path: str = "/hello", method: str = "GET",
               body: str | None = None, query: str = "") -> dict[str, Any]:
    """A REST API request through a ``/{proxy+}`` resource with Lambda proxy integration
    (``/`` itself is the root resource), built by :func:`emulator.frontdoor.events.rest_event`."""
    api_id, host = _api_host(region)
    req = _http_request(path, method, query, body, host, lower=False)
    proxy = req.path.lstrip("/")
    return rest_event(req, resource="/{proxy+}" if proxy else "/", path_parameters={"proxy": proxy} if proxy else None,
                      stage="dev", stage_variables=None, api_id=api_id, account_id=account_id,
                      request_id=str(uuid.uuid4()), extended_request_id=_random_b64(10), now=now, binary=False,
                      domain_name=host)


def apigateway_v2(*, region: str, account_id: str, now: float, path: str = "/hello", method: str = "GET",
                  body: str | None = None, query: str = "") -> dict[str, Any]:
    """An HTTP API request on the ``$default`` route (payload format 2.0: lower-case headers,
    repeated query values joined with commas, absent fields left out), built by
    :func:`emulator.frontdoor.events.http_api_event`."""
    api_id, host = _api_host(region)
    req = _http_request(path, method, query, body, host, lower=True, content_length=True)
    return http_api_event(req, route_key="$default", raw_path=req.raw_path, stage="$default", path_parameters=None,
                          stage_variables=None, api_id=api_id, account_id=account_id, request_id=_random_b64(10),
                          now=now, binary=False, domain_name=host)


def function_url(*, region: str, account_id: str, now: float, path: str = "/hello", method: str = "GET",
                 body: str | None = None, query: str = "") -> dict[str, Any]:
    """A request to a function URL with AuthType NONE, built by
    :func:`emulator.frontdoor.events.function_url_event`."""
    url_id = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"
    req = _http_request(path, method, query, body, function_url_domain(url_id, region), lower=True,
                        content_length=True)
    return function_url_event(req, url_id=url_id, region=region, account_id=account_id, request_id=str(uuid.uuid4()),
                              now=now, binary=False, auth_type="NONE")


def alb(*, region: str, account_id: str, now: float, path: str = "/hello", method: str = "GET",
        body: str | None = None, query: str = "") -> dict[str, Any]:
    """A request an Application Load Balancer forwards to a Lambda target (multi-value headers
    off), built by :func:`emulator.frontdoor.events.alb_event`."""
    req = _http_request(path, method, query, body, f"my-alb-1234567890.{region}.elb.amazonaws.com", lower=True)
    arn = f"arn:aws:elasticloadbalancing:{region}:{account_id}:targetgroup/my-target-group/6d0ecf831eec9f09"
    return alb_event(req, target_group_arn=arn, multi_value=False, binary=False,
                     trace_id=f"Root=1-{int(now):08x}-{os.urandom(12).hex()}")


# --------------------------------------------------------------------------- the registry

_BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "sqs": sqs,
    "s3": s3,
    "s3-delete": s3_delete,
    "sns": sns,
    "dynamodb": dynamodb,
    "schedule": schedule,
    "eventbridge": eventbridge,
    "apigateway": apigateway,
    "apigateway-v2": apigateway_v2,
    "function-url": function_url,
    "alb": alb,
}
SOURCES: tuple[str, ...] = tuple(_BUILDERS)
_CONTEXT = ("region", "account_id", "now")


def options_of(source: str) -> tuple[str, ...]:
    """The options (keyword names) a source's sample takes."""
    builder = _BUILDERS[source]
    return tuple(name for name in inspect.signature(builder).parameters if name not in _CONTEXT)


def _flag(option: str) -> str:
    return "--" + option.replace("_", "-")


def generate(kind: str, /, *, region: str = "us-east-1", account_id: str = "123456789012",
             now: float | None = None, **options: Any) -> dict[str, Any]:
    """The sample event of the source ``kind`` (one of :data:`SOURCES`) with the given options
    (EventBridge's ``source`` option is the event's source)."""
    if kind not in _BUILDERS:
        raise SampleEventError(f"unknown event source {kind!r}; choose one of {', '.join(SOURCES)}")
    accepted = options_of(kind)
    for option in options:
        if option not in accepted:
            users = [name for name in SOURCES if option in options_of(name)]
            raise SampleEventError(f"{_flag(option)} does not apply to {kind}"
                                   + (f" (it applies to {', '.join(users)})" if users else ""))
    moment = time.time() if now is None else now
    return _BUILDERS[kind](region=region, account_id=account_id, now=moment, **options)
