"""A control plane asked to stop right after it starts (Ctrl-C during the start) exits at once:
its pollers and seeding wait for its endpoint to answer in threads that end with them. They
used to run out their 30-second wait first, holding the process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

from emulator.app.server import free_port


def test_a_control_plane_stopped_as_it_starts_exits_at_once(tmp_path):
    (tmp_path / "functions").mkdir()
    (tmp_path / "db_gen" / "tables").mkdir(parents=True)  # the seeding waits for the endpoint too
    code = textwrap.dedent(f"""
        import sys
        from emulator.app import server
        original = server.PlaneServer.startup
        async def startup(self, sockets=None):
            await original(self, sockets)
            self.should_exit = True  # before anything asked /health
            print("listening", flush=True)
        server.PlaneServer.startup = startup
        from emulator.cli.main import main
        sys.argv = ["cloudmicro", "serve", "--port", "{free_port()}", "--executor", "process",
                    "--functions-dir", {str(tmp_path / "functions")!r}]
        main()
    """)
    env = {**os.environ, "CLOUDMICRO_STATE_DIR": str(tmp_path / "state"), "CLOUDMICRO_DB_GEN_DIR": str(tmp_path / "db_gen"),
           "CLOUDMICRO_SEED_ON_START": "true"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                          cwd=tmp_path)
    took = time.monotonic() - started
    assert "listening" in done.stdout, done.stderr[-3000:]
    assert took < 15, f"the control plane took {took:.1f} s to stop: {done.stderr[-2000:]}"
