"""The third adapter beside web/ and api/: RQ jobs, the worker and scheduler commands,
and embedded mode's in-process runner.

`init_app` is all the factory calls. Jobs run inside the app context that their worker
gives them (`worker.workers.AppWorker`), so no module here builds or holds an app.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Add the worker commands and, in embedded mode, the in-process runner."""
    from worker import cli, embedded

    cli.register(app)
    if app.config["ECM_START_WORKER"]:
        embedded.start_on_first_request(app)
