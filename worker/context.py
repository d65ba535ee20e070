"""The Flask app a job runs in: the embedded worker binds its own, `rq worker` makes one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask

_app: Flask | None = None


def bind_app(app: Flask) -> None:
    """Let jobs in this process use an existing app instead of creating another."""
    global _app
    _app = app


def get_app() -> Flask:
    global _app
    if _app is None:
        from portal import create_app

        os.environ.setdefault("ECM_START_WORKER", "0")
        _app = create_app()
    return _app


@contextmanager
def app_context() -> Iterator[Flask]:
    """Open an app context for one job and release the DB session afterwards."""
    app = get_app()
    with app.app_context():
        try:
            yield app
        finally:
            from portal.extensions import db

            db.session.remove()
