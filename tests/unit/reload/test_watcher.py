"""The folder watcher: real file events (and polling), debounced into one call per function."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import pytest

from emulator.reload.folders import folder_stamp, is_scratch
from emulator.reload.watcher import FolderWatcher
from tests.unit.fakes import silent_then_polling


def run(coro):
    return asyncio.run(coro)


async def watching(root: Path, mode: str, actions, wait_for: int, timeout: float = 5.0, settle: float = 0.4):
    """Run ``actions()`` (a coroutine) while ``root`` is watched; the calls made, once
    ``wait_for`` of them arrived and then ``settle`` seconds passed with no more."""
    calls: list[tuple[str, frozenset[Path]]] = []

    async def on_change(name: str, paths: frozenset[Path]) -> None:
        calls.append((name, paths))

    watcher = FolderWatcher(on_change, mode)  # type: ignore[arg-type]
    watcher.start()
    watcher.watch(root, lambda path: (path.relative_to(root).parts[0],) if path != root else ())
    try:
        await actions()
        deadline = time.monotonic() + timeout
        while len(calls) < wait_for and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(settle)
    finally:
        await watcher.close()
    return calls


@pytest.mark.parametrize("mode", ["events", "poll"])
def test_several_saves_in_a_burst_make_one_call(tmp_path, mode):
    (tmp_path / "fn").mkdir()

    async def save() -> None:
        for name in ("a.py", "b.py", "function.json"):
            (tmp_path / "fn" / name).write_text("x = 1\n")

    calls = run(watching(tmp_path, mode, save, wait_for=1))
    assert [name for name, _ in calls] == ["fn"]
    assert {p.name for p in calls[0][1]} == {"a.py", "b.py", "function.json"}


@pytest.mark.parametrize("temporary_name", [".fn.py.tmp", "sedAb12Cd"], ids=["editor", "sed -i"])
def test_write_temporary_then_rename_is_one_change_of_the_real_file(tmp_path, temporary_name):
    """An editor's hidden temporary file, or one sed -i makes: neither is listed."""
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "fn.py").write_text("old\n")

    async def save() -> None:
        temporary = tmp_path / "fn" / temporary_name
        temporary.write_text("new\n")
        os.replace(temporary, tmp_path / "fn" / "fn.py")

    calls = run(watching(tmp_path, "events", save, wait_for=1))
    assert [(name, {p.name for p in paths}) for name, paths in calls] == [("fn", {"fn.py"})]


def test_an_emptied_python_file_waits_for_its_second_write(tmp_path):
    (tmp_path / "fn").mkdir()
    path = tmp_path / "fn" / "fn.py"
    path.write_text("old\n")

    async def save() -> None:
        with open(path, "w"):
            pass  # truncated; the rest comes after the quiet period
        await asyncio.sleep(0.15)  # a slow editor's gap between its two writes
        path.write_text("new\n")

    assert len(run(watching(tmp_path, "events", save, wait_for=1))) == 1  # not one for the empty file


def test_scratch_files_and_other_folders_are_not_changes(tmp_path):
    (tmp_path / "fn").mkdir()

    async def scribble() -> None:
        for name in (".fn.py.swp", "fn.py~", "#fn.py#", "4913", "fn.py___jb_tmp___"):
            (tmp_path / "fn" / name).write_text("scratch")
        (tmp_path / "fn" / "__pycache__").mkdir()
        (tmp_path / "fn" / "__pycache__" / "fn.cpython-311.pyc").write_bytes(b"\0")

    assert run(watching(tmp_path, "events", scribble, wait_for=0, settle=0.3)) == []


def test_is_scratch():
    assert is_scratch(Path("fn/.fn.py.swp")) and is_scratch(Path("fn/fn.py~"))
    assert is_scratch(Path("fn/__pycache__/x.pyc")) and is_scratch(Path("fn/.#fn.py"))
    assert is_scratch(Path("fn/.venv/lib/site.py")) and is_scratch(Path("fn/fn.py___jb_tmp___"))
    assert not is_scratch(Path("fn/fn.py")) and not is_scratch(Path("fn/function.json"))
    assert not is_scratch(Path("fn/pkg/mod.py"))


# --- roots that go away, come back, or are not there yet ---------------------------------


