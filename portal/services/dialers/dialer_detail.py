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


class DialerDetailReader:
    """Read Dialer_Detail rows after a (DBDateTime, RecoveryKey) watermark."""

    def __init__(
        self, url: str, *, name: str = "ucce-dialer-detail", batch: int = 5000
    ) -> None:
        if not url:
            raise ValueError("the Dialer_Detail reader needs ECM_UCCE_RESULTS_URL")
        self.name = name
        self.batch = batch
        self.engine = engine_for(url)

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
        return [
            DetailRow(
                row.DBDateTime, float(row.RecoveryKey), to_result(row), row.CampaignID
            )
            for row in rows
        ]


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
