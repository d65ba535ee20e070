"""User rules: unique names, roles, passwords, the first admin, ending sessions."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditLog, User
from portal.services import auth, users
from portal.services.errors import Forbidden, NotFound, Unauthorized, ValidationFailed


def new(admin, **fields):
    return users.create_user(
        admin,
        {"username": "alice", "password": "password-1", "role": "Supervisor", **fields},
    )


def test_create_hashes_the_password(admin):
    user = new(admin, email="a@example.com", fullName="Alice A")
    assert user.password_hash != "password-1" and user.password_hash.startswith(
        "$argon2"
    )
    assert (user.role, user.active, user.email, user.full_name) == (
        "Supervisor",
        True,
        "a@example.com",
        "Alice A",
    )
    assert auth.verify_password(user, "password-1")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"username": "bad name"}, "username"),
        ({"username": ""}, "username"),
        ({"password": "short"}, "password"),
        ({"role": "Root"}, "role"),
        ({"username": "x" * 81}, "username"),
        ({"isAdmin": True}, "isAdmin"),
    ],
)
def test_create_checks_its_fields(admin, fields, field):
    with pytest.raises(ValidationFailed) as exc:
        new(admin, **fields)
    assert field in exc.value.fields


def test_username_is_unique_ignoring_case(admin):
    new(admin)
    with pytest.raises(ValidationFailed) as exc:
        new(admin, username="ALICE")
    assert exc.value.fields == {"username": "is already taken"}


def test_role_defaults_to_viewer(admin):
    assert (
        users.create_user(admin, {"username": "v", "password": "password-1"}).role
        == "Viewer"
    )


def test_only_the_administrator_manages_users(admin, supervisor):
    with pytest.raises(Forbidden):
        new(supervisor)
    with pytest.raises(Forbidden):
        users.list_users(supervisor)
    with pytest.raises(Unauthorized):
        users.create_user(None, {"username": "x", "password": "password-1"})
    assert (
        users.create_user(
            None, {"username": "cli", "password": "password-1"}, system=True
        ).username
        == "cli"
    )


def test_role_or_active_change_ends_the_users_sessions(admin):
    user = new(admin)
    version = user.session_version
    users.update_user(admin, {"id": user.id, "email": "new@example.com"})
    assert user.session_version == version, "a contact detail keeps the session"
    users.update_user(admin, {"id": user.id, "role": "Viewer"})
    assert user.session_version == version + 1
    users.update_user(admin, {"id": user.id, "active": False})
    assert (user.active, user.session_version) == (False, version + 2)


def test_an_administrator_cannot_demote_or_disable_themselves(admin):
    for change in ({"role": "Viewer"}, {"active": False}):
        with pytest.raises(ValidationFailed):
            users.update_user(admin, {"id": admin.id, **change})
    with pytest.raises(NotFound):
        users.update_user(admin, {"id": 999, "role": "Viewer"})


def test_change_password_checks_the_current_one(admin):
    user = new(admin)
    with pytest.raises(ValidationFailed) as exc:
        users.change_password(user, "wrong", "password-2")
    assert "current_password" in exc.value.fields
    version = user.session_version
    users.change_password(user, "password-1", "password-2")
    assert auth.verify_password(user, "password-2")
    assert user.session_version == version + 1


@pytest.mark.parametrize("password", ["short", "admin", None, "x" * 1025])
def test_new_passwords_are_checked(admin, password):
    with pytest.raises(ValidationFailed):
        users.set_password(admin, admin, password)


def test_setting_the_admin_password_clears_the_default_flag(admin):
    assert admin.default_password is True
    users.set_password(admin, admin, "a-much-better-one")
    assert admin.default_password is False


def test_another_users_password_is_the_administrators_business(
    admin, supervisor, viewer
):
    with pytest.raises(Forbidden):
        users.set_password(supervisor, viewer, "password-9")
    users.set_password(admin, viewer, "password-9")
    assert auth.verify_password(viewer, "password-9")


def test_ensure_admin_only_on_an_empty_database(admin):
    users.ensure_admin("other-password", is_default=False)
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert auth.verify_password(admin, "admin")


def test_user_changes_are_audited_without_passwords(admin):
    user = new(admin)
    users.update_user(admin, {"id": user.id, "role": "Viewer"})
    users.set_password(admin, user, "password-77")
    rows = db.session.scalars(
        select(AuditLog)
        .where(AuditLog.entity == "user", AuditLog.entity_id == str(user.id))
        .order_by(AuditLog.id)
    ).all()
    assert [(r.action, r.changes) for r in rows] == [
        ("create", {"username": "alice", "role": "Supervisor"}),
        ("update", {"role": ["Supervisor", "Viewer"]}),
        ("update", {"password": ["********", "********"]}),
    ]
