"""GetFunction's code download zips the function's folder, and nothing it must not hold."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from emulator.api.admin import zip_folder


def _names(data: bytes) -> set[str]:
    return set(zipfile.ZipFile(io.BytesIO(data)).namelist())


def test_the_zip_holds_the_regular_files_and_leaves_out_state_links_out_and_fifos(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "app.py").write_text("def handler(e, c): return 1\n")
    (project / "pkg" / "mod.py").write_text("X = 1\n")
    (project / "pkg" / "__pycache__").mkdir()
    (project / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    state = project / ".cloudmicro"
    state.mkdir()
    (state / "admin-token").write_text("secret\n")
    outside = tmp_path / "shadow"
    outside.write_text("root:x:0:0\n")
    (project / "shadow-link").symlink_to(outside)
    (project / "inside-link.py").symlink_to(project / "app.py")
    os.mkfifo(project / "pipe")  # opening it would block until someone writes

    names = _names(zip_folder(project, state))

    assert names == {"app.py", "pkg/mod.py", "inside-link.py"}


def test_without_a_state_folder_everything_regular_is_kept(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    (tmp_path / ".cloudmicro").mkdir()
    (tmp_path / ".cloudmicro" / "x").write_text("")
    assert _names(zip_folder(tmp_path)) == {"a.py", ".cloudmicro/x"}
