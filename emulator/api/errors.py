"""Turning exceptions into AWS-shaped wire responses (the only place that does)."""

from __future__ import annotations

import json
import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from emulator.domain.errors import LambdaError, NotImplementedLocally, ServiceException
from emulator.invocation.environment import RuntimeApiError

log = logging.getLogger(__name__)


def lambda_error_response(err: LambdaError) -> Response:
    headers = {
        "x-amzn-ErrorType": err.code,
        "x-amzn-RequestId": str(uuid.uuid4()),
        **err.headers,
    }
    return Response(json.dumps(err.body()), status_code=err.status, headers=headers,
                    media_type="application/json")


def runtime_error_response(err: RuntimeApiError) -> Response:
    body = {"errorMessage": err.message, "errorType": err.error_type}
    return Response(json.dumps(body), status_code=err.status, media_type="application/json")


async def _on_lambda_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, LambdaError)
    return lambda_error_response(exc)


async def _on_runtime_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RuntimeApiError)
    return runtime_error_response(exc)


async def _on_no_route(request: Request, exc: Exception) -> Response:
    """A path or method no router serves: an operation Cloudmicro does not emulate."""
    assert isinstance(exc, HTTPException)
    if exc.status_code not in (404, 405):
        return Response(json.dumps({"message": exc.detail}), status_code=exc.status_code,
                        media_type="application/json")
    return lambda_error_response(NotImplementedLocally(
        f"Cloudmicro does not emulate {request.method} {request.url.path}: the operation is not "
        "implemented locally (README.md, 'Limits')"
    ))


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error serving %s %s", request.method, request.url.path)
    return lambda_error_response(ServiceException(f"internal error in the emulator: {exc!r}"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(LambdaError, _on_lambda_error)
    app.add_exception_handler(RuntimeApiError, _on_runtime_error)
    app.add_exception_handler(HTTPException, _on_no_route)
    app.add_exception_handler(Exception, _on_unexpected)
