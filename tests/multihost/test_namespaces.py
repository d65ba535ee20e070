"""Hosts, not processes (issue #16): the whole product on hosts in network namespaces.

A database host (private PostgreSQL and Redis), a web host (gunicorn), two worker hosts
(`flask worker` twice and `flask scheduler` each, no shared disk) and a client. A
200,000-row upload and a running campaign go through them while one worker host's
link is cut mid-import and mid-tick, the other is SIGKILLed and restarted, and Redis
restarts empty. Each step waits on its event in the database (tests/multihost/
events.py), so the timeline does not depend on the machine's speed or load. The
scenario and its proof are in tests/multihost/scenario.py; the longer run is
tests/bench/bench_multihost.py.
"""

from __future__ import annotations

import pytest

from tests.multihost.lab import Lab, LabUnavailable
from tests.multihost.scenario import Sizes, run_and_check


def _namespaces_or_skip() -> None:
    try:
        Lab.check_available()
    except LabUnavailable as exc:
        pytest.skip(f"network namespaces cannot be made here: {exc}")


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_hosts_lost_mid_work_lose_nothing_and_double_nothing():
    _namespaces_or_skip()
    figures = run_and_check(Sizes(rows=200_000, contacts=500))
    print(figures)
    # run_and_check has proved every count; these say the faults hit what they should
    assert figures["lostHost"] != figures["killedHost"]
    assert figures["uploadStateAtCut"] == "running"
    assert 0 < figures["rowsAtCut"] < 200_000
    assert figures["heldClaims"] == figures["heldOpenAtCut"] > 0
    assert figures["heldBackSeconds"] >= 15  # the response timeout
