"""Shared column helpers: every timestamp is naive UTC in the database."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time as naive UTC, the form every column stores."""
    return datetime.now(UTC).replace(tzinfo=None)
