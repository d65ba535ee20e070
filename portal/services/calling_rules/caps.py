"""Frequency caps and minimum gaps, counted in SQL from the dial log.

Counting happens in the database, for a whole claim at once: a filter in the claim's
candidate query keeps numbers at their cap or inside their gap out of the batch,
and before the batch is written the claim locks each number it is about to dial
(PostgreSQL: a transaction-scoped advisory lock per match key, tried without
waiting; SQLite: the claim already holds the write lock) and counts again, so two
workers dialing the same number from two campaigns cannot both pass the check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
)

from portal.extensions import db
from portal.models import Contact, DialLog
from portal.services.calling_rules.policy import MAX_CAP_HOURS, CallingPolicy
from portal.services.calling_rules.regions import capped_rules
from portal.services.feed._sql import is_postgres, run

LOCK_CLASS = 1212  # pg advisory lock class: "a claim is dialing this match key"
UNLIMITED = 1 << 30
_D = DialLog.__table__


@dataclass(frozen=True)
class Limit:
    """At most `count` dials in `hours`, for numbers of `regions` (None: all)."""

    count: int
    hours: int
    regions: frozenset[str] | None = None


def limits_for(policy: CallingPolicy) -> tuple[tuple[Limit, ...], int]:
    """(caps, gap minutes): the policy's cap for all numbers, regional by region."""
    limits = []
    if policy.cap is not None:
        limits.append(Limit(policy.cap.count, policy.cap.hours))
    grouped: dict[tuple[int, int], set[str]] = {}
    for rule in capped_rules():
        grouped.setdefault((rule.cap_count, rule.cap_hours), set()).add(rule.region)
    for (count, hours), regions in sorted(grouped.items()):
        limits.append(Limit(count, hours, frozenset(regions)))
    return tuple(limits), policy.min_gap_minutes or 0


def key_filters(limits: tuple[Limit, ...], gap: int, key_column, now: datetime) -> list:
    """SQL conditions that hold when the number in `key_column` may be dialed now."""
    conditions = []
    if gap:
        conditions.append(
            ~exists().where(
                _D.c.match_key == key_column,
                _D.c.dialed_at > now - timedelta(minutes=gap),
            )
        )
    for limit in limits:
        where = [
            _D.c.match_key == key_column,
            _D.c.dialed_at > now - timedelta(hours=limit.hours),
        ]
        if limit.regions is not None:
            where.append(_D.c.region.in_(sorted(limit.regions)))
        count = select(func.count()).where(*where).scalar_subquery()
        conditions.append(count < limit.count)
    return conditions


def lock_keys(keys: list[str]) -> set[str]:
    """Take each key's advisory lock if free (PostgreSQL); the ones taken."""
    if not keys or not is_postgres():
        return set(keys)
    rows = db.session.execute(
        text(
            "SELECT k FROM unnest(CAST(:keys AS text[])) AS k "
            "WHERE pg_try_advisory_xact_lock(:cls, hashtext(k))"
        ),
        {"keys": keys, "cls": LOCK_CLASS},
    )
    return {row[0] for row in rows}


def quotas(
    limits: tuple[Limit, ...],
    gap: int,
    keys: dict[str, str | None],
    now: datetime,
) -> dict[str, int]:
    """How many dials each key (-> its region) may take now: locked, then counted."""
    hours = sorted({limit.hours for limit in limits})
    horizon = now - timedelta(hours=max(hours, default=0), minutes=gap)
    locked, counted = _lock_and_count(sorted(keys), hours, horizon, now)
    out = {key: 0 for key in keys}
    for key in locked:
        last, by_hours = counted.get(key, (None, {}))
        room = UNLIMITED
        if gap:
            room = 0 if last is not None and last > now - timedelta(minutes=gap) else 1
        for limit in limits:
            if limit.regions is None or keys[key] in limit.regions:
                room = min(room, limit.count - int(by_hours.get(limit.hours) or 0))
        out[key] = max(0, room)
    return out


