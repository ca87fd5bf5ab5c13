"""A control plane in a child process, for tests: :class:`LocalCloud`.

The pytest plugin runs its control planes this way rather than in the test process, so that

* each has its own moto: a project's ordinary ``@mock_aws`` unit tests, which reset moto's
  in-process state when they start and stop, cannot wipe the tables and queues of the local
  cloud its integration tests use, and two control planes never share AWS state;
* the emulator does not compete with the tests for the test process's GIL, and a crash in
  it cannot take pytest down;
* it runs exactly as ``cloudmicro serve`` does.

The child is ``python -m emulator serve`` with the settings passed as ``CLOUDMICRO_*``
variables (:meth:`Settings.to_env`). Its output (the live invocation log: START/END/REPORT
and what functions print) goes to ``cloudmicro-<port>.log`` in a folder of the caller's
(:attr:`LocalCloud.log_path`), and with ``echo`` to
this process's standard error as well, as it comes. It is ready when ``/_cloudmicro/health``
answers, and it stops on SIGTERM, as ``cloudmicro serve`` does, or by itself when the test
process dies (``CLOUDMICRO_EXIT_WITH_PARENT``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

import emulator
from emulator.app.server import free_port
from emulator.config import Settings

#: the variable a child control plane watches: it exits when this process (its parent) is gone
EXIT_WITH_PARENT = "CLOUDMICRO_EXIT_WITH_PARENT"


class LocalCloudError(RuntimeError):
    """The control plane did not start (the message quotes the end of its log)."""


class LocalCloud:
    """One control plane in a child process: ``with LocalCloud(settings, log_dir) as endpoint:``."""

    def __init__(self, settings: Settings, log_dir: Path, *, echo: bool = False) -> None:
        if settings.port == 0:
            settings = replace(settings, port=free_port(settings.host))
        self.settings = settings
        self.log_path = log_dir / f"cloudmicro-{settings.port}.log"
        self.echo = echo
        self._process: subprocess.Popen[bytes] | None = None
        self._relay: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return self.settings.function_endpoint

    def start(self, timeout: float = 60) -> str:
        """Start the child and wait until it answers; returns the endpoint."""
        package_root = str(Path(emulator.__file__).resolve().parent.parent)  # the same emulator as ours
        python_path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, **self.settings.to_env(), "PYTHONPATH": python_path,
               EXIT_WITH_PARENT: str(os.getpid())}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "emulator", "serve"], env=env, cwd=self.settings.project_dir,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        self._relay = threading.Thread(target=self._copy_output, args=(self._process,),
                                       name=f"cloudmicro-log-{self.settings.port}", daemon=True)
        self._relay.start()
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self._process.poll() is not None:
                raise LocalCloudError(f"the control plane exited with status {self._process.returncode}:\n"
                                      + self.log_tail())
            if time.monotonic() > deadline:
                self.stop()
                raise LocalCloudError(f"the control plane did not answer within {timeout:.0f} s:\n" + self.log_tail())
            time.sleep(0.02)
        return self.endpoint

    def _copy_output(self, process: subprocess.Popen[bytes]) -> None:
        """The child's output, as it comes, to the log file and (``echo``) to our fd 2."""
        assert process.stdout is not None
        fd = process.stdout.fileno()
        with open(self.log_path, "ab", buffering=0) as log:
            while chunk := os.read(fd, 65536):
                log.write(chunk)
                if self.echo:
                    with contextlib.suppress(OSError):
                        os.write(2, chunk)
        process.stdout.close()

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.endpoint + "/_cloudmicro/health", timeout=2) as reply:
                return bool(reply.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.endpoint + "/_cloudmicro/health", timeout=5) as reply:
            return json.load(reply)

    def wait_for_seeding(self, timeout: float = 300) -> None:
        """Wait until db_gen seeding is over; RuntimeError naming the bad files when it failed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seed = self.health()["seed"]
            if seed["status"] not in ("idle", "seeding"):
                if seed.get("errors"):
                    raise RuntimeError(f"db_gen seeding failed: {seed['errors']}")
                return
            time.sleep(0.05)
        raise RuntimeError("db_gen seeding did not finish in time")

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (the control plane removes its environments and stops), then SIGKILL."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        self.echo = False  # what it says while stopping goes to its log only, not to the next test
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._relay is not None:
            self._relay.join(5)  # the last lines are in the log

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, offset: int) -> str:
        """What the control plane wrote from byte ``offset`` of its log on."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType] | None) -> None:
        self.stop()
