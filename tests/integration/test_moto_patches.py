"""moto's SQS semantics with ``emulator.moto.sqs_speed`` applied, against a real moto server.

The server (``ThreadedMotoServer``) runs in this process, so it uses whatever the patch put on
moto's classes. Each semantics test runs twice: with the patches (``patched``) and with moto
as released (``stock``), so the patches are checked against moto's own behaviour. Tests named
``*_patched`` cover what only the patched code does (moto as released cannot pass them, or
takes hours). The depth test prints its timings.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.moto import patching, sqs_speed

ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    was_applied = sqs_speed.is_applied()
    assert sqs_speed.apply()  # before the server starts, as EmbeddedMoto does
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    if was_applied:
        sqs_speed.apply()
    else:
        sqs_speed.revert()


def _client(endpoint: str) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, read_timeout=60, max_pool_connections=16),
    )


@pytest.fixture(params=["patched", "stock"])
def sqs(request: pytest.FixtureRequest, endpoint: str) -> Iterator[Any]:
    if request.param == "patched":
        assert sqs_speed.apply()
    else:
        sqs_speed.revert()
    yield _client(endpoint)
    assert sqs_speed.apply()


@pytest.fixture
def patched_sqs(endpoint: str) -> Any:
    assert sqs_speed.apply()
    return _client(endpoint)


def _name(prefix: str, fifo: bool = False) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}" + (".fifo" if fifo else "")


def _queue(sqs: Any, prefix: str, fifo: bool = False, **attributes: str) -> str:
    if fifo:
        attributes["FifoQueue"] = "true"
    return sqs.create_queue(QueueName=_name(prefix, fifo), Attributes=attributes)["QueueUrl"]  # type: ignore[no-any-return]


def _receive(sqs: Any, url: str, count: int = 10, **kwargs: Any) -> list[dict[str, Any]]:
    kwargs.setdefault("WaitTimeSeconds", 0)
    reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=count, **kwargs)
    return reply.get("Messages", [])  # type: ignore[no-any-return]


def _counts(sqs: Any, url: str) -> dict[str, int]:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return {name: int(attributes[name]) for name in names}


def _until_visible(sqs: Any, url: str, count: int) -> None:
    """Until ``count`` messages are visible (a visibility timeout or a delay ran out), by the
    queue's own count: a receive would change what the test looks at."""
    deadline = time.monotonic() + 10
    while _counts(sqs, url)["ApproximateNumberOfMessages"] < count:
        assert time.monotonic() < deadline, f"fewer than {count} message(s) visible after 10 s: {_counts(sqs, url)}"
        time.sleep(0.02)


def _until_waiting(url: str) -> None:
    """Until a receive waits on the queue (its long poll is under way, so what comes next wakes
    it): moto's receives wait on the queue's condition, whose waiters say so."""
    condition = _moto_queue(url)._messages_lock
    deadline = time.monotonic() + 10
    while not condition._waiters:
        assert time.monotonic() < deadline, "no receive waits on the queue after 10 s"
        time.sleep(0.005)


def _moto_queue(url: str) -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[ACCOUNT][REGION].queues[url.rsplit("/", 1)[-1]]


def _error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------
# apply()
# ------------------------------------------------------------------------------------------


def test_apply_is_idempotent_and_pinned(endpoint: str, monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture) -> None:
    import moto
    from moto.sqs import models

    assert sqs_speed.apply() and sqs_speed.apply()
    patched = models.SQSBackend.receive_message
    original = sqs_speed.original(models.SQSBackend, "receive_message")
    assert original is not None and original is not patched
    assert sqs_speed.apply()
    assert models.SQSBackend.receive_message is patched
    assert sqs_speed.original(models.SQSBackend, "receive_message") is original

    sqs_speed.revert()
    assert models.SQSBackend.receive_message is original
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    forget_moto_version()  # the version is read once per process
    with caplog.at_level(logging.WARNING, logger="emulator.moto.patching"):
        assert sqs_speed.apply() is False
    assert "skipped" in caplog.text and "5.2.5" in caplog.text and "9.9.9" in caplog.text
    assert models.SQSBackend.receive_message is original
    monkeypatch.undo()
    forget_moto_version()
    assert sqs_speed.apply()
    assert models.SQSBackend.receive_message is patched


