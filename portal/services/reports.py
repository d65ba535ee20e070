"""Campaign reports: what came of the dials, by attempt, hour, weekday and upload.

Computed from the attempt history through `attempt_counts` (portal/models/reports.py):
dials per campaign counted by quarter hour and connect, by hour, attempt number and
result, and by hour, upload and connect. results.py adds to them as it records each
attempt, and `rebuild_counts` recomputes them from contact_attempts. A report then
sums a bounded number of rows per day (about 1,500 for a busy campaign) whatever the
campaign's size, instead of scanning millions of attempts. Quarter hours keep the
heat map exact in every campaign zone (all UTC offsets are whole quarter hours);
the period's first and last hour are exact in zones with whole-hour offsets, and
within half an hour elsewhere (India, Newfoundland).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import IntEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from sqlalchemy import delete, func, select, text

from portal.extensions import db
from portal.models import AttemptCount, Upload, User, utcnow
from portal.services.enums import (
    RESULT_CONNECTED,
    RESULT_SMS_DELIVERED,
    call_result_name,
)
from portal.services.roles import READERS, require
from portal.services.validation import Schema, parse

CONNECT_CODES = (RESULT_CONNECTED, RESULT_SMS_DELIVERED)
BUCKET_MINUTES = 15
DEFAULT_DAYS = 30
MAX_DAYS = 366
WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")  # SPEC: 0 = Sunday
_UTC = ZoneInfo("UTC")
# the table's columns: a report reads plain rows, without the ORM's row loading
COUNTS = AttemptCount.__table__.c


class CountKind(IntEnum):
    """The three ways attempt_counts counts dials (see portal/models/reports.py)."""

    TIME = 1
    ATTEMPT = 2
    UPLOAD = 3


def quarter_hour(moment: datetime) -> datetime:
    return moment.replace(
        minute=moment.minute - moment.minute % BUCKET_MINUTES, second=0, microsecond=0
    )


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


# -- keeping the counts ----------------------------------------------------------------


def count_attempts(attempts: list[dict[str, Any]]) -> None:
    """Add freshly recorded attempts to attempt_counts (same transaction)."""
    if not attempts:
        return
    ids = sorted({row["contact_id"] for row in attempts})
    from portal.services.feed._sql import id_list_clause, run

    where, params = id_list_clause(ids)
    uploads = dict(
        run(f"SELECT id, upload_id FROM contacts WHERE {where}", params).all()
    )
    counts: dict[tuple, int] = defaultdict(int)
    for row in attempts:
        campaign, at, code = row["campaign_id"], row["result_at"], row["call_result"]
        connect = 1 if code in CONNECT_CODES else 0
        hour = hour_of(at)
        counts[(campaign, CountKind.TIME, quarter_hour(at), 0, connect)] += 1
        counts[(campaign, CountKind.ATTEMPT, hour, row["attempt_number"], code)] += 1
        upload = uploads.get(row["contact_id"]) or 0
        counts[(campaign, CountKind.UPLOAD, hour, upload, connect)] += 1
    _upsert(counts)


def _upsert(counts: dict[tuple, int]) -> None:
    """Insert or add to the count rows; concurrent workers add, never overwrite."""
    table = AttemptCount.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    keys = ("campaign_id", "kind", "bucket", "dimension", "outcome")
    rows = [
        {**dict(zip(keys, key, strict=True)), "dials": n}
        for key, n in sorted(counts.items())  # one lock order for every worker
    ]
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={"dials": table.c.dials + statement.excluded.dials},
    )
    db.session.execute(statement, rows)


def rebuild_sql(dialect: str) -> list[str]:
    """INSERT ... SELECT statements that count one campaign's (:c) attempt history."""
    if dialect == "postgresql":
        hour = "date_trunc('hour', a.result_at)"
        quarter = (
            f"{hour} + floor(extract(minute FROM a.result_at) / 15) "
            "* interval '15 minutes'"
        )
    else:
        hour = "strftime('%Y-%m-%d %H:00:00.000000', a.result_at)"
        quarter = (
            "strftime('%Y-%m-%d %H:', a.result_at) || printf('%02d:00.000000', "
            "(CAST(strftime('%M', a.result_at) AS INTEGER) / 15) * 15)"
        )
    connect = "CASE WHEN a.call_result IN (10, 100) THEN 1 ELSE 0 END"
    head = (
        "INSERT INTO attempt_counts (campaign_id, kind, bucket, dimension, outcome, "
        "dials) SELECT a.campaign_id, "
    )
    where = "WHERE a.campaign_id = :c"
    return [
        f"{head}{int(CountKind.TIME)}, {quarter}, 0, {connect}, count(*) "
        f"FROM contact_attempts a {where} GROUP BY a.campaign_id, {quarter}, {connect}",
        f"{head}{int(CountKind.ATTEMPT)}, {hour}, a.attempt_number, a.call_result, "
        f"count(*) FROM contact_attempts a {where} "
        f"GROUP BY a.campaign_id, {hour}, a.attempt_number, a.call_result",
        f"{head}{int(CountKind.UPLOAD)}, {hour}, COALESCE(c.upload_id, 0), {connect}, "
        "count(*) FROM contact_attempts a LEFT JOIN contacts c ON c.id = a.contact_id "
        f"{where} GROUP BY a.campaign_id, {hour}, COALESCE(c.upload_id, 0), {connect}",
    ]


