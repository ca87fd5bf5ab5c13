"""Garbage collection paused while a process starts (emulator.startup_gc): resumed when every
step that holds it is done, or at the deadline, with what the start made frozen. Each case runs
in a process of its own: the pause is process-wide."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from emulator.app.server import free_port


def run(code: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_collection_resumes_when_the_last_step_holding_it_is_done_with_the_start_frozen():
    out = run("""
        import gc
        from emulator import startup_gc
        startup_gc.pause()
        startup_gc.hold(); startup_gc.hold()          # the server, a template's first deployment
        seen = [gc.isenabled()]
        startup_gc.done()
        seen.append(gc.isenabled())                     # one step still holds it
        startup_gc.done()
        seen.append(gc.isenabled())
        print(seen, gc.get_freeze_count() > 1000, startup_gc.paused())
    """)
    assert out == "[False, False, True] True False"


def test_collection_resumes_at_the_deadline_even_when_a_step_never_ends():
    out = run("""
        import gc, time
        from emulator import startup_gc
        startup_gc.pause(deadline=0.2)
        startup_gc.hold()                               # never done
        before = gc.isenabled()
        deadline = time.monotonic() + 10
        while not gc.isenabled() and time.monotonic() < deadline:
            time.sleep(0.02)
        print(before, gc.isenabled())
    """)
    assert out == "False True"


def test_a_process_that_did_not_pause_is_left_as_it_is():
    out = run("""
        import gc
        from emulator import startup_gc
        startup_gc.hold(); startup_gc.done()            # a control plane in a test session's thread
        enabled_kept = gc.isenabled() and gc.get_freeze_count() == 0
        gc.disable()
        startup_gc.pause(); startup_gc.resume()         # someone turned collection off: kept off
        print(enabled_kept, gc.isenabled())
    """)
    assert out == "True False"


def test_the_cli_pauses_collection_and_serve_resumes_it_once_it_listens(tmp_path):
    """``cloudmicro serve`` (the process CI tests and users run) collects again after its start."""
    out = run(f"""
        import gc, sys, threading, time
        from emulator import startup_gc
        from emulator.app import server
        from emulator.aws.seeding import wait_for_endpoint
        seen = {{}}
        original = server.PlaneServer.startup
        async def startup(self, sockets=None):
            seen["during"] = gc.isenabled()
            await original(self, sockets)
            seen["after"] = gc.isenabled()
            def stop():  # once its pollers saw it answer: they wait for that
                wait_for_endpoint(f"http://127.0.0.1:{{self.config.port}}")
                time.sleep(0.2)
                self.should_exit = True
            threading.Thread(target=stop, daemon=True).start()
        server.PlaneServer.startup = startup
        from emulator.cli.main import main
        sys.argv = ["cloudmicro", "serve", "--port", "{free_port()}", "--executor", "process",
                    "--functions-dir", {str(tmp_path)!r}]
        try:
            main()
        except SystemExit:
            pass
        print(seen)
    """, {"CLOUDMICRO_STATE_DIR": str(tmp_path / "state"), "CLOUDMICRO_SEED_ON_START": "false"})
    assert out.splitlines()[-1] == "{'during': False, 'after': True}"