def forget_moto_version() -> None:
    patching.installed_moto_version.cache_clear()
    patching.moto_version_ok.cache_clear()


# ------------------------------------------------------------------------------------------
# Standard queues
# ------------------------------------------------------------------------------------------


def test_send_receive_delete(sqs: Any) -> None:
    url = _queue(sqs, "basic")
    sent = sqs.send_message(QueueUrl=url, MessageBody="hello")
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"hello").hexdigest()
    messages = _receive(sqs, url, AttributeNames=["All"])
    assert [m["Body"] for m in messages] == ["hello"]
    message = messages[0]
    assert message["MessageId"] == sent["MessageId"]
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    first = message["Attributes"]["ApproximateFirstReceiveTimestamp"]
    assert int(first) >= int(message["Attributes"]["SentTimestamp"])
    assert _counts(sqs, url) == {
        "ApproximateNumberOfMessages": 0,
        "ApproximateNumberOfMessagesNotVisible": 1,
        "ApproximateNumberOfMessagesDelayed": 0,
    }
    assert _receive(sqs, url) == []  # in flight
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    # deleting again with the same handle is fine
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert _counts(sqs, url)["ApproximateNumberOfMessagesNotVisible"] == 0
    assert _receive(sqs, url) == []


def test_order_and_counts(sqs: Any) -> None:
    url = _queue(sqs, "order")
    for i in range(25):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    first = _receive(sqs, url, 10)
    assert [m["Body"] for m in first] == [f"m{i}" for i in range(10)]
    assert _counts(sqs, url) == {
        "ApproximateNumberOfMessages": 15,
        "ApproximateNumberOfMessagesNotVisible": 10,
        "ApproximateNumberOfMessagesDelayed": 1,
    }
    all_attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert all_attributes["ApproximateNumberOfMessages"] == "15"
    assert all_attributes["VisibilityTimeout"] == "30"
    assert set(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]) == {
        "QueueArn"
    }
    second = _receive(sqs, url, 10)
    assert [m["Body"] for m in second] == [f"m{i}" for i in range(10, 20)]


def test_invalid_receipt_handles(sqs: Any) -> None:
    url = _queue(sqs, "invalid")
    sqs.send_message(QueueUrl=url, MessageBody="x")
    with pytest.raises(ClientError) as excinfo:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    assert _error_code(excinfo) == "ReceiptHandleIsInvalid"
    with pytest.raises(ClientError) as excinfo:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle="not-a-handle", VisibilityTimeout=5)
    assert _error_code(excinfo) == "ReceiptHandleIsInvalid"
    # a handle from another queue is not valid here
    other = _queue(sqs, "invalid-other")
    sqs.send_message(QueueUrl=other, MessageBody="y")
    handle = _receive(sqs, other)[0]["ReceiptHandle"]
    with pytest.raises(ClientError) as excinfo:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    assert _error_code(excinfo) == "ReceiptHandleIsInvalid"
    assert _counts(sqs, url)["ApproximateNumberOfMessages"] == 1