def rebuild_counts(campaign_id: int) -> None:
    """Recompute a campaign's counts from contact_attempts (repair, benchmarks)."""
    db.session.execute(
        delete(AttemptCount).where(AttemptCount.campaign_id == campaign_id)
    )
    for statement in rebuild_sql(db.session.get_bind().dialect.name):
        db.session.execute(text(statement), {"c": campaign_id})
    db.session.commit()


# -- reading a report ------------------------------------------------------------------


class ReportQuery(Schema):
    """?from=YYYY-MM-DD&to=YYYY-MM-DD, both days included, in the campaign's zone."""

    from_: date | None = Field(default=None, alias="from")
    to: date | None = None

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _day(cls, v: Any) -> Any:
        if v in (None, ""):
            return None
        try:
            return date.fromisoformat(str(v).strip())
        except ValueError:
            raise ValueError("must be a date YYYY-MM-DD") from None


@dataclass
class Period:
    first: date
    last: date
    start: datetime  # naive UTC, included
    end: datetime  # naive UTC, excluded


def _period(query: ReportQuery, zone: ZoneInfo, now: datetime) -> Period:
    today = now.replace(tzinfo=_UTC).astimezone(zone).date()
    last = query.to or today
    first = query.from_ or (last - timedelta(days=DEFAULT_DAYS - 1))
    from portal.services.errors import ValidationFailed

    if first > last:
        raise ValidationFailed({"from": "must not be after to"})
    if (last - first).days >= MAX_DAYS:
        raise ValidationFailed({"from": f"a report covers at most {MAX_DAYS} days"})

    def utc(day: date) -> datetime:
        local = datetime(day.year, day.month, day.day, tzinfo=zone)
        return local.astimezone(_UTC).replace(tzinfo=None)

    return Period(first, last, utc(first), utc(last + timedelta(days=1)))


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _tally(dials: int, connects: int) -> dict[str, Any]:
    return {"dials": dials, "connects": connects, "contactRate": _rate(connects, dials)}


