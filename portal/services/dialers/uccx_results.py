"""Read UCCX final call outcomes from db_cra's DialingList table.

Source: Cisco, *Cisco Unified CCX Database Schema Guide* (12.5(1)), chapter
"Database Schema", table "DialingList": "The DialingList table contains the
outbound contacts that need to be dialed for a particular campaign"; the columns
below, with their Informix storage types (nvarchar(25,0), varchar(28,0), datetime
year to second, smallint, boolean), and the values of ``callstatus`` and
``callresult`` mapped in this module.

The Admin API does not carry these outcomes: "Get List of Pending Contacts for
Campaign" lists only pending contacts, and gives no meaning for its numeric
"call result" / "call status" columns. The table has no last-modified column, so
there is no watermark to keep: the feed asks about the contacts it has dispatched
(campaign id -> contact ids with their dispatch time), and takes for each the
newest row (highest dialinglistid) of its account in that campaign, created at or
after the dispatch (every dispatch is a new import; an older row is an earlier
attempt's). Only a row UCCX has finished with gives a result. A result applied
twice, by two workers, is discarded by the inbox like any duplicate.

``createdatetime`` is whole seconds, so "at or after the dispatch" is taken to the
second: a contact dispatched again within the second of its previous row, before
UCCX has imported the new one, still sees the old, closed row as its newest. The
row's dialinglistid is therefore part of the result's raw text, which the feed
keeps in the contact's attempt history (``contact_attempts.raw_code``); the feed
hands those back (``applied``) and a row already applied to the contact is never
applied again - the contact waits for its new row instead.

The connection is any SQLAlchemy URL (``ECM_UCCX_RESULTS_URL``): db_cra is an
Informix database on the UCCX node, read with the historical-reporting user; the
tests use a table of the same shape in PostgreSQL and SQLite. Same guide, "Database
Table Details": "The date and time in the database fields are stored in
Coordinated Universal Time (UTC)" - ``createdatetime`` and ``callbackdatetime``
are UTC, and the UCCX and ECM clocks must agree (NTP).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from portal.services.dialers.base import DialerUnavailable, DialResult
from portal.services.dialers.dialer_detail import engine_for

log = logging.getLogger(__name__)

metadata = MetaData()
# Schema Guide, "DialingList": field, storage, NULL / NOT NULL.
DIALING_LIST = Table(
    "DialingList",
    metadata,
    Column("recordid", Integer, primary_key=True),  # int NOT NULL, Primary Key
    Column("dialinglistid", Integer, primary_key=True),  # int NOT NULL, Primary Key
    Column("profileid", Integer, primary_key=True),  # int NOT NULL, Primary Key
    Column("campaignid", Integer),  # int NULL
    Column("createdatetime", DateTime),  # datetime year to second NULL
    Column("accountnumber", String(25)),  # nvarchar(25, 0) NULL
    Column("firstname", String(50)),  # nvarchar(50, 0) NULL
    Column("lastname", String(50)),  # nvarchar(50,0) NULL
    Column("phone01", String(28), nullable=False),  # varchar(28,0) NOT NULL
    Column("phone02", String(28)),  # varchar(28,0) NULL
    Column("phone03", String(28)),  # varchar(28,0) NULL
    Column("gmtzonephone01", SmallInteger, nullable=False),  # smallint NOT NULL
    Column("dstphone01", SmallInteger, nullable=False),  # smallint NOT NULL
    Column("callbacknumber", String(28)),  # varchar(28,0) NULL
    Column("callbackdatetime", DateTime),  # datetime year to second NULL
    Column("callstatus", SmallInteger, nullable=False),  # smallint NOT NULL
    Column("callresult", SmallInteger, nullable=False),  # smallint NOT NULL
    Column("lastnumberdialed", SmallInteger),  # smallint NULL
    Column("callsmadetophone01", SmallInteger),  # smallint NULL
    Column("retry", Boolean),  # boolean NULL
    Column("active", Boolean, nullable=False),  # boolean NOT NULL
    Column("dateinactive", DateTime),  # datetime year to second NULL
    Column("numMissedCallback", SmallInteger),  # smallint NULL
)

# callstatus: "3 = Closed. The record is closed." "4 = Callback. The record is
# marked for a callback." "5 = Max Calls. Maximum attempts have been reached for
# this record (considered closed)." 1 Pending, 2 Active, 6 Retry, 7 Unknown and 8
# Retries with delay: UCCX is still working on the record.
CLOSED, CALLBACK, MAX_CALLS = 3, 4, 5
FINISHED = frozenset({CLOSED, CALLBACK, MAX_CALLS})
# callresult -> our code (the Outbound Option CallResult vocabulary, enums.py).
UCCX_CALL_RESULTS: dict[int, int] = {
    1: 10,  # "Voice. Customer answered and was connected to agent."
    2: 11,  # "Fax. Fax machine reached."
    3: 12,  # "Answering machine. Answering machine reached."
    4: 7,  # "Invalid. Number reported as invalid by the network or by the agent."
    5: 26,  # "Do Not Call. Customer does not want to be called again."
    6: 23,  # "Wrong Number. Number successfully contacted but wrong number."
    7: 24,  # "Wrong Person. ... reached the wrong person."
    8: 14,  # "Callback. Customer requested regular callback."
    9: 18,  # "Skip/Reject. Agent skipped or rejected a preview call."
    10: 19,  # "Skip-Close/Reject-Close. ... with the close option."
    11: 9,  # "Busy. Busy signal detected or marked busy by agent."
    12: 33,  # "Agent did not respond to the preview call within the timeout"
    14: 14,  # "Callback missed and marked for Retry."
    15: 8,  # "Customer's phone timed out either due to Ring No Answer (RNA) or
    #        Gateway failure."
    16: 20,  # "Call was abandoned because IVR port was unavailable or ... failed
    #        to transfer the call to the IVR port."
    17: 2,  # "Call failed due any one of the reasons."
    18: 21,  # "Customer abandoned as customer or agent disconnected the call
    #        within the time limit ... 'Abandoned Call Wait Time'"
}
# 13 "Callback Failed - this value is not written to the database". A closed
# record with callresult 0 (never set) or an unlisted value maps to 2 (error).
UNLISTED_AS = 2
# A result's raw text, kept as the attempt's raw_code: the row it came from.
RAW_PREFIX = "UCCX callstatus="
RAW = RAW_PREFIX + "{status} callresult={result} dialinglistid={row}"
_ROW_IN_RAW = re.compile(r"UCCX callstatus=\d+ callresult=\d+ dialinglistid=(\d+)")


def dialinglistid_of(raw: str | None) -> int | None:
    """The DialingList row an applied result's raw text names, if it names one."""
    match = _ROW_IN_RAW.search(raw or "")
    return int(match.group(1)) if match else None


