"""CSV exports that spreadsheets open safely (formula injection neutralised)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import Row, Select, select

from portal.extensions import db
from portal.models import (
    BUSINESS_PARAMS,
    PHONES,
    AuditLog,
    Campaign,
    Contact,
    ContactAttempt,
    User,
    iso_z,
)
from portal.services import campaigns
from portal.services.enums import CHANNELS, REQUEST_STATES, call_result_name
from portal.services.roles import ADMIN, READERS, require

FORMULA_START = (
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\n",
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
)


def safe_cell(value: Any) -> str:
    """Prefix a quote to text a spreadsheet would run as a formula; numbers stay."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_START):
        # a phone number like +441234 is data, not a formula; keep it readable
        if text[0] in "+-" and text[1:].replace(" ", "").isdigit():
            return text
        return "'" + text
    return text


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Stream a CSV (header first) one line at a time, every cell made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(v) for v in row])
        yield buffer.getvalue()


# --- what the exports contain, read in keyset batches so memory stays flat ---

BATCH = 2000


def _keyset(build: Callable[[int], Select]) -> Iterator[Row]:
    """Yield rows of build(after_id) ordered by id, BATCH at a time."""
    after = 0
    while True:
        rows = db.session.execute(build(after).limit(BATCH)).all()
        if not rows:
            return
        yield from rows
        after = rows[-1][0]


CONTACT_HEADER = [
    "id",
    "campaignId",
    *(f"phone{i}" for i in range(1, 6)),
    *(f"businessParam{i}" for i in range(1, 13)),
    "crmCampaignId",
    "dialTime",
    "requestState",
    "requestStateName",
    "callResult",
    "callResultName",
    "attemptNumber",
    "attemptsMade",
    "numberToCall",
    "requestTime",
    "lastStatusUpdateTime",
    "dateCreated",
]


def campaign_contacts(actor: User, campaign_id: Any) -> tuple[Campaign, Iterator[list]]:
    """A campaign's contacts as CSV rows; checks run now, rows are read lazily."""
    require(actor, READERS)
    campaign = campaigns.get_campaign(actor, campaign_id)
    columns = [
        Contact.id,
        Contact.campaign_id,
        *(getattr(Contact, name) for name in PHONES),
        *(getattr(Contact, name) for name in BUSINESS_PARAMS),
        Contact.crm_campaign_id,
        Contact.dial_time,
        Contact.request_state,
        Contact.call_result,
        Contact.attempt_number,
        Contact.attempts_made,
        Contact.number_to_call,
        Contact.request_time,
        Contact.last_status_update_time,
        Contact.date_created,
    ]

    def build(after: int) -> Select:
        return (
            select(*columns)
            .where(Contact.campaign_id == campaign.id, Contact.id > after)
            .order_by(Contact.id)
        )

    def rows() -> Iterator[list]:
        for r in _keyset(build):
            m = r._mapping
            yield [
                m["id"],
                m["campaign_id"],
                *(m[name] for name in PHONES),
                *(m[name] for name in BUSINESS_PARAMS),
                m["crm_campaign_id"],
                iso_z(m["dial_time"]),
                m["request_state"],
                REQUEST_STATES.get(m["request_state"], ""),
                m["call_result"],
                call_result_name(m["call_result"]),
                m["attempt_number"],
                m["attempts_made"],
                m["number_to_call"],
                iso_z(m["request_time"]),
                iso_z(m["last_status_update_time"]),
                iso_z(m["date_created"]),
            ]

    return campaign, rows()


RESULT_HEADER = [
    "attemptId",
    "contactId",
    "campaignId",
    "phone1",
    "attemptNumber",
    "number",
    "channel",
    "callResult",
    "callResultName",
    "rawCode",
    "dialedAt",
    "resultAt",
]


def campaign_results(actor: User, campaign_id: Any) -> tuple[Campaign, Iterator[list]]:
    """Every dial of a campaign's contacts with its result (the attempt history)."""
    require(actor, READERS)
    campaign = campaigns.get_campaign(actor, campaign_id)

    def build(after: int) -> Select:
        return (
            select(
                ContactAttempt.id,
                ContactAttempt.contact_id,
                Contact.phone1,
                ContactAttempt.attempt_number,
                ContactAttempt.number,
                ContactAttempt.channel,
                ContactAttempt.call_result,
                ContactAttempt.raw_code,
                ContactAttempt.dialed_at,
                ContactAttempt.result_at,
            )
            .join(Contact, Contact.id == ContactAttempt.contact_id)
            .where(ContactAttempt.campaign_id == campaign.id, ContactAttempt.id > after)
            .order_by(ContactAttempt.id)
        )

    def rows() -> Iterator[list]:
        for r in _keyset(build):
            yield [
                r[0],
                r[1],
                campaign.id,
                r[2],
                r[3],
                r[4],
                CHANNELS.get(r[5], r[5]),
                r[6],
                call_result_name(r[6]),
                r[7],
                iso_z(r[8]),
                iso_z(r[9]),
            ]

    return campaign, rows()


AUDIT_HEADER = [
    "id",
    "at",
    "username",
    "action",
    "entity",
    "entityId",
    "changes",
    "summary",
]


def audit_log(actor: User) -> Iterator[list]:
    """The whole audit trail, oldest first; administrators only."""
    require(actor, ADMIN)

    def build(after: int) -> Select:
        return (
            select(
                AuditLog.id,
                AuditLog.at,
                AuditLog.username,
                AuditLog.action,
                AuditLog.entity,
                AuditLog.entity_id,
                AuditLog.changes,
                AuditLog.summary,
            )
            .where(AuditLog.id > after)
            .order_by(AuditLog.id)
        )

    def rows() -> Iterator[list]:
        for r in _keyset(build):
            changes = (
                json.dumps(r[6], ensure_ascii=False, sort_keys=True) if r[6] else ""
            )
            yield [r[0], iso_z(r[1]), r[2], r[3], r[4], r[5], changes, r[7]]

    return rows()
