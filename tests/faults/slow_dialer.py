"""A recording dialer that hangs inside one chosen batch, for the SIGKILL-mid-tick test.

Used by a real `flask worker` through
ECM_DIALER_FACTORY="tests.faults.slow_dialer:slow_dialer". Environment:

- ECM_RECORD_FILE: every batch the dialer accepts appends "contact_id,attempt,pid"
  lines (fsynced), so the file is exactly what reached the dialer;
- ECM_BLOCK_AT_BATCH: the 1-based batch of the tick that never returns: its requests
  are written to ECM_RECORD_FILE + ".inflight" (so the test knows the claim committed
  and the tick is inside `dispatch`), then the call sleeps ECM_BLOCK_SECONDS (600);
  those requests never count as dialed. Unset: the dialer never blocks.
"""

from __future__ import annotations

import os
import time


def _append(path: str, requests) -> None:
    lines = "".join(
        f"{r.contact_id},{r.attempt_number},{os.getpid()}\n" for r in requests
    )
    with open(path, "a", encoding="ascii") as handle:
        handle.write(lines)
        handle.flush()
        os.fsync(handle.fileno())


class SlowRecordingDialer:
    name = "slow-recording"

    def __init__(
        self, path: str, block_at: int | None = None, seconds: float = 600.0
    ) -> None:
        self.path = path
        self.block_at = block_at
        self.seconds = seconds
        self.batches = 0

    def list_campaigns(self):
        return []

    def dispatch(self, requests) -> None:
        self.batches += 1
        if self.batches == self.block_at:
            _append(self.path + ".inflight", requests)
            time.sleep(self.seconds)  # the worker is killed in here
            raise RuntimeError("the slow dialer was not killed in time")
        _append(self.path, requests)

    def collect_results(self):
        return []


def slow_dialer(now):
    """A fresh dialer for each tick, so batches count from 1 within one tick."""
    block = os.environ.get("ECM_BLOCK_AT_BATCH")
    return SlowRecordingDialer(
        os.environ["ECM_RECORD_FILE"],
        int(block) if block else None,
        float(os.environ.get("ECM_BLOCK_SECONDS", "600")),
    )
