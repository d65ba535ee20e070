"""The in-process worker and timer of embedded mode (never used in production)."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask
from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty

from portal import queue as q
from worker.context import bind_app

log = logging.getLogger(__name__)


class ThreadWorker(SimpleWorker):
    """An RQ worker that can live in a thread: timer timeouts, no signal handlers."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


class EmbeddedRunner:
    """Runs queued jobs and periodic enqueues in daemon threads of the web process."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.stopping = threading.Event()
        self.periodic: list[tuple[float, str, str]] = []

    def every(self, seconds: float, func: str, job_id: str) -> None:
        self.periodic.append((seconds, func, job_id))

    def start(self) -> None:
        bind_app(self.app)
        threading.Thread(
            target=self._work, name="ecm-embedded-worker", daemon=True
        ).start()
        if self.periodic:
            threading.Thread(
                target=self._tick, name="ecm-embedded-timer", daemon=True
            ).start()

    def _work(self) -> None:
        queue = q.queue(self.app)
        worker = ThreadWorker(
            [queue], connection=queue.connection, name=f"embedded-{id(self)}"
        )
        while not self.stopping.is_set():
            try:
                worker.work(burst=True, logging_level="WARNING")
            except Exception:  # noqa: BLE001 - keep the embedded worker alive
                log.exception("embedded worker loop failed")
            self.stopping.wait(0.2)

    def _tick(self) -> None:
        next_run = {job_id: 0.0 for _, _, job_id in self.periodic}
        while not self.stopping.is_set():
            now = time.monotonic()
            for seconds, func, job_id in self.periodic:
                if now >= next_run[job_id]:
                    next_run[job_id] = now + seconds
                    with self.app.app_context():
                        try:
                            from worker.schedule import enqueue_once

                            enqueue_once(func, job_id)
                        except Exception:  # noqa: BLE001
                            log.exception("periodic enqueue of %s failed", func)
            self.stopping.wait(0.5)

    def stop(self) -> None:
        self.stopping.set()


def run_queued_jobs(app: Flask) -> bool:
    """Run every queued job in this thread, as `flask worker --burst` would, without
    installing signal handlers in the calling process (tests, one-off scripts)."""
    from worker import context

    previous = context._app
    bind_app(app)
    try:
        queue = q.queue(app)
        worker = ThreadWorker([queue], connection=queue.connection)
        return worker.work(burst=True, logging_level="WARNING")
    finally:
        context._app = previous
