"""The stored simulator with a flight recorder and a gate, for the multi-host test.

Worker hosts use it through ECM_DIALER_FACTORY="tests.multihost.dialer:recording".
Environment (set per host by the test):

- ECM_LAB_HOST: the host's name; ECM_LAB_RECORDS: the folder of the records (the
  test's instrument, outside the application's data path);
- every batch handed to the simulator first appends "host,pid,contact,attempt,now"
  lines (fsynced) to dispatch-<host>-<pid>.csv, so the files hold exactly what each
  host handed to the dialer and when (`now` is the claim's requestTime);
- when a file gate-<host> exists, the first process of that host to rename it holds
  its next batch: the claim has committed, the batch is written to
  inflight-<host>-<pid>.csv and the call waits for release-<host>, then gives up with
  DialerUnavailable, as an adapter that lost its dialer would. The test cuts the
  host's link while a tick waits there: the host is lost mid-tick.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

from portal.services.dialers import DialerUnavailable
from portal.services.feed.gateways import StoredSimulatorDialer, _delay, _seed

GATE_WAIT = 900.0


def _append(path: Path, lines: str) -> None:
    with open(path, "a", encoding="ascii") as handle:
        handle.write(lines)
        handle.flush()
        os.fsync(handle.fileno())


class RecordingSimulator:
    name = "simulator"

    def __init__(self, now: datetime) -> None:
        from flask import current_app

        self.now = now
        self.inner = StoredSimulatorDialer(
            now, _seed(current_app.config), _delay(current_app.config)
        )
        self.host = os.environ["ECM_LAB_HOST"]
        self.folder = Path(os.environ["ECM_LAB_RECORDS"])

    def list_campaigns(self):
        return self.inner.list_campaigns()

    def _lines(self, requests) -> str:
        pid = os.getpid()
        stamp = self.now.isoformat()
        return "".join(
            f"{self.host},{pid},{r.contact_id},{r.attempt_number},{stamp}\n"
            for r in requests
        )

    def _hold(self, requests) -> None:
        gate = self.folder / f"gate-{self.host}"
        try:
            os.rename(gate, f"{gate}.taken-{os.getpid()}")
        except FileNotFoundError:
            return
        _append(
            self.folder / f"inflight-{self.host}-{os.getpid()}.csv",
            self._lines(requests),
        )
        release = self.folder / f"release-{self.host}"
        deadline = time.monotonic() + GATE_WAIT
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        raise DialerUnavailable("the lab held this batch and let it go")

    def dispatch(self, requests) -> None:
        self._hold(requests)
        _append(
            self.folder / f"dispatch-{self.host}-{os.getpid()}.csv",
            self._lines(requests),
        )
        self.inner.dispatch(requests)

    def collect_results(self):
        return []


def recording(now: datetime) -> RecordingSimulator:
    return RecordingSimulator(now)


def read_records(folder: Path, kind: str) -> list[tuple[str, int, int, int, datetime]]:
    """(host, pid, contact, attempt, requestTime) of each recorded request."""
    rows = []
    for path in sorted(folder.glob(f"{kind}-*.csv")):
        for line in path.read_text(encoding="ascii").splitlines():
            host, pid, contact, attempt, stamp = line.split(",")
            rows.append(
                (
                    host,
                    int(pid),
                    int(contact),
                    int(attempt),
                    datetime.fromisoformat(stamp),
                )
            )
    return rows
