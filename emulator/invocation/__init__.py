"""Invocations: execution environments as state machines, the warm pool, and the invoke service.

An invoke is two nested steps: a concurrency lease (reserved concurrency, 429 when exhausted),
then a borrowed environment that goes back to the pool on success and is destroyed on a
timeout or crash.
"""