def campaign_report(
    actor: User, campaign_id: Any, args: Any, now: datetime | None = None
) -> dict[str, Any]:
    """GET .../campaign/<id>/report: the period's dials and what came of them."""
    require(actor, READERS)
    from portal.services import campaigns

    campaign = campaigns.get_campaign(actor, campaign_id)
    query = parse(ReportQuery, dict(args or {}))
    zone = ZoneInfo(campaign.time_zone or "UTC")
    period = _period(query, zone, now or utcnow())

    def where(kind: CountKind) -> tuple:
        return (
            COUNTS.campaign_id == campaign.id,
            COUNTS.kind == kind,
            COUNTS.bucket >= period.start,
            COUNTS.bucket < period.end,
        )

    report = {
        "id": campaign.id,
        "name": campaign.name,
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "timeZone": campaign.time_zone or "UTC",
        **_by_attempt(where(CountKind.ATTEMPT)),
    }
    report.update(_by_time(where(CountKind.TIME), zone))
    report["byUpload"] = _by_upload(where(CountKind.UPLOAD))
    return report


def _by_attempt(where: tuple) -> dict[str, Any]:
    rows = db.session.execute(
        select(
            COUNTS.dimension,
            COUNTS.outcome,
            func.sum(COUNTS.dials),
        )
        .where(*where)
        .group_by(COUNTS.dimension, COUNTS.outcome)
        .order_by(COUNTS.dimension, COUNTS.outcome)
    ).all()
    by_attempt: dict[int, dict[str, Any]] = {}
    results: dict[int, int] = defaultdict(int)
    for number, code, dials in rows:
        dials = int(dials or 0)
        item = by_attempt.setdefault(
            number, {"attemptNumber": number, "dials": 0, "connects": 0, "results": []}
        )
        item["dials"] += dials
        if code in CONNECT_CODES:
            item["connects"] += dials
        item["results"].append(
            {"code": code, "name": call_result_name(code), "count": dials}
        )
        results[code] += dials
    for item in by_attempt.values():
        item["contactRate"] = _rate(item["connects"], item["dials"])
    total = sum(results.values())
    connects = sum(n for code, n in results.items() if code in CONNECT_CODES)
    return {
        "dials": total,
        "connects": connects,
        "contactRate": _rate(connects, total),
        "attemptsPerConnect": round(total / connects, 2) if connects else None,
        "results": [
            {"code": code, "name": call_result_name(code), "count": n}
            for code, n in sorted(results.items(), key=lambda kv: -kv[1])
        ],
        "byAttempt": list(by_attempt.values()),
    }


def local_cells(rows, zone: ZoneInfo) -> dict[tuple[int, int], list[int]]:
    """(weekday, hour) in the zone -> [dials, connects], from (UTC quarter, connect, n).

    A 30-day report has about 5,800 quarter-hour rows; converting each with
    astimezone and strftime took most of the report's time, so the zone's offset
    is looked up once per UTC hour (twice where a change falls inside that hour).
    """
    cells: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    offsets: dict[tuple[int, int, int, int], timedelta | None] = {}
    for bucket, is_connect, dials in rows:
        hour = (bucket.year, bucket.month, bucket.day, bucket.hour)
        offset = offsets.get(hour, False)
        if offset is False:
            offset = offsets[hour] = _steady_offset(bucket, zone)
        local = bucket + (offset if offset is not None else _offset(bucket, zone))
        cell = cells[(local.isoweekday() % 7, local.hour)]  # 0 = Sunday
        cell[0] += int(dials or 0)
        if is_connect:
            cell[1] += int(dials or 0)
    return cells


def _offset(moment: datetime, zone: ZoneInfo) -> timedelta:
    return zone.utcoffset(moment.replace(tzinfo=_UTC).astimezone(zone)) or timedelta()


def _steady_offset(moment: datetime, zone: ZoneInfo) -> timedelta | None:
    """The zone's offset through the UTC hour of `moment`; None if it changes in it."""
    start = hour_of(moment)
    first = _offset(start, zone)
    if _offset(start + timedelta(minutes=59), zone) != first:
        return None
    return first


