"""Regression (emulator/domain/code_folders.py): read_regular on a folder (a file swapped
for a folder between the walk and the read, as a hot-reload save can do) raises IsADirectoryError
from os.fdopen instead of returning None, and leaks the descriptor it opened each time."""

from __future__ import annotations

import os
from pathlib import Path

from emulator.domain.code_folders import read_regular


def test_a_folder_is_not_a_regular_file_and_no_descriptor_is_left_open(tmp_path: Path):
    (tmp_path / "was-a-file").mkdir()
    before = len(os.listdir("/proc/self/fd"))
    results = []
    for _ in range(3):
        try:
            results.append(read_regular(tmp_path / "was-a-file"))
        except OSError as error:
            results.append(error)
    assert results == [None, None, None]
    assert len(os.listdir("/proc/self/fd")) == before
