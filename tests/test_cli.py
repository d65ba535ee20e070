"""flask create-user, seed-demo and init-db, through Flask's CLI runner."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Campaign, User
from portal.services import auth
from tests.conftest import truncate_all


def test_create_user_with_options(app):
    result = app.test_cli_runner().invoke(
        args=["create-user", "bob", "--role", "Supervisor", "--password", "password-1"]
    )
    assert result.exit_code == 0, result.output
    assert "created bob (Supervisor)" in result.output
    with app.app_context():
        bob = db.session.scalar(select(User).where(User.username == "bob"))
        assert bob.role == "Supervisor" and auth.verify_password(bob, "password-1")


def test_create_user_prompts_for_the_password_twice(app):
    result = app.test_cli_runner().invoke(
        args=["create-user", "carol"], input="password-2\npassword-2\n"
    )
    assert result.exit_code == 0, result.output
    assert "created carol (Viewer)" in result.output
    assert "password-2" not in result.output, "the prompt hides the input"


def test_create_user_reports_refusals_without_a_traceback(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["create-user", "dave", "--password", "password-1"])
    result = runner.invoke(args=["create-user", "DAVE", "--password", "password-1"])
    assert result.exit_code == 1
    assert "username: is already taken" in result.output
    result = runner.invoke(args=["create-user", "erin", "--password", "short"])
    assert result.exit_code == 1 and "password" in result.output
    result = runner.invoke(
        args=["create-user", "frank", "--role", "Root", "--password", "x" * 9]
    )
    assert result.exit_code == 2, "click refuses an unknown role"
    assert "Traceback" not in result.output


def test_seed_demo_then_again(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo", "--contacts", "20"])
    assert result.exit_code == 0, result.output
    assert "campaigns: 3" in result.output and "contacts: 20" in result.output
    result = runner.invoke(args=["seed-demo", "--contacts", "20"])
    assert result.exit_code == 0 and "skipped: 1" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Campaign)) == 3


def test_seed_demo_on_an_uninitialised_database_says_what_to_do(app_factory):
    app = app_factory()
    truncate_all(app)
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 1
    assert "flask init-db" in result.output


def test_init_db_creates_the_first_administrator_once(app_factory):
    app = app_factory()
    truncate_all(app)
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert "database ready" in result.output
    with app.app_context():
        assert db.session.scalars(select(User.username)).all() == ["admin"]
