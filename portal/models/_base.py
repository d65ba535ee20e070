"""Shared column helpers: every timestamp is naive UTC in the database."""

import unicodedata
from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time as naive UTC, the form every column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


ISO_Z = "%Y-%m-%dT%H:%M:%SZ"


def iso_z(moment: datetime | None) -> str | None:
    """A stored (naive UTC) time in ISO 8601 with a Z, as the seed writes them."""
    return None if moment is None else moment.strftime(ISO_Z)


def name_key(name: str | None) -> str | None:
    """The form a unique name is compared in: NFKC, case-folded, trimmed.

    Python does the folding, so SQLite (whose lower() folds ASCII only) and PostgreSQL
    enforce the same rule through a unique index on this key.
    """
    if name is None:
        return None
    return unicodedata.normalize("NFKC", str(name)).casefold().strip()
