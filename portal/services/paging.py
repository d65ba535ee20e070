"""Totals for paged lists without counting a million rows on every page."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

from flask import current_app

_lock = threading.Lock()
MAX_ENTRIES = 2048


def page_total(
    key: Hashable,
    offset: int,
    limit: int | None,
    returned: int,
    count: Callable[[], int],
) -> int:
    """The list's total: free when this page is its last, else a COUNT cached briefly.

    The cache lives ECM_COUNT_CACHE_SECONDS (default 5) per app, so paging through a
    large list costs one COUNT per few seconds instead of one per page.
    """
    if limit is None or (returned < limit and (returned > 0 or offset == 0)):
        return offset + returned
    ttl = current_app.config.get("ECM_COUNT_CACHE_SECONDS", 5)
    if not ttl:
        return count()
    cache: dict = current_app.extensions.setdefault("ecm_count_cache", {})
    now = time.monotonic()
    with _lock:
        hit = cache.get(key)
    if hit is not None and hit[0] > now:
        return max(hit[1], offset + returned) if returned else hit[1]
    total = count()
    with _lock:
        if len(cache) >= MAX_ENTRIES:
            cache.clear()
        cache[key] = (now + ttl, total)
    return total