def test_visibility_timeout_expiry_and_receive_count(sqs: Any) -> None:
    url = _queue(sqs, "visibility", VisibilityTimeout="1")
    sqs.send_message(QueueUrl=url, MessageBody="again")
    first = _receive(sqs, url, AttributeNames=["All"])[0]
    assert _receive(sqs, url) == []
    _until_visible(sqs, url, 1)
    second = _receive(sqs, url, AttributeNames=["All"])[0]
    assert second["MessageId"] == first["MessageId"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    assert (second["Attributes"]["ApproximateFirstReceiveTimestamp"]
            == first["Attributes"]["ApproximateFirstReceiveTimestamp"])
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    # the per-call VisibilityTimeout wins over the queue's
    _until_visible(sqs, url, 1)
    third = _receive(sqs, url, AttributeNames=["All"], VisibilityTimeout=0)[0]
    assert third["Attributes"]["ApproximateReceiveCount"] == "3"
    fourth = _receive(sqs, url, AttributeNames=["All"])[0]
    assert fourth["Attributes"]["ApproximateReceiveCount"] == "4"


def test_old_receipt_handle_after_re_receive(sqs: Any) -> None:
    # moto accepts any handle a message has had (AWS: may succeed without deleting)
    url = _queue(sqs, "oldhandle", VisibilityTimeout="1")
    sqs.send_message(QueueUrl=url, MessageBody="x")
    old = _receive(sqs, url)[0]["ReceiptHandle"]
    _until_visible(sqs, url, 1)
    new = _receive(sqs, url)[0]["ReceiptHandle"]
    assert new != old
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=old, VisibilityTimeout=0)
    newest = _receive(sqs, url, VisibilityTimeout=30)[0]["ReceiptHandle"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=old)
    assert _counts(sqs, url) == {
        "ApproximateNumberOfMessages": 0,
        "ApproximateNumberOfMessagesNotVisible": 0,
        "ApproximateNumberOfMessagesDelayed": 0,
    }
    sqs.delete_message(QueueUrl=url, ReceiptHandle=newest)  # already deleted: no error
    with pytest.raises(ClientError) as excinfo:  # nor a message to change any more
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=newest, VisibilityTimeout=5)
    assert _error_code(excinfo) == "ReceiptHandleIsInvalid"


def test_change_visibility(sqs: Any) -> None:
    url = _queue(sqs, "changevis")
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    messages = _receive(sqs, url, 3, VisibilityTimeout=60)
    assert _receive(sqs, url) == []
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=messages[1]["ReceiptHandle"],
                                  VisibilityTimeout=0)
    again = _receive(sqs, url, AttributeNames=["ApproximateReceiveCount"])
    assert [m["Body"] for m in again] == ["m1"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    with pytest.raises(ClientError) as excinfo:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"],
                                      VisibilityTimeout=43201)
    assert _error_code(excinfo) == "InvalidParameterValue"

    reply = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "a", "ReceiptHandle": messages[0]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "b", "ReceiptHandle": "bogus", "VisibilityTimeout": 0},
        {"Id": "c", "ReceiptHandle": messages[2]["ReceiptHandle"], "VisibilityTimeout": 0},
    ])
    assert sorted(e["Id"] for e in reply["Successful"]) == ["a", "c"]
    assert [(e["Id"], e["Code"]) for e in reply["Failed"]] == [("b", "ReceiptHandleIsInvalid")]
    assert sorted(m["Body"] for m in _receive(sqs, url)) == ["m0", "m2"]


def test_batch_send_and_delete_with_errors(sqs: Any) -> None:
    url = _queue(sqs, "batch")
    reply = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "ok1", "MessageBody": "one"},
        {"Id": "bad", "MessageBody": "two", "DelaySeconds": 901},
        {"Id": "ok2", "MessageBody": "three",
         "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
    ])
    assert sorted(e["Id"] for e in reply["Successful"]) == ["ok1", "ok2"]
    assert [(e["Id"], e["Code"], e["SenderFault"]) for e in reply["Failed"]] == [
        ("bad", "InvalidParameterValue", True)
    ]
    ok2 = next(e for e in reply["Successful"] if e["Id"] == "ok2")
    assert "MD5OfMessageAttributes" in ok2
    messages = _receive(sqs, url)
    assert sorted(m["Body"] for m in messages) == ["one", "three"]
    reply = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "ReceiptHandle": messages[0]["ReceiptHandle"]},
        {"Id": "b", "ReceiptHandle": "nope"},
        {"Id": "c", "ReceiptHandle": messages[1]["ReceiptHandle"]},
    ])
    assert sorted(e["Id"] for e in reply["Successful"]) == ["a", "c"]
    assert [(e["Id"], e["Code"], e["SenderFault"]) for e in reply["Failed"]] == [
        ("b", "ReceiptHandleIsInvalid", True)
    ]
    assert "nope" in reply["Failed"][0]["Message"]
    assert _counts(sqs, url)["ApproximateNumberOfMessagesNotVisible"] == 0
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"i{i}", "MessageBody": "x"} for i in range(11)])
    assert _error_code(excinfo) == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"


