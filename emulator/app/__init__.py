"""The composition root: the control plane's app, built once from the settings.

:class:`ControlPlane` (:mod:`.plane`) builds every service once, starts them in order and closes
them in order; :func:`create_app` (:mod:`.factory`) wires the routers, the gateway that sends
every non-Lambda request to moto, and the lifespan that starts and stops the control plane. :mod:`.server`
runs it with uvicorn, in the foreground or in a background thread. Everything here runs on the
control plane's event loop; it is the only package that knows every other one.
"""

from emulator.app.factory import create_app
from emulator.app.plane import ControlPlane, NoDockerEngine, build_executor
from emulator.app.runtime import create_runtime_app

__all__ = ["ControlPlane", "NoDockerEngine", "build_executor", "create_app", "create_runtime_app"]
