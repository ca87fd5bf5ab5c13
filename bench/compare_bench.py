"""Warm invoke, this checkout against an earlier commit, in one run: both control planes serve at
once (Docker executor, the same functions), and batches of warm invokes alternate between them,
so the machine's noise falls on both alike. Prints each side's median of batch medians and the
ratio (issue 12: the safety work may cost the warm path at most 5%).

    .venv/bin/python bench/compare_bench.py [--baseline 4e7e291] [--rounds 12] [--batch 150]

The baseline is checked out into a temporary git worktree and run with this checkout's venv.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, client, free_port, serving

FUNCTIONS = ROOT / "tests" / "functions"
PAYLOAD = b'{"x": 1}'


@contextmanager
def baseline_tree(revision: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="cloudmicro-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), revision], check=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


@contextmanager
def control_plane(tree: Path, state: Path) -> Iterator[str]:
    """``serve`` from the code in ``tree``; yields its endpoint."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(tree), "CLOUDMICRO_STATE_DIR": str(state),
           "CLOUDMICRO_SEED_ON_START": "false", "CLOUDMICRO_WATCH": "off"}
    env.pop("CLOUDMICRO_ADMIN_TOKEN", None)
    command = [sys.executable, "-m", "emulator", "serve", "--port", str(port), "--executor", "docker",
               "--functions-dir", str(FUNCTIONS)]
    with serving(command, endpoint, "/_cloudmicro/health", f"the control plane from {tree}", env):
        yield endpoint


def batch(lam: object, size: int) -> float:
    """The median of ``size`` warm invokes, in ms."""
    times = []
    for _ in range(size):
        started = time.perf_counter()
        lam.invoke(FunctionName="echo", Payload=PAYLOAD)["Payload"].read()  # type: ignore[attr-defined]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default="4e7e291", help="the commit to compare with (default: issue 11's end)")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--batch", type=int, default=150)
    args = parser.parse_args()
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="cloudmicro-compare-") as tmp:
        old_tree = stack.enter_context(baseline_tree(args.baseline))
        clients = {"baseline": client(stack.enter_context(control_plane(old_tree, Path(tmp) / "old"))),
                   "this": client(stack.enter_context(control_plane(ROOT, Path(tmp) / "new")))}
        for lam in clients.values():
            batch(lam, 50)  # warm environments, warm connections
        medians: dict[str, list[float]] = {"baseline": [], "this": []}
        for round_ in range(args.rounds):
            for name in ("baseline", "this") if round_ % 2 == 0 else ("this", "baseline"):
                medians[name].append(batch(clients[name], args.batch))
        old, new = statistics.median(medians["baseline"]), statistics.median(medians["this"])
        print(f"warm invoke p50, median of {args.rounds} alternating batches of {args.batch}:")
        print(f"  baseline {args.baseline:12} {old:6.3f} ms   {[round(m, 2) for m in medians['baseline']]}")
        print(f"  this checkout         {new:6.3f} ms   {[round(m, 2) for m in medians['this']]}")
        print(f"  this / baseline       {new / old:6.3f}   ({(new / old - 1) * 100:+.1f}%; target at most +5%)")


if __name__ == "__main__":
    main()
