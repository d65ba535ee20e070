"""Every benchmark in tests/bench runs on a fresh machine as its docs say (issue #9):
each is started here as a real process at a tiny size, on a database of its own that
it creates, so a broken benchmark fails CI instead of the next person who runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, REDIS_URL

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parents[1]


def bench_url(name: str) -> str:
    """A database the benchmark may wipe: never the suite's own."""
    url = make_url(PG_URL).set(database=f"{make_url(PG_URL).database}_{name}")
    return url.render_as_string(hide_password=False)


# tiny arguments per script; a new benchmark must add itself here
TINY: dict[str, list[str]] = {
    "bench_phones.py": [
        "--count", "2000", "--reference-sample", "500", "--repeat", "1",
    ],
    "bench_contacts_page.py": [
        "--contacts", "3000", "--repeat", "1",
        "--url", bench_url("bench_contacts_page"),
    ],
    "bench_feed.py": [
        "--contacts", "100000", "--interleave", "1", "--url", bench_url("bench_feed"),
    ],
    "bench_uploads.py": [
        "--rows", "3000", "--dnc-rows", "1000", "--request-mb", "1",
        "--database", bench_url("bench_uploads"), "--redis", REDIS_URL,
    ],
    "bench_load.py": [
        "--duration", "3", "--clients", "2", "--rows", "500", "--think", "0.2",
        "--workers", "1", "--threads", "2", "--rq-workers", "1",
        "--single-seconds", "1", "--feed-interval", "2",
        "--database", bench_url("bench_load"),
    ],
    "bench_multihost.py": [  # builds the network-namespace lab: needs root
        "sizing", "--contacts", "2000", "--campaigns", "2", "--batch", "50",
        "--seconds", "3", "--upload-rows", "1000",
    ],
    "bench_request_path.py": [
        "--requests", "30", "--url", bench_url("bench_request_path"),
    ],
    "bench_steering.py": ["--contacts", "5000", "--url", bench_url("bench_steering")],
    "bench_targets.py": [
        "--seconds", "0.2", "--contacts", "10000", "--feed-batch", "100",
        "--rows", "2000", "--repeat", "1",
        "--workers", "1", "--threads", "2",
        "--database", bench_url("bench_targets"), "--redis", REDIS_URL,
    ],
}  # fmt: skip


def test_every_benchmark_has_a_tiny_run():
    scripts = sorted(p.name for p in BENCH.glob("bench_*.py"))
    assert scripts == sorted(TINY), "add the new benchmark's tiny arguments to TINY"


@pytest.fixture(params=["postgresql"])
def backend(request):
    return request.param


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(TINY))
def test_benchmark_runs_at_a_tiny_size(script, tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *TINY[script]],
        cwd=tmp_path,  # not the checkout: a benchmark must not rely on the cwd
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert output.strip(), "a benchmark must print its figures"