def test_delay_seconds(sqs: Any) -> None:
    url = _queue(sqs, "delay")
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=1)
    sqs.send_message(QueueUrl=url, MessageBody="now")
    assert [m["Body"] for m in _receive(sqs, url, VisibilityTimeout=60)] == ["now"]
    assert _counts(sqs, url)["ApproximateNumberOfMessagesDelayed"] == 1
    _until_visible(sqs, url, 1)
    assert [m["Body"] for m in _receive(sqs, url)] == ["delayed"]
    assert _counts(sqs, url)["ApproximateNumberOfMessagesDelayed"] == 0

    queued = _queue(sqs, "delay-queue", DelaySeconds="1")
    sqs.send_message(QueueUrl=queued, MessageBody="by queue")
    sqs.send_message(QueueUrl=queued, MessageBody="override", DelaySeconds=0)
    assert [m["Body"] for m in _receive(sqs, queued, VisibilityTimeout=60)] == ["override"]
    _until_visible(sqs, queued, 1)
    assert [m["Body"] for m in _receive(sqs, queued)] == ["by queue"]


def test_message_attribute_filtering(sqs: Any) -> None:
    url = _queue(sqs, "attrs")
    attributes = {
        "Custom.a": {"DataType": "String", "StringValue": "1"},
        "Custom.b": {"DataType": "Number", "StringValue": "2"},
        "other": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    sent = sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attributes)

    def names(**kwargs: Any) -> set[str]:
        message = _receive(sqs, url, VisibilityTimeout=0, **kwargs)[0]
        return set(message.get("MessageAttributes", {}))

    assert names() == set()
    assert names(MessageAttributeNames=["Custom.*"]) == {"Custom.a", "Custom.b"}
    assert names(MessageAttributeNames=["other"]) == {"other"}
    assert names(MessageAttributeNames=[".*"]) == {"Custom.a", "Custom.b", "other"}
    full = _receive(sqs, url, VisibilityTimeout=0, MessageAttributeNames=["All"])[0]
    assert full["MessageAttributes"]["other"]["BinaryValue"] == b"\x00\x01"
    assert full["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    # filtering one receive does not change the stored message
    assert names(MessageAttributeNames=["All"]) == {"Custom.a", "Custom.b", "other"}


def test_redrive_to_dlq(sqs: Any) -> None:
    dlq = _queue(sqs, "dlq")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = _queue(sqs, "source", RedrivePolicy=f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": "2"}}')
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    sqs.send_message(QueueUrl=url, MessageBody="fine")
    first = _receive(sqs, url, 1, VisibilityTimeout=0, AttributeNames=["All"])
    second = _receive(sqs, url, 1, VisibilityTimeout=0, AttributeNames=["All"])
    assert [m["Body"] for m in first + second] == ["poison", "poison"]
    assert second[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    old_handle = second[0]["ReceiptHandle"]
    # third receive: moto moves it to the DLQ (maxReceiveCount reached) and goes on
    third = _receive(sqs, url, 10, VisibilityTimeout=30)
    assert [m["Body"] for m in third] == ["fine"]
    moved = _receive(sqs, dlq, AttributeNames=["All"])
    assert [m["Body"] for m in moved] == ["poison"]
    assert moved[0]["Attributes"]["ApproximateReceiveCount"] == "3"
    with pytest.raises(ClientError) as excinfo:  # it is no longer in the source queue
        sqs.delete_message(QueueUrl=url, ReceiptHandle=old_handle)
    assert _error_code(excinfo) == "ReceiptHandleIsInvalid"
    sqs.delete_message(QueueUrl=dlq, ReceiptHandle=old_handle)  # moto: any handle it had
    assert _counts(sqs, dlq)["ApproximateNumberOfMessagesNotVisible"] == 0


def test_purge_then_reuse(sqs: Any) -> None:
    url = _queue(sqs, "purge")
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    handle = _receive(sqs, url, 1)[0]["ReceiptHandle"]
    sqs.purge_queue(QueueUrl=url)
    with pytest.raises(ClientError) as excinfo:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    assert _error_code(excinfo) == "ReceiptHandleIsInvalid"
    sqs.send_message(QueueUrl=url, MessageBody="after")
    message = _receive(sqs, url)[0]
    assert message["Body"] == "after"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert _receive(sqs, url) == []


def test_retention_period(sqs: Any) -> None:
    url = _queue(sqs, "retention", MessageRetentionPeriod="60")
    sqs.send_message(QueueUrl=url, MessageBody="old")
    _moto_queue(url)._messages[0].sent_timestamp -= 61_000  # sent 61 s ago
    assert _receive(sqs, url, VisibilityTimeout=0) == []
    sqs.send_message(QueueUrl=url, MessageBody="new")
    # moto never deletes the expired message: while it is visible it comes first and ends
    # the pass empty-handed (see the report); once a receive hides it, the rest flows
    assert _receive(sqs, url, VisibilityTimeout=0) == []
    assert _receive(sqs, url) == []
    assert [m["Body"] for m in _receive(sqs, url)] == ["new"]


# ------------------------------------------------------------------------------------------
# Long polling
# ------------------------------------------------------------------------------------------


def _receive_in_thread(sqs: Any, url: str, wait: int, **kwargs: Any) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def run() -> None:
        box["messages"] = _receive(sqs, url, WaitTimeSeconds=wait, **kwargs)
        box["done"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def test_long_poll_wakes_up_on_send(sqs: Any, endpoint: str) -> None:
    url = _queue(sqs, "longpoll")
    thread, box = _receive_in_thread(_client(endpoint), url, 5)
    _until_waiting(url)
    sent_at = time.monotonic()
    sqs.send_message(QueueUrl=url, MessageBody="wake")
    thread.join(6)
    assert [m["Body"] for m in box["messages"]] == ["wake"]
    latency = box["done"] - sent_at
    print(f"long-poll wake-up latency: {latency * 1000:.0f} ms")
    assert latency < 0.75


def test_long_poll_times_out_empty(sqs: Any) -> None:
    url = _queue(sqs, "longpoll-empty")
    started = time.monotonic()
    assert _receive(sqs, url, WaitTimeSeconds=2) == []
    assert 1.9 <= time.monotonic() - started < 3.5


def test_long_poll_gets_delayed_message(sqs: Any) -> None:
    url = _queue(sqs, "longpoll-delay")
    sqs.send_message(QueueUrl=url, MessageBody="soon", DelaySeconds=1)
    started = time.monotonic()
    assert [m["Body"] for m in _receive(sqs, url, WaitTimeSeconds=5)] == ["soon"]
    assert 0.9 <= time.monotonic() - started < 2.5


# ------------------------------------------------------------------------------------------
# FIFO
# ------------------------------------------------------------------------------------------


def _send_fifo(sqs: Any, url: str, body: str, group: str, dedup: str | None = None) -> dict[str, Any]:
    return sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group,  # type: ignore[no-any-return]
                            MessageDeduplicationId=dedup or body)


def test_fifo_order_and_group_blocking(sqs: Any) -> None:
    url = _queue(sqs, "fifo", fifo=True)
    for body, group in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("a3", "A"), ("b2", "B")]:
        assert "SequenceNumber" in _send_fifo(sqs, url, body, group)
    a1 = _receive(sqs, url, 1, AttributeNames=["MessageGroupId", "SequenceNumber"])
    assert [m["Body"] for m in a1] == ["a1"]
    assert a1[0]["Attributes"]["MessageGroupId"] == "A"
    b1 = _receive(sqs, url, 1)
    assert [m["Body"] for m in b1] == ["b1"]  # A is blocked by a1
    assert _receive(sqs, url, 10) == []  # both groups blocked
    sqs.delete_message(QueueUrl=url, ReceiptHandle=a1[0]["ReceiptHandle"])
    # A unblocked; moto returns the rest of a group in one call
    assert [m["Body"] for m in _receive(sqs, url, 10)] == ["a2", "a3"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=b1[0]["ReceiptHandle"])
    assert [m["Body"] for m in _receive(sqs, url, 10)] == ["b2"]


def test_fifo_batch_keeps_group_order(sqs: Any) -> None:
    url = _queue(sqs, "fifo-batch", fifo=True)
    order = [("a1", "A"), ("b1", "B"), ("a2", "A"), ("c1", "C"), ("b2", "B"), ("a3", "A")]
    reply = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": body, "MessageBody": body, "MessageGroupId": group, "MessageDeduplicationId": body}
        for body, group in order
    ])
    assert len(reply["Successful"]) == 6
    assert all("SequenceNumber" in e for e in reply["Successful"])
    bodies = [m["Body"] for m in _receive(sqs, url, 10)]
    assert bodies == [body for body, _ in order]


