"""Schedules fire their Lambda targets on time: EventBridge rules with a ScheduleExpression and
EventBridge Scheduler schedules.

One asyncio task reads the schedules every second (:mod:`.schedule_reader`, boto3 at the
control plane's own endpoint, so an embedded and an external moto work alike); another sleeps
until the next firing time (:mod:`.timetable` says when) and sends each target what
:mod:`.schedule_events` builds (a rule's targets are read when it fires). A one-time schedule
with ``ActionAfterCompletion: DELETE`` is deleted once it has fired (a recurring one once its
EndDate has passed).

Events go to the function's asynchronous queue (``submit``: ``AsyncInvoker.submit``), as AWS
invokes these targets asynchronously (retries, destinations and dead-letter queues apply).
Targets other than Lambda functions are not delivered (the listing shows them). A rule's event
that cannot be sent (the function does not exist, the input template renders invalid JSON) goes
to the target's ``DeadLetterConfig`` queue as EventBridge sends it (the event, with RULE_ARN,
TARGET_ARN, ERROR_CODE and ERROR_MESSAGE attributes: :func:`.eventbridge.dead_letter_attributes`).

Several control planes in one process share the embedded moto; only the one ``active()`` names
(the newest, like :func:`emulator.moto.delivery.deliver`) fires, so nothing fires twice.
The scheduler's clock can be moved (:meth:`Schedules.set_offset`): "time travel" for trying a
daily schedule without waiting a day, and for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from emulator.aws.clients import AwsClients
from emulator.domain.arn import Arn
from emulator.push.eventbridge import dead_letter_attributes, error_code
from emulator.push.target_input import TargetInputError, target_payload
from emulator.schedules.events import is_function, iso, payload_preview, scheduled_event, scheduler_payload
from emulator.schedules.reader import pages, read_rules, read_schedules
from emulator.schedules.timetable import RULE, SCHEDULE, Entry, ScheduleSpec, Timetable

log = logging.getLogger(__name__)

__all__ = ["Delivery", "ScheduleNotFound", "Schedules", "Submit"]

#: (function ARN, payload, source) -> request id; raises when the invoke is refused
Submit = Callable[[str, bytes, str], Awaitable[str | None]]


class ScheduleNotFound(LookupError):
    """No schedule (or more than one) has that name."""


@dataclass(frozen=True)
class Delivery:
    """One target of one firing."""

    target: str
    request_id: str | None = None
    error: str | None = None
    payload: str | None = None  # what was sent (shortened)
    error_code: str | None = None  # EventBridge's, for a dead-letter queue

    def as_dict(self) -> dict[str, Any]:
        return {"Target": self.target, "RequestId": self.request_id, "Error": self.error, "Payload": self.payload}


def _imported(service: str) -> bool:
    """Whether the embedded moto imported ``service``'s models (the default test of use)."""
    return f"moto.{service}.models" in sys.modules


