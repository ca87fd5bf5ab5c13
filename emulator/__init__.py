"""Cloudmicro: a local AWS serverless emulator.

The control plane (a FastAPI app, :mod:`emulator.app`) serves the Lambda API and the
Lambda Runtime API, and runs each function in warm, reused execution environments
(Docker containers, or local processes where no Docker engine answers).
"""

__version__ = "0.1.0"
