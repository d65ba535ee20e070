"""Database helpers the feed shares: the write lock and bulk row updates per dialect."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, bindparam, text

from portal.extensions import db


def is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def begin_write() -> None:
    """Open a fresh write transaction; on SQLite take the write lock now.

    PostgreSQL claims with row locks (FOR UPDATE SKIP LOCKED) instead. SQLite has one
    writer at a time: BEGIN IMMEDIATE makes the read-then-update of a claim atomic
    against every other connection to the file (SQLite mode is one host).
    """
    db.session.commit()
    if is_postgres():
        return
    conn = db.session.connection()
    raw = conn.connection.dbapi_connection
    if not raw.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def run(
    sql: str,
    params: dict[str, Any] | list[dict[str, Any]] | None = None,
    datetimes: tuple[str, ...] = (),
):
    """Execute textual SQL with datetime parameters bound as DateTime.

    On SQLite a bare datetime parameter is written without microseconds while the ORM
    stores them, so comparisons would go wrong; typed binds keep one format.
    `datetimes` names result columns to read back as datetimes.
    """
    statement = text(sql)
    rows = params if isinstance(params, list) else [params or {}]
    names = {k for row in rows for k, v in row.items() if isinstance(v, datetime)}
    if names:
        statement = statement.bindparams(
            *(bindparam(n, type_=DateTime()) for n in names)
        )
    if datetimes:
        statement = statement.columns(**{n: DateTime() for n in datetimes})
    return db.session.execute(statement, params)


def bulk_update(
    table: str,
    rows: list[dict[str, Any]],
    types: dict[str, str],
    assignments: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Update many rows by id in one statement (PostgreSQL) or one executemany.

    `types` gives the PostgreSQL type of every key of the rows (id included);
    `assignments` maps a column to an expression where `{name}` is a row value,
    e.g. {"attempts_made": "attempts_made + {inc}"}; other keys are set as given;
    `extra` holds scalar parameters the assignments name (`:now`).
    """
    if not rows:
        return
    names = list(types)
    sets = dict(assignments or {})
    for name in names:
        if name != "id" and name not in sets and not name.startswith("_"):
            sets[name] = "{" + name + "}"
    if is_postgres():
        values = {n: f"v.{n}" for n in names}
        assign = ", ".join(
            f"{col} = {expr.format(**values)}" for col, expr in sets.items()
        )
        arrays = ", ".join(f"CAST(:{n} AS {types[n]}[])" for n in names)
        sql = (
            f"UPDATE {table} SET {assign} FROM unnest({arrays}) "
            f"AS v({', '.join(names)}) WHERE {table}.id = v.id"
        )
        params = {n: [row[n] for row in rows] for n in names}
        db.session.execute(
            text(sql), {**params, **(extra or {})}
        )  # arrays: no SQLite issue
        return
    values = {n: f":{n}" for n in names}
    assign = ", ".join(f"{col} = {expr.format(**values)}" for col, expr in sets.items())
    sql = f"UPDATE {table} SET {assign} WHERE id = :id"
    run(sql, [{**(extra or {}), **{n: row[n] for n in names}} for row in rows])


def id_list_clause(ids: list[int], column: str = "id") -> tuple[str, dict[str, Any]]:
    """`id = ANY(:ids)` on PostgreSQL, an expanding IN list elsewhere."""
    if is_postgres():
        return f"{column} = ANY(CAST(:ids AS bigint[]))", {"ids": list(ids)}
    names = {f"i{n}": value for n, value in enumerate(ids)}
    return f"{column} IN (" + ", ".join(":" + k for k in names) + ")", names
