"""Cloudmicro's own endpoints under ``/_cloudmicro``: health, logs, environments, code."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response

from emulator.api.deps import PlaneDep
from emulator.api.wire import json_body
from emulator.api.wire import json_response as _json
from emulator.domain.errors import InvalidParameterValueException, ResourceNotFoundException
from emulator.schedules.events import iso
from emulator.schedules.service import ScheduleNotFound

router = APIRouter(prefix="/_cloudmicro")


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


@router.post("/reset")
async def reset(state: PlaneDep) -> Response:
    """Wipe all state: every AWS resource in moto, API-created functions, environments, logs."""
    await state.aws.reset()
    state.pool.discard_all()
    state.registry.reset()
    state.logs.clear()
    state.async_queue.clear()
    state.async_queue.configs.clear()
    state.policies.clear()
    return _json({"status": "reset"})


@router.post("/echo")
async def echo(request: Request) -> Response:
    """A bare route that returns its body: the floor for benchmarks."""
    return Response(await request.body(), media_type="application/json")


@router.get("/invocations/{request_id}/log")
async def invocation_log(request_id: str, plane: PlaneDep) -> Response:
    entry = plane.logs.get(request_id)
    if entry is None:
        raise ResourceNotFoundException(f"No log for request {request_id} (only recent invocations are kept)")
    return Response(entry.text, media_type="text/plain; charset=utf-8")


@router.get("/functions/{name}/logs")
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


@router.get("/environments")
async def environments(plane: PlaneDep) -> Response:
    executor = plane.executor
    return _json(
        [
            {
                "id": env.id,
                "function": env.function.name,
                "state": env.state.value,
                "port": env.port,
                "invocations": env.invocations,
                "request_id": env.current.request_id if env.current else None,
                "handle": env.handle if isinstance(env.handle, str) else getattr(env.handle, "pid", None),
                "max_memory_mb": executor.max_memory_mb(env),
            }
            for env in plane.pool.environments()
        ]
    )


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


@router.post("/schedules/run")
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


@router.get("/schedules/clock")
async def schedule_clock(plane: PlaneDep) -> Response:
    service = plane.schedules
    return _json({"Now": iso(service.now()), "Offset": service.offset})


@router.put("/schedules/clock")
async def set_schedule_clock(request: Request, plane: PlaneDep) -> Response:
    """Move the schedules' clock: ``{"Offset": seconds}`` past real time (0 for real time)."""
    offset = (await json_body(request)).get("Offset")
    if not isinstance(offset, (int, float)) or isinstance(offset, bool):
        raise InvalidParameterValueException("Offset (seconds past real time) must be a number")
    service = plane.schedules
    service.set_offset(offset)
    return _json({"Now": iso(service.now()), "Offset": service.offset})


@router.get("/code/{name}.zip")
async def code(name: str, plane: PlaneDep) -> Response:
    """The function's code as a zip (GetFunction's Code.Location points here)."""
    function = plane.registry.get(name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(function.code_dir.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(function.code_dir))
    return Response(buffer.getvalue(), media_type="application/zip")