class Schedules:
    """The schedules of one control plane: reading, timing, firing, and what the admin API shows."""

    def __init__(self, clients: AwsClients, submit: Submit, *, active: Callable[[], bool] = lambda: True,
                 embedded: bool = True, interval: float = 1.0, timetable: Timetable | None = None,
                 used: Callable[[str], bool] | None = None) -> None:
        self.clients = clients
        self.submit = submit
        self.active = active
        self.embedded = embedded
        #: with an embedded moto: whether a service ("events", "scheduler") holds any state
        self.used = used or _imported
        self.interval = interval
        self.timetable = timetable or Timetable()
        self.offset = 0.0
        self._specs: dict[str, list[ScheduleSpec]] = {RULE: [], SCHEDULE: []}
        self._cache: dict[str, tuple[Any, ScheduleSpec]] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._last_problem: str | None = None
        self._closed = False

    # --- clock --------------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.offset

    def set_offset(self, seconds: float) -> None:
        """Move the scheduler's clock to ``seconds`` past the real one (0: back to real time)."""
        self.offset = float(seconds)
        self._wake.set()

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start reading and firing (once; never after :meth:`close`)."""
        if self._closed or self._loops:
            return
        loop = asyncio.get_running_loop()
        self._loops = [loop.create_task(self._refresh_forever()), loop.create_task(self._fire_forever())]

    async def close(self) -> None:
        """Stop reading and firing, and wait for the firings under way to end. Call it before the
        clients' thread pool is shut down: nothing here uses it afterwards."""
        self._closed = True
        tasks = self._loops + list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- reading ------------------------------------------------------------------------

    def _client(self, service: str) -> Any:
        return self.clients.client(service)

    def _services(self) -> set[str]:
        """What to read: with an embedded moto, only services in use (nothing else can have state)."""
        if not self.embedded:
            return {RULE, SCHEDULE}
        used = set()
        if self.used("events"):
            used.add(RULE)
        if self.used("scheduler"):
            used.add(SCHEDULE)
        return used

    def _read(self, services: set[str]) -> dict[str, list[ScheduleSpec] | Exception]:
        read: dict[str, list[ScheduleSpec] | Exception] = {}
        if RULE in services:
            try:
                read[RULE] = read_rules(self._client("events"))
            except Exception as exc:  # noqa: BLE001 - reported, the previous rules are kept
                read[RULE] = exc
        if SCHEDULE in services:
            try:
                read[SCHEDULE] = read_schedules(self._client("scheduler"), self._cache)
            except Exception as exc:  # noqa: BLE001 - reported, the previous schedules are kept
                read[SCHEDULE] = exc
        return read

    async def refresh(self) -> None:
        """Read the schedules now and re-plan what changed (nothing once closed)."""
        async with self._lock:
            if self._closed:
                return
            read = await self.clients.call(self._read, self._services())
            problems = []
            for kind, result in read.items():
                if isinstance(result, Exception):
                    problems.append(f"reading {kind}s: {result}")
                else:
                    self._specs[kind] = result
            problem = "; ".join(problems) or None
            if problem and problem != self._last_problem:
                log.warning("schedules: %s", problem)
            self._last_problem = problem
            self.timetable.sync(self._specs[RULE] + self._specs[SCHEDULE], self.now())
            self._wake.set()

    async def _refresh_forever(self) -> None:
        while not self._closed:
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                if self._closed:
                    return  # stopping: the thread pool may be gone already
                log.exception("schedules: refresh failed")
            await asyncio.sleep(self.interval)

    # --- firing -------------------------------------------------------------------------

    async def _fire_forever(self) -> None:
        while not self._closed:
            self._wake.clear()
            try:
                self._fire_due(self.now())
                next_due = self.timetable.next_due()
                timeout = None if next_due is None else max(0.0, next_due - self.now())
            except Exception:
                log.exception("schedules: firing failed; trying again in %s s", self.interval)
                timeout = self.interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _fire_due(self, now: float) -> None:
        """Start the firings due at ``now`` and the deletions of completed schedules."""
        for entry in self.timetable.due(now):
            spec, scheduled = entry.spec, entry.scheduled
            try:
                self.timetable.fired(entry, now)
            except Exception:
                log.exception("schedules: %s %s/%s cannot be planned", spec.kind, spec.group, spec.name)
                entry.scheduled = entry.due = None
            if scheduled is not None and self.active():
                self._spawn(self._fire(entry, spec, scheduled))
        for entry in self.timetable.entries.values():
            if self._should_delete(entry) and self.active():
                entry.stats["deleting"] = True
                self._spawn(self._delete(entry.spec))

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        if self._closed:
            coroutine.close()
            return
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def _should_delete(entry: Entry) -> bool:
        spec = entry.spec
        return (spec.kind == SCHEDULE and entry.completed and spec.action_after_completion == "DELETE"
                and not entry.stats.get("deleting") and not entry.stats.get("firing"))

    async def _fire(self, entry: Entry | None, spec: ScheduleSpec, scheduled: float) -> list[Delivery]:
        """Send the firing at ``scheduled`` to every target of ``spec``."""
        if entry is not None:
            entry.stats["firing"] = entry.stats.get("firing", 0) + 1
        try:
            deliveries = await (self._fire_rule(spec, scheduled) if spec.kind == RULE
                                else self._fire_schedule(spec, scheduled))
        finally:
            if entry is not None:
                entry.stats["firing"] -= 1
        if entry is not None:
            entry.stats["last_fired_at"] = iso(scheduled)
            entry.stats["last_result"] = "; ".join(
                f"{d.target.rsplit(':', 1)[-1]}: {d.error or 'sent'}" for d in deliveries) or "no targets"
            if self._should_delete(entry):
                entry.stats["deleting"] = True
                await self._delete(spec)
        return deliveries

    async def _fire_rule(self, spec: ScheduleSpec, scheduled: float) -> list[Delivery]:
        targets = await self._rule_targets(spec)
        event = scheduled_event(spec, scheduled)
        deliveries = []
        for target in targets:
            arn = str(target.get("Arn", ""))
            if not is_function(arn):
                deliveries.append(Delivery(arn, error="not a Lambda function: not delivered locally"))
                continue
            try:
                payload = target_payload(event, target, spec.name, rule_arn=spec.arn)
            except TargetInputError as exc:
                delivery = Delivery(arn, error=str(exc), error_code=exc.code)
            else:
                delivery = await self._send(arn, payload, f"EventBridge rule {spec.name}")
            if delivery.error is not None:
                await self._dead_letter(spec, target, event, delivery)
            deliveries.append(delivery)
        return deliveries

    async def _dead_letter(self, spec: ScheduleSpec, target: dict[str, Any], event: dict[str, Any],
                           delivery: Delivery) -> None:
        """Send a rule's undelivered ``event`` to the target's dead-letter queue, if it has one."""
        queue = Arn.maybe((target.get("DeadLetterConfig") or {}).get("Arn"))
        if queue is None or queue.service != "sqs":
            return
        code = delivery.error_code or "SDK_CLIENT_ERROR"
        attributes = dead_letter_attributes(spec.arn, delivery.target, code, delivery.error or code)
        try:
            await self.clients.send_to(queue, json.dumps(event), attributes=attributes)
        except Exception as exc:  # noqa: BLE001 - InvocationsFailedToBeSentToDLQ on AWS
            log.warning("EventBridge rule %s: could not send to the dead-letter queue %s: %s", spec.name, queue, exc)

    async def _fire_schedule(self, spec: ScheduleSpec, scheduled: float) -> list[Delivery]:
        arn = str((spec.target or {}).get("Arn", ""))
        if not is_function(arn):
            return [Delivery(arn, error="not a Lambda function: not delivered locally")]
        source = f"EventBridge Scheduler schedule {spec.name}"
        return [await self._send(arn, scheduler_payload(spec, scheduled), source)]

    async def _send(self, arn: str, payload: bytes, source: str) -> Delivery:
        try:
            request_id = await self.submit(arn, payload, source)
        except Exception as exc:  # noqa: BLE001 - one target's failure must not stop the others
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            log.warning("%s: could not invoke %s: %s", source, arn, message)
            return Delivery(arn, error=message, payload=payload_preview(payload),
                            error_code=error_code(getattr(exc, "status", None), type(exc).__name__))
        return Delivery(arn, request_id=request_id, payload=payload_preview(payload))

    async def _rule_targets(self, spec: ScheduleSpec) -> list[dict[str, Any]]:
        def read() -> list[dict[str, Any]]:
            events = self._client("events")  # made in the pool: a boto3 client takes a while to build
            try:
                return list(pages(events.list_targets_by_rule, "Targets", Rule=spec.name, EventBusName=spec.group))
            except events.exceptions.ResourceNotFoundException:
                return []

        return await self.clients.call(read)

    async def _delete(self, spec: ScheduleSpec) -> None:
        def delete() -> None:
            scheduler = self._client("scheduler")
            with contextlib.suppress(scheduler.exceptions.ResourceNotFoundException):
                scheduler.delete_schedule(Name=spec.name, GroupName=spec.group)

        try:
            await self.clients.call(delete)
            log.info("schedule %s/%s completed and was deleted (ActionAfterCompletion DELETE)", spec.group, spec.name)
        except Exception as exc:  # noqa: BLE001 - retried at the next refresh
            log.warning("schedule %s/%s: could not delete it: %s", spec.group, spec.name, exc)
            entry = self.timetable.get(spec.key)
            if entry is not None:
                entry.stats["deleting"] = False

    # --- what the admin API offers ------------------------------------------------------

    async def listing(self) -> list[dict[str, Any]]:
        """Every schedule with its targets and next firing time (read fresh)."""
        await self.refresh()
        rows = []
        for entry in sorted(self.timetable.entries.values(), key=lambda e: (e.spec.kind, e.spec.group, e.spec.name)):
            spec = entry.spec
            if spec.kind == RULE:
                targets = [str(t.get("Arn", "")) for t in await self._rule_targets(spec)]
            else:
                targets = [str((spec.target or {}).get("Arn", ""))]
            rows.append({
                "Kind": spec.kind, "Name": spec.name, "Group": spec.group, "Arn": spec.arn,
                "ScheduleExpression": spec.expression, "Timezone": spec.timezone, "State": spec.state,
                "Targets": targets,
                "NextFiring": iso(entry.scheduled) if entry.scheduled is not None else None,
                "NextFiringDue": iso(entry.due) if entry.due is not None else None,
                "NextFiringAt": entry.scheduled,  # epoch seconds, with a rate's fraction of a second
                "LastFiring": entry.stats.get("last_fired_at"), "LastResult": entry.stats.get("last_result"),
                "Fired": entry.fired, "Completed": entry.completed, "Problem": entry.problem,
                "ActionAfterCompletion": spec.action_after_completion if spec.kind == SCHEDULE else None,
            })
        return rows

    def find(self, name: str, kind: str | None = None, group: str | None = None) -> Entry:
        """The one schedule called ``name`` (``group/name`` also works); ScheduleNotFound otherwise."""
        if group is None and "/" in name:
            group, name = name.split("/", 1)
        found = [e for e in self.timetable.entries.values()
                 if e.spec.name == name and kind in (None, e.spec.kind) and group in (None, e.spec.group)]
        if not found:
            what = {RULE: "schedule rule", SCHEDULE: "Scheduler schedule"}.get(
                kind or "", "schedule rule or Scheduler schedule")
            raise ScheduleNotFound(f"no {what} named {name!r}" + (f" in {group!r}" if group else ""))
        if len(found) > 1:
            names = ", ".join(f"{e.spec.kind} {e.spec.group}/{e.spec.name}" for e in found)
            raise ScheduleNotFound(f"{name!r} names several schedules ({names}); say which with kind or group")
        return found[0]

    async def run_now(self, name: str, kind: str | None = None, group: str | None = None) -> dict[str, Any]:
        """Fire one schedule now, whatever its state and timing; what it invoked."""
        await self.refresh()
        entry = self.find(name, kind, group)
        now = self.now()
        deliveries = await self._fire(None, entry.spec, now)
        return {
            "Kind": entry.spec.kind, "Name": entry.spec.name, "Group": entry.spec.group, "Arn": entry.spec.arn,
            "State": entry.spec.state, "Time": iso(now), "Deliveries": [d.as_dict() for d in deliveries],
        }
