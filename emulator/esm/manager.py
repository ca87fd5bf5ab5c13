"""The event source mapping service: the API's operations, persistence, and one poller task per
enabled mapping.

Mappings created through the API are kept in the state directory, so they (and, for streams,
their checkpoints) survive a restart; mappings declared in a function's ``function.json``
exist as soon as the control plane starts, and follow the function: a reload that adds, edits
or removes a declaration (or the function) adds, restarts or removes its mapping.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from emulator.aws.clients import AwsClients
from emulator.domain.errors import InvalidParameterValueException, ResourceConflictException, ResourceNotFoundException
from emulator.domain.functions import parse_function_name
from emulator.domain.registry import FunctionRegistry
from emulator.esm.mappings import EventSourceMapping, new_mapping, updated_mapping
from emulator.esm.poller import BatchInvoker, MappingStats
from emulator.esm.sqs import SqsPoller
from emulator.esm.streams import StreamPoller
from emulator.invocation.service import InvokeService

log = logging.getLogger(__name__)


class Poller(Protocol):
    async def run(self) -> None: ...


class EventSourceManager:
    def __init__(self, registry: FunctionRegistry, service: InvokeService, clients: AwsClients,
                 state_dir: Path) -> None:
        self.registry = registry
        self.clients = clients
        self.invoke = BatchInvoker(registry, service)
        self.path = state_dir / "event-source-mappings.json"
        self.checkpoints = state_dir / "checkpoints"
        self.mappings: dict[str, EventSourceMapping] = {}
        self.stats: dict[str, MappingStats] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._started = False
        #: functions whose EventSourceMappings we put in registry.load_errors
        self._errors: set[str] = set()

    # --- lifecycle ----------------------------------------------------------------------

    def load(self) -> None:
        """Load the persisted and the declared mappings (they exist from the start), and follow
        the declarations from then on."""
        for data in self._load():
            mapping = EventSourceMapping.from_json(data)
            self.mappings[mapping.uuid] = mapping
        self.load_declared()
        self.registry.on_change(self.load_declared)

    def start(self) -> None:
        """Start the pollers of the enabled mappings (once the endpoint answers)."""
        self._started = True
        for mapping in self.mappings.values():
            self._start(mapping)

    def load_declared(self) -> None:
        """Bring the mappings from ``EventSourceMappings`` in function.json files (stable UUIDs)
        in step with the functions: new declarations start, changed ones restart, and those
        whose declaration or function is gone stop (called by the registry after each change)."""
        wanted = self._declared()
        for key, mapping in list(self.mappings.items()):
            if mapping.origin != "config":
                continue
            new = wanted.pop(key, None)
            if new is None:
                self._stop_now(key)
                del self.mappings[key]
                self.stats.pop(key, None)
                log.info("removed mapping %s (%s -> %s): no longer declared", key, mapping.event_source_arn,
                         mapping.function_name)
            elif replace(new, last_modified=mapping.last_modified) != mapping:
                self._stop_now(key)
                self.mappings[key] = new
                self._start(new)
                log.info("restarted mapping %s (%s -> %s): its declaration changed", key, new.event_source_arn,
                         new.function_name)
        for key, mapping in wanted.items():
            if key not in self.mappings:
                self.mappings[key] = mapping
                self._start(mapping)

    def _declared(self) -> dict[str, EventSourceMapping]:
        declared: dict[str, EventSourceMapping] = {}
        for name in list(self._errors):
            if self.registry.load_errors.get(name, "").startswith("EventSourceMappings: "):
                del self.registry.load_errors[name]
        self._errors.clear()
        for function in self.registry.list():
            for request in function.event_source_mappings:
                arn = request.get("EventSourceArn", "")
                mapping_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"cloudmicro:{function.name}:{arn}"))
                try:
                    mapping = new_mapping(request, function.name, function.arn, origin="config")
                except InvalidParameterValueException as exc:
                    self.registry.load_errors[function.name] = f"EventSourceMappings: {exc.message}"
                    self._errors.add(function.name)
                    log.warning("function %s: EventSourceMappings: %s", function.name, exc.message)
                    continue
                declared[mapping_id] = EventSourceMapping.from_json(mapping.to_json() | {"uuid": mapping_id})
        return declared

    async def clear(self) -> None:
        """Reset: stop and forget every mapping made through the API (those declared in
        function.json follow their files, as the functions do)."""
        for key, mapping in list(self.mappings.items()):
            if mapping.origin == "config":
                continue
            await self._stop(key)
            del self.mappings[key]
            self.stats.pop(key, None)
        self._save()

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def _load(self) -> list[dict[str, Any]]:
        try:
            return list(json.loads(self.path.read_text()))
        except FileNotFoundError:
            return []
        except ValueError as exc:
            log.error("ignoring %s: not valid JSON (%s)", self.path, exc)
            return []

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = [m.to_json() for m in self.mappings.values() if m.origin == "api"]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(self.path)

    # --- pollers ------------------------------------------------------------------------

    def _poller(self, mapping: EventSourceMapping, stats: MappingStats) -> Poller:
        if mapping.kind == "sqs":
            return SqsPoller(mapping, self.invoke, self.clients, stats)
        return StreamPoller(mapping, self.invoke, self.clients, stats, self.checkpoints)

    def _start(self, mapping: EventSourceMapping) -> None:
        stats = self.stats.setdefault(mapping.uuid, MappingStats())
        if not self._started or not mapping.enabled or mapping.uuid in self._tasks:
            return
        task = asyncio.get_running_loop().create_task(self._poller(mapping, stats).run())
        self._tasks[mapping.uuid] = task
        task.add_done_callback(functools.partial(self._finished, mapping.uuid))

    def _finished(self, key: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("poller of mapping %s stopped: %r", key, task.exception())
            self.stats.setdefault(key, MappingStats()).problem(f"poller stopped: {task.exception()!r}")

    def _stop_now(self, key: str) -> None:
        """Cancel a mapping's poller without waiting for it to end (a batch under way is cut
        off: SQS gives its messages back after the visibility timeout)."""
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()

    async def _stop(self, key: str) -> None:
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # --- the API ------------------------------------------------------------------------

    def get(self, key: str) -> EventSourceMapping:
        mapping = self.mappings.get(key)
        if mapping is None:
            raise ResourceNotFoundException("The resource you requested does not exist.")
        return mapping

    def describe(self, mapping: EventSourceMapping, state: str | None = None) -> dict[str, Any]:
        stats = self.stats.get(mapping.uuid, MappingStats())
        return mapping.to_aws(state, stats.last_result)

    async def create(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = request.get("FunctionName")
        if not isinstance(name, str):
            raise InvalidParameterValueException("FunctionName is required")
        function = self.registry.get(name)
        mapping = new_mapping(request, function.name, function.qualified_arn)  # an alias or version: kept
        for other in self.mappings.values():
            if other.event_source_arn == mapping.event_source_arn and other.function_name == function.name:
                raise ResourceConflictException(
                    f"An event source mapping with {mapping.kind.upper() if mapping.kind == 'sqs' else 'event source'}"
                    f' arn (" {mapping.event_source_arn} ") and function (" {function.name} ") already exists. '
                    f"Please update or delete the existing mapping with UUID {other.uuid}"
                )
        await self._check_source(mapping)
        await self._check_visibility(mapping, function.timeout)
        self.mappings[mapping.uuid] = mapping
        self._save()
        self._start(mapping)
        return self.describe(mapping, "Creating")

    def list(self, function_name: str | None, source_arn: str | None) -> list[EventSourceMapping]:
        mappings = list(self.mappings.values())
        if function_name:
            ref = parse_function_name(function_name)
            mappings = [m for m in mappings if ref is not None and m.function_name == ref.name]
        if source_arn:
            mappings = [m for m in mappings if m.event_source_arn == source_arn]
        return sorted(mappings, key=lambda m: (m.last_modified, m.uuid))

    async def update(self, key: str, request: Mapping[str, Any]) -> dict[str, Any]:
        current = self.get(key)
        function = None
        if "FunctionName" in request:
            target = self.registry.get(request["FunctionName"])
            function = (target.name, target.qualified_arn)
        mapping = updated_mapping(current, {k: v for k, v in request.items() if k != "FunctionName"}, function)
        if function is not None:
            await self._check_visibility(mapping, self.registry.get(mapping.function_arn).timeout)
        self.mappings[key] = mapping
        self._save()
        await self._stop(key)
        self._start(mapping)
        if current.enabled and not mapping.enabled:
            state = "Disabling"
        elif not current.enabled and mapping.enabled:
            state = "Enabling"
        else:
            state = "Updating"
        return self.describe(mapping, state)

    async def delete(self, key: str) -> dict[str, Any]:
        mapping = self.get(key)
        await self._stop(key)
        del self.mappings[key]
        self._save()
        return self.describe(mapping, "Deleting")

    async def _check_visibility(self, mapping: EventSourceMapping, timeout: int) -> None:
        """AWS refuses an SQS mapping whose queue hides a received message for less time than the
        function may run: the message would come back while its batch is still being processed."""
        if mapping.kind != "sqs":
            return
        sqs = self.clients.client("sqs")
        reply = await self.clients.call(sqs.get_queue_attributes, QueueUrl=await self.clients.queue_url(
            mapping.event_source_arn), AttributeNames=["VisibilityTimeout"])
        visibility = int(reply.get("Attributes", {}).get("VisibilityTimeout", 30))
        if visibility < timeout:
            raise InvalidParameterValueException(
                f"Queue visibility timeout: {visibility} seconds is less than Function timeout: {timeout} seconds")

    async def _check_source(self, mapping: EventSourceMapping) -> None:
        """AWS refuses a mapping to a queue or stream that does not exist."""
        try:
            if mapping.kind == "sqs":
                self.clients.forget_queue_url(mapping.event_source_arn)
                await self.clients.queue_url(mapping.event_source_arn)
            elif mapping.kind == "dynamodb":
                client = self.clients.client("dynamodbstreams")
                await self.clients.call(client.describe_stream, StreamArn=mapping.event_source_arn)
            else:
                client = self.clients.client("kinesis")
                await self.clients.call(client.describe_stream_summary, StreamARN=mapping.event_source_arn)
        except ClientError as exc:
            if mapping.kind == "sqs":
                raise InvalidParameterValueException(
                    "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. "
                    "SQS Error Message: The specified queue does not exist for this wsdl version."
                ) from None
            raise InvalidParameterValueException(
                f"Stream not found: {mapping.event_source_arn} ({exc.response['Error'].get('Message', exc)})"
            ) from None

    def status(self) -> builtins.list[dict[str, Any]]:
        """Each mapping with its state and processing statistics (for the CLI)."""
        return [
            {
                "UUID": m.uuid, "FunctionName": m.function_name, "EventSourceArn": m.event_source_arn,
                "State": m.state, "Origin": m.origin, "Running": m.uuid in self._tasks,
                **self.stats.get(m.uuid, MappingStats()).as_dict(),
            }
            for m in self.list(None, None)
        ]
