"""flask commands: create-user, seed-demo, worker, scheduler, feed-tick."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext
from redis.exceptions import RedisError


def register(app: Flask) -> None:
    app.cli.add_command(create_user)
    app.cli.add_command(init_db)
    app.cli.add_command(seed_demo)
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(feed_tick_command)
    app.cli.add_command(uploads_resume_command)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Upgrade the schema and create the first administrator."""
    from flask import current_app

    from portal import initialise_database

    initialise_database(current_app)
    click.echo("database ready")


@click.command("create-user")
@click.argument("username")
@click.option(
    "--role",
    default="Viewer",
    type=click.Choice(["Administrator", "Supervisor", "Viewer"]),
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def create_user(username: str, role: str, password: str) -> None:
    """Create a portal/API user."""
    from portal.services import users
    from portal.services.errors import ValidationFailed

    try:
        user = users.create_user(
            None,
            {"username": username, "password": password, "role": role},
            system=True,
        )
    except ValidationFailed as exc:
        raise click.ClickException(
            "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        ) from None
    click.echo(f"created {user.username} ({user.role})")


@click.command("seed-demo")
@click.option("--contacts", default=300, show_default=True)
@with_appcontext
def seed_demo(contacts: int) -> None:
    """Load a believable demo: strategies, campaigns, DNC entries and contacts."""
    from portal.services import demo
    from portal.services.errors import ServiceError

    try:
        summary = demo.seed(contacts)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(", ".join(f"{k}: {v}" for k, v in summary.items()))


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--with-scheduler", is_flag=True, help="Also run RQ's scheduler.")
@with_appcontext
def worker_command(burst: bool, with_scheduler: bool) -> None:
    """Run an RQ worker on the portal's queue (production: needs REDIS_URL)."""
    import os

    from flask import current_app
    from rq import Worker

    from portal import queue as q
    from portal.extensions import db
    from worker.context import bind_app

    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        raise click.ClickException(
            "set REDIS_URL: without it the queue lives inside the web process "
            "(embedded mode runs its own worker)"
        )
    bind_app(app)
    engine = db.engine
    # each job runs in a forked work horse: it must not reuse the parent's sockets
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    while True:
        worker = Worker([q.queue(app)], connection=q.connection(app))
        try:
            worker.work(
                burst=burst, with_scheduler=with_scheduler, logging_level="INFO"
            )
        except RedisError as exc:  # RQ quits its loop when Redis goes away
            click.echo(f"worker: lost Redis ({exc})", err=True)
        if burst or worker._stop_requested:
            return
        _wait_for_redis(app)  # a Redis restart must not end the worker for good


def _wait_for_redis(app: Flask, longest: float = 30.0) -> None:
    """Block until Redis answers again, backing off up to `longest` seconds."""
    import time

    from portal import queue as q

    delay = 0.5
    while not q.queue_available(app):
        click.echo(f"worker: Redis unavailable, retrying in {delay:g} s", err=True)
        time.sleep(delay)
        delay = min(delay * 2, longest)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Enqueue each periodic job once and exit.")
@with_appcontext
def scheduler_command(once: bool) -> None:
    """Enqueue the periodic jobs (the feed tick) every interval; safe on many hosts."""
    import time

    from flask import current_app

    from worker.jobs import PERIODIC_JOBS
    from worker.schedule import enqueue_once

    config = current_app.config
    next_run = {job_id: 0.0 for _, _, job_id in PERIODIC_JOBS}
    while True:
        now = time.monotonic()
        for seconds_key, func, job_id in PERIODIC_JOBS:
            if now >= next_run[job_id]:
                next_run[job_id] = now + float(config[seconds_key])
                try:
                    job = enqueue_once(func, job_id)
                except RedisError as exc:  # keep scheduling once Redis is back
                    click.echo(f"{job_id}: queue unavailable ({exc})", err=True)
                    continue
                click.echo(
                    f"{job_id}: {'enqueued' if job else 'still queued or running'}"
                )
        if once:
            return
        time.sleep(0.5)


@click.command("feed-tick")
@with_appcontext
def feed_tick_command() -> None:
    """Run one feed tick inline and print its counts."""
    from portal.services.feed import run_tick

    counts = run_tick()
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
    from flask import current_app

    from portal.services import uploads

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
