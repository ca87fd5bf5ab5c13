"""Executors start and stop execution environments: Docker containers or local processes.

Both run the same runtime (``runtimes/python/bootstrap.py``, or a custom runtime's
``bootstrap``) against the same per-environment Runtime API port.
"""
