"""Speed up the SQS hot path of the embedded moto, pinned to moto 5.2.5.

Call :func:`apply` once before the embedded moto serves requests. It patches moto only when
``moto.__version__ == "5.2.5"`` (the patches replace functions copied from that release);
any other moto logs a warning, stays as it is, and ``apply()`` returns False. Calling it
again is harmless; :func:`revert` puts moto's functions back (used by the tests).

Why
===
moto's SQS makes every send, receive and delete cost O(queue depth), usually several times
over, and each pass calls ``moto.core.utils.unix_time_millis()`` (about 7 µs: it builds two
``datetime`` objects) once or twice *per message*. Profiled (cProfile, per request) against a
``ThreadedMotoServer`` with boto3 at a depth of 1,000 messages:

* ``SendMessageBatch`` spends 96% of its time in ``Queue.attributes``, read up to three times
  per message just for ``ContentBasedDeduplication``; every read recomputes
  ``ApproximateNumberOfMessages``/``...NotVisible``/``...Delayed`` by scanning the whole queue.
  Preloading is therefore quadratic.
* ``ReceiveMessage`` spends 97% of its time in ``is_message_valid_based_on_retention_period``,
  which calls ``get_queue_attributes(["MessageRetentionPeriod"])``, which evaluates
  ``Queue.attributes`` three times: nine full scans of the queue per *returned* message, on
  top of rebuilding ``Queue.messages`` (the visible list) and ``deepcopy``-ing the pending
  groups on every pass.
* ``DeleteMessage`` scans every message, building ``all_receipt_handles`` lists, twice, and
  rebuilds the message list.
* Once those are gone, what is left per request is moto's generic machinery (flask, request
  parsing, the response serializer), in which two things stood out: the dispatcher's
  ``list_of_moto_modules()`` (``os.listdir`` plus ~175 ``stat`` calls, about 0.9 ms, on every
  request) and ``generate_receipt_handle`` (185 ``random.choice`` calls, 85 µs per message).

What is patched
===============
``Queue.messages``, ``Queue.approximate_number_of_messages``,
``Queue.approximate_number_of_messages_delayed``, ``Queue.approximate_number_of_messages_not_visible``
    Same filters, one clock reading per call instead of one or two per message.
``Queue.add_message``
    FIFO deduplication looks up candidates in a per-queue index (dedup id -> messages still in
    the queue) instead of scanning every message, and reads ``ContentBasedDeduplication`` from
    the queue's field instead of the O(n) ``Queue.attributes``. Check and append happen under
    the queue's lock. moto's own Lambda event-source-mapping hook after the append is unchanged.
``Queue.delete_message``
    Receipt handle -> message index (every handle the message has had: moto accepts old ones),
    then ``list.remove`` of that message instead of scanning and rebuilding the list.
``Queue.wait_for_messages``
    The long-poll predicate stops at the first receivable message and skips FIFO groups that
    have a message in flight (moto counts those as "a message is there" and busy-spins).
``SQSBackend.receive_message``
    moto's algorithm, in moto's order of checks (visibility and delay, release of a timed-out
    in-flight message, FIFO group blocking, redrive to the DLQ at receive time when
    ``ApproximateReceiveCount >= maxReceiveCount``, mark received, copy, retention check, count),
    but it walks the message list lazily with one clock reading and stops after ``count``
    messages, builds the in-flight group set with ``set()`` instead of ``deepcopy``, and runs
    each pass under the queue's lock. Only the returned messages are copied, as before. While
    long polling, each wait ends on a new message, a delete or visibility change (those now
    notify waiters), the next delay or visibility expiry, or the end of ``WaitTimeSeconds``
    (moto: new messages, otherwise 1 s ticks).
``SQSBackend.delete_message`` / ``change_message_visibility``
    Receipt-handle index instead of a scan; a change that makes a message visible wakes
    long polls.
``SQSBackend.send_message`` / ``_validate_message``
    Read ``ContentBasedDeduplication`` from the queue's field instead of ``Queue.attributes``.
``SQSBackend.is_message_valid_based_on_retention_period``
    Reads ``queue.message_retention_period`` instead of ``get_queue_attributes`` (nine scans).
``SQSBackend.get_queue_attributes``
    Evaluates ``Queue.attributes`` once instead of once plus twice per requested name.
``moto.sqs.models.generate_receipt_handle``
    Same 185 lowercase letters from moto's seedable random, with one ``choices`` call. (For a
    given ``/moto-api/seed`` the handles differ from moto's; they stay reproducible.)
``moto.backends.list_of_moto_modules``
    Listed once: moto's package directory does not change while it runs. This one is used by
    moto's request dispatcher, so it speeds up every service, with the same answers.

The index is a cache next to moto's ``Queue._messages`` list: it records the list object, its
length and the patch generation it was built for, and rebuilds itself when something else
changed the queue (``purge_queue`` assigns a new list, for example). A receipt handle it does
not know falls back to moto's scan before being declared invalid. A ``None`` receipt handle
goes to moto's original code.

Deliberate differences from moto 5.2.5 (all towards AWS): concurrent ReceiveMessage calls no
longer get the same message (moto had no lock: 4 receivers draining 600 messages got 602);
the FIFO in-flight groups are re-read after every long-poll wait (moto kept the set from the
start of the call, so a group unblocked during the wait was not delivered until the poll
ended, and a group another consumer took during the wait was not blocked); long polls wake on
deletes, visibility changes and delay/visibility expiry instead of 1 s ticks.

Measured (ThreadedMotoServer on 127.0.0.1, boto3, one client thread, 2 vCPUs)
==========================================================================
=========================================================  =================  ===========
                                                           moto 5.2.5         patched
=========================================================  =================  ===========
ReceiveMessage(10), depth 1,000 (median)                   476-511 ms         3.3-5.8 ms
ReceiveMessage(10), depth 10,000 (median)                  4.9-5.3 s          3.6-4.6 ms
preload 1,000 with SendMessageBatch (100 calls)            9.0-11.8 s         0.29-0.41 s
preload 10,000 with SendMessageBatch (1,000 calls)         852 s              3.5-4.2 s
drain 10,000 (ReceiveMessage 10 + DeleteMessageBatch)      ~40 min (1)        6.0-7.4 s
ReceiveMessage(10), 10,000 deep, 5,000 in flight first     -                  8.4 ms
GetQueueAttributes(All), depth 10,000                      -                  8.2 ms
=========================================================  =================  ===========

(1) extrapolated: 260 messages drained in 121 s at depth 10,000; the cost per call is linear
in the depth. Without the last two patches (receipt handles, module list) the patched drain
took about 12-14 s and the preload about 6 s.
"""

