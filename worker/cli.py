"""flask worker, flask scheduler, flask feed-tick, flask uploads-resume."""

from __future__ import annotations

import os
import signal
import threading
import time

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from redis.exceptions import RedisError

from portal import queue as q
from portal.extensions import db
from portal.services import uploads
from portal.services.feed import run_tick
from worker.jobs import PERIODIC_JOBS
from worker.schedule import enqueue_once
from worker.workers import AppWorker

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def register(app: Flask) -> None:
    for command in (
        worker_command,
        scheduler_command,
        feed_tick_command,
        uploads_resume_command,
    ):
        app.cli.add_command(command)


def _production_app() -> Flask:
    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        raise click.ClickException(
            "set REDIS_URL: without it the queue lives inside the web process "
            "(embedded mode runs its own worker)"
        )
    return app


class _StopOnSignal:
    """SIGTERM/SIGINT outside RQ's loop (while waiting for Redis, between periods)."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, lambda *_: self.event.set())

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when a stop signal arrived."""
        return self.event.wait(seconds)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--with-scheduler", is_flag=True, help="Also run RQ's scheduler.")
@click.option("--name", default=None, help="Worker name (default: a random one).")
@with_appcontext
def worker_command(burst: bool, with_scheduler: bool, name: str | None) -> None:
    """Run an RQ worker on the portal's queue (production: needs REDIS_URL).

    SIGTERM or SIGINT stops it: the current job gets ECM_WORKER_STOP_TIMEOUT seconds
    to finish. A lost Redis does not stop it: it waits and starts again.
    """
    app = _production_app()
    engine = db.engine
    # each job runs in a forked work horse: it must not reuse the parent's sockets
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    stop = _StopOnSignal()
    while True:
        stop.install()  # until RQ installs its own handlers inside work()
        worker = AppWorker(
            [q.queue(app)],
            connection=q.connection(app),
            name=name,
            app=app,
            stop_event=stop.event,
            stop_timeout=app.config["ECM_WORKER_STOP_TIMEOUT"],
        )
        try:
            worker.work(
                burst=burst, with_scheduler=with_scheduler, logging_level="INFO"
            )
        except RedisError as exc:
            click.echo(f"worker: lost Redis ({exc})", err=True)
        if burst or stop.event.is_set():
            click.echo("worker: stopped")
            return
        # RQ leaves its loop when Redis goes away; wait for it, unless told to stop
        stop.install()
        if not _wait_for_redis(app, stop):
            click.echo("worker: stopped")
            return


def _wait_for_redis(app: Flask, stop: _StopOnSignal, longest: float = 30.0) -> bool:
    """Block until Redis answers again (True), or a stop signal arrives (False)."""
    delay = 0.5
    while not q.queue_available(app):
        click.echo(f"worker: Redis unavailable, retrying in {delay:g} s", err=True)
        if stop.wait(delay):
            return False
        delay = min(delay * 2, longest)
    return not stop.event.is_set()


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Enqueue each periodic job once and exit.")
@with_appcontext
def scheduler_command(once: bool) -> None:
    """Enqueue the periodic jobs (the feed tick) every interval; safe on many hosts:
    each period's job is enqueued by the first scheduler only."""
    app = _production_app()
    stop = _StopOnSignal()
    stop.install()
    next_run = {job_id: 0.0 for _, _, job_id in PERIODIC_JOBS}
    while not stop.event.is_set():
        now = time.monotonic()
        for seconds_key, func, job_id in PERIODIC_JOBS:
            if now < next_run[job_id]:
                continue
            seconds = float(app.config[seconds_key])
            next_run[job_id] = now + seconds
            try:
                job = enqueue_once(q.connection(app), func, job_id, seconds)
            except RedisError as exc:  # keep scheduling once Redis is back
                click.echo(f"{job_id}: queue unavailable ({exc})", err=True)
                continue
            click.echo(f"{job_id}: {'enqueued' if job else 'already enqueued'}")
        if once:
            return
        stop.wait(0.5)
    click.echo("scheduler: stopped")


@click.command("feed-tick")
@with_appcontext
def feed_tick_command() -> None:
    """Run one feed tick inline and print its counts."""
    counts = run_tick().as_dict()
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))


@click.command("uploads-resume")
@click.option(
    "--older-than",
    default=120,
    show_default=True,
    help="Seconds without a job heartbeat before a running import counts as dead.",
)
@with_appcontext
def uploads_resume_command(older_than: int) -> None:
    """Queue again the uploads whose worker died; each continues from its checkpoint."""
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException(
            "set REDIS_URL: in embedded mode the web process resumes its own uploads"
        )
    resumed = uploads.resume_stale(older_than)
    click.echo(
        f"resumed uploads: {', '.join(map(str, resumed))}"
        if resumed
        else "nothing to resume"
    )
