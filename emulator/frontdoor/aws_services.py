"""A REST API's ``AWS`` integration calling an AWS service: the request API Gateway would send,
replayed to the local cloud.

API Gateway turns the integration into an HTTP request to the service's endpoint, signed with
the integration's role (set-up-integration-request... "AWS service integration", and the
``uri`` field of the Integration resource):

* ``arn:aws:apigateway:{region}:{service}:action/{Action}[&{name}={value}...]``: the action in
  the query string (``?Action=...``); for a service of the JSON protocol (DynamoDB, Step
  Functions, EventBridge, Kinesis...) the ``X-Amz-Target`` header names the operation
  (``DynamoDB_20120810.PutItem``) and the body is ``application/x-amz-json-1.x``, as botocore's
  service models say;
* ``arn:aws:apigateway:{region}:{service}:path/{path}``: the request goes to that path, with the
  integration's HTTP method, as it is (SQS ``path/{account}/{queue}`` with a form body
  ``Action=SendMessage&MessageBody=...``, S3 ``path/{bucket}/{key}``).

The body is the mapped template, the headers and query string those the integration's
``requestParameters`` map (``integration.request.header.Content-Type`` =
``'application/x-www-form-urlencoded'`` for the query APIs of SNS and SQS). The request is
signed with SigV4 for the service and sent to the endpoint the control plane's own AWS calls use
(:class:`emulator.aws.clients.AwsClients`'s: the control plane, whose gateway routes it to moto
by its signature, or an external moto): moto answers the very request AWS would receive, so
whatever the template gets wrong fails as it would on AWS. A ``{subdomain}.{service}`` is
called at the service (no virtual hosts locally).

Query-protocol services (SNS, SQS's query API) answer API Gateway in JSON
(``{"PublishResponse": {"PublishResult": {...}, "ResponseMetadata": {...}}}``): API Gateway asks
with ``Accept: application/json``; moto answers XML, which is turned into that JSON shape
(lists of ``member`` elements become arrays) unless the integration asks for XML.
"""

from __future__ import annotations

import functools
import json
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import botocore.session
import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

__all__ = ["AwsTarget", "ServiceAnswer", "call_service", "parse_uri"]

_URI = re.compile(r"^arn:aws[\w-]*:apigateway:(?P<region>[\w-]+):(?P<service>[\w.-]+):(?P<kind>action|path)/"
                  r"(?P<rest>.*)$")
#: the endpoint prefix in an integration URI -> botocore's service name, where they differ
_BOTOCORE_NAMES = {"states": "stepfunctions", "email": "ses", "monitoring": "cloudwatch", "runtime.sagemaker":
                   "sagemaker-runtime", "execute-api": "apigateway", "elasticmapreduce": "emr"}
#: services API Gateway calls through their query API though botocore now speaks JSON to them
_QUERY_APIS = frozenset({"sqs"})


@dataclass(frozen=True)
class AwsTarget:
    region: str
    service: str  # the endpoint prefix: sqs, sns, dynamodb, events, states, lambda...
    kind: str  # "action" | "path"
    action: str  # the action (action form)
    path: str  # "/..." (path form)
    query: tuple[tuple[str, str], ...]  # parameters written in the action form's URI


def parse_uri(uri: str) -> AwsTarget | None:
    matched = _URI.match(uri)
    if matched is None:
        return None
    service = matched["service"]
    if service != "runtime.sagemaker":
        service = service.rsplit(".", 1)[-1]  # {subdomain}.{service}
    if matched["kind"] == "action":
        action, *pairs = matched["rest"].split("&")
        query = tuple((p.partition("=")[0], p.partition("=")[2]) for p in pairs if p)
        return AwsTarget(matched["region"], service, "action", action.split("?", 1)[0], "/", query)
    return AwsTarget(matched["region"], service, "path", "", "/" + matched["rest"].lstrip("/"), ())


