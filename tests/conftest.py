"""Fixture chain app -> client -> auth, run once per database backend.

ECM_TEST_DATABASES lists the backends (default "sqlite,postgresql"). A listed backend
that is unreachable fails the run: CI must never silently skip PostgreSQL.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

PG_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKENDS = [
    b.strip()
    for b in os.environ.get("ECM_TEST_DATABASES", "sqlite,postgresql").split(",")
    if b.strip()
]
_TMP = Path(tempfile.mkdtemp(prefix="ecm-tests-"))
os.environ.setdefault("XDG_CONFIG_HOME", str(_TMP / "xdg-config"))
os.environ.setdefault("XDG_CACHE_HOME", str(_TMP / "xdg-cache"))
# The calling rules (issue #12) judge real clock time in the called party's zone, so
# processes the tests start (workers, the CLI, the README's commands) run with them
# off unless a test turns them on; in-process apps get the same from base_config.
os.environ.setdefault("ECM_CALLING_RULES", "0")

_schema_ready: dict[str, str] = {}


def database_url(backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{_TMP / 'test.sqlite3'}"
    if backend == "postgresql":
        return PG_URL
    raise ValueError(backend)


def _prepare_schema(backend: str) -> str:
    """Create the schema once per backend through the real migrations."""
    url = database_url(backend)
    if backend in _schema_ready:
        return url
    if backend == "postgresql":
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        except Exception as exc:  # noqa: BLE001 - any failure ends the run, saying why
            pytest.fail(f"PostgreSQL at {url} is required for the test run: {exc}")
        engine.dispose()
    else:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    from portal import create_app, initialise_database

    app = create_app(base_config(url))
    with app.app_context():
        initialise_database(app)
        from portal.extensions import db

        db.engine.dispose()
    _schema_ready[backend] = url
    return url


def base_config(url: str, **extra) -> dict:
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret-key-0123456789-abcdefghijkl",
        "JWT_SECRET": "test-jwt-secret-0123456789-abcdefghijkl",
        "ECM_AUTO_INIT": False,
        "ECM_START_WORKER": False,
        "ECM_ADMIN_PASSWORD": "admin",
        "ECM_UPLOAD_DIR": str(_TMP / "uploads"),
        "WTF_CSRF_ENABLED": True,
        "RATELIMIT_ENABLED": False,
        "ECM_DIALER": "simulator",
        # the calling rules (issue #12) are switched on by the tests that check them
        "ECM_CALLING_RULES": False,
    }
    config.update(extra)
    return config


def truncate_all(app) -> None:
    from portal.extensions import db

    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(
                    text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
                )
        else:
            with db.engine.begin() as conn:
                for name in reversed(tables):
                    conn.execute(text(f"DELETE FROM {name}"))
                conn.execute(text("DELETE FROM sqlite_sequence")) if conn.execute(
                    text("SELECT name FROM sqlite_master WHERE name='sqlite_sequence'")
                ).first() else None


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def app_factory(backend):
    """Build apps on the current backend; all data is wiped after the test."""
    url = _prepare_schema(backend)
    made = []

    def make(**extra):
        from portal import create_app

        app = create_app(base_config(url, **extra))
        made.append(app)
        return app

    yield make
    for app in made:
        runner = app.extensions.get("ecm_embedded_runner")
        if runner:
            runner.stop()
        cache = app.extensions.get("ecm_token_cache")
        if cache:
            cache.close()  # its listening connection
    if made:
        truncate_all(made[0])
        for app in made:
            with app.app_context():
                from portal.extensions import db

                db.engine.dispose()


@pytest.fixture
def app(app_factory):
    app = app_factory()
    with app.app_context():
        from portal.services import users

        users.ensure_admin("admin", is_default=True)
    return app


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin(ctx):
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import User

    return db.session.scalar(select(User).where(User.username == "admin"))


def make_user(role: str, username: str | None = None, password: str = "password-123"):
    from portal.services import users

    return users.create_user(
        None,
        {"username": username or role.lower(), "password": password, "role": role},
        system=True,
    )


@pytest.fixture
def supervisor(ctx):
    return make_user("Supervisor")


@pytest.fixture
def viewer(ctx):
    return make_user("Viewer")


class Api:
    """A test client that speaks the seed's wire format with a bearer token."""

    def __init__(self, client, token: str) -> None:
        self.client = client
        self.token = token

    def _headers(self, headers=None):
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def call(self, method: str, path: str, json=None, **kw):
        return self.client.open(
            path,
            method=method,
            json=json,
            headers=self._headers(kw.pop("headers", None)),
            **kw,
        )

    def get(self, path, json=None, **kw):
        return self.call("GET", path, json, **kw)

    def post(self, path, json=None, **kw):
        return self.call("POST", path, json, **kw)

    def put(self, path, json=None, **kw):
        return self.call("PUT", path, json, **kw)

    def delete(self, path, json=None, **kw):
        return self.call("DELETE", path, json, **kw)


def login_token(client, username: str, password: str) -> str:
    res = client.post(
        "/umm/api/login", json={"username": username, "password": password}
    )
    assert res.status_code == 200, res.get_data(as_text=True)
    return res.get_json()["token"]


@pytest.fixture
def api(client, app):
    return Api(client, login_token(client, "admin", "admin"))


@pytest.fixture
def viewer_api(client, app):
    with app.app_context():
        make_user("Viewer", "viewer1")
    return Api(client, login_token(client, "viewer1", "password-123"))


@pytest.fixture
def supervisor_api(client, app):
    with app.app_context():
        make_user("Supervisor", "super1")
    return Api(client, login_token(client, "super1", "password-123"))