from __future__ import annotations

import hashlib
import logging
import string
from collections.abc import Callable, Iterator
from copy import deepcopy
from typing import Any, cast

from emulator.moto.patching import Patch, PatchSet, replace_with

log = logging.getLogger(__name__)



# --------------------------------------------------------------------------------------------
# The per-queue index (a cache next to moto's ``Queue._messages`` list)
# --------------------------------------------------------------------------------------------


class _QueueIndex:
    """Receipt handle -> message and dedup id -> messages, for the messages in one queue."""

    __slots__ = ("by_dedup", "by_handle", "generation", "size", "source")

    def __init__(self, source: list[Any], generation: int) -> None:
        self.source = source
        self.size = len(source)
        self.generation = generation
        self.by_handle: dict[str, Any] = {}
        self.by_dedup: dict[str | None, list[Any]] = {}
        for message in source:
            self.add(message)

    def add(self, message: Any) -> None:
        for handle in message.all_receipt_handles:
            if handle is not None:
                # moto picks the first message (in queue order) that had a handle
                self.by_handle.setdefault(handle, message)
        self.by_dedup.setdefault(message.deduplication_id, []).append(message)

    def add_handle(self, message: Any, handle: str | None) -> None:
        if handle is not None:
            self.by_handle.setdefault(handle, message)

    def remove(self, message: Any) -> None:
        for handle in message.all_receipt_handles:
            if handle is not None and self.by_handle.get(handle) is message:
                del self.by_handle[handle]
        group = self.by_dedup.get(message.deduplication_id)
        if group is not None:
            for i, candidate in enumerate(group):
                if candidate is message:
                    del group[i]
                    break
            if not group:
                del self.by_dedup[message.deduplication_id]


