"""Executors start and stop execution environments: Docker containers or local processes.

Both run the same runtime (``runtimes/python/bootstrap.py``, or a custom runtime's
``bootstrap``) against the same per-environment Runtime API port. Where their code runs: on the
control plane's event loop, with blocking work (Docker calls, installs, image builds) in threads.
Executors do not import the invocation layer: :class:`.base.ExecutionEnvironment` is what they
need of an environment.
"""
