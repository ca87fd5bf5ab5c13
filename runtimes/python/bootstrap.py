"""Cloudmicro's Python runtime, started as ``python3 /var/runtime/bootstrap.py [HANDLER]``.

This entry script stays small on purpose: Python compiles a script run as ``__main__`` at every
start (no ``__pycache__`` for it), while the runtime itself, the ``cloudmicro_runtime`` package
next to this file, is imported from bytecode compiled beforehand. See that package's docstring.
"""

from __future__ import annotations

import os
import sys


def _run() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    added = here not in sys.path  # python -I (the process executor) leaves this folder off sys.path
    if added:
        sys.path.insert(0, here)
    try:
        from cloudmicro_runtime.loop import main
    finally:
        if added:  # sys.path is the runtime's to set (the task root first): see set_default_sys_path
            sys.path.remove(here)
    main()


if __name__ == "__main__":
    _run()
