"""The process executor's ``<state>/runtime`` folder, made by environments that start at once and
compiled for each interpreter, and pip on an interpreter that has none."""

from __future__ import annotations

import filecmp
import os
import sys
import threading
from pathlib import Path

import pytest

from emulator.domain.functions import FunctionConfig
from emulator.executors.runtimes.pip import PipFailed, pip_on_host
from emulator.executors.runtimes.python import (
    BOOTSTRAP,
    PACKAGE,
    SOURCE,
    PythonHost,
    compile_runtime,
    runtime_files,
    runtime_folder,
    sdk_paths,
)


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
        for name in runtime_files():  # the entry script and the runtime package
            assert filecmp.cmp(SOURCE / name, folder / name, shallow=False)
        assert [p.name for p in (folder / PACKAGE).iterdir() if p.name.startswith(".")] == []
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


def test_the_runtime_package_is_copied_and_compiled_for_the_interpreter_that_runs_it(tmp_path, monkeypatch):
    """A script run as __main__ is compiled at every start; the package is imported from bytecode
    written beforehand, for each interpreter (another python3.X writes its own)."""
    marker = tmp_path / "calls"
    wrapper = tmp_path / "bin" / "python3.12"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {marker}\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    host = PythonHost(tmp_path / "state")
    function = FunctionConfig("f", "arn", tmp_path, "app.handler", runtime=f"python{sys.version_info[0]}.{sys.version_info[1]}")
    command = host.command(function)
    folder = (tmp_path / "state").resolve() / "runtime"
    assert command == [sys.executable, "-I", "-S", "-B", str(folder / "bootstrap.py")]
    package = folder / PACKAGE
    modules = sorted(path.name for path in (SOURCE / PACKAGE).glob("*.py"))
    assert sorted(path.name for path in package.glob("*.py")) == modules
    for name in modules:
        assert filecmp.cmp(SOURCE / PACKAGE / name, package / name, shallow=False)
    compiled = sorted(path.name for path in (package / "__pycache__").iterdir())
    assert compiled == sorted(name.replace(".py", f".{sys.implementation.cache_tag}.pyc") for name in modules)

    other = host.command(FunctionConfig("g", "arn", tmp_path, "app.handler", runtime="python3.12"))
    assert other[0] == str(wrapper)
    assert marker.read_text().splitlines()[-1] == f"-I -S -m compileall -q -l {package}"
    host.command(FunctionConfig("h", "arn", tmp_path, "app.handler", runtime="python3.12"))
    assert len([line for line in marker.read_text().splitlines() if "compileall" in line]) == 1  # once per interpreter


def test_a_changed_runtime_file_replaces_the_copy_and_its_bytecode(tmp_path):
    state = tmp_path / "state"
    folder = runtime_folder(state)
    assert compile_runtime(folder, sys.executable)
    loop = folder / PACKAGE / "loop.py"
    cached = folder / PACKAGE / "__pycache__" / f"loop.{sys.implementation.cache_tag}.pyc"
    assert cached.exists()
    loop.write_text("# an older runtime\n")
    assert runtime_folder(state) == folder
    assert filecmp.cmp(SOURCE / PACKAGE / "loop.py", loop, shallow=False)
    assert not cached.exists()  # compiled from the old source: removed with it
    assert [p.name for p in (folder / PACKAGE).iterdir() if p.name.startswith(".")] == []


def test_an_interpreter_that_cannot_compile_the_runtime_is_named(tmp_path, caplog):
    folder = runtime_folder(tmp_path / "state")
    broken = tmp_path / "python3.12"
    broken.write_text("#!/bin/sh\necho 'compileall: no such module' >&2\nexit 1\n")
    broken.chmod(0o755)
    with caplog.at_level("WARNING", logger="emulator.executors.runtimes.python"):
        assert not compile_runtime(folder, str(broken))
    assert f"could not compile the Python runtime in {folder / PACKAGE} for {broken}" in caplog.text
    assert "compileall: no such module" in caplog.text
