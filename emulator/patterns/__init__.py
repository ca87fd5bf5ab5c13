"""The pattern engine: AWS's event pattern language, shared by Lambda FilterCriteria, EventBridge
EventPattern and SNS FilterPolicy (:mod:`.engine`).

Pure and thread-safe: compiled patterns are cached, so matching costs microseconds, whether it
is called from a poller on the event loop or from moto's threads.
"""
