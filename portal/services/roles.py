"""Who may do what; checked in the services so the portal and the API agree."""

from __future__ import annotations

from portal.models import User
from portal.services.errors import Forbidden, Unauthorized

ADMIN = ("Administrator",)
WRITERS = ("Administrator", "Supervisor")
READERS = ("Administrator", "Supervisor", "Viewer")


def require(actor: User | None, allowed: tuple[str, ...]) -> User:
    """Raise unless the actor is signed in, active and holds one of the roles."""
    if actor is None or not getattr(actor, "active", False):
        raise Unauthorized("Authentication required")
    if actor.role not in allowed:
        raise Forbidden(f"The {actor.role} role may not do this")
    return actor


def can_write(actor: User | None) -> bool:
    return actor is not None and actor.role in WRITERS


def is_admin(actor: User | None) -> bool:
    return actor is not None and actor.role in ADMIN
