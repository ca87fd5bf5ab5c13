"""One exception class per AWS Lambda error code.

Each carries the HTTP status and the body fields AWS sends; :mod:`emulator.api.errors`
turns them into wire responses in exactly one place.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LambdaError(Exception):
    """Base of all AWS-shaped errors of the Lambda API."""

    code: ClassVar[str] = "ServiceException"
    status: ClassVar[int] = 500
    error_kind: ClassVar[str] = "Service"
    #: AWS spells the message key "Message" for some errors and "message" for the rest
    message_key: ClassVar[str] = "message"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        return {"Type": self.error_kind, self.message_key: self.message, **self.extra}


class ServiceException(LambdaError):
    code = "ServiceException"
    status = 500
    message_key = "Message"


class ResourceNotFoundException(LambdaError):
    code = "ResourceNotFoundException"
    status = 404
    error_kind = "User"
    message_key = "Message"

    @classmethod
    def function(cls, arn: str) -> ResourceNotFoundException:
        return cls(f"Function not found: {arn}")


class ResourceConflictException(LambdaError):
    code = "ResourceConflictException"
    status = 409
    error_kind = "User"


class InvalidParameterValueException(LambdaError):
    code = "InvalidParameterValueException"
    status = 400
    error_kind = "User"


class InvalidRequestContentException(LambdaError):
    code = "InvalidRequestContentException"
    status = 400
    error_kind = "User"


class RequestTooLargeException(LambdaError):
    code = "RequestTooLargeException"
    status = 413
    error_kind = "User"


class TooManyRequestsException(LambdaError):
    code = "TooManyRequestsException"
    status = 429
    error_kind = "User"

    @classmethod
    def reserved_concurrency(cls) -> TooManyRequestsException:
        err = cls("Rate Exceeded.", Reason="ReservedFunctionConcurrentInvocationLimitExceeded")
        err.headers["Retry-After"] = "1"
        return err


class AccessDeniedException(LambdaError):
    """The caller may not do this (Cloudmicro: an admin route without the admin token)."""

    code = "AccessDeniedException"
    status = 403
    error_kind = "User"
    message_key = "Message"


class UnsupportedMediaTypeException(LambdaError):
    """A request body whose content type is not JSON."""

    code = "UnsupportedMediaTypeException"
    status = 415
    error_kind = "User"


class ValidationException(LambdaError):
    """A request field outside its modeled constraints (AWS's generic validation error)."""

    code = "ValidationException"
    status = 400
    error_kind = "User"


class PreconditionFailedException(LambdaError):
    """A RevisionId that is not the function's current one."""

    code = "PreconditionFailedException"
    status = 412
    error_kind = "User"


class MethodNotAllowedException(LambdaError):
    """A method the path does not take (``DELETE /2015-03-31/functions``)."""

    code = "MethodNotAllowedException"
    status = 405
    error_kind = "User"


class NotImplementedLocally(LambdaError):
    """A Lambda API operation Cloudmicro does not emulate (not an AWS error code: says so)."""

    code = "NotImplemented"
    status = 501
    error_kind = "Service"
    message_key = "Message"
