"""Roles are checked in the services, so the portal and the API cannot disagree."""

from __future__ import annotations

import pytest

from portal.models import User
from portal.services import roles
from portal.services.errors import Forbidden, Unauthorized


def user(role: str, active: bool = True) -> User:
    return User(username=role.lower(), role=role, active=active, password_hash="x")


@pytest.mark.parametrize(
    ("role", "allowed", "ok"),
    [
        ("Administrator", roles.ADMIN, True),
        ("Supervisor", roles.ADMIN, False),
        ("Supervisor", roles.WRITERS, True),
        ("Viewer", roles.WRITERS, False),
        ("Viewer", roles.READERS, True),
        ("Auditor", roles.READERS, False),
    ],
)
def test_require(role, allowed, ok):
    actor = user(role)
    if ok:
        assert roles.require(actor, allowed) is actor
    else:
        with pytest.raises(Forbidden) as exc:
            roles.require(actor, allowed)
        assert role in exc.value.message and exc.value.status == 403


def test_nobody_or_an_inactive_user_is_401_not_403():
    for actor in (None, user("Administrator", active=False)):
        with pytest.raises(Unauthorized) as exc:
            roles.require(actor, roles.READERS)
        assert exc.value.status == 401


def test_helpers():
    assert roles.can_write(user("Supervisor")) and not roles.can_write(user("Viewer"))
    assert roles.is_admin(user("Administrator")) and not roles.is_admin(
        user("Supervisor")
    )
    assert not roles.can_write(None) and not roles.is_admin(None)
