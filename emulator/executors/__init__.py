"""Executors start and stop execution environments: Docker containers or local processes.

Where their code runs: on the control plane's event loop, with blocking work (Docker calls,
installs, image builds, writing runtime files) in threads. Both executors run a function's
runtime against its environment's own Runtime API port; what that runtime is (Cloudmicro's
Python runtime, ``runtimes/python/bootstrap.py`` and its package, or a custom runtime's
``bootstrap``) and everything else language-specific is the runtime family's, in
:mod:`.runtimes`. Executors do not import the invocation layer: :class:`.base.ExecutionEnvironment`
is what they need of an environment.
"""
