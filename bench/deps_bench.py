"""Dependencies benchmark (issue 6: requirements.txt). Prints its figures.

    .venv/bin/python bench/deps_bench.py

For each executor, on a fresh state directory: the first cold invoke of a function whose
requirements.txt (tabulate, from PyPI) is not installed yet, and a cold invoke of a function
without requirements next to it. Then the control plane is restarted on the same state
directory a few times; each time, a cold invoke of the same function finds its requirements
in the cache. The cache hit's cost is that cold invoke minus a cold invoke without
requirements (target < 1 s), and, in this process, the cache check itself (what every
environment launch of a function with requirements pays: read the file, hash it, one stat).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, client, control_plane

sys.path.insert(0, str(ROOT))
from emulator.domain.registry import FunctionRegistry
from emulator.executors.dependencies import Dependencies
from emulator.executors.runtimes.python import HOST_PYTHON, Interpreter, docker_target, find_python

RESTARTS = 5
REQUIREMENTS = "tabulate==0.9.0\n"


def project(root: Path) -> Path:
    functions = root / "functions"
    for name, code in (
        ("tab", "import tabulate\n\ndef tab_handler(event, context):\n    return tabulate.__version__\n"),
        ("plain", "def plain_handler(event, context):\n    return 'plain'\n"),
    ):
        (functions / name).mkdir(parents=True)
        (functions / name / f"{name}.py").write_text(code)
    (functions / "tab" / "requirements.txt").write_text(REQUIREMENTS)
    return functions


def cold_invoke(endpoint: str, name: str) -> float:
    lam = client(endpoint)
    started = time.monotonic()
    response = lam.invoke(FunctionName=name, Payload=b"{}")
    elapsed = time.monotonic() - started
    body = response["Payload"].read()
    if "FunctionError" in response:
        raise SystemExit(f"{name} failed: {body!r}")
    return elapsed


def cache_check_us(executor: str, functions: Path, state: Path, checks: int = 2000) -> float:
    """Microseconds per cache check of an installed requirements.txt (no pip: it raises)."""
    function = FunctionRegistry(functions, state, "us-east-1", "123456789012").load_folder(functions / "tab")
    assert function is not None
    python = find_python(function.runtime)  # the process executor's choice
    target = docker_target(function) if executor == "docker" else (
        python if isinstance(python, Interpreter) else HOST_PYTHON).target
    dependencies = Dependencies(state / "deps")

    def no_pip(folder: Path, progress: object) -> None:
        raise AssertionError("pip ran on a cache hit")

    async def checks_s() -> float:
        started = time.perf_counter()
        for _ in range(checks):
            assert await dependencies.ensure(function, target, no_pip) is not None
        return time.perf_counter() - started

    return asyncio.run(checks_s()) / checks * 1e6


def run(executor: str) -> None:
    with tempfile.TemporaryDirectory(prefix="cloudmicro-deps-bench-") as tmp:
        functions = project(Path(tmp))
        settings = {"CLOUDMICRO_STATE_DIR": str(Path(tmp) / "state"), "CLOUDMICRO_SEED_ON_START": "false"}
        with control_plane(executor, functions, **settings) as (endpoint, _):
            cold_invoke(endpoint, "plain")  # the runtime image exists before anything is timed
        with control_plane(executor, functions, **settings) as (endpoint, _):
            first = cold_invoke(endpoint, "tab")
            baseline = cold_invoke(endpoint, "plain")
        hits, plains = [], []
        for _ in range(RESTARTS):
            with control_plane(executor, functions, **settings) as (endpoint, _):
                hits.append(cold_invoke(endpoint, "tab"))
                plains.append(cold_invoke(endpoint, "plain"))
        check = cache_check_us(executor, functions, Path(tmp) / "state")
    hit, plain = statistics.median(hits), statistics.median(plains)
    print(f"{executor:7}  first install: cold invoke {first:6.2f} s  (without requirements {baseline:5.2f} s, "
          f"install ~{first - baseline:5.2f} s)")
    print(f"{executor:7}  cache hit:     cold invoke {hit:6.2f} s  (without requirements {plain:5.2f} s, "
          f"difference {(hit - plain) * 1000:+4.0f} ms; target < 1 s)  median of {RESTARTS} restarts")
    print(f"{executor:7}  cache check per environment launch: {check:6.1f} us")


def main() -> None:
    print(f"requirements.txt: {REQUIREMENTS.strip()}")
    for executor in ("docker", "process"):
        run(executor)


if __name__ == "__main__":
    main()
