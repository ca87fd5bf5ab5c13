"""Turning exceptions into AWS-shaped wire responses (the only place that does)."""

from __future__ import annotations

import json
import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from emulator.domain.errors import (
    LambdaError,
    MethodNotAllowedException,
    NotImplementedLocally,
    ServiceException,
    ValidationException,
)
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
    """A path or method no router serves: a method the path does not take (405), a path with a
    ``.``/``..`` segment (``..%2F`` decoded: 400), else an operation Cloudmicro does not emulate."""
    assert isinstance(exc, HTTPException)
    if exc.status_code not in (404, 405):
        return Response(json.dumps({"message": exc.detail}), status_code=exc.status_code,
                        media_type="application/json")
    path = request.url.path
    if exc.status_code == 405:
        allowed = ", ".join(_methods_of(request))
        err = MethodNotAllowedException(f"{request.method} is not a method of {path}"
                                        + (f": it takes {allowed}" if allowed else ""))
        if allowed:
            err.headers["Allow"] = allowed
        return lambda_error_response(err)
    if any(part in (".", "..") for part in request.scope["path"].split("/")):
        return lambda_error_response(ValidationException(
            f"The path {path!r} has a '.' or '..' segment (an encoded '/' in a name?): names and "
            "ARNs in Lambda paths cannot hold '/' segments like these"))
    return lambda_error_response(NotImplementedLocally(
        f"Cloudmicro does not emulate {request.method} {request.url.path}: the operation is not "
        "implemented locally (README.md, 'Limits')"
    ))


def _methods_of(request: Request) -> list[str]:
    """The methods the request's path takes (the routes asked for each)."""
    routes = request.app.router.routes
    return [method for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
            if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)]


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error serving %s %s", request.method, request.url.path)
    return lambda_error_response(ServiceException(f"internal error in the emulator: {exc!r}"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(LambdaError, _on_lambda_error)
    app.add_exception_handler(RuntimeApiError, _on_runtime_error)
    app.add_exception_handler(HTTPException, _on_no_route)
    app.add_exception_handler(Exception, _on_unexpected)
