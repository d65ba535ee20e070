"""`schemathesis run --checks all` against a real server (issue #17).

The server runs as it does in production: gunicorn on a free port, PostgreSQL (a new
database), Redis, the README's `flask db upgrade && flask init-db`, and the demo data
(`flask seed-demo`) so that generated ids meet real records too. The CLI signs in
through its documented dynamic auth hook (schemathesis_hooks.py) and runs every phase
(examples, coverage, fuzzing, stateful) with every check, a fixed seed, and no
operation or check left out. Any failure of any kind fails the test; the CLI's
summary is printed either way.

ECM_FUZZ_EXAMPLES sets the examples per operation (default 12); the large run in the
issue note used 100. At the default a run is about 26,600 cases, most of them the
coverage phase's (the campaign bodies with their contact filters above all): 7-10
minutes on a 2-core machine shared with the rest of CI.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, REDIS_URL
from tests.faults.processes import process_env, spawn_flask, stop, wait_for
from tests.readme.product import ROOT, Client, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

EXAMPLES = int(os.environ.get("ECM_FUZZ_EXAMPLES", "12"))
SEED = 17
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture(scope="module")
def backend():
    """This test starts its own server on its own database."""
    return "none"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """gunicorn on a new PostgreSQL database and an empty Redis db, with demo data."""
    folder = tmp_path_factory.mktemp("fuzz-server")
    name = f"ecm_fuzz_{secrets.token_hex(4)}"
    admin_engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database_url = make_url(PG_URL).set(database=name)
    redis.Redis.from_url(REDIS_URL).flushdb()
    password = "fuzz-password-" + secrets.token_hex(4)
    env = process_env(
        database_url.render_as_string(hide_password=False),
        REDIS_URL,
        ECM_ADMIN_PASSWORD=password,
        ECM_UPLOAD_DIR=str(folder / "uploads"),
    )
    for step in (["db", "upgrade"], ["init-db"], ["seed-demo", "--contacts", "50"]):
        done = spawn_flask(step, env, folder / "setup.log")
        assert done.wait(300) == 0, (folder / "setup.log").read_text()[-4000:]
    port = free_port()
    log = folder / "gunicorn.log"
    gunicorn = [sys.executable, "-m", "gunicorn", "-w", "2", "--no-control-socket"]
    web = subprocess.Popen(
        [*gunicorn, "-b", f"127.0.0.1:{port}", "portal:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(Client(url).up, 60, f"gunicorn did not start:\n{log.read_text()}")
        yield url, password, env, log
    finally:
        stop(web)
        redis.Redis.from_url(REDIS_URL).flushdb()
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


def run_cli(url: str, password: str, env: dict, report: Path):
    """The CLI in a folder of its own (it keeps nothing in the tree)."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/umm/openapi.json",
        "--checks",
        "all",
        "--seed",
        str(SEED),
        "--max-examples",
        str(EXAMPLES),
        "--workers",
        "2",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--generation-database",
        "none",
        "--no-color",
    ]
    cli_env = {
        **env,
        "PYTHONPATH": str(ROOT),
        "ECM_FUZZ_URL": url,
        "ECM_FUZZ_PASSWORD": password,
    }
    return subprocess.run(
        command,
        cwd=report.parent,
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=3600,
    )


def failures(report: Path) -> list[str]:
    """Every failed check in the CLI's NDJSON events, one line each."""
    found = []
    for line in report.read_text().splitlines():
        scenario = json.loads(line).get("ScenarioFinished") or {}
        recorder = scenario.get("recorder") or {}
        for case_id, checks in recorder.get("checks", {}).items():
            for check in checks:
                if check.get("status") != "failure":
                    continue
                case = recorder["cases"][case_id]["value"]
                response = (recorder["interactions"].get(case_id) or {}).get(
                    "response"
                ) or {}
                failure = check["failure_info"]["failure"]
                found.append(
                    f"{failure['code']} {check['name']}: {case['method']} "
                    f"{case['path']} -> {response.get('status_code')} "
                    f"query={json.dumps(case.get('query'))} "
                    f"body={json.dumps(case.get('body'))[:300]}"
                )
    return found


def test_schemathesis_cli_checks_all_finds_nothing(server, tmp_path):
    url, password, env, log = server
    report = tmp_path / "events.ndjson"
    result = run_cli(url, password, env, report)
    summary = result.stdout[result.stdout.rfind("SUMMARY") - 40 :]
    print(summary)
    found = failures(report)
    assert found == [], "\n".join(found)
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-4000:]
    assert "Traceback" not in log.read_text(), log.read_text()[-8000:]
