"""Imports run by real workers: a `flask worker` process on real Redis and PostgreSQL,
the embedded in-process worker, and a worker SIGKILLed in the middle of an import."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from tests.conftest import PG_URL, REDIS_URL, Api, login_token
from tests.services.upload_files import make_campaign, wait_until, write_contacts_csv

ROOT = Path(__file__).resolve().parents[2]
SECRET = "worker-test-secret-0123456789"
BULK = "/umm/ecm/callback/uploadBulkCaller"


@pytest.fixture(params=["postgresql"])
def backend(request):
    """Worker processes share the database with the test: PostgreSQL only."""
    return request.param


@pytest.fixture
def redis_db():
    conn = redis.Redis.from_url(REDIS_URL)
    conn.flushdb()
    yield conn
    conn.flushdb()


def worker_env(app, **extra) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": PG_URL,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": SECRET,
        "ECM_ADMIN_PASSWORD": "not-the-default-password",
        "ECM_UPLOAD_DIR": app.config["ECM_UPLOAD_DIR"],
        "ECM_AUTO_INIT": "0",
        "ECM_START_WORKER": "0",
        "FLASK_APP": "portal:create_app",
    }
    env.update(extra)
    return env


def rq_worker(app, burst: bool, **extra) -> subprocess.Popen:
    """A real `flask worker` process (RQ, forking work horses) on the portal's queue."""
    command = [
        sys.executable,
        "-m",
        "flask",
        "worker",
        "--name",
        f"test-{time.monotonic_ns()}",
    ]
    if burst:
        command.append("--burst")
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=worker_env(app, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: SIGKILL takes the horse too
    )


def descendants(pid: int) -> list[int]:
    """Processes started by `pid`, found in /proc (RQ's work horse calls setpgrp)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_hard(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def production_app(app_factory, **extra):
    app = app_factory(REDIS_URL=REDIS_URL, **extra)
    with app.app_context():
        from portal.services import users

        users.ensure_admin("admin", is_default=True)
    return app


def upload(app, path: Path, campaign_id: int) -> int:
    client = app.test_client()
    api = Api(client, login_token(client, "admin", "admin"))
    res = api.post(
        BULK,
        data={
            "campaignId": str(campaign_id),
            "file": (io.BytesIO(path.read_bytes()), path.name),
        },
        content_type="multipart/form-data",
    )
    assert res.status_code == 200, res.get_data(as_text=True)
    return res.get_json()["uploadId"]


def setup_campaign(app) -> int:
    from portal.extensions import db
    from portal.models import User

    with app.app_context():
        admin = db.session.query(User).filter_by(username="admin").one()
        return make_campaign(admin, name="Worker uploads").id


def counts(app, upload_id: int) -> dict:
    from portal.extensions import db
    from portal.models import Contact, Upload, UploadError

    with app.app_context():
        db.session.expire_all()
        up = db.session.get(Upload, upload_id)
        stored = db.session.scalar(
            select(func.count())
            .select_from(Contact)
            .where(Contact.upload_id == upload_id)
        )
        distinct_rows = db.session.scalar(
            select(func.count(func.distinct(Contact.row_number))).where(
                Contact.upload_id == upload_id
            )
        )
        error_lines = db.session.scalars(
            select(UploadError.line_number)
            .where(UploadError.upload_id == upload_id)
            .order_by(UploadError.line_number)
        ).all()
        return {
            "state": up.state,
            "rows_read": up.rows_read,
            "accepted": up.accepted,
            "rejected": up.rejected,
            "duplicates": up.duplicates,
            "stored": stored,
            "distinct_rows": distinct_rows,
            "error_lines": list(error_lines),
            "error": up.error_message,
        }


def assert_complete(result: dict, info, rows: int) -> None:
    assert result["state"] == "done", result["error"]
    assert result["rows_read"] == rows
    assert (result["accepted"], result["rejected"], result["duplicates"]) == (
        info.accepted,
        info.rejected,
        0,
    )
    assert result["stored"] == result["distinct_rows"] == info.accepted
    assert result["error_lines"] == sorted(info.bad_lines)


@pytest.mark.slow
def test_fifty_thousand_rows_through_a_real_rq_worker(app_factory, redis_db, tmp_path):
    app = production_app(app_factory)
    campaign_id = setup_campaign(app)
    info = write_contacts_csv(tmp_path / "fifty.csv", 50_000, header=True)
    upload_id = upload(app, info.path, campaign_id)
    assert redis_db.exists(f"rq:job:import-{upload_id}")
    worker = rq_worker(app, burst=True)
    output, _ = worker.communicate(timeout=300)
    assert worker.returncode == 0, output.decode(errors="replace")
    assert_complete(counts(app, upload_id), info, 50_000)
    assert b"import-" in output  # the worker's own log names the deterministic job id


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_fifty_thousand_rows_through_the_embedded_worker(app_factory, tmp_path):
    app = app_factory(REDIS_URL=None, ECM_START_WORKER=True)
    with app.app_context():
        from portal.services import users

        users.ensure_admin("admin", is_default=True)
    campaign_id = setup_campaign(app)
    info = write_contacts_csv(tmp_path / "fifty.csv", 50_000)
    upload_id = upload(app, info.path, campaign_id)

    def finished() -> bool:
        """The upload's own state only: counting its contacts on every poll competed
        with the import for the machine's two cores (124 s a run, now a few)."""
        from portal.extensions import db
        from portal.models import Upload

        with app.app_context():
            db.session.expire_all()
            return db.session.get(Upload, upload_id).state in ("done", "failed")

    try:
        wait_until(finished, timeout=600, interval=0.25)
        assert_complete(counts(app, upload_id), info, 50_000)
    finally:
        stop_embedded(app)


