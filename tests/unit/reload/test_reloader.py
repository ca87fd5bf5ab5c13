"""The reloader's decisions (called directly, without file events): new revisions, added and
removed functions, bad configurations, API functions, and the hot-reload bucket convention."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest
from watchdog.observers.api import BaseObserver

from emulator.domain.errors import InvalidParameterValueException
from emulator.domain.registry import FunctionRegistry
from emulator.reload.reloader import Reloader
from tests.unit.fakes import SilentObserver, silent_then_polling


class Pool:
    def __init__(self) -> None:
        self.dropped: list[str] = []

    def drop_function(self, name: str) -> None:
        self.dropped.append(name)

    def renew(self, function) -> int:  # a new revision: the pool drops or renews its environments
        self.dropped.append(function.name)
        return 0


def setup(tmp_path: Path) -> tuple[FunctionRegistry, Pool, Reloader]:
    registry = FunctionRegistry(tmp_path / "functions", tmp_path / "state", "us-east-1", "123456789012")
    write(tmp_path / "functions" / "fn" / "fn.py", "def fn_handler(e, c):\n    return 1\n")
    registry.load_folders()
    pool = Pool()
    return registry, pool, Reloader(registry, pool, "events")  # type: ignore[arg-type]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def reload(reloader: Reloader, name: str, *paths: Path) -> None:
    asyncio.run(reloader.reload(name, frozenset(paths)))


def test_changed_code_is_a_new_revision_and_unchanged_code_is_not(tmp_path):
    registry, pool, reloader = setup(tmp_path)
    before = registry.get("fn")
    reload(reloader, "fn")
    assert registry.get("fn") is before and pool.dropped == []
    write(tmp_path / "functions" / "fn" / "fn.py", "def fn_handler(e, c):\n    return 2\n")
    reload(reloader, "fn")
    after = registry.get("fn")
    assert after.revision_id != before.revision_id and after.code_sha256 != before.code_sha256
    assert pool.dropped == ["fn"] and reloader.reloads == {"fn": 1}


def test_a_bad_config_keeps_the_last_good_function_until_fixed(tmp_path):
    registry, _, reloader = setup(tmp_path)
    good = registry.get("fn")
    write(tmp_path / "functions" / "fn" / "function.json", '{"Handler": "fn.fn_handler", "Timeout": 0}')
    reload(reloader, "fn")
    assert registry.get("fn") is good
    assert "Timeout" in registry.load_errors["fn"]
    write(tmp_path / "functions" / "fn" / "function.json", '{"Handler": "fn.fn_handler", "Timeout": 9}')
    reload(reloader, "fn")
    assert registry.get("fn").timeout == 9 and "fn" not in registry.load_errors


def test_new_and_removed_folders(tmp_path):
    registry, pool, reloader = setup(tmp_path)
    write(tmp_path / "functions" / "other" / "other.py", "def other_handler(e, c): pass\n")
    reload(reloader, "other")
    assert "other" in registry
    (tmp_path / "functions" / "other" / "other.py").unlink()
    reload(reloader, "other")
    assert "other" not in registry and pool.dropped[-1] == "other"
    reload(reloader, "_hidden")
    assert "_hidden" not in registry


def test_code_uploaded_through_the_api_is_not_replaced_by_its_folder(tmp_path):
    registry, _, reloader = setup(tmp_path)
    import base64
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fn.py", "def fn_handler(e, c):\n    return 'zip'\n")
    uploaded = registry.update_code("fn", {"ZipFile": base64.b64encode(buffer.getvalue()).decode()})
    write(tmp_path / "functions" / "fn" / "fn.py", "def fn_handler(e, c):\n    return 3\n")
    reload(reloader, "fn")
    assert registry.get("fn") is uploaded


def test_the_hot_reload_bucket_convention(tmp_path):
    registry, _, reloader = setup(tmp_path)
    folder = tmp_path / "mine"
    write(folder / "app.py", "def main(e, c): return 1\n")
    seen: list[int] = []
    registry.on_change(lambda: seen.append(1))
    function = registry.create({"FunctionName": "hot", "Runtime": "python3.11", "Handler": "app.main",
                                "Code": {"S3Bucket": "hot-reload", "S3Key": str(folder)}})
    assert function.hot_reload and function.code_dir == folder.resolve() and seen == [1]
    write(folder / "app.py", "def main(e, c): return 2\n")
    reload(reloader, "hot", folder / "app.py")
    assert registry.get("hot").code_sha256 != function.code_sha256
    registry.delete("hot")
    assert (folder / "app.py").exists()
    for key in ("relative/path", str(tmp_path / "nothing"), None):
        with pytest.raises(InvalidParameterValueException):
            registry.create({"FunctionName": "hot2", "Runtime": "python3.11", "Handler": "app.main",
                             "Code": {"S3Bucket": "hot-reload", "S3Key": key}})


def test_a_changed_layer_is_a_new_revision(tmp_path):
    registry, _pool, reloader = setup(tmp_path)
    write(tmp_path / "layers" / "common" / "python" / "shared.py", "X = 1\n")
    write(tmp_path / "functions" / "fn" / "function.json", '{"Handler": "fn.fn_handler", "Layers": ["common"]}')
    reload(reloader, "fn")
    before = registry.get("fn")
    assert [layer.name for layer in before.layers] == ["common"]
    reload(reloader, "fn", tmp_path / "functions" / "fn" / "fn.py")
    assert registry.get("fn") is before  # nothing changed
    reload(reloader, "fn", (tmp_path / "layers" / "common" / "python" / "shared.py").resolve())
    assert registry.get("fn").revision_id != before.revision_id


# --- the very next invoke: saves whose file events have not arrived -----------------------


def silent(mode: str, poll_interval: float) -> BaseObserver:
    return SilentObserver()


def started(tmp_path: Path, notices: list[str] | None = None, *,
            with_fn: bool = True) -> tuple[FunctionRegistry, Pool, Reloader]:
    """A registry (with ``fn``) and a started reloader that gets no file events (call on a loop)."""
    registry = FunctionRegistry(tmp_path / "functions", tmp_path / "state", "us-east-1", "123456789012")
    if with_fn:
        write(tmp_path / "functions" / "fn" / "fn.py", "def fn_handler(e, c):\n    return 1\n")
    registry.load_folders()
    pool = Pool()
    reloader = Reloader(registry, pool, "events", notice=(notices.append if notices is not None else None),  # type: ignore[arg-type]
                        observer=silent)
    reloader.start()
    return registry, pool, reloader


def test_current_finds_a_save_no_event_reported(tmp_path):
    async def scenario() -> None:
        registry, pool, reloader = started(tmp_path)
        try:
            before = registry.get("fn")
            assert await reloader.current(before) is before  # nothing changed: the same revision
            write(tmp_path / "functions" / "fn" / "fn.py", "def fn_handler(e, c):\n    return 2\n")
            after = await reloader.current(before)
            assert after is not None and after.revision_id != before.revision_id
            assert after.code_sha256 != before.code_sha256 and pool.dropped == ["fn"]
            assert await reloader.current(after) is after
            assert reloader.reloads == {"fn": 1}
            # a config file too, and a file in a sub-folder
            write(tmp_path / "functions" / "fn" / "function.json", '{"Handler": "fn.fn_handler", "Timeout": 8}')
            assert (await reloader.current(after)).timeout == 8  # type: ignore[union-attr]
            latest = registry.get("fn")
            write(tmp_path / "functions" / "fn" / "pkg" / "mod.py", "X = 1\n")
            assert (await reloader.current(latest)).revision_id != latest.revision_id  # type: ignore[union-attr]
        finally:
            await reloader.close()

    asyncio.run(scenario())


def test_new_and_removed_folders_count_at_the_next_invoke(tmp_path):
    async def scenario() -> None:
        registry, _pool, reloader = started(tmp_path)
        try:
            assert not await reloader.appeared("other")
            write(tmp_path / "functions" / "other" / "other.py", "def other_handler(e, c): pass\n")
            assert await reloader.appeared("other") and "other" in registry
            assert await reloader.appeared(registry.arn("other"))
            assert not await reloader.appeared("_private")
            function = registry.get("fn")
            shutil.rmtree(tmp_path / "functions" / "fn")
            assert await reloader.current(function) is None and "fn" not in registry
        finally:
            await reloader.close()

    asyncio.run(scenario())


def test_a_functions_folder_made_after_the_start_is_picked_up(tmp_path):
    async def scenario() -> None:
        notices: list[str] = []
        registry, _, reloader = started(tmp_path, notices, with_fn=False)
        try:
            assert registry.list() == []
            assert "does not exist yet" in notices[0]
            write(tmp_path / "functions" / "late" / "late.py", "def late_handler(e, c): pass\n")
            deadline = time.monotonic() + 5
            while "late" not in registry:  # no event, no invoke: the root guard finds it
                assert time.monotonic() < deadline, "functions/late was not picked up"
                await asyncio.sleep(0.01)
            assert reloader.watcher.roots() == [(tmp_path / "functions").resolve()]
            assert "added late" in notices
        finally:
            await reloader.close()

    asyncio.run(scenario())


def test_a_symlink_out_of_the_folder_is_warned_about(tmp_path):
    write(tmp_path / "shared" / "util.py", "X = 1\n")
    write(tmp_path / "functions" / "fn" / "fn.py", "def fn_handler(e, c):\n    return 1\n")
    (tmp_path / "functions" / "fn" / "shared").symlink_to(tmp_path / "shared")
    (tmp_path / "functions" / "fn" / "inside.py").symlink_to(tmp_path / "functions" / "fn" / "fn.py")

    async def scenario() -> None:
        notices: list[str] = []
        registry, _, reloader = started(tmp_path, notices)
        try:
            warning = registry.warnings["fn"]
            assert "shared link(s) to outside" in warning and "inside.py" not in warning
            assert "layer" in warning and "Docker" in warning
            assert any(n.startswith("fn: warning: ") for n in notices)
            (tmp_path / "functions" / "fn" / "shared").unlink()
            await reloader.current(registry.get("fn"))
            assert "fn" not in registry.warnings
        finally:
            await reloader.close()

    asyncio.run(scenario())


def test_reload_notices_name_the_saved_files_only(tmp_path):
    async def scenario() -> None:
        notices: list[str] = []
        _registry, _, reloader = started(tmp_path, notices)
        try:
            folder = tmp_path / "functions" / "fn"
            write(folder / "fn.py", "def fn_handler(e, c):\n    return 5\n")
            await reloader.reload("fn", frozenset({folder / "fn.py", folder}))
            assert notices[-1] == "reloaded fn (fn.py)"
        finally:
            await reloader.close()

    asyncio.run(scenario())


def test_a_folder_of_many_files_is_stamped_in_a_thread_and_still_found(tmp_path):
    async def scenario() -> None:
        registry, _, reloader = started(tmp_path)
        try:
            for i in range(250):
                write(tmp_path / "functions" / "fn" / "vendored" / f"m{i}.py", "X = 1\n")
            function = await reloader.current(registry.get("fn"))
            assert function is not None and "fn" in reloader._slow
            write(tmp_path / "functions" / "fn" / "vendored" / "m7.py", "X = 2\n")
            assert (await reloader.current(function)).revision_id != function.revision_id  # type: ignore[union-attr]
        finally:
            await reloader.close()

    asyncio.run(scenario())


def test_a_control_plane_whose_file_events_never_arrive_polls_and_says_so(tmp_path):
    async def scenario() -> None:
        notices: list[str] = []
        write(tmp_path / "functions" / "fn" / "fn.py", "def fn_handler(e, c):\n    return 1\n")
        registry = FunctionRegistry(tmp_path / "functions", tmp_path / "state", "us-east-1", "123456789012")
        registry.load_folders()
        reloader = Reloader(registry, Pool(), "events", notice=notices.append,  # type: ignore[arg-type]
                            observer=silent_then_polling)
        reloader.start()
        try:
            deadline = time.monotonic() + 5
            while reloader.status()["mode"] != "poll":
                assert time.monotonic() < deadline, "file events were not given up"
                await asyncio.sleep(0.01)
            assert "no file event arrived" in notices[-1] and "polling for changes every 0.25 s" in notices[-1]
            assert reloader.status()["fallback"]
            write(tmp_path / "functions" / "fn" / "fn.py", "def fn_handler(e, c):\n    return 2\n")
            while reloader.reloads.get("fn") != 1:  # found by polling alone, with no invoke
                assert time.monotonic() < deadline + 5, "the save was not found by polling"
                await asyncio.sleep(0.01)
        finally:
            await reloader.close()

    asyncio.run(scenario())


def test_a_folder_function_deleted_through_the_api_stays_deleted_until_saved(tmp_path):
    async def scenario() -> None:
        registry, _, reloader = started(tmp_path)
        try:
            registry.delete("fn")
            assert not await reloader.appeared("fn") and "fn" not in registry
            write(tmp_path / "functions" / "fn" / "fn.py", "def fn_handler(e, c):\n    return 'saved'\n")
            assert await reloader.appeared("fn") and "fn" in registry
        finally:
            await reloader.close()

    asyncio.run(scenario())
