"""The Lambda Runtime API, served on each environment's own port."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from emulator.api.deps import ports_of
from emulator.invocation.environment import Environment, RuntimeApiError, RuntimeRestart
from emulator.invocation.invoke_api import MAX_RESPONSE_PAYLOAD

router = APIRouter()
PREFIX = "/2018-06-01/runtime"

_ACCEPTED = b'{"status":"OK"}'


def _environment(request: Request) -> Environment:
    ports = ports_of(request)
    server = request.scope.get("server") or ("", 0)
    env = ports.environment_for(server[1])
    if env is None:
        raise RuntimeApiError(403, "InvalidEnvironment", "no execution environment is bound to this port")
    return env


def _accepted() -> Response:
    return Response(_ACCEPTED, status_code=202, media_type="application/json")


#: Cloudmicro's own: asks the runtime (runtimes/python/bootstrap.py) to start afresh in place
RESTART_HEADERS = {"Lambda-Runtime-Cloudmicro-Restart": "1"}


async def next_invocation(request: Request) -> Response:
    try:
        inv = await _environment(request).next_invocation()
    except RuntimeRestart:
        return Response(b"{}", headers=RESTART_HEADERS, media_type="application/json")
    return Response(inv.payload, headers=inv.runtime_headers(), media_type="application/json")


async def invocation_response(request: Request) -> Response:
    env = _environment(request)
    request_id = request.path_params["request_id"]
    body = await request.body()
    if len(body) > MAX_RESPONSE_PAYLOAD:
        env.fail(
            request_id,
            b'{"errorMessage":"Response payload size exceeded maximum allowed payload size '
            b'(6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}',
        )
        raise RuntimeApiError(
            413, "RequestEntityTooLarge", f"Exceeded maximum allowed payload size ({MAX_RESPONSE_PAYLOAD} bytes)."
        )
    env.respond(request_id, body)
    return _accepted()


async def invocation_error(request: Request) -> Response:
    env = _environment(request)
    env.fail(request.path_params["request_id"], await request.body())
    return _accepted()


async def init_error(request: Request) -> Response:
    env = _environment(request)
    env.init_failed(await request.body())
    return _accepted()


# Plain (Starlette) routes: the Runtime API is on every invoke's hot path, and these
# handlers need no parameter parsing from FastAPI.
router.add_route(f"{PREFIX}/invocation/next", next_invocation, methods=["GET"])
router.add_route(f"{PREFIX}/invocation/{{request_id}}/response", invocation_response, methods=["POST"])
router.add_route(f"{PREFIX}/invocation/{{request_id}}/error", invocation_error, methods=["POST"])
router.add_route(f"{PREFIX}/init/error", init_error, methods=["POST"])
