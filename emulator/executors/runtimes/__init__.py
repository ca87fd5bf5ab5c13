"""Runtime families: every language-specific decision of the executors, behind one interface.

What it is: :class:`LanguageRuntime` (in :mod:`.base`) says what the executors need of a
language: the Docker image (build context, build arguments, tag) and the command in the
container, the installer of the function's dependency file, the runtime's own environment
variables, whether an environment restarts in place on a code-only change, and, for the process
executor, the command and interpreter to run (:class:`HostRuntime`). There is one module per
family (:mod:`.python`, :mod:`.provided`), and :func:`runtime_for` picks it from a function's
Runtime by the Runtime's leading letters (``python3.12`` -> ``python``, ``provided.al2023`` ->
``provided``, ``nodejs20.x`` -> ``nodejs``). A new family is one module and one line in
:data:`FAMILIES`; DockerExecutor and ProcessExecutor know no language.

Where its code runs: on the control plane, called by the executors on the event loop (the cheap
parts) or in their threads (image builds, installs, writing and compiling the process runtime's
folder); installers run in throwaway containers or host processes. The runtimes themselves
(``runtimes/`` at the top of the repository) run in the function's container or process.
"""

from __future__ import annotations

import re

from emulator.executors.base import ExecutorError
from emulator.executors.runtimes.base import HostRuntime, ImageSpec, Installer, InstallFailed, LanguageRuntime, Target
from emulator.executors.runtimes.provided import ProvidedRuntime
from emulator.executors.runtimes.python import PythonRuntime

__all__ = ["FAMILIES", "HostRuntime", "ImageSpec", "InstallFailed", "Installer", "LanguageRuntime", "Target",
           "runtime_for"]

#: the runtime families, by the leading letters of the Runtime names they run
FAMILIES: dict[str, LanguageRuntime] = {
    "python": PythonRuntime(),
    "provided": ProvidedRuntime(),
}


def runtime_for(runtime: str) -> LanguageRuntime:
    """The family that runs functions of ``runtime`` (a Runtime name, e.g. ``python3.12``)."""
    match = re.match(r"[a-z]*", runtime)
    family = FAMILIES.get(match.group() if match else "")
    if family is None:
        raise ExecutorError(f"no runtime family runs Runtime {runtime!r}; known families: {', '.join(FAMILIES)}")
    return family
