"""Pull results from a dialer's own table into the inbox, each source row once.

The reader (e.g. ``dialers.dialer_detail.DialerDetailReader``) gives rows after a
(DBDateTime, RecoveryKey) mark. Here the mark lives in ``dialer_watermarks`` and is
locked for the whole pull: the rows go into ``call_result_inbox`` and the mark moves
in one transaction of our database. A worker killed mid-pull rolls back both; two
workers pulling at once do not both read the same rows (PostgreSQL: the second
skips the locked mark, SQLite: ``BEGIN IMMEDIATE`` serialises them).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import insert, text

from portal.extensions import db
from portal.models import CallResultInbox, DialerWatermark
from portal.services import callbacks
from portal.services.dialers.base import DialerUnavailable
from portal.services.enums import DISPATCHED, Channel
from portal.services.feed._sql import begin_write, id_list_clause, is_postgres, run
from portal.services.feed.results import RAW_MAX, normalise_code, store_results

log = logging.getLogger(__name__)

MAX_BATCHES_PER_PULL = 20
IMPORT_SETTLE = timedelta(seconds=60)


class RowSource(Protocol):
    """What a watermarked result reader offers."""

    name: str
    batch: int

    def rows_after(self, db_datetime: datetime | None, recovery_key: float | None):
        """Rows written after the mark, oldest first (see DetailRow)."""
        ...


def pull_dialer_results(adapter: Any, now: datetime, errors: list[str]) -> int:
    """Results from the dialer's own records: its table, else its import status.

    ``adapter.result_source`` (Dialer_Detail) is read after the durable mark; when
    it is missing or cannot be reached, ``adapter.import_status_results`` (the
    UCCE Import API) is asked about the contacts dispatched to it.
    """
    outcomes = getattr(adapter, "outcome_source", None)
    if outcomes is not None:  # UCCX: db_cra's DialingList, no mark to keep
        dispatched = dispatched_at_by_cisco_campaign(now)
        history = applied_raw_codes(
            [i for contacts in dispatched.values() for i in contacts],
            getattr(outcomes, "raw_prefix", ""),
        )
        try:
            found = outcomes.final_results(dispatched, history)
        except DialerUnavailable as exc:
            log.warning("feed: %s", exc)
            errors.append(f"results: {exc}")
            return 0
        return store_dialer_results(found, now)
    source = getattr(adapter, "result_source", None)
    fallback = getattr(adapter, "import_status_results", None)
    if source is not None:
        try:
            return pull_into_inbox(source, now)["queued"]
        except DialerUnavailable as exc:
            log.warning("feed: %s; using the import status instead", exc)
            errors.append(f"results: {exc}")
    if fallback is None:
        return 0
    found = fallback(dispatched_by_cisco_campaign(now))
    return store_results(found, now)


def dispatched_by_cisco_campaign(now: datetime) -> dict[str, set[int]]:
    """Dispatched voice contacts per Cisco campaign, once their import had time to
    be processed (Import API requests queue: a fresh import may not be listed)."""
    found = dispatched_at_by_cisco_campaign(now - IMPORT_SETTLE)
    return {cisco: set(contacts) for cisco, contacts in found.items()}


def dispatched_at_by_cisco_campaign(until: datetime) -> dict[str, dict[int, datetime]]:
    """Voice contacts dispatched by ``until``, per Cisco campaign, with their time."""
    rows = run(
        "SELECT c.id, k.cisco_campaign_id, c.request_time FROM contacts c "
        "JOIN campaigns k ON k.id = c.campaign_id "
        "WHERE c.request_state = :dispatched AND c.channel = :voice "
        "AND c.request_time <= :until AND k.cisco_campaign_id IS NOT NULL",
        {"dispatched": DISPATCHED, "voice": Channel.VOICE, "until": until},
        datetimes=("request_time",),
    ).all()
    found: dict[str, dict[int, datetime]] = {}
    for contact_id, cisco_id, request_time in rows:
        found.setdefault(str(cisco_id).strip(), {})[int(contact_id)] = request_time
    return found


def applied_raw_codes(
    contact_ids: list[int], prefix: str = "", chunk: int = 5000
) -> dict[int, list[str]]:
    """The raw codes of the results already applied to these contacts (their
    attempt history), those containing ``prefix`` (no wildcards), per contact."""
    found: dict[int, list[str]] = {}
    ids = sorted(set(contact_ids))
    for start in range(0, len(ids), chunk):
        where, params = id_list_clause(ids[start : start + chunk], column="contact_id")
        rows = run(
            f"SELECT contact_id, raw_code FROM contact_attempts WHERE {where} "
            "AND raw_code LIKE :prefix",
            {**params, "prefix": f"%{prefix}%"},
        ).all()
        for contact_id, raw_code in rows:
            found.setdefault(int(contact_id), []).append(raw_code)
    return found


def store_dialer_results(found: list[Any], now: datetime) -> int:
    """Write results read from a dialer's table, callback times converted to UTC."""
    zones = _campaign_column_of(
        [r.contact_id for r in found if r.callback_local is not None], "time_zone"
    )
    rows = [
        _inbox_row(r, now, _callback_at(_Found(r, r.callback_local), zones))
        for r in found
    ]
    if rows:
        db.session.execute(insert(CallResultInbox.__table__), rows)
        db.session.commit()
    return len(rows)


class _Found:
    """A DialResult seen as a row with ``result`` and ``callback_local``."""

    def __init__(self, result: Any, callback_local: datetime | None) -> None:
        self.result, self.callback_local = result, callback_local


