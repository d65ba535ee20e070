"""Prometheus counters the web, feed and import code increment; scraped at /metrics.

Import the named metric and call it where the event happens, e.g.
`metrics.DISPATCHES.labels(channel="voice").inc(len(batch))`. Counters live in the
process that increments them; under gunicorn or with separate `rq worker` processes set
PROMETHEUS_MULTIPROC_DIR (one empty directory per machine, shared by its processes) so a
scrape sums them all. Gauges that describe the database (queue depth, feed lag) are
computed at scrape time in portal/observability.py, not stored here.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "ecm_http_requests",
    "HTTP requests answered, by endpoint (route rule), method and status code",
    ["endpoint", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "ecm_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint (route rule)",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DISPATCHES = Counter(
    "ecm_dispatches",
    "Contacts handed to a dialer or SMS gateway, by channel (voice, sms)",
    ["channel"],
)
DISPATCH_FAILURES = Counter(
    "ecm_dispatch_failures",
    "Batches a dialer refused or could not take (they return to pending)",
    ["dialer"],
)
RESULTS = Counter(
    "ecm_call_results",
    "Call results applied to contacts, by Cisco result code",
    ["call_result"],
)
FEED_TICKS = Counter(
    "ecm_feed_ticks",
    "Feed ticks run, by outcome (ok, error)",
    ["outcome"],
)
IMPORT_ROWS = Counter(
    "ecm_import_rows",
    "Rows read by bulk uploads, by kind (contacts, dnc) and outcome "
    "(accepted, rejected, duplicate, dnc_flagged)",
    ["kind", "outcome"],
)
IMPORTS = Counter(
    "ecm_imports",
    "Bulk uploads finished, by kind and final state (done, failed)",
    ["kind", "state"],
)

__all__ = [
    "DISPATCHES",
    "DISPATCH_FAILURES",
    "FEED_TICKS",
    "IMPORTS",
    "IMPORT_ROWS",
    "REQUESTS",
    "REQUEST_SECONDS",
    "RESULTS",
]
