"""The local AWS services as the control plane's own code reaches them: one facade.

Pollers, the schedules, destinations and dead-letter queues all talk to AWS through
:class:`AwsClients`: boto3 clients (one per service, cached, shared by every caller: boto3
clients are thread-safe), their blocking calls run in one thread pool (:meth:`AwsClients.call`),
and the two things every sender needs, written once: :meth:`AwsClients.queue_url` (an SQS
queue's URL from its ARN, cached) and :meth:`AwsClients.send_to` (a message to an SQS queue or
an SNS topic, by ARN).

How a call reaches moto is not the callers' business. By default the clients send HTTP to the
control plane's endpoint (an external moto behind it); the embedded moto gives the facade a
:class:`Transport` that hands each request to moto in this process instead
(:mod:`emulator.moto.transport`: no socket, no HTTP parsing on either side, no gateway), and a
:class:`LocalSqs` for the pollers' hot path, :meth:`AwsClients.receive` and
:meth:`AwsClients.delete_batch` (:mod:`emulator.moto.sqs_direct`: no request at all). The
composition root wires them; callers see the same answers either way.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import boto3
from botocore.config import Config

from emulator.domain.arn import Arn

T = TypeVar("T")

#: threads for the blocking calls (long polls hold one each)
WORKERS = 64


class Transport(Protocol):
    """Where a client's requests go instead of HTTP."""

    def attach(self, client: Any) -> None:
        """Make ``client`` send its requests through this transport."""


class LocalSqs(Protocol):
    """The pollers' two SQS calls answered without a request (the embedded moto's backend),
    each returning what boto3 would (:mod:`emulator.moto.sqs_direct`)."""

    def receive(self, queue: Arn, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        """ReceiveMessage with every attribute: the ``Messages`` list."""
        ...

    def delete_batch(self, queue: Arn, entries: Sequence[dict[str, str]]) -> dict[str, Any]:
        """DeleteMessageBatch: ``{"Successful": [...], "Failed": [...]}``."""
        ...


class AwsClients:
    """boto3 clients bound to the local endpoint, and a thread pool for their calls."""

    def __init__(self, endpoint: str, region: str, *, transport: Transport | None = None,
                 local_sqs: LocalSqs | None = None, workers: int = WORKERS) -> None:
        self.endpoint = endpoint
        self.region = region
        self.transport = transport
        self.local_sqs = local_sqs
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="aws")
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        #: one Session for every client (made under the lock): its loader reads botocore's data
        #: folder and each model once (a Session per client read them again: 0.15-0.3 s a client)
        self._session: Any = None
        self._queue_urls: dict[str, str] = {}
        self._workers = workers

    def client(self, service: str) -> Any:
        """The client of ``service`` (made once; boto3's client factory is not thread-safe)."""
        client = self._clients.get(service)
        if client is None:
            with self._lock:
                client = self._clients.get(service)
                if client is None:
                    client = self._clients[service] = self._make(service)
        return client

    def _make(self, service: str) -> Any:
        if self._session is None:
            self._session = boto3.session.Session()
        client = self._session.client(
            service, endpoint_url=self.endpoint, region_name=self.region,
            aws_access_key_id="test", aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 2, "mode": "standard"}, read_timeout=30, connect_timeout=5,
                          max_pool_connections=self._workers),
        )
        if self.transport is not None:
            self.transport.attach(client)
        return client

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking call (a client method, or a function making several) in the pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    async def queue_url(self, queue: Arn | str) -> str:
        """The URL of the SQS queue ``queue`` (an ARN), asked once."""
        arn = queue if isinstance(queue, Arn) else Arn.parse(queue)
        key = str(arn)
        url = self._queue_urls.get(key)
        if url is None:
            reply = await self.call(self.client("sqs").get_queue_url, QueueName=arn.resource,
                                    QueueOwnerAWSAccountId=arn.account)
            url = self._queue_urls[key] = str(reply["QueueUrl"])
        return url

    def forget_queue_url(self, queue: Arn | str) -> None:
        """Ask again next time (the queue may have been deleted and made again)."""
        self._queue_urls.pop(str(queue), None)

    async def receive(self, queue: Arn, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        """ReceiveMessage (every system and message attribute) on ``queue``: the messages, as boto3
        returns them. A long poll waits up to ``wait_seconds`` for the first one."""
        if self.local_sqs is not None:
            return await self.call(self.local_sqs.receive, queue, count, wait_seconds)
        reply = await self.call(self.client("sqs").receive_message, QueueUrl=await self.queue_url(queue),
                                MaxNumberOfMessages=count, WaitTimeSeconds=wait_seconds,
                                AttributeNames=["All"], MessageAttributeNames=["All"])
        return list(reply.get("Messages", []))

    async def delete_batch(self, queue: Arn, receipt_handles: Sequence[str]) -> list[dict[str, Any]]:
        """DeleteMessageBatch of up to 10 messages; the entries that failed."""
        entries = [{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(receipt_handles)]
        if self.local_sqs is not None:
            reply = await self.call(self.local_sqs.delete_batch, queue, entries)
        else:
            reply = await self.call(self.client("sqs").delete_message_batch, QueueUrl=await self.queue_url(queue),
                                    Entries=entries)
        return list(reply.get("Failed", []))

    async def send_to(self, target: Arn | str, body: str, *,
                      attributes: Mapping[str, Mapping[str, str]] | None = None,
                      subject: str | None = None) -> None:
        """Send ``body`` to an SQS queue or SNS topic, by ARN, with message ``attributes``
        (``{"Name": {"DataType": "String", "StringValue": "..."}}``, as both services take them)."""
        arn = target if isinstance(target, Arn) else Arn.parse(target)
        kwargs: dict[str, Any] = {}
        if attributes:
            kwargs["MessageAttributes"] = {name: dict(value) for name, value in attributes.items()}
        if arn.service == "sqs":
            await self.call(self.client("sqs").send_message, QueueUrl=await self.queue_url(arn),
                            MessageBody=body, **kwargs)
        elif arn.service == "sns":
            if subject:
                kwargs["Subject"] = subject
            await self.call(self.client("sns").publish, TopicArn=str(arn), Message=body, **kwargs)
        else:
            raise ValueError(f"cannot send a message to {arn}: only SQS queues and SNS topics take them")

    def close(self) -> None:
        """Stop the pool (calls under way finish; none can start)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
