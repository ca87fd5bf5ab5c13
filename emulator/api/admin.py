"""Cloudmicro's own endpoints under ``/_cloudmicro``: health, logs, environments, code.

What only the developer may do (reset, read environments, logs and code, move or fire
schedules) is on :data:`admin`, whose routes need the admin token
(:mod:`emulator.domain.admin_token`); health, the bench's echo and the read-only listings of
mappings and schedules are open to local clients (:data:`router`).
"""

from __future__ import annotations

import asyncio
import io
import math
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from emulator.api.deps import Plane, PlaneDep
from emulator.api.wire import json_body
from emulator.api.wire import json_response as _json
from emulator.domain import admin_token
from emulator.domain.code_folders import regular_files
from emulator.domain.errors import AccessDeniedException, InvalidParameterValueException, ResourceNotFoundException
from emulator.schedules.events import iso
from emulator.schedules.service import ScheduleNotFound

CODE_LINK_SECONDS = 600


def require_admin(request: Request, plane: PlaneDep) -> None:
    """403 AccessDeniedException unless the request carries the admin token."""
    if not admin_token.matches(plane.admin_token, request.headers.get(admin_token.HEADER)):
        raise AccessDeniedException(
            f"Cloudmicro's admin routes need the header {admin_token.HEADER}: its value is in "
            f"{admin_token.token_file(plane.settings.state_dir)} (or CLOUDMICRO_ADMIN_TOKEN). The cloudmicro "
            "CLI and the pytest plugin send it.")


router = APIRouter(prefix="/_cloudmicro")
admin = APIRouter(prefix="/_cloudmicro", dependencies=[Depends(require_admin)])


@router.get("/health")
async def health(state: PlaneDep) -> Response:
    """Each part's state: the Lambda service, its executor, and the AWS backend (moto)."""
    aws = await state.aws.health()
    return _json(
        {
            "status": "ok" if aws["status"] == "running" else "degraded",
            "endpoint": state.settings.endpoint,
            "lambda": {
                "status": "running",
                "executor": state.executor.name,
                "functions": len(state.registry.list()),
                "environments": len(state.pool.environments()),
                "async_events": state.async_queue.status(),
                "config_errors": state.registry.load_errors,
                "config_warnings": state.registry.warnings,
                "hot_reload": state.reloader.status() if state.reloader is not None else {"mode": "off"},
            },
            "aws": aws,
            "seed": state.seeding.as_dict(),
        }
    )


@admin.post("/reset")
async def reset(state: PlaneDep) -> Response:
    """Wipe all state: every AWS resource in moto, API-created functions and mappings,
    environments, logs."""
    await state.aws.reset()
    state.pool.discard_all()
    await state.mappings.clear()
    state.registry.reset()
    state.logs.clear()
    state.async_queue.clear()
    state.async_queue.configs.clear()
    state.policies.clear()
    state.tags.clear()
    state.function_urls.clear()
    state.function_urls.sync(state.registry.list())  # the folders' declared URLs are back
    return _json({"status": "reset"})


@router.post("/echo")
async def echo(request: Request) -> Response:
    """A bare route that returns its body: the floor for benchmarks."""
    return Response(await request.body(), media_type="application/json")


@admin.get("/invocations/{request_id}/log")
async def invocation_log(request_id: str, plane: PlaneDep) -> Response:
    entry = plane.logs.get(request_id)
    if entry is None:
        raise ResourceNotFoundException(f"No log for request {request_id} (only recent invocations are kept)")
    return Response(entry.text, media_type="text/plain; charset=utf-8")


@admin.get("/functions/{name}/logs")
async def function_logs(name: str, request: Request, plane: PlaneDep) -> Response:
    """A function's recent invocation logs, oldest first (``cloudmicro logs``). Without
    ``cursor``: the last ``limit`` (default 10). With it: those after it, waiting up to ``wait``
    seconds (at most 1: the client asks again) for one. ``Cursor`` in the reply is the next one
    to ask with, for the control plane named by ``Instance``."""
    logs = plane.logs
    params = request.query_params
    cursor, limit, wait = _int_param(params, "cursor"), _int_param(params, "limit"), params.get("wait", "0")
    try:
        seconds = min(1.0, max(0.0, float(wait)))
    except ValueError:
        raise InvalidParameterValueException(f"wait must be a number of seconds, not {wait!r}") from None
    if not logs.recent(name):
        name = plane.registry.get(name).name  # ResourceNotFoundException for a typo
    entries, after = await logs.follow(name, cursor, seconds, 10 if limit is None else limit)
    return _json({
        "FunctionName": name,
        "Instance": logs.instance,
        "Cursor": after,
        "Invocations": [{"RequestId": e.request_id, "Time": e.started_at, "Log": e.text} for e in entries],
    })


def _int_param(params: Mapping[str, str], key: str) -> int | None:
    value = params.get(key)
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidParameterValueException(f"{key} must be a whole number >= 0, not {value!r}")
    return int(value)


@admin.get("/environments")
async def environments(plane: PlaneDep) -> Response:
    executor = plane.executor
    return _json(
        [
            {
                "id": env.id,
                "function": env.function.name,
                "state": env.state.value,
                "port": env.port,
                "uid": env.uid,
                "invocations": env.invocations,
                "request_id": env.current.request_id if env.current else None,
                "handle": env.handle if isinstance(env.handle, str) else getattr(env.handle, "pid", None),
                "max_memory_mb": executor.max_memory_mb(env),
            }
            for env in plane.pool.environments()
        ]
    )


