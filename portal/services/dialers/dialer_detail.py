"""Read UCCE call results from the Dialer_Detail table of the HDS/AW database.

Source: Cisco, *Outbound Option Guide for Unified Contact Center Enterprise*, release
12.6(2), appendix "Dialer Detail Table" (same table in 15.0):

- "About the Dialer_Detail Table": the table holds "the Account Number for the
  contact and the Call Result, so that the last termination code can be obtained
  for each contact"; it is replicated from the Logger to each HDS; readers should
  "Use only DBDateTime (date and time of the record that was written to the HDS
  database) to perform the extraction".
- "Dialer_Detail Table Database Fields and Descriptions": the columns below.

Rows are read in (DBDateTime, RecoveryKey) order after a watermark the caller keeps
in our database (``portal.services.feed.watermarks``); DBDateTime alone is not
unique (many rows share one second), RecoveryKey breaks the tie.

The connection is any SQLAlchemy URL (``ECM_UCCE_RESULTS_URL``): on a real system
``mssql+pymssql://user:password@hds-host:1433/<instance>_awdb``; the tests use a
table of the same shape in PostgreSQL and SQLite.

Callback times. Dialer_Detail has no requested time. For a result 14 (customer
callback) or 15 the time is read, when ``ECM_UCCE_CALLBACK_URL`` names the Outbound
Option database (``<instance>_baA``), from its Personal_Callback_List table. Source:
Outbound Option Guide 12.6(1), appendix "Personal Callback List Table" (and 10.0(1)
"Schedule of Contacts Between Customers and Agents"): "When an agent ... schedules a
personal callback ... a new record is inserted into the Personal_Callback_List";
"This table is insert only, and can be used to perform queries"; its DialingListID
"Cross-references a record that has been moved from the contact_list", CampaignID,
AccountNumber (VARCHAR 32) and CallbackDateTime (DATETIME, "Time to attempt customer
call"). A Dialer_Detail row is matched on (DialingListID, CampaignID), the newest
PersonalCallbackListID winning. Cisco does not give CallbackDateTime's zone on that
page; we read it in the campaign's time zone, like ``callbackTime`` in the result
API. A regular (not personal) callback keeps its time in the campaign's dialing
list (CallStatusZone "B", CallbackDateTimeZone1/2; Outbound Option Guide 15.0(1),
chapter "Dialing List Table", which gives the columns but names no table per
campaign): those results carry no time and follow the retry rules.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    CHAR,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    and_,
    create_engine,
    or_,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from portal.services.dialers.base import DialerUnavailable, DialResult

log = logging.getLogger(__name__)

TABLE_NAME = "Dialer_Detail"
# Outbound Option Guide 12.6(2), "Dialer_Detail Table Database Fields and
# Descriptions": name, type, nullability. DBINT = int, DBSMALLINT = smallint,
# DBFLT8 = float(53), DBDATETIME = datetime, VARCHAR(n), DBCHAR = char(1).
ACCOUNT_NUMBER_LENGTH = 30  # AccountNumber VARCHAR(30)
PHONE_LENGTH = 20  # Phone VARCHAR(20)
metadata = MetaData()
DIALER_DETAIL = Table(
    TABLE_NAME,
    metadata,
    Column("RecoveryKey", Float(53), primary_key=True),  # DBFLT8 NOT NULL
    Column("DateTime", DateTime, nullable=False),  # DBDATETIME NOT NULL
    Column("DialerID", Integer, nullable=False),  # DBINT NOT NULL
    Column("CampaignID", Integer),  # DBINT NULL
    Column("QueryRuleID", Integer),  # DBINT NULL
    Column("DialingListID", Integer),  # DBINT NULL
    Column("PeripheralID", Integer),  # DBINT NULL
    Column("AccountNumber", String(ACCOUNT_NUMBER_LENGTH)),  # VARCHAR(30) NULL
    Column("FirstName", String(50)),  # VARCHAR(50) NULL
    Column("LastName", String(50)),  # VARCHAR(50) NULL
    Column("Phone", String(PHONE_LENGTH)),  # VARCHAR(20) NULL
    Column("PhoneExt", String(8)),  # VARCHAR(8) NULL
    Column("PhoneIndex", SmallInteger),  # DBSMALLINT NULL
    Column("ZoneIndex", SmallInteger),  # DBSMALLINT NULL
    Column("CallResult", SmallInteger),  # DBSMALLINT NULL
    Column("CallResultDetail", SmallInteger),  # DBSMALLINT NULL
    Column("CallStatusZone1", CHAR(1)),  # DBCHAR NULL
    Column("CallStatusZone2", CHAR(1)),  # DBCHAR NULL
    Column("DialingMode", SmallInteger),  # DBSMALLINT NULL
    Column("CallDuration", Integer),  # DBINT NULL
    Column("AgentPeripheralNumber", String(32)),  # VARCHAR(32) NULL
    Column("SkillGroupSkillTargetID", Integer),  # DBINT NULL
    Column("CallGUID", String(32)),  # VARCHAR(32) NULL
    Column("WrapupData", String(40)),  # VARCHAR(40) NULL
    Column("DBDateTime", DateTime),  # DBDATETIME NULL, written by the HDS
)
# Outbound Option Guide 12.6(1), appendix "Personal Callback List Table", "Table 1.
# Personal Callback Table Columns" (the columns the reader needs, with Cisco's
# types and lengths; the table lives in the Outbound Option database, not the HDS).
PERSONAL_CALLBACK_LIST = Table(
    "Personal_Callback_List",
    metadata,
    Column("PersonalCallbackListID", Integer, primary_key=True),  # IDENTITY
    Column("DialingListID", Integer),  # INT
    Column("CampaignID", Integer),  # INT
    Column("PeripheralID", Integer),  # INT
    Column("AgentID", Integer),  # INT
    Column("CampaignDN", String(12)),  # VARCHAR, "Length is 12"
    Column("GMTZone", SmallInteger),  # SMALLINT, "reserved for future use"
    Column("Phone", String(20)),  # VARCHAR, "Length is 20"
    Column("AccountNumber", String(32)),  # VARCHAR, "Length is 32"
    Column("MaxAttempts", Integer),  # INT
    Column("CallbackDateTime", DateTime),  # DATETIME, "Time to attempt customer call"
)
CALLBACK_RESULTS = frozenset({14, 15})  # customer callback, answering machine callback


_ENGINES: dict[str, Engine] = {}


def engine_for(url: str) -> Engine:
    """One pooled engine per URL per process: the feed builds its dialer every tick."""
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = create_engine(url, pool_pre_ping=True)
    return engine


@dataclass(frozen=True)
class DetailRow:
    """One Dialer_Detail row as the feed needs it, with its position for the mark."""

    db_datetime: datetime
    recovery_key: float
    result: DialResult | None  # None: the row is not one of ours (skipped)
    campaign_id: int | None = None  # Dialer_Detail.CampaignID, the Cisco campaign
    callback_local: datetime | None = None  # Personal_Callback_List.CallbackDateTime


class DialerDetailReader:
    """Read Dialer_Detail rows after a (DBDateTime, RecoveryKey) watermark."""

    def __init__(
        self,
        url: str,
        *,
        name: str = "ucce-dialer-detail",
        batch: int = 5000,
        callback_url: str | None = None,
    ) -> None:
        if not url:
            raise ValueError("the Dialer_Detail reader needs ECM_UCCE_RESULTS_URL")
        self.name = name
        self.batch = batch
        self.engine = engine_for(url)
        self.callback_engine = engine_for(callback_url) if callback_url else None

    def rows_after(
        self, db_datetime: datetime | None, recovery_key: float | None
    ) -> list[DetailRow]:
        """Up to ``batch`` rows written after the mark, oldest first."""
        t = DIALER_DETAIL.c
        query = (
            select(
                t.DBDateTime,
                t.RecoveryKey,
                t.AccountNumber,
                t.CallResult,
                t.CallResultDetail,
                t.CallStatusZone1,
                t.CallStatusZone2,
                t.Phone,
                t.CampaignID,
                t.DialingListID,
            )
            .where(t.DBDateTime.is_not(None))
            .order_by(t.DBDateTime, t.RecoveryKey)
            .limit(self.batch)
        )
        if db_datetime is not None:
            query = query.where(
                or_(
                    t.DBDateTime > db_datetime,
                    and_(t.DBDateTime == db_datetime, t.RecoveryKey > recovery_key),
                )
            )
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as error:
            raise DialerUnavailable(
                f"cannot read {TABLE_NAME}: {type(error).__name__}: {error}"
            ) from None
        times = self.callback_times(rows)
        return [
            DetailRow(
                row.DBDateTime,
                float(row.RecoveryKey),
                to_result(row),
                row.CampaignID,
                times.get((row.DialingListID, row.CampaignID)),
            )
            for row in rows
        ]

    def callback_times(self, rows) -> dict[tuple[int, int | None], datetime]:  # noqa: ANN001
        """The 14/15 rows' personal callback times, by (DialingListID, CampaignID).

        A Personal_Callback_List that cannot be read costs the times, not the
        results: those rows then follow the strategy's retry rules.
        """
        wanted = {
            row.DialingListID
            for row in rows
            if row.CallResult in CALLBACK_RESULTS and row.DialingListID is not None
        }
        if self.callback_engine is None or not wanted:
            return {}
        p = PERSONAL_CALLBACK_LIST.c
        query = (
            select(p.DialingListID, p.CampaignID, p.CallbackDateTime)
            .where(p.DialingListID.in_(sorted(wanted)), p.CallbackDateTime.is_not(None))
            .order_by(p.PersonalCallbackListID)
        )
        try:
            with self.callback_engine.connect() as conn:
                found = conn.execute(query).all()
        except SQLAlchemyError as error:
            log.warning("cannot read Personal_Callback_List: %s", error)
            return {}
        return {(r.DialingListID, r.CampaignID): r.CallbackDateTime for r in found}


def to_result(row) -> DialResult | None:  # noqa: ANN001 - a SQLAlchemy Row
    """Map AccountNumber to our contact id and CallResult to our code."""
    account = (row.AccountNumber or "").strip()
    if not account.isdigit():
        log.info("Dialer_Detail row %s: AccountNumber %r is not ours", row, account)
        return None
    raw = (
        f"CallResult={row.CallResult} CallResultDetail={row.CallResultDetail} "
        f"CallStatusZone1={row.CallStatusZone1 or ''} "
        f"CallStatusZone2={row.CallStatusZone2 or ''} CampaignID={row.CampaignID}"
    )
    code = row.CallResult if row.CallResult is not None else 0
    return DialResult(int(account), int(code), raw, (row.Phone or "").strip() or None)
