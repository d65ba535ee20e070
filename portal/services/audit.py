"""The audit trail: who changed what, when, and which fields."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditLog, User


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def record(
    actor: User | None,
    action: str,
    entity: str,
    entity_id: Any,
    changes: dict[str, Any] | None = None,
    summary: str | None = None,
) -> None:
    """Add an audit row to the caller's transaction (never commits on its own)."""
    db.session.add(
        AuditLog(
            user_id=actor.id if actor else None,
            username=actor.username if actor else "system",
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            changes={k: _plain(v) for k, v in (changes or {}).items()} or None,
            summary=summary,
        )
    )


def diff(obj: Any, values: dict[str, Any], secret: set[str] = frozenset()) -> dict:
    """Apply values to obj; return {field: [old, new]} for the fields that changed."""
    changed = {}
    for key, new in values.items():
        old = getattr(obj, key)
        if old != new:
            setattr(obj, key, new)
            if key in secret:
                changed[key] = ["********", "********"]
            else:
                changed[key] = [_plain(old), _plain(new)]
    return changed


def list_entries(
    actor: User,
    entity: str | None = None,
    username: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[AuditLog]:
    """Newest first, keyset-paged by id; every signed-in role may read the trail."""
    from portal.services.roles import READERS, require

    require(actor, READERS)
    query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if entity:
        query = query.where(AuditLog.entity == entity)
    if username:
        query = query.where(AuditLog.username == username)
    if before_id:
        query = query.where(AuditLog.id < before_id)
    return list(db.session.scalars(query))
