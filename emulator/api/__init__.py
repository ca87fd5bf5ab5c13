"""Thin HTTP routers: parse the request, call the service, shape the reply.

One router per API surface: the Lambda API (:mod:`.lambda_api`: Invoke and the function
operations; :mod:`.esm_api`, :mod:`.event_invoke_api`, :mod:`.policy_api`), the Runtime API
(:mod:`.runtime_api`, served on every environment's own port) and Cloudmicro's own
``/_cloudmicro`` routes (:mod:`.admin`). Routers reach the control plane's services through one
typed dependency (:mod:`.deps`), and errors become wire responses in one place
(:mod:`.errors`). Everything here runs on the control plane's event loop.
"""
