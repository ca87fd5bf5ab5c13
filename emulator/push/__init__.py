"""Push sources: what S3, SNS and EventBridge send to functions, and the checks AWS applies to
their configuration (bucket notifications, subscriptions and filter policies, rules, targets
and their input).

Pure functions of AWS's documented formats: they read no clock they are not given and talk to
nothing. They are called from moto's threads by :mod:`emulator.moto` (which patches moto's
delivery points and hands each event to the asynchronous invocation queue through the endpoint)
and from the event loop by the schedules.
"""
