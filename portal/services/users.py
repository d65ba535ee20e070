"""Portal and API users with their roles (Administrator manages them)."""

from __future__ import annotations

from pydantic import Field, field_validator
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import ROLES, User
from portal.models._base import name_key
from portal.services import audit, auth
from portal.services.errors import NotFound, ValidationFailed
from portal.services.roles import ADMIN, require
from portal.services.validation import Schema, parse

MIN_PASSWORD = 8


class UserCreate(Schema):
    username: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=MIN_PASSWORD, max_length=1024)
    role: str = "Viewer"
    email: str | None = Field(default=None, max_length=255)
    fullName: str | None = Field(default=None, max_length=255)

    @field_validator("role")
    @classmethod
    def _role(cls, v: str) -> str:
        if v not in ROLES:
            raise ValueError(f"must be one of {', '.join(ROLES)}")
        return v


class UserUpdate(Schema):
    id: int
    role: str | None = None
    active: bool | None = None
    email: str | None = Field(default=None, max_length=255)
    fullName: str | None = Field(default=None, max_length=255)

    _role = field_validator("role")(UserCreate._role.__func__)


def list_users(actor: User) -> list[User]:
    require(actor, ADMIN)
    return list(db.session.scalars(select(User).order_by(User.username)))


def get_user(actor: User, user_id: int) -> User:
    require(actor, ADMIN)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"User with id {user_id} not found")
    return user


def _username_taken(username: str, exclude: int | None = None) -> bool:
    query = select(func.count()).where(User.username_key == name_key(username))
    if exclude:
        query = query.where(User.id != exclude)
    return db.session.scalar(query) > 0


def create_user(actor: User | None, data: dict, *, system: bool = False) -> User:
    """Create a user; `system` is for the CLI and first start, which have no actor."""
    if not system:
        require(actor, ADMIN)
    body = parse(UserCreate, data)
    if _username_taken(body.username):
        raise ValidationFailed({"username": "is already taken"})
    user = User(
        username=body.username,
        password_hash=auth.hash_password(body.password),
        role=body.role,
        email=body.email,
        full_name=body.fullName,
        active=True,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        actor, "create", "user", user.id, {"username": body.username, "role": body.role}
    )
    db.session.commit()
    return user


def update_user(actor: User, data: dict) -> User:
    require(actor, ADMIN)
    body = parse(UserUpdate, data)
    user = get_user(actor, body.id)
    values = {}
    if body.role is not None:
        values["role"] = body.role
    if body.active is not None:
        values["active"] = body.active
    if body.email is not None:
        values["email"] = body.email
    if body.fullName is not None:
        values["full_name"] = body.fullName
    if user.id == actor.id and (
        values.get("active") is False
        or values.get("role", "Administrator") != "Administrator"
    ):
        raise ValidationFailed({"role": "you cannot demote or disable yourself"})
    changes = audit.diff(user, values)
    if "active" in changes or "role" in changes:
        user.session_version += 1  # ends the user's sessions and tokens
    if changes:
        audit.record(actor, "update", "user", user.id, changes)
    db.session.commit()
    return user


def change_password(actor: User, current: str, new: str) -> User:
    """Change one's own password; every other session and token of the user ends."""
    if not auth.verify_password(actor, current or ""):
        raise ValidationFailed({"current_password": "is not correct"})
    set_password(actor, actor, new)
    return actor


def set_password(
    actor: User | None, user: User, new: str, *, system: bool = False
) -> None:
    if not system and actor is not user:
        require(actor, ADMIN)
    if not isinstance(new, str) or not MIN_PASSWORD <= len(new) <= 1024:
        raise ValidationFailed(
            {"new_password": f"must be at least {MIN_PASSWORD} characters"}
        )
    if new == "admin":
        raise ValidationFailed({"new_password": "must not be the default password"})
    user.password_hash = auth.hash_password(new)
    user.default_password = False
    user.session_version += 1
    audit.record(
        actor, "update", "user", user.id, {"password": ["********", "********"]}
    )
    db.session.commit()


def ensure_admin(password: str, *, is_default: bool) -> None:
    """Create the first administrator on an empty database."""
    if db.session.scalar(select(func.count()).select_from(User)) > 0:
        return
    user = User(
        username="admin",
        full_name="Administrator",
        password_hash=auth.hash_password(password),
        role="Administrator",
        active=True,
        default_password=is_default,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(None, "create", "user", user.id, {"username": "admin"}, "first start")
    db.session.commit()
