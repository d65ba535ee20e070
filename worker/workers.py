"""RQ workers that run each job inside the Flask app context of the process."""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask
from rq import SimpleWorker, Worker
from rq.exceptions import StopRequested
from rq.timeouts import TimerDeathPenalty

from portal import queue as q
from portal.extensions import db

log = logging.getLogger(__name__)


class _JobsInAppContext:
    """Run each job inside `self.app`'s context and record that work was taken."""

    app: Flask

    def perform_job(self, job, queue, *args: Any, **kwargs: Any) -> bool:
        with self.app.app_context():
            q.record_work_taken(self.connection, self.name, job.id)
            try:
                return super().perform_job(job, queue, *args, **kwargs)
            finally:
                db.session.remove()


class AppWorker(_JobsInAppContext, Worker):
    """A forking RQ worker whose jobs run in `app`'s context.

    SIGTERM/SIGINT ask for a warm stop: the current job may finish for up to
    `stop_timeout` seconds, then its work horse is stopped (an import resumes from its
    last committed chunk, a feed tick's leases expire). `stop_event` is shared with
    the `flask worker` command: a signal that came before RQ installed its handlers
    stops the loop at its first turn, and the command knows the stop was asked for,
    not caused by a lost Redis.
    """

    def __init__(
        self,
        *args: Any,
        app: Flask,
        stop_event: threading.Event,
        stop_timeout: float = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.app = app
        self.stop_event = stop_event
        self.stop_timeout = stop_timeout

    def check_for_suspension(self, burst: bool) -> None:
        if self.stop_event.is_set():
            raise StopRequested()
        super().check_for_suspension(burst)

    def request_stop(self, signum, frame) -> None:
        self.stop_event.set()
        if self.horse_pid and self.stop_timeout > 0:
            timer = threading.Timer(self.stop_timeout, self._stop_horse)
            timer.daemon = True
            timer.start()
        super().request_stop(signum, frame)

    def _stop_horse(self) -> None:
        if self.horse_pid:
            log.warning(
                "worker %s: job still running %gs after the stop request; stopping it",
                self.name,
                self.stop_timeout,
            )
            self.kill_horse()


class ThreadWorker(_JobsInAppContext, SimpleWorker):
    """An RQ worker that can live in a thread: timer timeouts, no signal handlers,
    jobs in `app`'s context (embedded mode and tests)."""

    death_penalty_class = TimerDeathPenalty

    def __init__(self, *args: Any, app: Flask, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = app

    def _install_signal_handlers(self) -> None:
        pass


def run_queued_jobs(app: Flask) -> bool:
    """Run every queued job in this thread, as `flask worker --burst` would, without
    installing signal handlers in the calling process (tests, one-off scripts)."""
    queue = q.queue(app)
    return ThreadWorker([queue], connection=queue.connection, app=app).work(
        burst=True, logging_level="WARNING"
    )
