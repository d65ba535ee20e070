"""Models to the seed's JSON shapes, to the letter, since integrations parse them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from portal.models import (
    CallStrategy,
    Campaign,
    Contact,
    DncEntry,
    PreferenceSettings,
    StrategyAttempt,
    Upload,
    User,
    iso_z,
)
from portal.models.users import ROLE_DESCRIPTIONS, ROLES
from portal.services.calling_rules.fields import serialise as calling_rule_fields
from portal.services.enums import DISPATCHED
from portal.services.preferences import PASSWORD_MASK


def epoch_ms(value: datetime | None) -> str | None:
    if value is None:
        return None
    return str(int(value.replace(tzinfo=ZoneInfo("UTC")).timestamp() * 1000))


def campaign(c: Campaign) -> dict:
    return {
        "id": str(c.id),
        "crmCampaignId": c.crm_campaign_id,
        "ciscoCampaignId": c.cisco_campaign_id,
        "ciscoCampaignName": c.cisco_campaign_name,
        "dialerType": c.dialer_type,
        "skillGroup": c.skill_group,
        "smsTemplate": c.sms_template,
        "description": c.description,
        "enabled": bool(c.enabled),
        "startTime": c.start_time,
        "endTime": c.end_time,
        "strategyId": str(c.strategy_id),
        "name": c.name,
        "status": str(c.status),
        "type": str(c.type),
        "weekDays": c.week_days,
        "weekdays": c.week_days,
        "timeZone": c.time_zone,
        "respectContactTimeZone": bool(c.respect_contact_time_zone),
        "responseTimeout": c.response_timeout,
        "maxAbandonRate": c.max_abandon_rate,
        "pauseReason": c.pause_reason,
        **calling_rule_fields(c, with_dates=True),
        "dialOrder": c.dial_order or "due",
        "contactFilter": c.contact_filter,
        "recycleRules": c.recycle_rules or [],
        "lastUpdated": iso_z(c.last_updated),
        "dateCreated": iso_z(c.date_created),
    }


def retry_map(rows: list | None) -> list[dict]:
    out = []
    for row in rows or []:
        # expiry is always present (null when unset) so every rule has one shape
        out.append(
            {
                "attempt_number": row["attempt_number"],
                "delay": row.get("delay", 0),
                "expiry": row.get("expiry"),
                "call_result": row["call_result"],
            }
        )
    return out


def attempt(a: StrategyAttempt, with_cs: bool = True) -> dict:
    data = {
        "id": a.id,
        "name": a.name,
        "phone": a.phone,
        "channel": a.channel,
        "attemptNumber": a.attempt_number,
        "retryMap": retry_map(a.retry_map),
    }
    if with_cs:
        data = {
            "id": a.id,
            "csId": a.strategy_id,
            **{k: v for k, v in data.items() if k != "id"},
        }
    return data


def strategy(s: CallStrategy) -> dict:
    return {
        "id": s.id,
        "name": s.name,
        "maxAttempts": s.max_attempts,
        "callAttempts": [attempt(a, with_cs=False) for a in s.attempts],
    }


def dnc_entry(e: DncEntry) -> dict:
    return {
        "id": e.id,
        "name": e.name,
        "updateById": e.update_by_id,
        "primaryNumber": e.primary_number,
        "dataCreated": iso_z(e.date_created),
        "dateCreated": iso_z(e.date_created),
        "lastUpdated": iso_z(e.last_updated),
        "expiresAt": iso_z(e.expires_at),
        "source": e.source,
        "reason": e.reason,
    }


def local_dial_time(value: datetime | None, zone: str | None) -> str | None:
    """dialTime in the campaign's time zone, in the seed's 'YYYY-MM-DD HH:MM:SS'."""
    if value is None:
        return None
    local = value.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(zone or "UTC"))
    return local.strftime("%Y-%m-%d %H:%M:%S")


def contact(c: Contact, camp: Campaign | None = None) -> dict:
    zone = camp.time_zone if camp else "UTC"
    data = {
        "id": c.id,
        "attemptId": c.attempt_id,
        "attemptNumber": c.attempt_number,
        "attemptsMade": c.attempts_made,
        "dialTime": local_dial_time(c.dial_time, zone),
    }
    for i in range(1, 13):
        data[f"businessParam{i}"] = getattr(c, f"business_param{i}")
    data.update(
        {
            "campaignId": c.campaign_id,
            "crmCampaignId": c.crm_campaign_id,
        }
    )
    for i in range(1, 6):
        data[f"phone{i}"] = getattr(c, f"phone{i}")
    data.update(
        {
            "callResult": c.call_result,
            "channel": c.channel,
            "ciscoCampaignId": _numeric_id(camp.cisco_campaign_id if camp else None),
            "lastStatusUpdateTime": iso_z(c.last_status_update_time),
            "numberToCall": c.number_to_call,
            "requestState": c.request_state,
            "requestTime": iso_z(c.request_time),
            "responseTimeout": iso_z(c.request_time and _timeout_at(c, camp)),
            "priority": c.priority,
            "timeZone": c.time_zone,
            "region": c.region,
            "callbackTime": local_dial_time(c.callback_at, zone),
        }
    )
    return data


def _numeric_id(value: str | None) -> int | str | None:
    """The seed's getList carries ciscoCampaignId as a number (campaigns carry text)."""
    if value is not None and value.isascii() and value.isdigit() and len(value) < 16:
        return int(value)
    return value


