"""The in-process worker and timer of embedded mode (never used in production)."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from portal import queue as q
from worker.jobs import PERIODIC_JOBS
from worker.schedule import enqueue_once
from worker.workers import ThreadWorker

log = logging.getLogger(__name__)
EXTENSION = "ecm_embedded_runner"


class EmbeddedRunner:
    """Runs queued jobs and periodic enqueues in daemon threads of the web process."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for name, target in (("worker", self._work), ("timer", self._tick)):
            thread = threading.Thread(
                target=target, name=f"ecm-embedded-{name}", daemon=True
            )
            thread.start()
            self.threads.append(thread)

    def alive(self) -> bool:
        return not self.stopping.is_set() and all(t.is_alive() for t in self.threads)

    def _work(self) -> None:
        queue = q.queue(self.app)
        worker = ThreadWorker(
            [queue],
            connection=queue.connection,
            name=f"embedded-{id(self)}",
            app=self.app,
        )
        while not self.stopping.is_set():
            try:
                worker.work(burst=True, logging_level="WARNING")
            except Exception:  # noqa: BLE001 - keep the embedded worker alive
                log.exception("embedded worker loop failed")
            self.stopping.wait(0.2)

    def _tick(self) -> None:
        next_run = {job_id: 0.0 for _, _, job_id in PERIODIC_JOBS}
        while not self.stopping.is_set():
            now = time.monotonic()
            for seconds_key, func, job_id in PERIODIC_JOBS:
                if now < next_run[job_id]:
                    continue
                seconds = float(self.app.config[seconds_key])
                next_run[job_id] = now + seconds
                try:
                    enqueue_once(q.connection(self.app), func, job_id, seconds)
                except Exception:  # noqa: BLE001 - the timer must outlive one failure
                    log.exception("periodic enqueue of %s failed", func)
            self.stopping.wait(0.5)

    def stop(self, wait: float | None = None) -> None:
        """Ask both threads to stop; with `wait`, join each for up to that long."""
        self.stopping.set()
        if wait is not None:
            for thread in self.threads:
                thread.join(timeout=wait)


def start(app: Flask) -> EmbeddedRunner:
    runner = EmbeddedRunner(app)
    app.extensions[EXTENSION] = runner
    runner.start()
    return runner


def start_on_first_request(app: Flask) -> None:
    """Start the runner when the app serves, not when a CLI command loads it."""
    lock = threading.Lock()

    @app.before_request
    def _ensure_runner() -> None:
        if EXTENSION in app.extensions:
            return
        with lock:
            if EXTENSION not in app.extensions:
                start(app)