def pull_into_inbox(source: RowSource, now: datetime) -> dict[str, int]:
    """Move new source rows into the inbox and the mark past them, batch by batch."""
    totals = {"read": 0, "queued": 0}
    _ensure_mark(source.name, now)
    for _ in range(MAX_BATCHES_PER_PULL):
        counts = _pull_batch(source, now)
        totals["read"] += counts["read"]
        totals["queued"] += counts["queued"]
        if counts["read"] < source.batch:
            break
    return totals


def _ensure_mark(name: str, now: datetime) -> None:
    if db.session.get(DialerWatermark, name) is not None:
        return
    if is_postgres():
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    row = {"name": name, "rows_read": 0, "updated_at": now}
    db.session.execute(
        upsert(DialerWatermark.__table__).values(**row).on_conflict_do_nothing()
    )
    db.session.commit()


def _pull_batch(source: RowSource, now: datetime) -> dict[str, int]:
    begin_write()
    lock = " FOR UPDATE SKIP LOCKED" if is_postgres() else ""
    mark = run(
        "SELECT db_datetime, recovery_key, rows_read FROM dialer_watermarks "
        f"WHERE name = :name{lock}",
        {"name": source.name},
        datetimes=("db_datetime",),
    ).first()
    if mark is None:  # another worker holds the mark: it is pulling right now
        db.session.commit()
        return {"read": 0, "queued": 0}
    try:
        rows = source.rows_after(mark.db_datetime, mark.recovery_key)
    except Exception:
        db.session.rollback()
        raise
    if not rows:
        db.session.commit()
        return {"read": 0, "queued": 0}
    owners = _cisco_campaigns_of(
        [row.result.contact_id for row in rows if row.result is not None]
    )
    ours = [row for row in rows if row.result is not None and _ours(row, owners)]
    zones = _campaign_column_of(
        [row.result.contact_id for row in ours if _callback_local(row) is not None],
        "time_zone",
    )
    inbox = [_inbox_row(row.result, now, _callback_at(row, zones)) for row in ours]
    if inbox:
        db.session.execute(insert(CallResultInbox.__table__), inbox)
    last = rows[-1]
    run(
        "UPDATE dialer_watermarks SET db_datetime = :dt, recovery_key = :rk, "
        "rows_read = rows_read + :n, updated_at = :now WHERE name = :name",
        {
            "dt": last.db_datetime,
            "rk": last.recovery_key,
            "n": len(rows),
            "now": now,
            "name": source.name,
        },
        datetimes=("dt", "now"),
    )
    db.session.commit()
    return {"read": len(rows), "queued": len(inbox)}


def _cisco_campaigns_of(contact_ids: list[int]) -> dict[int, str | None]:
    """Each known contact's Cisco campaign id (AccountNumber is only unique to us)."""
    return _campaign_column_of(contact_ids, "cisco_campaign_id")


def _campaign_column_of(contact_ids: list[int], column: str) -> dict[int, Any]:
    """One column of each known contact's campaign, by contact id."""
    if column not in ("cisco_campaign_id", "time_zone"):
        raise ValueError(f"not a campaign column read here: {column}")
    ids = sorted({i for i in contact_ids if 0 < i < 2**63})
    if not ids:
        return {}
    where, params = id_list_clause(ids, column="c.id")
    rows = run(
        f"SELECT c.id, k.{column} FROM contacts c "
        f"JOIN campaigns k ON k.id = c.campaign_id WHERE {where}",
        params,
    ).all()
    return {int(cid): value for cid, value in rows}


def _ours(row: Any, owners: dict[int, str | None]) -> bool:
    """A row for a contact of ours, dialed in that contact's Cisco campaign.

    Another campaign on the same UCCE may use numeric account numbers too: its
    rows must not close our contacts. A row without CampaignID, or a contact
    whose campaign names no Cisco campaign, is taken on the AccountNumber alone.
    """
    contact_id = row.result.contact_id
    if contact_id not in owners:
        return False
    cisco = owners[contact_id]
    if row.campaign_id is None or not cisco:
        return True
    return str(row.campaign_id) == str(cisco).strip()


def _inbox_row(
    result: Any, now: datetime, callback_at: datetime | None = None
) -> dict[str, Any]:
    code, note = normalise_code(result.call_result)
    raw = result.raw if note is None else f"{note}; raw={result.raw}"
    return {
        "contact_id": int(result.contact_id),
        "call_result": code,
        "raw": None if raw is None else str(raw)[:RAW_MAX],
        "received_at": now,
        "callback_at": callback_at,
    }


def _callback_local(row: Any) -> datetime | None:
    """The requested time a row's dialer found (Personal_Callback_List), if any."""
    return getattr(row, "callback_local", None)


def _callback_at(row: Any, zones: dict[int, str | None]) -> datetime | None:
    """A result 14/15's requested time as naive UTC, read in the campaign's zone."""
    local = _callback_local(row)
    if local is None:
        return None
    text = local.replace(microsecond=0).isoformat(sep=" ")
    zone = getattr(row.result, "callback_zone", None)
    try:
        return callbacks.requested_time(text, zone or zones.get(row.result.contact_id))
    except ValueError:
        log.warning(
            "callback time %r of contact %s ignored", text, row.result.contact_id
        )
        return None


def mark_of(name: str) -> DialerWatermark | None:
    """The stored mark of one reader (for the dashboard and the tests)."""
    db.session.expire_all()
    return db.session.get(DialerWatermark, name)


def reset_mark(name: str) -> None:
    """Forget a reader's mark (an operator re-pointing the reader at a new HDS)."""
    db.session.execute(
        text("DELETE FROM dialer_watermarks WHERE name = :name"), {"name": name}
    )
    db.session.commit()
