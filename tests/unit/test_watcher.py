"""The folder watcher: real file events (and polling), debounced into one call per function."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from emulator.invocation.watcher import FolderWatcher, is_scratch


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


def test_write_temporary_then_rename_is_one_change_of_the_real_file(tmp_path):
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "fn.py").write_text("old\n")

    async def save() -> None:
        temporary = tmp_path / "fn" / ".fn.py.tmp"
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
