"""The one migration builds exactly the schema the models describe, on both backends."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from portal import MIGRATIONS, create_app
from tests.conftest import BACKENDS, PG_URL, base_config


@pytest.fixture(params=BACKENDS)
def fresh_url(request):
    """An empty database of each backend, made for this test and dropped after it."""
    if request.param == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="ecm-migrations-"))
        yield f"sqlite:///{folder / 'fresh.sqlite3'}"
        return
    # One database, its schema emptied for each test: DROP DATABASE waits for a
    # checkpoint, which took 64 s on a busy CI machine.
    url = make_url(PG_URL)
    name = f"{url.database}_migrations"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    fresh = url.set(database=name)
    engine = create_engine(fresh, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield fresh.render_as_string(hide_password=False)


def _migrated_app(url: str):
    from flask_migrate import upgrade

    app = create_app(base_config(url))
    with app.app_context():
        upgrade(directory=MIGRATIONS)
    return app


def _diffs(app) -> list:
    from portal.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": False}
        )
        return compare_metadata(context, db.metadata)


def test_there_is_one_migration_head():
    script = ScriptDirectory(MIGRATIONS)
    assert len(script.get_heads()) == 1


def test_upgraded_database_matches_the_models(fresh_url):
    app = _migrated_app(fresh_url)
    try:
        assert _diffs(app) == []
    finally:
        from portal.extensions import db

        with app.app_context():
            db.engine.dispose()


def test_downgrade_to_nothing_and_up_again(fresh_url):
    from flask_migrate import downgrade, upgrade

    from portal.extensions import db

    app = _migrated_app(fresh_url)
    with app.app_context():
        downgrade(directory=MIGRATIONS, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(directory=MIGRATIONS)
        assert {"campaigns", "contacts", "dnc_entries", "users"} <= set(
            inspect(db.engine).get_table_names()
        )
    assert _diffs(app) == []
    with app.app_context():
        db.engine.dispose()


def test_first_start_migrates_and_creates_the_admin(fresh_url):
    from portal import initialise_database
    from portal.extensions import db
    from portal.models import User
    from portal.services import auth

    app = create_app(base_config(fresh_url))
    with app.app_context():
        initialise_database(app)
        initialise_database(app)  # a restart changes nothing
        admins = db.session.scalars(db.select(User)).all()
        assert [(u.username, u.role, u.default_password) for u in admins] == [
            ("admin", "Administrator", True)
        ]
        assert auth.verify_password(admins[0], "admin")
        db.engine.dispose()
