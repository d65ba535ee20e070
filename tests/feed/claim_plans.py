"""Capture the SQL a claim runs and ask the database how it would execute it.

Shared by tests/feed/test_claim_plans.py and tests/bench/bench_steering.py.
"""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from portal.extensions import db


@contextmanager
def captured_selects():
    """Collect (statement, parameters) of every SELECT on contacts run inside."""
    seen: list[tuple[str, object]] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip().upper()
        if head.startswith("SELECT") and "FROM CONTACTS" in head:
            seen.append((statement, parameters))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", remember)


def explain(statement: str, parameters, analyze: bool = False) -> str:
    """The plan as text (PostgreSQL EXPLAIN, SQLite EXPLAIN QUERY PLAN)."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        how = "EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN "
        rows = conn.exec_driver_sql(how + statement, parameters).all()
        return "\n".join(r[0] for r in rows)
    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return "\n".join(str(r[-1]) for r in rows)