async def until(condition, timeout: float = 5.0) -> None:
    """Wait (bounded) for ``condition()``: the watcher's threads and timers decide when."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("mode", ["events", "poll"])
def test_a_root_deleted_and_created_again_is_watched_again(tmp_path, mode):
    root = tmp_path / "root"
    (root / "fn").mkdir(parents=True)

    async def scenario() -> None:
        calls: list[tuple[str, frozenset[Path]]] = []

        async def on_change(name: str, paths: frozenset[Path]) -> None:
            calls.append((name, paths))

        watcher = FolderWatcher(on_change, mode)  # type: ignore[arg-type]
        watcher.start()
        watcher.watch(root, lambda path: (path.relative_to(root).parts[0],) if path != root else (),
                      lambda: ("fn",))
        try:
            for round_ in range(2):
                shutil.rmtree(root)
                await until(lambda: root not in watcher.roots())
                (root / "fn").mkdir(parents=True)
                await until(lambda: root in watcher.roots())
                await until(lambda: not watcher.busy("fn"))
                calls.clear()
                (root / "fn" / "a.py").write_text(f"x = {round_}\n")
                await until(lambda: any(root / "fn" / "a.py" in paths for _, paths in calls))
                assert {name for name, _ in calls} == {"fn"}
        finally:
            await watcher.close()

    run(scenario())


@pytest.mark.parametrize("mode", ["events", "poll"])
def test_a_root_that_does_not_exist_yet_is_watched_once_it_does(tmp_path, mode):
    root = tmp_path / "functions"

    async def scenario() -> None:
        calls: list[tuple[str, frozenset[Path]]] = []

        async def on_change(name: str, paths: frozenset[Path]) -> None:
            calls.append((name, paths))

        watcher = FolderWatcher(on_change, mode)  # type: ignore[arg-type]
        watcher.start()
        watcher.watch(root, lambda path: (path.relative_to(root).parts[0],) if path != root else (), lambda: ())
        try:
            assert watcher.roots() == []
            (root / "early").mkdir(parents=True)  # made with its folder: told when the root is watched
            await until(lambda: root in watcher.roots())
            await until(lambda: "early" in {name for name, _ in calls})
            (root / "late").mkdir()
            (root / "late" / "late.py").write_text("x = 1\n")
            await until(lambda: any(root / "late" / "late.py" in paths for _, paths in calls))
        finally:
            await watcher.close()

    run(scenario())


# --- the canary: file events that never arrive ------------------------------------------


def test_when_no_file_event_arrives_the_watcher_polls_and_says_so(tmp_path):
    (tmp_path / "fn").mkdir()

    async def scenario() -> None:
        calls: list[str] = []
        reasons: list[str] = []

        async def on_change(name: str, paths: frozenset[Path]) -> None:
            calls.append(name)

        watcher = FolderWatcher(on_change, "events", observer=silent_then_polling, on_fallback=reasons.append)
        started = time.monotonic()
        watcher.start()
        watcher.watch(tmp_path, lambda path: (path.relative_to(tmp_path).parts[0],), canary=True)
        assert time.monotonic() - started < 0.5  # the canary does not hold up the start
        try:
            await until(lambda: watcher.mode == "poll", timeout=3)
            assert reasons and "no file event arrived" in reasons[0] and str(tmp_path) in reasons[0]
            assert watcher.fallback == reasons[0]
            await until(lambda: not [p for p in tmp_path.iterdir() if p.name.startswith(".cloudmicro-canary")])
            (tmp_path / "fn" / "fn.py").write_text("x = 1\n")
            await until(lambda: calls == ["fn"])
        finally:
            await watcher.close()

    run(scenario())


def test_when_file_events_arrive_the_canary_keeps_them(tmp_path):
    async def scenario() -> None:
        async def on_change(name: str, paths: frozenset[Path]) -> None:
            raise AssertionError("the canary is not a change")

        watcher = FolderWatcher(on_change, "events")
        watcher.start()
        watcher.watch(tmp_path, lambda path: ("x",), canary=True)
        try:
            assert await watcher.canary(tmp_path)
            assert watcher._canary_task is not None and await watcher._canary_task
            assert watcher.mode == "events" and watcher.fallback is None
        finally:
            await watcher.close()

    run(scenario())


# --- folder stamps ----------------------------------------------------------------------


def test_folder_stamp_changes_with_every_save_and_only_then(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "fn.py").write_text("a\n")
    (tmp_path / "pkg" / "mod.py").write_text("b\n")
    first = folder_stamp(tmp_path)
    assert first is not None and folder_stamp(tmp_path) == first
    (tmp_path / ".fn.py.swp").write_text("scratch")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "fn.cpython-311.pyc").write_bytes(b"\0")
    assert folder_stamp(tmp_path) == first
    info = (tmp_path / "pkg" / "mod.py").stat()
    (tmp_path / "pkg" / "mod.py").write_text("c\n")  # the same size, and its old mtime put back
    os.utime(tmp_path / "pkg" / "mod.py", ns=(info.st_atime_ns, info.st_mtime_ns))
    second = folder_stamp(tmp_path)
    assert second != first
    (tmp_path / "new.py").write_text("")
    assert folder_stamp(tmp_path) != second
    assert folder_stamp(tmp_path / "missing") is None
