"""How invocation log lines look on a terminal: the platform's lines (START, END, REPORT,
INIT_START) dim, errors red (``[ERROR]`` records with their tracebacks, timeouts, runtime
exits), the rest as the function printed it. Without colour the lines are unchanged, so what
is piped or kept is the log as CloudWatch Logs holds it."""

from __future__ import annotations

import os
from typing import Literal, TextIO

LineKind = Literal["platform", "error", "plain"]

DIM, RED, CYAN, BOLD, RESET = "\x1b[2m", "\x1b[31m", "\x1b[36m", "\x1b[1m", "\x1b[0m"
_PLATFORM = ("START RequestId:", "END RequestId:", "REPORT RequestId:", "INIT_START ", "INIT_REPORT ",
             "EXTENSION\t", "TELEMETRY\t")
_ERRORS = ("[ERROR]", "Task timed out after", "Runtime.ExitError", "Runtime exited with error",
           "Runtime.UserCodeSyntaxError", "Runtime.ImportModuleError", "Runtime.HandlerNotFound")


def wants_colour(stream: TextIO | None) -> bool:
    """Colour for a terminal, unless NO_COLOR is set (https://no-color.org)."""
    if stream is None or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def classify(text: str) -> list[tuple[LineKind, str]]:
    """Each line of an invocation's log with its kind. A traceback's lines are errors up to
    and including the exception line that ends it."""
    kinds: list[tuple[LineKind, str]] = []
    in_trace = False
    for line in text.splitlines():
        if line.startswith(_PLATFORM):
            kind: LineKind = "platform"
            in_trace = False
        elif line.startswith("Traceback (most recent call last)"):
            kind, in_trace = "error", True
        elif in_trace and (not line or line[0].isspace()):
            kind = "error"
        elif in_trace:  # the exception line closes a traceback
            kind, in_trace = "error", False
        elif any(marker in line for marker in _ERRORS) or " Error: " in line:
            kind = "error"
        else:
            kind = "plain"
        kinds.append((kind, line))
    return kinds


def styled(text: str, colour: bool, prefix: str = "") -> str:
    """The log's lines, each after ``prefix``, coloured by kind when ``colour``."""
    if not colour:
        return "".join(f"{prefix}{line}\n" for line in text.splitlines())
    shown = f"{CYAN}{prefix}{RESET}" if prefix else ""
    out = []
    for kind, line in classify(text):
        if kind == "platform":
            line = f"{DIM}{line}{RESET}"
        elif kind == "error":
            line = f"{RED}{line}{RESET}"
        out.append(f"{shown}{line}\n")
    return "".join(out)


def notice(text: str, colour: bool) -> str:
    """A line from Cloudmicro itself (e.g. a reload) among the logs."""
    line = f"cloudmicro: {text}"
    return f"{BOLD}{line}{RESET}\n" if colour else f"{line}\n"
