"""The composition root: the control plane's app, built once from the settings.

:func:`create_app` (in :mod:`.factory`) wires the routers, the gateway that sends every non-Lambda
request to moto, and the lifespan that starts and stops the services in order. :mod:`.server`
runs it with uvicorn, in the foreground or in a background thread. Everything here runs on the
control plane's event loop; it is the only package that knows every other one.
"""

from emulator.app.factory import NoDockerEngine, build_executor, create_app, create_runtime_app

__all__ = ["NoDockerEngine", "build_executor", "create_app", "create_runtime_app"]