def _by_time(where: tuple, zone: ZoneInfo) -> dict[str, Any]:
    """Quarter hours turned into the campaign's local weekday and hour."""
    rows = db.session.execute(
        select(COUNTS.bucket, COUNTS.outcome, func.sum(COUNTS.dials))
        .where(*where)
        .group_by(COUNTS.bucket, COUNTS.outcome)
    ).all()
    cells = local_cells(rows, zone)
    heat = [
        {"weekday": d, "hour": h, **_tally(*cells.get((d, h), (0, 0)))}
        for d in range(7)
        for h in range(24)
    ]
    hours = [
        {
            "hour": h,
            **_tally(
                *(sum(c[i] for (_, hh), c in cells.items() if hh == h) for i in (0, 1))
            ),
        }
        for h in range(24)
    ]
    days = [
        {
            "weekday": d,
            "name": WEEKDAYS[d],
            **_tally(
                *(sum(c[i] for (dd, _), c in cells.items() if dd == d) for i in (0, 1))
            ),
        }
        for d in range(7)
    ]
    return {"byHour": hours, "byWeekday": days, "heatMap": heat}


def _by_upload(where: tuple) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(COUNTS.dimension, COUNTS.outcome, func.sum(COUNTS.dials))
        .where(*where)
        .group_by(COUNTS.dimension, COUNTS.outcome)
    ).all()
    tallies: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for upload_id, is_connect, dials in rows:
        tallies[upload_id][0] += int(dials or 0)
        if is_connect:
            tallies[upload_id][1] += int(dials or 0)
    names = dict(
        db.session.execute(
            select(Upload.id, Upload.filename).where(Upload.id.in_(list(tallies)))
        ).all()
    )
    return [
        {
            "uploadId": upload_id or None,
            "fileName": names.get(upload_id, "Added one at a time")
            if upload_id
            else "Added one at a time",
            **_tally(*tally),
        }
        for upload_id, tally in sorted(tallies.items())
    ]


# -- CSV -------------------------------------------------------------------------------

CSV_HEADER = ["section", "key", "label", "dials", "connects", "contactRate"]


def report_rows(report: dict[str, Any]) -> Iterator[list]:
    """The report as CSV rows (the caller's csv_lines neutralises formulas)."""
    period = f"{report['from']} to {report['to']}"
    yield _tally_row("total", "", period, report)
    yield from _result_rows(report)
    yield from _attempt_rows(report)
    yield from _time_rows(report)
    for item in report["byUpload"]:
        yield _tally_row("upload", item["uploadId"] or "", item["fileName"], item)


def _tally_row(section: str, key: Any, label: str, item: dict[str, Any]) -> list:
    """One CSV row of dials, connects and contact rate."""
    return [section, key, label, item["dials"], item["connects"], item["contactRate"]]


def _result_rows(report: dict[str, Any]) -> Iterator[list]:
    for item in report["results"]:
        yield ["result", item["code"], item["name"], item["count"], "", ""]


def _attempt_rows(report: dict[str, Any]) -> Iterator[list]:
    """Each attempt number's tally, followed by its results."""
    for item in report["byAttempt"]:
        number = item["attemptNumber"]
        yield _tally_row("attempt", number, f"Attempt {number}", item)
        for res in item["results"]:
            key = f"{number}/{res['code']}"
            yield ["attempt_result", key, res["name"], res["count"], "", ""]


def _time_rows(report: dict[str, Any]) -> Iterator[list]:
    """By hour, by weekday, then the heat map's cells that had dials."""
    for item in report["byHour"]:
        yield _tally_row("hour", item["hour"], f"{item['hour']:02d}:00", item)
    for item in report["byWeekday"]:
        yield _tally_row("weekday", item["weekday"], item["name"], item)
    for item in report["heatMap"]:
        if item["dials"]:
            key = f"{item['weekday']}/{item['hour']}"
            label = f"{WEEKDAYS[item['weekday']]} {item['hour']:02d}:00"
            yield _tally_row("weekday_hour", key, label, item)