def _timeout_at(c: Contact, camp: Campaign | None):
    from datetime import timedelta

    from flask import current_app

    if c.request_state != DISPATCHED or c.request_time is None:
        return None
    seconds = (camp.response_timeout if camp else None) or current_app.config[
        "ECM_RESPONSE_TIMEOUT"
    ]
    return c.request_time + timedelta(seconds=seconds)


def preferences(p: PreferenceSettings) -> dict:
    return {
        "id": p.id,
        "campaignBatchSize": p.campaign_batch_size,
        "ivrBatchSize": p.ivr_batch_size,
        "filePath": p.file_path,
        "fileArchivePath": p.file_archive_path,
        "username": p.username,
        "password": PASSWORD_MASK if p.password else None,
        "Domain": p.domain,
        **calling_rule_fields(p, with_dates=False),
    }


def user_details(u: User) -> dict:
    return {
        "id": u.id,
        "username": u.username,
        "userId": None,
        "email": u.email,
        "fullName": u.full_name,
        "type": "DB",
        "isActive": bool(u.active),
        "profileExists": False,
        "lastLogin": u.last_login.strftime("%a %b %d %H:%M:%S UTC %Y")
        if u.last_login
        else None,
        "lastUpdated": epoch_ms(u.last_updated),
        "dateCreated": epoch_ms(u.date_created),
        "createdBy": None,
        "updatedBy": None,
        "profilePicture": None,
        "roles": [
            {
                "id": ROLES.index(u.role) + 1,
                "name": u.role,
                "description": ROLE_DESCRIPTIONS[u.role],
                "permissions": None,
            }
        ],
    }


def upload(u: Upload) -> dict:
    from portal.services.uploads import percent

    return {
        "uploadId": u.id,
        "id": u.id,
        "kind": u.kind,
        "campaignId": u.campaign_id,
        "fileName": u.filename,
        "state": u.state,
        "rowsTotal": u.rows_total,
        "rowsRead": u.rows_read,
        "accepted": u.accepted,
        "rejected": u.rejected,
        "dncFlagged": u.dnc_flagged,
        "duplicates": u.duplicates,
        "percent": percent(u),
        "error": u.error_message,
        "createdAt": iso_z(u.created_at),
        "startedAt": iso_z(u.started_at),
        "finishedAt": iso_z(u.finished_at),
    }