def _index(queue: Any) -> _QueueIndex:
    """The queue's index, rebuilt if the message list changed behind the patch's back.

    Call with ``queue._messages_lock`` held.
    """
    messages = queue._messages
    index: _QueueIndex | None = queue.__dict__.get("_cloudmicro_index")
    if (
        index is None
        or index.source is not messages
        or index.size != len(messages)
        or index.generation != PATCHES.generation
    ):
        index = _QueueIndex(messages, PATCHES.generation)
        queue.__dict__["_cloudmicro_index"] = index
    return index


def _find_by_handle(queue: Any, receipt_handle: str) -> Any | None:
    """The message in ``queue`` that ever had ``receipt_handle`` (lock held), else None."""
    index = _index(queue)
    message = index.by_handle.get(receipt_handle)
    if message is not None:
        return message
    # Not indexed: normally an invalid handle. Confirm with moto's scan so a stale index can
    # never turn a valid handle into an error.
    for candidate in queue._messages:
        if candidate.had_receipt_handle(receipt_handle):
            queue.__dict__.pop("_cloudmicro_index", None)
            return candidate
    return None


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _content_based_deduplication(queue: Any) -> str | None:
    """``queue.attributes.get("ContentBasedDeduplication")`` without computing the counts."""
    if not queue.fifo_queue:
        return None  # FIFO attributes are only listed for FIFO queues
    value = queue.content_based_deduplication
    if isinstance(value, bool):
        return str(value).lower()
    return value


def _receivable(message: Any, now: float) -> bool:
    """``message.visible and not message.delayed`` with one clock reading."""
    return bool(now > message.visible_at and not now < message.delayed_until)


def _blocked_groups(queue: Any, now: float) -> set[str]:
    """FIFO groups with an in-flight (pending and still invisible) message."""
    return {
        m.group_id
        for m in queue._pending_messages
        if m.group_id is not None and not now > m.visible_at
    }


def _has_receivable(queue: Any) -> bool:
    """True when a receive could deliver (or redrive) a message right now."""
    from moto.core import utils

    now = utils.unix_time_millis()
    blocked = _blocked_groups(queue, now) if queue.fifo_queue else set()
    for message in queue._messages:
        if _receivable(message, now):
            if queue.fifo_queue and message.group_id and message.group_id in blocked:
                continue
            return True
    return False


def _seconds_to_next_change(queue: Any) -> float | None:
    """Seconds until the next message becomes visible or its delay ends (None: none pending)."""
    from moto.core import utils

    now = utils.unix_time_millis()
    soonest: float | None = None
    for message in queue._messages:
        for moment in (message.visible_at, message.delayed_until):
            if moment >= now and (soonest is None or moment < soonest):
                soonest = moment
    if soonest is None:
        return None
    return (soonest - now) / 1000.0


# --------------------------------------------------------------------------------------------
# Queue patches
# --------------------------------------------------------------------------------------------


def _queue_messages(self: Any) -> list[Any]:
    from moto.core import utils

    now = utils.unix_time_millis()
    return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]


def _queue_approximate_number_of_messages(self: Any) -> int:
    return len(self.messages)


def _queue_approximate_number_of_messages_delayed(self: Any) -> int:
    from moto.core import utils

    now = utils.unix_time_millis()
    return sum(1 for m in self._messages if now < m.delayed_until)


def _queue_approximate_number_of_messages_not_visible(self: Any) -> int:
    from moto.core import utils

    now = utils.unix_time_millis()
    return sum(1 for m in self._messages if not now > m.visible_at)


def _queue_add_message(self: Any, message: Any) -> None:
    from moto.sqs import models

    with self._messages_lock:
        index = _index(self)
        # the cases in which we dedupe fifo messages
        # from https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/using-messagededuplicationid-property.html
        if self.fifo_queue and (_content_based_deduplication(self) == "true" or message.deduplication_id):
            for m in index.by_dedup.get(message.deduplication_id, ()):
                diff = message.sent_timestamp - m.sent_timestamp
                if diff / 1000 < models.DEDUPLICATION_TIME_IN_SECONDS:
                    return
        self._messages.append(message)
        index.add(message)
        index.size = len(self._messages)
        self._messages_lock.notify_all()

    # Unchanged from moto 5.2.5: moto's own Lambda event source mappings.
    for arn, esm in self.lambda_event_source_mappings.items():
        if not esm.enabled:
            continue
        backend = models.sqs_backends[self.account_id][self.region]
        messages = backend.receive_message(
            self.name,
            esm.batch_size,
            self.receive_message_wait_time_seconds,
            self.visibility_timeout,
        )

        from moto.awslambda.utils import get_backend

        result = get_backend(self.account_id, self.region).send_sqs_batch(
            arn, messages, self.queue_arn
        )

        if result:
            for m in messages:
                backend.delete_message(self.name, m.receipt_handle)  # type: ignore[arg-type]
        else:
            for m in messages:
                backend.change_message_visibility(
                    self.name, m.receipt_handle, visibility_timeout=0  # type: ignore[arg-type]
                )