def test_fifo_visibility_timeout_releases_group(sqs: Any) -> None:
    url = _queue(sqs, "fifo-vis", fifo=True, VisibilityTimeout="1")
    _send_fifo(sqs, url, "a1", "A")
    _send_fifo(sqs, url, "a2", "A")
    assert [m["Body"] for m in _receive(sqs, url, 1)] == ["a1"]
    assert _receive(sqs, url, 1) == []
    _until_visible(sqs, url, 2)  # a1 back (a2 was never received)
    again = _receive(sqs, url, 1, AttributeNames=["ApproximateReceiveCount"])
    assert [m["Body"] for m in again] == ["a1"]  # a1 again, never a2 first
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_fifo_deduplication(sqs: Any) -> None:
    url = _queue(sqs, "fifo-dedup", fifo=True)
    _send_fifo(sqs, url, "first", "A", dedup="same")
    _send_fifo(sqs, url, "second", "A", dedup="same")
    _send_fifo(sqs, url, "third", "B", dedup="same")  # scope is the queue
    _send_fifo(sqs, url, "other", "A", dedup="different")
    assert _counts(sqs, url)["ApproximateNumberOfMessages"] == 2
    # outside the five-minute window the same id is accepted again
    for message in _moto_queue(url)._messages:
        message.sent_timestamp -= 301_000
    _send_fifo(sqs, url, "fourth", "A", dedup="same")
    assert [m["Body"] for m in _receive(sqs, url, 10)] == ["first", "other", "fourth"]

    content = _queue(sqs, "fifo-content", fifo=True, ContentBasedDeduplication="true")
    for body in ["x", "x", "y"]:
        sqs.send_message(QueueUrl=content, MessageBody=body, MessageGroupId="G")
    messages = _receive(sqs, content, 10, AttributeNames=["MessageDeduplicationId"])
    assert [m["Body"] for m in messages] == ["x", "y"]
    assert messages[0]["Attributes"]["MessageDeduplicationId"] == hashlib.sha256(b"x").hexdigest()


