"""Cloudmicro's own endpoints under ``/_cloudmicro``: health, logs, environments, code."""

from __future__ import annotations

import io
import zipfile

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..domain.errors import ResourceNotFoundException
from .wire import json_response as _json

router = APIRouter(prefix="/_cloudmicro")


@router.get("/health")
async def health(request: Request) -> Response:
    """Each part's state: the Lambda service, its executor, and the AWS backend (moto)."""
    state = request.app.state
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
                "async_events": state.async_invoker.status(),
                "config_errors": state.registry.load_errors,
            },
            "aws": aws,
            "seed": state.seeding.as_dict(),
        }
    )


@router.post("/reset")
async def reset(request: Request) -> Response:
    """Wipe all state: every AWS resource in moto, API-created functions, environments, logs."""
    state = request.app.state
    await state.aws.reset()
    state.pool.discard_all()
    state.registry.reset()
    state.logs.clear()
    state.async_invoker.clear()
    state.async_invoker.configs.clear()
    return _json({"status": "reset"})


@router.post("/echo")
async def echo(request: Request) -> Response:
    """A bare route that returns its body: the floor for benchmarks."""
    return Response(await request.body(), media_type="application/json")


@router.get("/invocations/{request_id}/log")
async def invocation_log(request_id: str, request: Request) -> Response:
    entry = request.app.state.logs.get(request_id)
    if entry is None:
        raise ResourceNotFoundException(f"No log for request {request_id} (only recent invocations are kept)")
    return Response(entry.text, media_type="text/plain; charset=utf-8")


@router.get("/environments")
async def environments(request: Request) -> Response:
    executor = request.app.state.executor
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
            for env in request.app.state.pool.environments()
        ]
    )


@router.get("/mappings")
async def mappings(request: Request) -> Response:
    """Each event source mapping with its state, last result, batches and records in flight."""
    return _json(request.app.state.mappings.status())


@router.get("/code/{name}.zip")
async def code(name: str, request: Request) -> Response:
    """The function's code as a zip (GetFunction's Code.Location points here)."""
    function = request.app.state.registry.get(name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(function.code_dir.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(function.code_dir))
    return Response(buffer.getvalue(), media_type="application/zip")