def _queue_delete_message(self: Any, receipt_handle: str) -> None:
    from moto.sqs import exceptions, models

    if receipt_handle in self.deleted_messages:
        # Already deleted - gracefully handle deleting it again
        return
    if receipt_handle is None:
        PATCHES.original(models.Queue, "delete_message")(self, receipt_handle)
        return

    with self._messages_lock:
        message = _find_by_handle(self, receipt_handle)
        if message is None:
            raise exceptions.ReceiptHandleIsInvalid()
        # Delete message from queue regardless of pending state
        index = _index(self)
        self._messages.remove(message)
        index.remove(message)
        index.size = len(self._messages)
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)
        if self.fifo_queue:
            self._messages_lock.notify_all()  # its group may be unblocked now


def _queue_wait_for_messages(self: Any, timeout: float) -> None:
    with self._messages_lock:
        self._messages_lock.wait_for(lambda: _has_receivable(self), timeout=timeout)


# --------------------------------------------------------------------------------------------
# SQSBackend patches
# --------------------------------------------------------------------------------------------


def _backend_validate_message(
    self: Any,
    queue: Any,
    message_body: str,
    delay_seconds: int,
    deduplication_id: str | None = None,
    group_id: str | None = None,
    validate_group_id: bool = True,
) -> None:
    from moto.sqs import exceptions

    if queue.fifo_queue:
        content_based = _content_based_deduplication(queue)
        if content_based == "false" and not group_id:
            raise exceptions.MissingParameter("MessageGroupId")

        if content_based == "false" and group_id and not deduplication_id:
            msg = (
                "The queue should either have ContentBasedDeduplication enabled or "
                "MessageDeduplicationId provided explicitly"
            )
            raise exceptions.InvalidParameterValue(msg)

        if delay_seconds > 0:
            raise exceptions.InvalidParameterValue(
                f"Value {delay_seconds} for parameter DelaySeconds is invalid. Reason: "
                "The request include parameter that is not valid for this queue type."
            )

    if len(message_body) > queue.maximum_message_size:
        msg = ("One or more parameters are invalid. Reason: Message must be shorter than "
               f"{queue.maximum_message_size} bytes.")
        raise exceptions.InvalidParameterValue(msg)

    if group_id is None and queue.fifo_queue:
        raise exceptions.MissingParameter("MessageGroupId")


def _backend_send_message(
    self: Any,
    queue_name: str,
    message_body: str,
    message_attributes: dict[str, Any] | None = None,
    delay_seconds: int | None = None,
    deduplication_id: str | None = None,
    group_id: str | None = None,
    system_attributes: dict[str, Any] | None = None,
    validate_group_id: bool = True,
) -> Any:
    from moto.moto_api._internal import mock_random
    from moto.sqs import exceptions, models

    queue = self.get_queue(queue_name)

    self._validate_message(
        queue,
        message_body=message_body,
        delay_seconds=int(delay_seconds or 0),
        deduplication_id=deduplication_id,
        group_id=group_id,
        validate_group_id=validate_group_id,
    )

    delay_seconds = int(delay_seconds) if delay_seconds is not None else queue.delay_seconds

    message_id = str(mock_random.uuid4())
    message = models.Message(message_id, message_body, system_attributes)

    if _content_based_deduplication(queue) == "true":
        sha256 = hashlib.sha256()
        sha256.update(message_body.encode("utf-8"))
        message.deduplication_id = sha256.hexdigest()

    # Attributes, but not *message* attributes
    if deduplication_id is not None:
        message.deduplication_id = deduplication_id
        message.sequence_number = "".join(
            mock_random.choice(string.digits) for _ in range(20)
        )

    if group_id is not None:
        message.group_id = group_id

    if message_attributes:
        message.message_attributes = message_attributes

    if delay_seconds > models.MAXIMUM_MESSAGE_DELAY:
        msg = (
            f"Value {delay_seconds} for parameter DelaySeconds is invalid. "
            "Reason: DelaySeconds must be >= 0 and <= 900."
        )
        raise exceptions.InvalidParameterValue(msg)

    message.mark_sent(delay_seconds=delay_seconds)

    queue.add_message(message)

    return message


