"""A real `flask worker` SIGKILLed in the middle of a feed tick (issue #6).

Three campaigns of 100 due contacts, a batch of 100: the tick dispatches campaign A,
then claims campaign B and hangs inside the dialer's `dispatch` (the claim has
committed state 1), where the worker's whole process group and its RQ work horse are
SIGKILLed. Nothing is lost or dialed twice, a second worker right after the kill does
not touch the in-flight claims, and once their response timeout passes a tick returns
them to pending without using an attempt and dials each of them exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from rq import Queue
from sqlalchemy import func, insert, select

from portal.extensions import db
from portal.models import CallResultInbox, Contact, FeedHeartbeat, utcnow
from portal.queue import QUEUE_NAME
from portal.services import preferences
from portal.services.enums import COMPLETED, DISPATCHED, PENDING, RESULT_CONNECTED
from portal.services.feed import run_tick
from tests.conftest import BACKENDS, REDIS_URL
from tests.faults.processes import process_env, spawn_flask, stop, wait_for
from tests.faults.slow_dialer import SlowRecordingDialer
from tests.feed.support import add_contacts, make_campaign, make_strategy

PER_CAMPAIGN = 100
TIMEOUT = 60  # the campaigns' response timeout, seconds
FACTORY = "tests.faults.slow_dialer:slow_dialer"


@pytest.fixture
def redis_db():
    conn = redis.Redis.from_url(REDIS_URL)
    conn.flushdb()
    yield conn
    conn.flushdb()


def _dials(path: Path) -> list[tuple[int, int, int]]:
    if not path.exists():
        return []
    return [
        tuple(int(x) for x in line.split(","))
        for line in path.read_text(encoding="ascii").splitlines()
    ]


def _states() -> dict[tuple[int, int, int], int]:
    """(campaign, request state, attempts made) -> contacts, read fresh."""
    db.session.rollback()
    rows = db.session.execute(
        select(
            Contact.campaign_id,
            Contact.request_state,
            Contact.attempts_made,
            func.count(),
        ).group_by(Contact.campaign_id, Contact.request_state, Contact.attempts_made)
    ).all()
    db.session.rollback()
    return {(c, s, m): n for c, s, m, n in rows}


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _log(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_sigkill_during_a_feed_tick_loses_nothing_and_doubles_nothing(
    backend, admin, app, redis_db, tmp_path
):
    """Workers share PostgreSQL and Redis in production mode: PostgreSQL only."""
    strategy = make_strategy(admin, max_attempts=3)
    a, b, c = (
        make_campaign(
            admin,
            strategy,
            name=f"Kill {n}",
            startTime="00:00",
            endTime="00:00",  # equal start and end: open all day
            responseTimeout=TIMEOUT,
        )
        for n in "ABC"
    )
    due = utcnow() - timedelta(minutes=1)
    ids = {x.id: set(add_contacts(x, PER_CAMPAIGN, dial_time=due)) for x in (a, b, c)}
    total = 3 * PER_CAMPAIGN
    preferences.save_preferences(admin, {"campaignBatchSize": PER_CAMPAIGN})
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    record = tmp_path / "dials.csv"
    inflight = Path(f"{record}.inflight")
    queue = Queue(QUEUE_NAME, connection=redis_db)
    env = process_env(
        url, REDIS_URL, ECM_DIALER_FACTORY=FACTORY, ECM_RECORD_FILE=str(record)
    )

    # 1. a worker runs the tick: batch 1 (A) is dialed, batch 2 (B) hangs in dispatch
    log = tmp_path / "worker-killed.log"
    worker = spawn_flask(["worker"], {**env, "ECM_BLOCK_AT_BATCH": "2"}, log)
    horse = None
    try:
        queue.enqueue("worker.jobs.feed_tick", job_id="feed-tick-killed")
        hung = wait_for(
            lambda: len(rows := _dials(inflight)) == PER_CAMPAIGN and rows,
            20,
            f"the tick never reached batch 2: {_log(log)}",
            every=0.05,
        )
        horse = hung[0][2]
        assert horse != worker.pid, "RQ runs the job in a forked work horse"
        wait_for(
            lambda: _states().get((b.id, DISPATCHED, 1)) == PER_CAMPAIGN,
            10,
            "batch 2's claim did not commit before dispatch",
        )
        # the machine dies: the worker's process group and the horse's own group
        _kill_group(worker.pid)
        _kill_group(horse)
        worker.wait(10)
        wait_for(lambda: not _alive(horse), 10, "the work horse survived SIGKILL")
    finally:
        if horse is not None and _alive(horse):
            _kill_group(horse)
        stop(worker)
    assert worker.returncode == -signal.SIGKILL

    # nothing lost: every contact is in a known state and the counts add up
    states = _states()
    assert states == {
        (a.id, DISPATCHED, 1): PER_CAMPAIGN,  # dialed before the kill
        (b.id, DISPATCHED, 1): PER_CAMPAIGN,  # claimed, in flight when killed
        (c.id, PENDING, 0): PER_CAMPAIGN,  # never reached
    }
    assert sum(states.values()) == total
    dials = _dials(record)
    assert Counter(cid for cid, _, _ in dials) == Counter(ids[a.id])
    assert {(attempt, pid) for _, attempt, pid in dials} == {(1, horse)}
    assert {cid for cid, _, _ in _dials(inflight)} == ids[b.id]
    assert db.session.get(FeedHeartbeat, "feed-tick") is None, "the tick finished"
    db.session.rollback()

    # 2. a second worker right after the kill, before B's response timeout: it dials
    #    what was never claimed (C) and leaves the in-flight claims alone
    queue.enqueue("worker.jobs.feed_tick", job_id="feed-tick-after-kill")
    log = tmp_path / "worker-after.log"
    second = spawn_flask(["worker", "--burst"], env, log)
    try:
        assert second.wait(60) == 0, _log(log)
    except subprocess.TimeoutExpired:
        stop(second)
        raise
    heartbeat = db.session.get(FeedHeartbeat, "feed-tick")
    assert heartbeat is not None, _log(log)
    assert (heartbeat.detail["timedOut"], heartbeat.detail["dispatched"]) == (
        0,
        PER_CAMPAIGN,
    )
    assert _states() == {
        (a.id, DISPATCHED, 1): PER_CAMPAIGN,
        (b.id, DISPATCHED, 1): PER_CAMPAIGN,
        (c.id, DISPATCHED, 1): PER_CAMPAIGN,
    }
    dials = _dials(record)
    assert Counter(cid for cid, _, _ in dials) == Counter(ids[a.id] | ids[c.id])
    assert {attempt for _, attempt, _ in dials} == {1}

    # 3. one second before B's response timeout a tick still returns and dials nothing
    claimed_at = db.session.scalar(
        select(func.max(Contact.request_time)).where(Contact.campaign_id == b.id)
    )
    dialer = SlowRecordingDialer(str(record))
    early = run_tick(claimed_at + timedelta(seconds=TIMEOUT - 1), dialer=dialer)
    assert (early.timed_out, early.dispatched, early.errors) == (0, 0, [])
    assert len(_dials(record)) == 2 * PER_CAMPAIGN

    # 4. the dialer answers what it received; after the timeout the leases come back
    answered = utcnow()
    db.session.execute(
        insert(CallResultInbox.__table__),
        [
            {
                "contact_id": cid,
                "call_result": RESULT_CONNECTED,
                "raw": "CONNECTED",
                "received_at": answered,
            }
            for cid in ids[a.id] | ids[c.id]
        ],
    )
    db.session.commit()
    later = max(claimed_at + timedelta(seconds=TIMEOUT + 1), answered)
    counts = run_tick(later, dialer=SlowRecordingDialer(str(record)))
    assert counts.errors == []
    assert (counts.applied, counts.timed_out, counts.dispatched) == (
        2 * PER_CAMPAIGN,
        PER_CAMPAIGN,
        PER_CAMPAIGN,
    )
    # returned without using an attempt (1 -> 0), then dialed once more (0 -> 1)
    assert _states() == {
        (a.id, COMPLETED, 1): PER_CAMPAIGN,
        (b.id, DISPATCHED, 1): PER_CAMPAIGN,
        (c.id, COMPLETED, 1): PER_CAMPAIGN,
    }
    dials = _dials(record)
    per_contact = Counter(cid for cid, _, _ in dials)
    assert len(per_contact) == total and set(per_contact.values()) == {1}
    assert {(attempt, pid) for cid, attempt, pid in dials if cid in ids[b.id]} == {
        (1, os.getpid())
    }
    assert set(
        db.session.scalars(
            select(Contact.request_time).where(Contact.campaign_id == b.id)
        )
    ) == {later}

    # and the next tick finds nothing to dial: no contact is handed over twice
    again = run_tick(later, dialer=SlowRecordingDialer(str(record)))
    assert (again.timed_out, again.dispatched) == (0, 0)
    assert len(_dials(record)) == total
