"""The queue each app shares with its threads, health measured by work done, and how
`flask worker` and `flask scheduler` stop and share periods (issues #9 and #16)."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import redis
from rq import Queue, Worker
from rq.job import Job, JobStatus

from portal import queue as q
from tests.conftest import PG_URL, REDIS_URL
from tests.faults.processes import process_env, spawn_flask, stop, wait_for
from tests.web.conftest import Browser, text
from worker import embedded
from worker.schedule import claim_period, enqueue_once
from worker.workers import run_queued_jobs

STALLED = re.compile(r"1 job has waited \d+ s and no worker is taking them")


@pytest.mark.parametrize("start", range(5))
def test_the_embedded_worker_takes_the_jobs_the_app_queues(app_factory, start):
    """Five fresh apps in a row: every thread sees one connection, and a job queued
    from a request thread is run by the embedded worker (the race of issue #9)."""
    app = app_factory(REDIS_URL=None)
    with ThreadPoolExecutor(16) as pool:
        seen = set(pool.map(lambda _: id(q.connection(app)), range(64)))
    assert seen == {id(app.extensions["ecm_redis"])}
    runner = embedded.start(app)
    try:
        job = q.queue(app).enqueue("tests.worker.slow_jobs.sleep_for", 0)
        wait_for(
            lambda: job.get_status(refresh=True) == "finished",
            15,
            "the embedded worker never ran the queued job",
        )
        assert runner.alive()
    finally:
        runner.stop(wait=10)


def test_health_says_when_jobs_wait_and_no_worker_takes_them(app_factory):
    app = app_factory(REDIS_URL=None, ECM_QUEUE_STALL_SECONDS=0.3)
    with app.app_context():
        from portal.services import users

        users.ensure_admin("admin", is_default=True)
    client = app.test_client()
    assert client.get("/healthz").get_json()["status"] != "unhealthy"

    q.queue(app).enqueue("tests.worker.slow_jobs.sleep_for", 0)
    res = wait_for(
        lambda: (r := client.get("/healthz")).status_code == 503 and r,
        10,
        "/healthz never said the queue is stalled",
    )
    body = res.get_json()
    assert body["status"] == "unhealthy"
    assert body["workers"]["stalled"] is True
    assert STALLED.fullmatch(body["workers"]["message"])
    assert body["queue"]["depth"] == 1

    page = Browser(app)
    assert page.login("admin", "admin").status_code == 302
    html = text(page.client.get("/"))
    assert 'id="worker-stalled"' in html and STALLED.search(html)

    assert run_queued_jobs(app)  # a worker takes the job: healthy again
    body = client.get("/healthz").get_json()
    assert body["status"] != "unhealthy" and body["workers"]["stalled"] is False
    assert body["workers"]["lastJobTakenSecondsAgo"] is not None
    assert 'id="worker-stalled"' not in text(page.client.get("/"))


def test_a_worker_that_takes_jobs_is_not_stalled_while_one_runs_long(app_factory):
    """Jobs queued behind a job that is being worked on were taken after it: the
    backlog is not stalled while the worker keeps taking work."""
    app = app_factory(REDIS_URL=None, ECM_QUEUE_STALL_SECONDS=0.2)
    conn = q.connection(app)
    q.queue(app).enqueue("tests.worker.slow_jobs.sleep_for", 0)
    time.sleep(0.3)  # the job has now waited longer than the stall threshold
    q.record_work_taken(conn, "w1", "some-job")  # ... and then a worker took one
    assert q.backlog(app, stall_after=0.2)["stalled"] is False


@pytest.fixture
def rq_redis():
    conn = redis.Redis.from_url(REDIS_URL)
    conn.flushdb()
    yield conn
    conn.flushdb()


@pytest.fixture(params=["postgresql"])
def backend(request):
    """Worker processes share the database with the test: PostgreSQL only."""
    return request.param


def _worker(app_factory, tmp_path, rq_redis, **extra):
    app_factory()  # the schema on the test database
    env = process_env(PG_URL, REDIS_URL, **extra)
    proc = spawn_flask(["worker"], env, tmp_path / "worker.log")
    wait_for(
        lambda: Worker.all(connection=rq_redis) or proc.poll() is not None,
        30,
        "flask worker did not register",
    )
    assert proc.poll() is None, (tmp_path / "worker.log").read_text()
    return proc


def _exits_within(proc, seconds: float) -> float:
    started = time.monotonic()
    proc.wait(seconds)
    return time.monotonic() - started


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_an_idle_worker_stops_on_the_signal(app_factory, tmp_path, rq_redis, sig):
    proc = _worker(app_factory, tmp_path, rq_redis)
    try:
        os.kill(proc.pid, sig)
        assert _exits_within(proc, 10) < 10
        assert proc.returncode == 0
        assert "worker: stopped" in (tmp_path / "worker.log").read_text()
        assert Worker.all(connection=rq_redis) == []
    finally:
        stop(proc)


def test_a_busy_worker_finishes_its_job_then_stops(app_factory, tmp_path, rq_redis):
    proc = _worker(app_factory, tmp_path, rq_redis, ECM_WORKER_STOP_TIMEOUT="20")
    try:
        job = Queue("ecm", connection=rq_redis).enqueue(
            "tests.worker.slow_jobs.sleep_for", 2
        )
        wait_for(lambda: job.get_status(refresh=True) == "started", 20, "not started")
        os.kill(proc.pid, signal.SIGTERM)
        assert _exits_within(proc, 20) < 20
        assert Job.fetch(job.id, connection=rq_redis).get_status() == "finished"
    finally:
        stop(proc)


def test_a_job_that_outlasts_the_stop_timeout_is_stopped(
    app_factory, tmp_path, rq_redis
):
    proc = _worker(app_factory, tmp_path, rq_redis, ECM_WORKER_STOP_TIMEOUT="1")
    try:
        job = Queue("ecm", connection=rq_redis).enqueue(
            "tests.worker.slow_jobs.sleep_for", 300, job_timeout=600
        )
        wait_for(lambda: job.get_status(refresh=True) == "started", 20, "not started")
        os.kill(proc.pid, signal.SIGTERM)
        assert _exits_within(proc, 15) < 15, "the worker waited for the whole job"
        assert proc.returncode == 0
    finally:
        stop(proc)


def test_one_scheduler_per_period_claims_it(rq_redis):
    barrier = threading.Barrier(12)

    def claim(_):
        barrier.wait()
        return claim_period(redis.Redis.from_url(REDIS_URL), "feed-tick", 60)

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(claim, range(12)))
    assert results.count(True) == 1