def _backend_receive_message(
    self: Any,
    queue_name: str,
    count: int,
    wait_seconds_timeout: int,
    visibility_timeout: int,
    message_attribute_names: list[str] | None = None,
) -> list[Any]:
    from moto.core import utils
    from moto.sqs import models

    if message_attribute_names is None:
        message_attribute_names = []
    queue = self.get_queue(queue_name)
    result: list[Any] = []
    previous_result_count = len(result)

    polling_end = utils.unix_time() + wait_seconds_timeout

    while True:
        if result or (wait_seconds_timeout and utils.unix_time() > polling_end):
            break

        messages_to_dlq: list[Any] = []

        with queue._messages_lock:
            now = utils.unix_time_millis()
            # FIFO groups with a message in flight: pending and still invisible. A pending
            # message whose visibility timeout has passed is not in flight any more (its
            # consumer timed out), so it does not block its group; moto counts it until it
            # is released one by one, which hands out a later message of the group before the
            # earlier ones that timed out with it. Groups taken earlier in the same pass are
            # not added, so one call may return several messages of a group, in order.
            currently_pending_groups = _blocked_groups(queue, now)
            index = _index(queue)

            for message in queue._messages:
                # queue.messages + message.visible, with the clock read once under the lock
                if not (now > message.visible_at and not now < message.delayed_until):
                    continue

                if message in queue.pending_messages:
                    # The message is pending but is visible again, so the
                    # consumer must have timed out.
                    queue.pending_messages.remove(message)

                if message.group_id and queue.fifo_queue and message.group_id in currently_pending_groups:
                    # A previous call is still processing messages in this group.
                    continue

                if (
                    queue.dead_letter_queue is not None
                    and queue.redrive_policy
                    and message.approximate_receive_count
                    >= queue.redrive_policy["maxReceiveCount"]
                ):
                    messages_to_dlq.append(message)
                    continue

                queue.pending_messages.add(message)
                message.mark_received(visibility_timeout=visibility_timeout)
                index.add_handle(message, message.receipt_handle)
                # Copy so that filtering the attributes does not change the stored message
                message_copy = deepcopy(message)
                models._filter_message_attributes(message_copy, message_attribute_names)
                if not self.is_message_valid_based_on_retention_period(queue_name, message):
                    break
                result.append(message_copy)
                if len(result) >= count:
                    break

            for message in messages_to_dlq:
                queue._messages.remove(message)
                index.remove(message)
            index.size = len(queue._messages)

        for message in messages_to_dlq:
            queue.dead_letter_queue.add_message(message)

        if previous_result_count == len(result):
            if wait_seconds_timeout == 0:
                # There is no timeout and no additional results,
                # so break to avoid an infinite loop.
                break

            # Wait for a new message, a delete/visibility change, or the next delay or
            # visibility expiry; at most 1 s (as moto) and not past the end of the poll.
            timeout = min(1.0, max(polling_end - utils.unix_time(), 0.0) + 0.01)
            with queue._messages_lock:
                upcoming = _seconds_to_next_change(queue)
            if upcoming is not None:
                timeout = min(timeout, upcoming + 0.002)
            queue.wait_for_messages(timeout)
            continue

        previous_result_count = len(result)

    return result


def _backend_delete_message(self: Any, queue_name: str, receipt_handle: str) -> None:
    queue = self.get_queue(queue_name)
    queue.delete_message(receipt_handle)


def _backend_change_message_visibility(
    self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int
) -> None:
    from moto.core import utils
    from moto.sqs import exceptions, models

    queue = self.get_queue(queue_name)
    if receipt_handle is None:
        PATCHES.original(models.SQSBackend, "change_message_visibility")(
            self, queue_name, receipt_handle, visibility_timeout
        )
        return
    with queue._messages_lock:
        message = _find_by_handle(queue, receipt_handle)
        if message is None:
            raise exceptions.ReceiptHandleIsInvalid
        visibility_timeout_msec = int(visibility_timeout) * 1000
        given_visibility_timeout = utils.unix_time_millis() + visibility_timeout_msec
        if given_visibility_timeout - message.sent_timestamp > 43200 * 1000:
            raise exceptions.InvalidParameterValue(
                f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
            )

        message.change_visibility(visibility_timeout)
        if message.visible:
            if message in queue.pending_messages:
                # If the message is visible again, remove it from pending messages.
                queue.pending_messages.remove(message)
            queue._messages_lock.notify_all()


