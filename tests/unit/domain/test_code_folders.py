"""Code folders read safely (emulator/domain/code_folders.py): special files skipped and never opened,
a folder no larger than a Lambda may be, folders outside the allowed roots refused, zips unpacked
without writing outside their folder."""

from __future__ import annotations

import io
import os
import socket
import stat
import zipfile
from pathlib import Path

import pytest

from emulator.domain import code_folders
from emulator.domain.code_folders import CodeTooLarge, extract_zip, inside_roots, read_regular, regular_files
from emulator.domain.errors import InvalidParameterValueException


def test_regular_files_lists_files_with_sizes_and_skips_special_files(tmp_path: Path):
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "app.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "mod.py").write_text("abc")
    (tmp_path / "pkg" / "__pycache__" / "mod.pyc").write_bytes(b"\0" * 10)
    os.mkfifo(tmp_path / "pipe")  # opening it would wait for a writer
    with socket.socket(socket.AF_UNIX) as unix:
        unix.bind(str(tmp_path / "sock"))
        (tmp_path / "dangling").symlink_to(tmp_path / "gone")
        (tmp_path / "link.py").symlink_to(tmp_path / "app.py")
        outside = tmp_path.parent / f"{tmp_path.name}-outside"
        outside.mkdir()
        (outside / "secret").write_text("s")
        (tmp_path / "linked-folder").symlink_to(outside, target_is_directory=True)

        found = {str(path.relative_to(tmp_path)): size for path, size in regular_files(tmp_path)}

    assert found == {"app.py": 6, "pkg/mod.py": 3, "link.py": 6}


def test_other_folders_can_be_skipped(tmp_path: Path):
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.js").write_text("")
    (tmp_path / "index.js").write_text("")
    assert [path.name for path, _ in regular_files(tmp_path, skip=["node_modules"])] == ["index.js"]


def test_a_folder_with_too_many_files_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(code_folders, "MAX_FILES", 3)
    for index in range(4):
        (tmp_path / f"f{index}").write_text("")
    with pytest.raises(CodeTooLarge, match="holds more than a Lambda function may") as caught:
        list(regular_files(tmp_path))
    assert isinstance(caught.value, InvalidParameterValueException)
    (tmp_path / "f3").unlink()
    assert len(list(regular_files(tmp_path))) == 3


def test_a_folder_too_large_unzipped_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(code_folders, "MAX_UNZIPPED", 100)
    (tmp_path / "a").write_bytes(b"x" * 60)
    (tmp_path / "b").write_bytes(b"x" * 40)
    assert sum(size for _, size in regular_files(tmp_path)) == 100
    (tmp_path / "c").write_bytes(b"x")
    with pytest.raises(CodeTooLarge):
        list(regular_files(tmp_path))


def test_read_regular_reads_files_and_never_a_fifo(tmp_path: Path):
    (tmp_path / "app.py").write_bytes(b"code")
    os.mkfifo(tmp_path / "pipe")
    assert read_regular(tmp_path / "app.py") == b"code"
    assert read_regular(tmp_path / "pipe") is None  # returns at once: no writer awaited
    assert read_regular(tmp_path / "gone") is None


def test_inside_roots_resolves_the_path_first(tmp_path: Path):
    project = tmp_path / "project"
    (project / "layers" / "common").mkdir(parents=True)
    (project / "escape").symlink_to("/usr", target_is_directory=True)
    assert inside_roots(project / "layers" / "common", [project])
    assert inside_roots(project, [project])
    assert inside_roots(Path("/usr"), [project, Path("/usr")])
    assert not inside_roots(Path("/usr"), [project])
    assert not inside_roots(project / "escape", [project])
    assert not inside_roots(project / "layers" / ".." / "..", [project])


def _zip(*entries: tuple[str, bytes, int]) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            archive.writestr(info, data)
    return zipfile.ZipFile(buffer)


def test_extract_zip_writes_files_links_inside_and_modes(tmp_path: Path):
    target = tmp_path / "code"
    extract_zip(_zip(("./bin/run", b"#!/bin/sh\n", stat.S_IFREG | 0o700), ("app.py", b"x", 0),
                     ("alias.py", b"app.py", stat.S_IFLNK | 0o777)), target)
    assert (target / "bin" / "run").read_bytes() == b"#!/bin/sh\n"
    assert stat.S_IMODE((target / "bin" / "run").stat().st_mode) == 0o744
    assert os.readlink(target / "alias.py") == "app.py"
    assert (target / "alias.py").read_bytes() == b"x"


@pytest.mark.parametrize(("entry", "says"), [
    (("../evil", b"x", 0), "would be written outside"),
    (("/etc/evil", b"x", 0), "would be written outside"),
    (("C:\\evil", b"x", 0), "would be written outside"),
    (("passwd", b"/etc/passwd", stat.S_IFLNK | 0o777), "points outside"),
    (("up", b"../../x", stat.S_IFLNK | 0o777), "points outside"),
    (("pipe", b"", stat.S_IFIFO | 0o644), "is not a regular file"),
])
def test_extract_zip_refuses_entries_that_lead_out_and_leaves_nothing(tmp_path: Path, entry, says):
    target = tmp_path / "code"
    with pytest.raises(InvalidParameterValueException, match=says):
        extract_zip(_zip(("ok.py", b"x", 0), entry), target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_extract_zip_refuses_a_zip_bomb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(code_folders, "MAX_UNZIPPED", 1000)
    with pytest.raises(CodeTooLarge, match="Unzipped size"):
        extract_zip(_zip(("a", b"\0" * 600, 0), ("b", b"\0" * 600, 0)), tmp_path / "code")
    assert not (tmp_path / "code").exists()
