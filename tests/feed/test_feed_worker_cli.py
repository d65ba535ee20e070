"""Production mode end to end: `flask scheduler --once` then `flask worker --burst`
against PostgreSQL and real Redis run the feed tick and the stats refresh."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Contact, FeedHeartbeat, utcnow
from tests.conftest import BACKENDS, REDIS_URL
from tests.feed.support import add_contacts, make_campaign, make_strategy

ROOT = Path(__file__).resolve().parents[2]


def _flask(url: str, *args: str) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "worker-cli-secret-0123456789",
        "ECM_ADMIN_PASSWORD": "not-the-default-1",
        "ECM_START_WORKER": "0",
        "FLASK_APP": "app.py",
    }
    done = subprocess.run(
        [sys.executable, "-m", "flask", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


@pytest.mark.redis
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_scheduler_and_worker_commands_run_the_feed(backend, admin, app):
    """Production mode is PostgreSQL with Redis, so this runs on PostgreSQL only."""
    campaign = make_campaign(admin, make_strategy(admin))
    ids = add_contacts(campaign, 5, dial_time=utcnow() - timedelta(minutes=1))
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    out = _flask(url, "scheduler", "--once")
    assert "feed-tick" in out
    _flask(url, "worker", "--burst")
    db.session.expire_all()
    dispatched = db.session.scalar(
        select(func.count())
        .select_from(Contact)
        .where(Contact.id.in_(ids), Contact.request_state == 1)
    )
    assert dispatched == 5
    assert db.session.get(FeedHeartbeat, "feed-tick") is not None
    assert db.session.get(FeedHeartbeat, f"stats:{campaign.id}") is not None
    tick = _flask(url, "feed-tick")
    assert "dispatched: 0" in tick