def _lock_and_count(
    keys: list[str], hours: list[int], horizon: datetime, now: datetime
) -> tuple[set[str], dict[str, tuple]]:
    """Lock the keys (PostgreSQL, one statement with the count) and count their dials.

    The count is a new statement after the lock is held, so under READ COMMITTED it
    sees every dial another worker committed before releasing the key.
    """
    if not keys:
        return set(), {}
    sums = ", ".join(
        f"sum(CASE WHEN d.dialed_at > :s{n} THEN 1 ELSE 0 END)"
        for n in range(len(hours))
    )
    params = {f"s{n}": now - timedelta(hours=h) for n, h in enumerate(hours)}
    if is_postgres():
        locked = lock_keys(keys)
        found = sorted(locked)
        where, extra = "d.match_key = ANY(CAST(:keys AS text[]))", {"keys": found}
    else:
        locked, found = set(keys), keys
        names = {f"k{n}": k for n, k in enumerate(found)}
        where = "d.match_key IN (" + ", ".join(":" + n for n in names) + ")"
        extra = names
    if not found:
        return locked, {}
    rows = run(
        f"SELECT d.match_key, max(d.dialed_at) AS last{', ' + sums if sums else ''} "
        f"FROM dial_log d WHERE {where} AND d.dialed_at > :horizon "
        "GROUP BY d.match_key",
        {**params, **extra, "horizon": horizon},
        datetimes=("last",),
    )
    counted = {row[0]: (row[1], dict(zip(hours, row[2:], strict=True))) for row in rows}
    return locked, counted


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def record_dials(rows: list[dict], now: datetime) -> None:
    """rows: {contact_id, campaign_id, match_key, region}; one statement."""
    if not rows:
        return
    if not is_postgres():
        db.session.execute(insert(_D), [{**row, "dialed_at": now} for row in rows])
        return
    db.session.execute(
        text(
            "INSERT INTO dial_log (contact_id, campaign_id, match_key, region, "
            "dialed_at) SELECT c, :campaign, k, r, CAST(:now AS timestamp) FROM "
            "unnest(CAST(:contacts AS integer[]), CAST(:keys AS text[]), "
            "CAST(:regions AS text[])) AS v(c, k, r)"
        ),
        {
            "campaign": rows[0]["campaign_id"],
            "now": now,
            "contacts": [row["contact_id"] for row in rows],
            "keys": [row["match_key"] for row in rows],
            "regions": [row["region"] for row in rows],
        },
    )


RECENT_ROWS = 50_000  # a refused batch's rows are among the newest


def forget_dials(contact_ids: list[int], now: datetime) -> None:
    """A claim the dialer never took did not dial: its log rows go.

    It runs right after the claim committed, so its rows are among the newest ids
    (found through the primary key, not a scan of the log).
    """
    if not contact_ids:
        return
    newest = (
        select(_D.c.id).order_by(_D.c.id.desc()).limit(RECENT_ROWS).scalar_subquery()
    )
    db.session.execute(
        delete(_D).where(
            _D.c.id.in_(newest),
            _D.c.dialed_at == now,
            _D.c.contact_id.in_(contact_ids),
        )
    )


PRUNE_BATCH = 20_000


def prune(now: datetime) -> int:
    """Dials older than the longest cap window can never count again.

    Rows are written in time order, so the oldest are the lowest ids: each tick
    removes up to PRUNE_BATCH of them through the primary key.
    """
    cutoff = now - timedelta(hours=MAX_CAP_HOURS)
    first = db.session.scalar(select(_D.c.dialed_at).order_by(_D.c.id).limit(1))
    if first is None or first >= cutoff:
        return 0
    oldest = select(_D.c.id).order_by(_D.c.id).limit(PRUNE_BATCH).scalar_subquery()
    return (
        db.session.execute(
            delete(_D).where(_D.c.id.in_(oldest), _D.c.dialed_at < cutoff)
        ).rowcount
        or 0
    )


def recent_dials(key: str, now: datetime) -> tuple[datetime, ...]:
    """One number's dials inside the longest window, newest first."""
    since = now - timedelta(hours=MAX_CAP_HOURS)
    return tuple(
        db.session.scalars(
            select(_D.c.dialed_at)
            .where(_D.c.match_key == key, _D.c.dialed_at > since, _D.c.dialed_at <= now)
            .order_by(_D.c.dialed_at.desc())
        )
    )


def held_counts(
    campaign_id: int, limits: tuple[Limit, ...], gap: int, now: datetime
) -> dict[str, int]:
    """Pending contacts of a campaign whose phone1 is capped or inside its gap.

    Driven from the recent dial log (small) into contacts by ix_contacts_match_key.
    """
    out = {}
    base = [Contact.campaign_id == campaign_id, Contact.request_state == 0]
    if gap:
        recent = select(_D.c.match_key).where(
            _D.c.dialed_at > now - timedelta(minutes=gap)
        )
        out["min_gap"] = db.session.scalar(
            select(func.count()).where(*base, Contact.match_key.in_(recent))
        )
    capped = []
    for limit in limits:
        where = [_D.c.dialed_at > now - timedelta(hours=limit.hours)]
        if limit.regions is not None:
            where.append(_D.c.region.in_(sorted(limit.regions)))
        capped.append(
            Contact.match_key.in_(
                select(_D.c.match_key)
                .where(and_(*where))
                .group_by(_D.c.match_key)
                .having(func.count() >= limit.count)
            )
        )
    if capped:
        out["frequency_cap"] = db.session.scalar(
            select(func.count()).where(*base, or_(*capped))
        )
    return {code: n for code, n in out.items() if n}