def test_two_schedulers_enqueue_each_period_once(app_factory, tmp_path, rq_redis):
    app_factory()
    env = process_env(PG_URL, REDIS_URL, ECM_FEED_INTERVAL="1")
    worker = spawn_flask(["worker"], env, tmp_path / "worker.log")
    logs = [tmp_path / "scheduler-a.log", tmp_path / "scheduler-b.log"]
    schedulers = [spawn_flask(["scheduler"], env, log) for log in logs]
    started = time.monotonic()
    try:
        # both loops running (their signal handlers installed), however long the
        # app takes to start on a loaded machine; then their own periods count
        wait_for(
            lambda: all(
                log.exists() and "feed-tick: " in log.read_text() for log in logs
            ),
            90,
            "both schedulers running",
        )
        time.sleep(6)
    finally:
        for proc in schedulers:
            os.kill(proc.pid, signal.SIGTERM)
        for proc in schedulers:
            assert _exits_within(proc, 10) < 10
        stop(worker)
    elapsed = time.monotonic() - started
    enqueued = sum(log.read_text().count("feed-tick: enqueued") for log in logs)
    assert 1 <= enqueued <= int(elapsed) + 1, [log.read_text() for log in logs]
    assert all("scheduler: stopped" in log.read_text() for log in logs)


def _started_with_heartbeat(job, seconds_ago: float) -> None:
    """As a worker leaves a job it took: started, last heartbeat `seconds_ago`."""
    beat = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    job.set_status(JobStatus.STARTED)
    job.started_at = job.last_heartbeat = beat
    job.save()


def test_a_periodic_job_held_by_a_lost_worker_is_enqueued_again(rq_redis):
    """A host lost mid-tick left `feed-tick` started; the next period enqueues it
    again instead of waiting for RQ's maintenance pass (issue #16)."""
    func = "tests.worker.slow_jobs.sleep_for"
    job = enqueue_once(rq_redis, func, "tick-lost", 1, 0)
    _started_with_heartbeat(job, 5)  # alive: beating
    wait_for(lambda: claim_period(rq_redis, "probe", 1), 3, "no new period")
    time.sleep(1.05)
    assert enqueue_once(rq_redis, func, "tick-lost", 1, 0) is None
    _started_with_heartbeat(Job.fetch("tick-lost", connection=rq_redis), 600)
    again = wait_for(
        lambda: enqueue_once(rq_redis, func, "tick-lost", 1, 0), 3, "not enqueued"
    )
    assert again.get_status() == JobStatus.QUEUED
