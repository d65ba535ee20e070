"""Errors the services raise; each adapter maps them to its own answer in one place."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400
    error = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class BadRequest(ServiceError):
    status = 400
    error = "bad_request"


class Unauthorized(ServiceError):
    status = 401
    error = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    error = "forbidden"


class NotFound(ServiceError):
    status = 404
    error = "not_found"


class ValidationFailed(ServiceError):
    """The seed's 406: the request was understood but a field is not acceptable."""

    status = 406
    error = "not_acceptable"

    def __init__(
        self, fields: dict[str, str], message: str = "Validation failed"
    ) -> None:
        super().__init__(message, fields)


class ServiceUnavailable(ServiceError):
    status = 503
    error = "service_unavailable"
