"""The live log on the control plane's terminal (``cloudmicro dev`` and ``serve``).

Each line a function prints shows as soon as it arrives, after ``[name] ``; the platform's
``START`` line shows when the invocation reaches the runtime, and its ``END`` and ``REPORT``
lines (with any platform error, such as a timeout) when the invocation's log is complete.
Lines are coloured on a terminal (:mod:`.log_style`). Cloudmicro's own notices, such as
``reloaded hello``, go to the same stream. A flood is cut: after :data:`ECHO_LIMIT` bytes of one
invocation's output (or of what an environment prints between invocations), one line says the
rest is in the invocation's log, and the terminal (or the test log) is spared the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from emulator.invocation import log_style

#: output bytes of one invocation shown live, at most
ECHO_LIMIT = 64 * 1024

if TYPE_CHECKING:
    from emulator.invocation.environment import Environment
    from emulator.invocation.invocation import Invocation
    from emulator.invocation.logs import InvocationLog


class LiveEcho:
    """Writes the live log to ``stream``; the pool's environments report to it."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.colour = log_style.wants_colour(stream)
        #: a line not ended yet, per environment
        self._partial: dict[str, bytes] = {}
        #: the environment that runs each started invocation
        self._running: dict[str, Environment] = {}
        #: output bytes shown since the environment's last START
        self._shown: dict[str, int] = {}

    # --- from environments (on the event loop) -------------------------------------------

    def started(self, env: Environment, inv: Invocation) -> None:
        self._running[inv.request_id] = env
        self._flush(env)  # output from before the invocation (init, or between invocations)
        self._shown[env.id] = 0
        self._write(env.function.name, f"START RequestId: {inv.request_id} Version: {env.function.version}\n")

    def output(self, env: Environment, data: bytes) -> None:
        shown = self._shown.get(env.id, 0)
        if shown >= ECHO_LIMIT:
            return
        self._shown[env.id] = shown + len(data)
        if shown + len(data) >= ECHO_LIMIT:
            data = data[:ECHO_LIMIT - shown]
            self._partial[env.id] = self._partial.get(env.id, b"") + data
            self._flush(env)
            self._write(env.function.name, f"[cloudmicro: more than {ECHO_LIMIT // 1024} KiB of output: the rest "
                                           "is not shown live; see the invocation's log]\n")
            return
        pending = self._partial.pop(env.id, b"") + data
        complete, _, rest = pending.rpartition(b"\n")
        if rest:
            self._partial[env.id] = rest
        if complete or pending.endswith(b"\n"):
            self._write(env.function.name, (complete + b"\n").decode("utf-8", errors="replace"))

    # --- from the log store ------------------------------------------------------------

    def finished(self, entry: InvocationLog) -> None:
        """The invocation's log is complete: what the live lines have not shown yet."""
        env = self._running.pop(entry.request_id, None)
        if env is not None:
            self._flush(env)
            self._shown.pop(env.id, None)
        lines = entry.text.splitlines(keepends=True)
        tail = lines[-2:]  # END and REPORT
        head = [] if env is not None else [f"START RequestId: {entry.request_id} Version: $LATEST\n"]
        self._write(entry.function_name, "".join(head + [entry.platform_log + "\n"] * bool(entry.platform_log) + tail))

    def notice(self, text: str) -> None:
        self.stream.write(log_style.notice(text, self.colour))
        self.stream.flush()

    # --- writing -------------------------------------------------------------------------

    def _flush(self, env: Environment) -> None:
        rest = self._partial.pop(env.id, b"")
        if rest:
            self._write(env.function.name, rest.decode("utf-8", errors="replace") + "\n")

    def _write(self, name: str, text: str) -> None:
        self.stream.write(log_style.styled(text, self.colour, prefix=f"[{name}] "))
        self.stream.flush()