@router.get("/routes")
async def routes(plane: PlaneDep) -> Response:
    """Every API route and function URL the front door serves, with its URLs."""
    return _json({"Routes": [r.to_json() for r in await plane.frontdoor.routes(plane.settings.port)]})


@router.get("/mappings")
async def mappings(plane: PlaneDep) -> Response:
    """Each event source mapping with its state, last result, batches and records in flight."""
    return _json(plane.mappings.status())


@router.get("/schedules")
async def schedules(plane: PlaneDep) -> Response:
    """Schedule rules and Scheduler schedules: expression, state, targets, next firing time."""
    service = plane.schedules
    rows = await service.listing()
    return _json({"Now": iso(service.now()), "ClockOffset": service.offset, "Schedules": rows})


@admin.post("/schedules/run")
async def run_schedule(request: Request, plane: PlaneDep) -> Response:
    """Fire one schedule now: ``{"Name": ..., "Kind": "rule"|"schedule", "Group": ...}``."""
    body = await json_body(request)
    kind = body.get("Kind")
    if kind not in (None, "rule", "schedule"):
        raise InvalidParameterValueException(f"Kind must be rule or schedule, not {kind!r}")
    if not isinstance(body.get("Name"), str) or not body["Name"]:
        raise InvalidParameterValueException("Name (the rule's or the schedule's name) is required")
    try:
        result = await plane.schedules.run_now(body["Name"], kind, body.get("Group"))
    except ScheduleNotFound as exc:
        raise ResourceNotFoundException(str(exc)) from None
    return _json(result)


#: how far the schedules' clock moves at most, either way (seconds): 100 years
MAX_CLOCK_OFFSET = 100 * 365 * 86400


@router.get("/schedules/clock")
async def schedule_clock(plane: PlaneDep) -> Response:
    service = plane.schedules
    return _json({"Now": iso(service.now()), "Offset": service.offset})


@admin.put("/schedules/clock")
async def set_schedule_clock(request: Request, plane: PlaneDep) -> Response:
    """Move the schedules' clock: ``{"Offset": seconds}`` past real time (0 for real time)."""
    offset = (await json_body(request)).get("Offset")
    if not isinstance(offset, (int, float)) or isinstance(offset, bool):
        raise InvalidParameterValueException("Offset (seconds past real time) must be a number")
    if not math.isfinite(offset) or abs(offset) > MAX_CLOCK_OFFSET or time.time() + offset < 0:
        raise InvalidParameterValueException(
            f"Offset must be a finite number of seconds within {MAX_CLOCK_OFFSET} (100 years) of real time, "
            f"and not before 1970: {offset!r} is not")
    service = plane.schedules
    service.set_offset(offset)
    return _json({"Now": iso(service.now()), "Offset": service.offset})


def signed_query(plane: Plane, name: str) -> str:
    """The query that lets a download of ``name`` in for :data:`CODE_LINK_SECONDS`."""
    expires = int(time.time()) + CODE_LINK_SECONDS
    return f"Expires={expires}&Signature={admin_token.code_signature(plane.admin_token, name, expires)}"


def require_signed_or_admin(request: Request, plane: Plane, name: str) -> None:
    """A download of ``name`` needs the signed query :func:`signed_query` made (unexpired), or
    the admin token (403 otherwise)."""
    query = request.query_params
    expires = query.get("Expires", "")
    signed = (expires.isdigit() and int(expires) >= time.time() and admin_token.matches(
        admin_token.code_signature(plane.admin_token, name, int(expires)), query.get("Signature")))
    if not signed:
        require_admin(request, plane)


def code_location(base_url: str, plane: Plane, name: str) -> str:
    """GetFunction's ``Code.Location``: a link to the code that works for :data:`CODE_LINK_SECONDS`."""
    return f"{base_url}_cloudmicro/code/{quote(name)}.zip?{signed_query(plane, name)}"


@router.get("/code/{name}.zip")
async def code(name: str, request: Request, plane: PlaneDep) -> Response:
    """The function's code as a zip: with the admin token, or with the signed link GetFunction gave."""
    require_signed_or_admin(request, plane, name)
    function = plane.registry.get(name)
    zipped = await asyncio.to_thread(zip_folder, function.code_dir, plane.settings.state_dir)
    return Response(zipped, media_type="application/zip")


def zip_folder(folder: Path, state_dir: Path | None = None) -> bytes:
    """A folder's regular files as a zip: no links leading out of it, no FIFOs or devices, and
    not the control plane's state folder (its admin token) when the folder holds it (uploaded
    code is unpacked inside the state folder: that code is all there)."""
    root = folder.resolve()
    state = state_dir.resolve() if state_dir is not None else None
    if state is not None and root.is_relative_to(state):
        state = None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, _ in sorted(regular_files(folder)):
            real = path.resolve()
            if not real.is_relative_to(root):
                continue  # a link to outside the function's folder
            if state is not None and real.is_relative_to(state):
                continue
            archive.write(path, path.relative_to(folder))
    return buffer.getvalue()