def test_fifo_validation(sqs: Any) -> None:
    url = _queue(sqs, "fifo-valid", fifo=True)
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="A")
    assert _error_code(excinfo) == "InvalidParameterValue"
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d")
    assert _error_code(excinfo) == "MissingParameter"
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="A",
                         MessageDeduplicationId="d", DelaySeconds=1)
    assert _error_code(excinfo) == "InvalidParameterValue"


def test_fifo_redrive_to_fifo_dlq(sqs: Any) -> None:
    dlq = _queue(sqs, "fifo-dlq", fifo=True)
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = _queue(sqs, "fifo-src", fifo=True,
                 RedrivePolicy=f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": 1}}')
    _send_fifo(sqs, url, "a1", "A")
    _send_fifo(sqs, url, "a2", "A")
    first = _receive(sqs, url, 1, VisibilityTimeout=0)
    assert [m["Body"] for m in first] == ["a1"]
    # a1 reached maxReceiveCount: moved to the DLQ, a2 delivered
    assert [m["Body"] for m in _receive(sqs, url, 1)] == ["a2"]
    assert [m["Body"] for m in _receive(sqs, dlq, 10)] == ["a1"]


# ------------------------------------------------------------------------------------------
# Only with the patches
# ------------------------------------------------------------------------------------------


def test_fifo_long_poll_wakes_when_group_unblocks_patched(patched_sqs: Any, endpoint: str) -> None:
    # moto as released snapshots the blocked groups once per call, so this poll would only
    # end after its whole WaitTimeSeconds
    sqs = patched_sqs
    url = _queue(sqs, "fifo-longpoll", fifo=True)
    _send_fifo(sqs, url, "a1", "A")
    _send_fifo(sqs, url, "a2", "A")
    a1 = _receive(sqs, url, 1)[0]
    thread, box = _receive_in_thread(_client(endpoint), url, 5)
    _until_waiting(url)
    deleted_at = time.monotonic()
    sqs.delete_message(QueueUrl=url, ReceiptHandle=a1["ReceiptHandle"])
    thread.join(6)
    assert [m["Body"] for m in box["messages"]] == ["a2"]
    assert box["done"] - deleted_at < 0.75


def test_long_poll_wakes_on_change_visibility_patched(patched_sqs: Any, endpoint: str) -> None:
    sqs = patched_sqs
    url = _queue(sqs, "longpoll-vis")
    sqs.send_message(QueueUrl=url, MessageBody="back")
    handle = _receive(sqs, url, VisibilityTimeout=60)[0]["ReceiptHandle"]
    thread, box = _receive_in_thread(_client(endpoint), url, 5)
    _until_waiting(url)
    changed_at = time.monotonic()
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    thread.join(6)
    assert [m["Body"] for m in box["messages"]] == ["back"]
    assert box["done"] - changed_at < 0.5


def test_concurrent_receivers_never_share_a_message_patched(patched_sqs: Any, endpoint: str) -> None:
    sqs = patched_sqs
    url = _queue(sqs, "concurrent")
    for i in range(0, 600, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(j), "MessageBody": f"m{i + j}"} for j in range(10)])
    seen: list[str] = []
    lock = threading.Lock()

    def consume() -> None:
        client = _client(endpoint)
        while True:
            messages = _receive(client, url, 10, VisibilityTimeout=300)
            if not messages:
                return
            with lock:
                seen.extend(m["Body"] for m in messages)

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(seen) == 600 and len(set(seen)) == 600


