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


# Unique rules the database enforces, by constraint (PostgreSQL names it) or by
# table.column (SQLite's "UNIQUE constraint failed: campaigns.name_key"): the field
# the client sent, and what to tell it. Reached when two requests race past the
# services' own check, which says the same thing.
UNIQUE_RULES = {
    "campaigns.name": ("name", "is already used by another campaign"),
    "call_strategies.name": ("name", "is already used by another strategy"),
    "users.username": ("username", "is already taken"),
}


def _unique_rule(text: str) -> tuple[str, str] | None:
    for where, rule in UNIQUE_RULES.items():
        table, column = where.split(".")
        names = (
            f"{table}.{column}",
            f"{table}.{column}_key",
            f"{table}_{column}_key",
            f"uq_{table}_{column}_key",
        )
        if any(name in text for name in names):
            return rule
    return None


def from_integrity_error(exc: Exception) -> ValidationFailed:
    """A unique or foreign-key violation as the 406 naming the field, never a 5xx."""
    orig = getattr(exc, "orig", exc)
    diag = getattr(orig, "diag", None)
    text = " ".join(
        str(part)
        for part in (getattr(diag, "constraint_name", None), orig)
        if part is not None
    )
    rule = _unique_rule(text)
    if rule is not None:
        return ValidationFailed({rule[0]: rule[1]})
    return ValidationFailed(
        {"body": "conflicts with data stored meanwhile; reload and try again"}
    )
