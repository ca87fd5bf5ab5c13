"""Event source mappings declared in function.json follow the function through reloads: a new
declaration starts a poller, an edited one restarts it, a removed one (or function) stops it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from emulator.domain.registry import FunctionRegistry
from emulator.esm.manager import EventSourceManager

QUEUE = "arn:aws:sqs:us-east-1:123456789012:orders"
OTHER = "arn:aws:sqs:us-east-1:123456789012:returns"


class Manager(EventSourceManager):
    """Pollers that only wait to be cancelled; records which mappings they ran for."""

    def __init__(self, registry: FunctionRegistry, state: Path) -> None:
        super().__init__(registry, None, None, state)  # type: ignore[arg-type]
        self.polled: list[tuple[str, int]] = []

    def _poller(self, mapping, stats):
        manager = self

        class Waits:
            async def run(self) -> None:
                manager.polled.append((mapping.event_source_arn, mapping.batch_size))
                await asyncio.Event().wait()

        return Waits()


def write(folder: Path, mappings: list[dict] | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fn.py").write_text("def fn_handler(e, c): pass\n")
    config = {} if mappings is None else {"EventSourceMappings": mappings}
    (folder / "function.json").write_text(json.dumps(config))


def running(manager: Manager) -> dict[str, int]:
    return {manager.mappings[key].event_source_arn: manager.mappings[key].batch_size
            for key, task in manager._tasks.items() if not task.done()}


def test_declared_mappings_follow_reloads(tmp_path):
    folder = tmp_path / "functions" / "fn"
    write(folder, [{"EventSourceArn": QUEUE, "BatchSize": 5}])
    registry = FunctionRegistry(tmp_path / "functions", tmp_path / "state", "us-east-1", "123456789012")
    registry.load_folders()

    def reload() -> None:  # what the reloader does with a saved folder
        new = registry.load_folder(folder) if folder.exists() else None
        if new is None:
            registry.delete("fn")
        else:
            registry.replace(new)

    async def scenario() -> None:
        manager = Manager(registry, tmp_path / "state")
        manager.load()
        assert [m.batch_size for m in manager.list("fn", None)] == [5]
        manager.start()
        await asyncio.sleep(0)
        assert running(manager) == {QUEUE: 5}
        first_uuid = manager.list("fn", None)[0].uuid

        write(folder, [{"EventSourceArn": QUEUE, "BatchSize": 7}, {"EventSourceArn": OTHER}])  # edited, added
        reload()
        await asyncio.sleep(0)
        assert running(manager) == {QUEUE: 7, OTHER: 10}
        assert first_uuid in manager.mappings  # the same mapping (a stream keeps its checkpoint)
        assert manager.polled == [(QUEUE, 5), (QUEUE, 7), (OTHER, 10)]

        write(folder, [{"EventSourceArn": OTHER}])  # removed
        reload()
        await asyncio.sleep(0)
        assert running(manager) == {OTHER: 10} and first_uuid not in manager.mappings

        write(folder, [{"EventSourceArn": "arn:aws:s3:::nope"}])  # bad: an error, no mapping
        reload()
        assert "EventSourceMappings: Unsupported event source" in registry.load_errors["fn"]
        assert manager.list("fn", None) == []
        write(folder, [{"EventSourceArn": QUEUE}])  # fixed
        reload()
        await asyncio.sleep(0)
        assert "fn" not in registry.load_errors and [m.event_source_arn for m in manager.list("fn", None)] == [QUEUE]

        polled = len(manager.polled)
        registry.update_configuration("fn", {"Timeout": 9})  # an unrelated change: the poller goes on
        await asyncio.sleep(0)
        assert len(manager.polled) == polled

        import shutil

        shutil.rmtree(folder)  # the function is gone, and so are its mappings
        reload()
        await asyncio.sleep(0)
        assert manager.list(None, None) == [] and running(manager) == {}
        await manager.close()

    asyncio.run(scenario())