def test_depth_10000_preload_and_drain_patched(patched_sqs: Any) -> None:
    sqs = patched_sqs
    url = _queue(sqs, "depth")
    total = 10_000
    started = time.perf_counter()
    for i in range(0, total, 10):
        reply = sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(j), "MessageBody": f"m{i + j}"} for j in range(10)])
        assert len(reply["Successful"]) == 10, reply.get("Failed")
    preload = time.perf_counter() - started
    assert _counts(sqs, url)["ApproximateNumberOfMessages"] == total

    latencies = []
    for _ in range(5):
        t = time.perf_counter()
        messages = _receive(sqs, url, 10, VisibilityTimeout=0)
        latencies.append(time.perf_counter() - t)
        assert len(messages) == 10

    seen: set[str] = set()
    started = time.perf_counter()
    receives = 0
    while True:
        messages = _receive(sqs, url, 10)
        receives += 1
        if not messages:
            break
        for message in messages:
            assert message["Body"] not in seen, f"{message['Body']} delivered twice"
            seen.add(message["Body"])
        reply = sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(messages)])
        assert not reply.get("Failed"), reply["Failed"]
    drain = time.perf_counter() - started
    print(f"\npreload {total} with SendMessageBatch: {preload:.2f} s; "
          f"ReceiveMessage(10) at depth {total}: {sorted(latencies)[2] * 1000:.1f} ms (median); "
          f"drain (receive 10 + DeleteMessageBatch, {receives} receives): {drain:.2f} s")
    assert seen == {f"m{i}" for i in range(total)}
    assert _counts(sqs, url) == {
        "ApproximateNumberOfMessages": 0,
        "ApproximateNumberOfMessagesNotVisible": 0,
        "ApproximateNumberOfMessagesDelayed": 0,
    }
