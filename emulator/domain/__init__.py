"""The domain: what a function is, which functions exist, and the values every layer shares.

Function configurations and the registry, event-invoke configurations and resource policies,
one exception class per AWS error code (:mod:`.errors`), ARNs as values (:mod:`.arn`) and
backoff (:mod:`.backoff`). Nothing in this package knows about HTTP, Docker or moto, and it
imports no other package of emulator/ but :mod:`emulator.config`.
"""
