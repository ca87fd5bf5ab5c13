"""Domain model: function configurations, the function registry, and AWS errors.

Nothing in this package knows about HTTP or Docker.
"""