@dataclass(frozen=True)
class ServiceAnswer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@functools.lru_cache(maxsize=64)
def _metadata(service: str) -> Mapping[str, Any]:
    try:
        return dict(botocore.session.get_session().get_service_model(_BOTOCORE_NAMES.get(service, service)).metadata)
    except Exception:  # noqa: BLE001 (an unknown service: the request goes as mapped)
        return {}


async def call_service(target: AwsTarget, *, endpoint: str, http_method: str, body: bytes,
                       headers: Mapping[str, str], query: Mapping[str, str], timeout: float) -> ServiceAnswer:
    """Send the integration request; raises httpx.TimeoutException past ``timeout`` and
    httpx.HTTPError when the endpoint cannot be reached."""
    meta = _metadata(target.service)
    json_protocol = meta.get("protocol") == "json" and target.service not in _QUERY_APIS
    sent = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
    names = {k.lower() for k in sent}
    pairs: list[tuple[str, str]] = []
    if target.kind == "action":
        if json_protocol:
            if "x-amz-target" not in names and meta.get("targetPrefix"):
                sent["X-Amz-Target"] = f"{meta['targetPrefix']}.{target.action}"
        else:
            pairs.append(("Action", target.action))
            if meta.get("apiVersion"):
                pairs.append(("Version", str(meta["apiVersion"])))
    given = next((k for k in sent if k.lower() == "content-type"), None)
    if json_protocol and (given is None or sent[given].split(";")[0].strip().lower() == "application/json"):
        # (the JSON protocol's own type: AWS takes application/json for it too, moto only this)
        sent.pop(given or "", None)
        sent["Content-Type"] = f"application/x-amz-json-{meta.get('jsonVersion', '1.0')}"
    elif given is None:
        sent["Content-Type"] = "application/json"
    if "accept" not in names:
        sent["Accept"] = "application/json"
    pairs += list(target.query) + list(query.items())
    url = endpoint.rstrip("/") + quote(target.path, safe="/~:@!$&'()*+,;=-._") + (f"?{urlencode(pairs)}" if pairs
                                                                                  else "")
    signing = str(meta.get("signingName") or meta.get("endpointPrefix") or target.service)
    request = AWSRequest(method=http_method, url=url, data=body, headers=sent)
    SigV4Auth(Credentials("test", "test"), signing, target.region).add_auth(request)
    async with httpx.AsyncClient(timeout=timeout) as client:
        reply = await client.request(http_method, url, content=body, headers=dict(request.headers.items()))
    answer_headers = tuple((k, v) for k, v in reply.headers.items())
    data = reply.content
    kind = reply.headers.get("content-type", "")
    wants_xml = "xml" in sent.get("Accept", sent.get("accept", ""))
    if not json_protocol and not wants_xml and ("xml" in kind or data.lstrip().startswith(b"<")):
        converted = xml_to_json(data)
        if converted is not None:
            return ServiceAnswer(reply.status_code, _with_type(answer_headers, "application/json"), converted)
    return ServiceAnswer(reply.status_code, answer_headers, data)


def _with_type(headers: tuple[tuple[str, str], ...], content_type: str) -> tuple[tuple[str, str], ...]:
    kept = tuple((k, v) for k, v in headers if k.lower() not in ("content-type", "content-length"))
    return (*kept, ("Content-Type", content_type))


def xml_to_json(data: bytes) -> bytes | None:
    """An AWS query API's XML answer in the JSON shape the same API answers to
    ``Accept: application/json``; None when it is not XML."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return None
    return json.dumps({_local(root.tag): _element(root)}).encode()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _element(element: ElementTree.Element) -> Any:
    children = list(element)
    if not children:
        return element.text or None
    names = [_local(child.tag) for child in children]
    if all(name == "member" for name in names) or (len(names) > 1 and len(set(names)) == 1):
        return [_element(child) for child in children]
    result: dict[str, Any] = {}
    for name, child in zip(names, children, strict=True):
        result[name] = _element(child)
    return result