class UccxDialingListReader:
    """Ask db_cra's DialingList how UCCX finished the contacts we dispatched."""

    raw_prefix = RAW_PREFIX  # the attempt history the feed hands back (applied)

    def __init__(self, url: str) -> None:
        if not url:
            raise ValueError("the DialingList reader needs ECM_UCCX_RESULTS_URL")
        self.engine = engine_for(url)

    def final_results(
        self,
        dispatched: Mapping[str, Mapping[int, datetime]],
        applied: Mapping[int, Iterable[str | None]] | None = None,
    ) -> list[DialResult]:
        """One result per dispatched contact whose newest row UCCX has finished.

        ``applied``: each contact's attempt history (raw codes); a row named there
        was applied to the contact already and gives no result again."""
        done = {
            contact_id: {dialinglistid_of(raw) for raw in raws}
            for contact_id, raws in (applied or {}).items()
        }
        results: list[DialResult] = []
        for campaign_id, contacts in dispatched.items():
            if not str(campaign_id).strip().isdigit() or not contacts:
                continue
            rows = self._rows(int(campaign_id), sorted(contacts))
            newest: dict[int, object] = {}
            for row in rows:  # dialinglistid order: the last one wins
                account = (row.accountnumber or "").strip()
                if account.isdigit() and int(account) in contacts:
                    newest[int(account)] = row
            for contact_id, row in newest.items():
                if row.dialinglistid in done.get(contact_id, ()):
                    continue  # applied already: this dispatch's row is not there yet
                result = self._result(contact_id, row, contacts[contact_id])
                if result is not None:
                    results.append(result)
        return results

    def _rows(self, campaign_id: int, contact_ids: list[int]):  # noqa: ANN202
        t = DIALING_LIST.c
        query = (
            select(
                t.dialinglistid,
                t.accountnumber,
                t.createdatetime,
                t.callstatus,
                t.callresult,
                t.callbackdatetime,
            )
            .where(
                t.campaignid == campaign_id,
                t.accountnumber.in_([str(i) for i in contact_ids]),
                t.active.is_(True),
            )
            .order_by(t.dialinglistid)
        )
        try:
            with self.engine.connect() as conn:
                return conn.execute(query).all()
        except SQLAlchemyError as error:
            raise DialerUnavailable(
                f"cannot read DialingList: {type(error).__name__}: {error}"
            ) from None

    def _result(self, contact_id: int, row, dispatched_at: datetime):  # noqa: ANN001, ANN202
        """The row's outcome, or None if UCCX is not done or it is an older import."""
        if row.callstatus not in FINISHED:
            return None
        created = row.createdatetime  # UTC, to the second
        if created is not None and created < dispatched_at.replace(microsecond=0):
            return None  # an earlier dispatch's record: this one is not imported yet
        code = UCCX_CALL_RESULTS.get(int(row.callresult or 0), UNLISTED_AS)
        callback_local = None
        if row.callstatus == CALLBACK:
            code, callback_local = 14, row.callbackdatetime
        raw = RAW.format(
            status=row.callstatus, result=row.callresult, row=row.dialinglistid
        )
        return DialResult(
            contact_id, code, raw, callback_local=callback_local, callback_zone="UTC"
        )
