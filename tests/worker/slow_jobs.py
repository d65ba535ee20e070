"""Jobs for worker-lifecycle tests: they only take time, as a long import would."""

from __future__ import annotations

import time


def sleep_for(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"
