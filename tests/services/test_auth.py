"""Token rules: HS256 only, exp enforced, rotation with revocation, uniform 401s."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import RefreshToken, utcnow
from portal.services import auth, users
from portal.services.errors import Unauthorized
from tests.conftest import make_user


def claims_of(token: str, app) -> dict:
    return jwt.decode(token, app.config["JWT_SECRET"], algorithms=["HS256"])


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("admin", "wrong"),
        ("ghost", "admin"),
        (None, "admin"),
        ("admin", None),
        (["admin"], "admin"),
        ("admin", 12345),
        ("a" * 81, "admin"),
        ("admin", "x" * 1025),
    ],
)
def test_authenticate_answers_one_uniform_401(admin, username, password):
    with pytest.raises(Unauthorized) as exc:
        auth.authenticate(username, password)
    assert exc.value.message == "Invalid username or password"


def test_an_inactive_user_cannot_log_in(admin):
    user = make_user("Viewer", "gone")
    users.update_user(admin, {"id": user.id, "active": False})
    with pytest.raises(Unauthorized):
        auth.authenticate("gone", "password-123")


def test_authenticate_records_the_login(admin):
    assert admin.last_login is None
    assert auth.authenticate("admin", "admin") is admin
    assert admin.last_login is not None


def test_issued_tokens(admin, app):
    tokens = auth.issue_tokens(admin)
    assert (tokens["token_type"], tokens["expires_in"]) == ("Bearer", 36000)
    assert tokens["token"] == tokens["access_token"]
    access = claims_of(tokens["token"], app)
    assert (access["typ"], access["sub"], access["role"]) == (
        "access",
        str(admin.id),
        "Administrator",
    )
    assert access["exp"] - access["iat"] == 36000
    assert jwt.get_unverified_header(tokens["token"])["alg"] == "HS256"
    refresh = claims_of(tokens["refresh_token"], app)
    assert refresh["typ"] == "refresh" and refresh["fam"]


def test_expires_in_follows_the_config(app_factory):
    app = app_factory(JWT_EXPIRES_IN=60)
    with app.app_context():
        user = make_user("Viewer", "short")
        tokens = auth.issue_tokens(user)
        assert tokens["expires_in"] == 60
        assert (
            claims_of(tokens["token"], app)["exp"]
            - claims_of(tokens["token"], app)["iat"]
            == 60
        )


def test_access_token_resolves_to_its_user(admin):
    tokens = auth.issue_tokens(admin)
    user, claims = auth.user_for_access_token(tokens["token"])
    assert user is admin and claims["typ"] == "access"
    with pytest.raises(Unauthorized):
        auth.user_for_access_token(tokens["refresh_token"])


def test_an_expired_access_token_is_refused(admin, app):
    now = utcnow()
    token = jwt.encode(
        {
            "sub": str(admin.id),
            "jti": "j",
            "typ": "access",
            "sv": admin.session_version,
            "iat": now - timedelta(hours=2),
            "exp": now - timedelta(seconds=1),
        },
        app.config["JWT_SECRET"],
        algorithm="HS256",
    )
    with pytest.raises(Unauthorized) as exc:
        auth.user_for_access_token(token)
    assert exc.value.message == "Token expired"


def test_a_session_version_bump_ends_old_tokens(admin):
    user = make_user("Viewer", "v2")
    tokens = auth.issue_tokens(user)
    users.update_user(admin, {"id": user.id, "role": "Supervisor"})
    with pytest.raises(Unauthorized):
        auth.user_for_access_token(tokens["token"])


def test_refresh_rotates_and_re_use_revokes_the_family(admin):
    first = auth.issue_tokens(admin)
    second = auth.refresh(first["refresh_token"])
    third = auth.refresh(second["refresh_token"])
    with pytest.raises(Unauthorized) as exc:
        auth.refresh(first["refresh_token"])
    assert "re-used" in exc.value.message
    with pytest.raises(Unauthorized):
        auth.refresh(third["refresh_token"])
    family = db.session.scalars(select(RefreshToken.revoked)).all()
    assert family == [True, True, True]


def test_refresh_refuses_junk(admin):
    for junk in (None, "", 5, "a.b.c", auth.issue_tokens(admin)["token"]):
        with pytest.raises(Unauthorized):
            auth.refresh(junk)


def test_refresh_for_a_disabled_user_is_refused(admin):
    user = make_user("Viewer", "leaver")
    tokens = auth.issue_tokens(user)
    users.update_user(admin, {"id": user.id, "active": False})
    with pytest.raises(Unauthorized):
        auth.refresh(tokens["refresh_token"])


def test_logout_revokes_the_access_token_and_the_given_family_only(admin):
    one, two = auth.issue_tokens(admin), auth.issue_tokens(admin)
    _, claims = auth.user_for_access_token(one["token"])
    auth.logout(claims, one["refresh_token"])
    auth.logout(claims)  # twice is fine
    with pytest.raises(Unauthorized):
        auth.user_for_access_token(one["token"])
    with pytest.raises(Unauthorized):
        auth.refresh(one["refresh_token"])
    assert auth.user_for_access_token(two["token"])[0] is admin
    assert auth.refresh(two["refresh_token"])["token"]


def test_logout_does_not_revoke_another_users_family(admin):
    other = make_user("Viewer", "other")
    theirs = auth.issue_tokens(other)
    _, claims = auth.user_for_access_token(auth.issue_tokens(admin)["token"])
    auth.logout(claims, theirs["refresh_token"])
    assert auth.refresh(theirs["refresh_token"])["token"]


def test_passwords_verify_in_constant_shape(admin):
    assert auth.verify_password(admin, "admin")
    assert not auth.verify_password(admin, "nope")
    assert not auth.verify_password(None, "admin")
