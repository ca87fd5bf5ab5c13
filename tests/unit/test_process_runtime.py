"""The process executor's ``<state>/runtime`` folder, made by environments that start at once, and
pip on an interpreter that has none."""

from __future__ import annotations

import filecmp
import os
import sys
import threading
from pathlib import Path

import pytest

from emulator.executors.runtimes.pip import PipFailed, pip_on_host
from emulator.executors.runtimes.python import BOOTSTRAP, runtime_folder, sdk_paths


def test_environments_starting_at_once_all_get_the_runtime_folder(tmp_path):
    """Two environments of a function started together (an SQS mapping's first batches) each made
    the folder; they wrote the same scratch file and one failed with FileNotFoundError."""
    for round_ in range(20):
        state = tmp_path / f"state-{round_}"
        barrier = threading.Barrier(8)
        failures: list[BaseException] = []
        made: list[Path] = []

        def start(state: Path, barrier: threading.Barrier, made: list[Path],
                  failures: list[BaseException]) -> None:
            barrier.wait()
            try:
                made.append(runtime_folder(state))
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                failures.append(exc)

        threads = [threading.Thread(target=start, args=(state, barrier, made, failures)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        folder = state.resolve() / "runtime"
        assert made == [folder] * 8
        assert filecmp.cmp(BOOTSTRAP, folder / BOOTSTRAP.name, shallow=False)
        for source in sdk_paths():
            assert os.readlink(folder / source.name) == str(source)
        assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no scratch left behind


def test_an_interpreter_without_pip_is_named_with_the_fix(tmp_path):
    """A python3.X on PATH with no pip: the reason says which interpreter and how to get pip."""
    python = tmp_path / "bin" / "python3.12"
    python.parent.mkdir()
    python.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')  # -S: no site-packages, so no pip
    python.chmod(0o755)
    code = tmp_path / "code"
    code.mkdir()
    (code / "requirements.txt").write_text("tabulate\n")
    with pytest.raises(PipFailed) as failed:
        pip_on_host(code, tmp_path / "target", lambda line: None, interpreter=str(python))
    assert failed.value.reason == f"{python} has no pip; run `python3.12 -m ensurepip`, or use the Docker executor"