def stop_embedded(app) -> None:
    """Stop the in-process worker and timer before the data is wiped under them."""
    import threading

    app.extensions["ecm_embedded_runner"].stop()
    for thread in threading.enumerate():
        if thread.name.startswith("ecm-embedded-"):
            thread.join(timeout=60)


@pytest.mark.slow
def test_sigkilled_worker_loses_and_duplicates_nothing(app_factory, redis_db, tmp_path):
    rows = 200_000
    app = production_app(app_factory)
    campaign_id = setup_campaign(app)
    info = write_contacts_csv(tmp_path / "big.csv", rows, bad_every=20, dnc_every=0)
    upload_id = upload(app, info.path, campaign_id)
    worker = rq_worker(app, burst=False, ECM_IMPORT_CHUNK_ROWS="10000")
    try:
        partial = wait_until(
            lambda: (c := counts(app, upload_id))["rows_read"] > 0 and c,
            timeout=120,
            interval=0.02,
        )
        horses = descendants(worker.pid)
        assert horses, "the worker runs the import in a forked work horse"
        kill_hard(
            [worker.pid, *horses]
        )  # the whole machine dies, as far as RQ can tell
    finally:
        kill_hard([worker.pid, *descendants(worker.pid)])
        worker.wait(timeout=30)
    time.sleep(0.5)  # let PostgreSQL notice the dead connection and roll it back
    killed = counts(app, upload_id)
    assert 0 < partial["rows_read"] <= killed["rows_read"] < rows, killed
    assert killed["state"] == "running"
    # what was committed is exact: one checkpoint, its rows, its error rows
    assert killed["stored"] == killed["distinct_rows"] == killed["accepted"]
    assert len(killed["error_lines"]) == killed["rejected"]
    # the operator's command sees the dead job and queues it again
    resume = subprocess.run(
        [sys.executable, "-m", "flask", "uploads-resume", "--older-than", "0"],
        cwd=ROOT,
        env=worker_env(app),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert resume.returncode == 0, resume.stderr
    assert resume.stdout.strip() == f"resumed uploads: {upload_id}"
    again = rq_worker(app, burst=True)
    output, _ = again.communicate(timeout=300)
    assert again.returncode == 0, output.decode(errors="replace")
    assert_complete(counts(app, upload_id), info, rows)
    # running the job once more changes nothing
    with app.app_context():
        from portal.services import uploads

        assert uploads.run_import(upload_id)["accepted"] == info.accepted
    assert_complete(counts(app, upload_id), info, rows)


@pytest.mark.slow
def test_sigkilled_work_horse_is_retried_by_rq_and_resumes(
    app_factory, redis_db, tmp_path
):
    """The OOM-killer case: only the horse dies; its worker fails the job and RQ's
    Retry(max=3) runs it again at once, from the last checkpoint."""
    rows = 100_000
    app = production_app(app_factory)
    campaign_id = setup_campaign(app)
    info = write_contacts_csv(tmp_path / "horse.csv", rows, bad_every=20, dnc_every=0)
    upload_id = upload(app, info.path, campaign_id)
    worker = rq_worker(app, burst=True, ECM_IMPORT_CHUNK_ROWS="10000")
    try:
        wait_until(
            lambda: counts(app, upload_id)["rows_read"] > 0, timeout=120, interval=0.02
        )
        horses = descendants(worker.pid)
        assert horses
        kill_hard(horses)
        output, _ = worker.communicate(timeout=300)
    finally:
        kill_hard([worker.pid, *descendants(worker.pid)])
        worker.wait(timeout=30)
    log = output.decode(errors="replace")
    assert worker.returncode == 0, log
    assert_complete(counts(app, upload_id), info, rows)
    assert "terminated unexpectedly" in log
    assert log.count(f"(import-{upload_id})\n") >= 2, log  # started twice: the retry