def _backend_is_message_valid_based_on_retention_period(
    self: Any, queue_name: str, message: Any
) -> bool:
    from moto.core import utils

    retention_period = self.get_queue(queue_name).message_retention_period
    retain_until = retention_period + message.sent_timestamp / 1000
    return bool(retain_until > utils.unix_time())


def _backend_get_queue_attributes(
    self: Any, queue_name: str, attribute_names: list[str]
) -> dict[str, Any]:
    from moto.sqs import exceptions

    queue = self.get_queue(queue_name)
    if not attribute_names:
        return {}

    valid_names = ["All", *queue.BASE_ATTRIBUTES, *queue.FIFO_ATTRIBUTES, *queue.KMS_ATTRIBUTES]
    invalid_name = next((name for name in attribute_names if name not in valid_names), None)

    if invalid_name or invalid_name == "":
        raise exceptions.InvalidAttributeName(invalid_name)

    queue_attributes = queue.attributes
    if "All" in attribute_names:
        return queue_attributes

    attributes = {}
    for name in attribute_names:
        if name in queue_attributes and queue_attributes.get(name) is not None:
            attributes[name] = queue_attributes.get(name)
    return attributes


# --------------------------------------------------------------------------------------------
# Module-level patches
# --------------------------------------------------------------------------------------------


def _generate_receipt_handle() -> str:
    """185 random lowercase letters from moto's (seedable) random, in one call, not 185."""
    from moto.moto_api._internal import mock_random

    return "".join(mock_random.choices(string.ascii_lowercase, k=185))


def _cached_list_of_moto_modules() -> Callable[[], tuple[str, ...]]:
    """``moto.backends.list_of_moto_modules`` listed once: moto's package does not change."""
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    return list_of_moto_modules


# --------------------------------------------------------------------------------------------
# apply / revert
# --------------------------------------------------------------------------------------------


def _patches() -> Iterator[Patch]:
    from moto import backends
    from moto.sqs import models

    queue, backend = models.Queue, models.SQSBackend
    for owner, name, replacement in (
        (queue, "messages", property(_queue_messages)),
        (queue, "approximate_number_of_messages", property(_queue_approximate_number_of_messages)),
        (queue, "approximate_number_of_messages_delayed", property(_queue_approximate_number_of_messages_delayed)),
        (queue, "approximate_number_of_messages_not_visible",
         property(_queue_approximate_number_of_messages_not_visible)),
        (queue, "add_message", _queue_add_message),
        (queue, "delete_message", _queue_delete_message),
        (queue, "wait_for_messages", _queue_wait_for_messages),
        (backend, "_validate_message", _backend_validate_message),
        (backend, "send_message", _backend_send_message),
        (backend, "receive_message", _backend_receive_message),
        (backend, "delete_message", _backend_delete_message),
        (backend, "change_message_visibility", _backend_change_message_visibility),
        (backend, "is_message_valid_based_on_retention_period", _backend_is_message_valid_based_on_retention_period),
        (backend, "get_queue_attributes", _backend_get_queue_attributes),
        (models, "generate_receipt_handle", _generate_receipt_handle),
        (backends, "list_of_moto_modules", _cached_list_of_moto_modules()),
    ):
        yield Patch(owner, name, replace_with(replacement))


#: the SQS hot path; optional: with another moto than the pinned one it is skipped, not applied
PATCHES = PatchSet("sqs-speed", _patches, optional=True)


def is_applied() -> bool:
    return PATCHES.applied


def apply() -> bool:
    """Patch moto's SQS hot path; True when the patches are in place (False, with a warning,
    for another moto than the pinned one). Calling it again is harmless."""
    return PATCHES.apply()


def revert() -> None:
    """Put moto's original functions back (for tests comparing with unpatched moto)."""
    PATCHES.undo()


def original(owner: Any, name: str) -> Callable[..., Any] | None:
    """moto's function that a patch replaced (None when not patched)."""
    found = PATCHES.original(owner, name)
    return found if found is None else cast("Callable[..., Any]", found)
