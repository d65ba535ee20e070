"""README's two commands, run as a newcomer runs them (issue #9).

The first command is read from README.md, so the two cannot drift: it runs in a fresh
copy of the tree and a fresh virtualenv, with a fresh instance folder, as a real
process on a free port, five times in a row. Each time the demo must dial and a
10,000-row upload must finish. The production section runs the same scenario with
gunicorn, two `flask worker` and one `flask scheduler` on PostgreSQL and Redis.
"""

from __future__ import annotations

import secrets
import shutil

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, REDIS_URL
from tests.readme.product import (
    ROOT,
    Client,
    demo_dials_and_imports,
    free_port,
    fresh_copy,
    fresh_venv,
    newcomer_env,
    readme_blocks,
    start,
    stop,
    wait_for,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def backend():
    """These tests start their own processes; the suite's backend does not apply."""
    return "none"


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory):
    """A fresh copy of the tree and an empty virtualenv beside it."""
    folder = tmp_path_factory.mktemp("newcomer")
    return fresh_copy(folder / "ecm-portal"), fresh_venv(folder / "venv")


def test_the_readme_gives_exactly_two_commands_and_ci_runs_the_second():
    first, second = readme_blocks("Two commands")
    assert first.endswith("flask run") and "pip install" in first
    assert second == "bash tests/run-all.sh"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m venv" in ci and "bash tests/run-all.sh" in ci


@pytest.mark.parametrize("attempt", range(1, 6))
def test_the_first_command_serves_a_demo_that_dials(newcomer, attempt, tmp_path):
    copy, venv = newcomer
    shutil.rmtree(copy / "instance", ignore_errors=True)
    first = readme_blocks("Two commands")[0]
    port = free_port()
    log = tmp_path / "portal.log"
    env = newcomer_env(venv, FLASK_RUN_PORT=str(port), FLASK_RUN_HOST="127.0.0.1")
    proc = start(first, copy, env, log)
    client = Client(f"http://127.0.0.1:{port}")
    try:
        wait_for(
            lambda: client.up() or proc.poll() is not None,
            300,  # the first start installs every package
            "the portal did not start",
        )
        assert proc.poll() is None, log.read_text()[-4000:]
        figures = demo_dials_and_imports(client, "admin", log)
        print(f"start {attempt}: {figures}")
    finally:
        stop(proc)


@pytest.fixture
def production_services():
    """A new PostgreSQL database and an empty Redis db for one production run."""
    name = f"ecm_readme_{secrets.token_hex(4)}"
    admin_engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database_url = make_url(PG_URL).set(drivername="postgresql", database=name)
    conn = redis.Redis.from_url(REDIS_URL)
    conn.flushdb()
    yield database_url.render_as_string(hide_password=False), REDIS_URL
    conn.flushdb()
    with admin_engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


def production_commands(port: int) -> tuple[str, str, str, str]:
    """README's production lines; only the bind address and worker count change."""
    lines = [
        line.split("#")[0].strip()
        for line in readme_blocks("Production")[0].splitlines()
        if line.strip() and not line.startswith(("export", " "))
    ]
    setup, web, worker, scheduler = lines
    web = web.replace("-w 4", "-w 2").replace("0.0.0.0:8000", f"127.0.0.1:{port}")
    assert web.startswith("gunicorn ") and f"127.0.0.1:{port}" in web
    assert (worker, scheduler) == ("flask worker", "flask scheduler")
    return setup, web, worker, scheduler


def test_production_mode_as_processes(newcomer, production_services, tmp_path):
    copy, venv = newcomer
    database_url, redis_url = production_services
    password = "a-real-password-" + secrets.token_hex(4)
    env = newcomer_env(
        venv,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=secrets.token_hex(32),
        ECM_ADMIN_PASSWORD=password,
        FLASK_APP="portal:create_app",
    )
    port = free_port()
    setup, web, worker, scheduler = production_commands(port)
    install = readme_blocks("Two commands")[0].split(" && flask")[0]
    prepared = start(
        f"{install} && {setup} && flask seed-demo", copy, env, tmp_path / "setup.log"
    )
    assert prepared.wait(300) == 0, (tmp_path / "setup.log").read_text()[-4000:]
    log = tmp_path / "web.log"
    procs = [start(web + " --no-control-socket", copy, env, log)]
    procs += [start(worker, copy, env, tmp_path / f"worker-{i}.log") for i in (1, 2)]
    procs.append(start(scheduler, copy, env, tmp_path / "scheduler.log"))
    client = Client(f"http://127.0.0.1:{port}")
    try:
        wait_for(client.up, 60, f"gunicorn did not start:\n{log.read_text()}")
        figures = demo_dials_and_imports(client, password, tmp_path / "worker-1.log")
        print(f"production: {figures}")
        assert all(p.poll() is None for p in procs), "a process died"
    finally:
        for proc in procs:
            stop(proc)
    for i in (1, 2):
        assert "worker: stopped" in (tmp_path / f"worker-{i}.log").read_text()
