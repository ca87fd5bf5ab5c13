"""Thin HTTP routers: parse the request, call the domain/invocation layer, shape the reply.

Errors become wire responses in one place, :mod:`emulator.api.errors`.
"""
