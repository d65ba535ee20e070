"""When will a contact be dialed: the earliest instant every rule allows.

Each rule allows a union of intervals that open at a known kind of moment: a local
window start or a local midnight in one of the zones involved, a due time, the
moment a frequency cap or gap lifts. So the earliest allowed instant is one of
those moments (or now): they are listed for the coming days, in order, and the
first at which no rule blocks is the answer. Local times are turned into instants
with zoneinfo; a local time that does not exist (a spring-forward gap) opens at
the transition itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta

from portal.services.calling_rules.checks import Block
from portal.services.feed.windows import local_time, zone

HORIZON_DAYS = 400
MAX_HORIZON_DAYS = 800
_STEP = timedelta(seconds=1)


def utc_of_local(local: datetime, zone_name: str | None) -> datetime:
    """The first naive-UTC instant at which the zone's wall clock reads >= local."""
    tz = zone(zone_name)
    first = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == local:
        return first.replace(tzinfo=None)
    # a gap: before the transition the clock reads < local, after it > local
    low = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = first
    while high - low > _STEP:
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= local:
            high = middle
        else:
            low = middle
    return high.replace(tzinfo=None, microsecond=0)


CHUNKS = (2, 9, 40)  # days searched first, then in growing steps


def _zone_moments(
    zone_times: dict[str, set[time]], low: datetime, high: datetime
) -> set[datetime]:
    """Every listed local time of each zone that falls in [low, high)."""
    found = set()
    for name, times in zone_times.items():
        first = local_time(low, name).date() - timedelta(days=1)
        last = local_time(high, name).date() + timedelta(days=1)
        day = first
        while day <= last:
            for t in times:
                moment = utc_of_local(datetime.combine(day, t), name)
                if low <= moment < high:
                    found.add(moment)
            day += timedelta(days=1)
    return found


def earliest(
    now: datetime,
    blocks_at: Callable[[datetime], list[Block]],
    zone_times: dict[str, set[time]],
    moments: Iterable[datetime | None],
    until: datetime | None = None,
    start_after: date | None = None,
) -> datetime | None:
    """The first candidate at which nothing blocks, None within the horizon.

    Candidates are listed a few days at a time, so an answer in the next days does
    not pay for the whole horizon.
    """
    days = HORIZON_DAYS
    if start_after is not None:
        ahead = (start_after - now.date()).days + HORIZON_DAYS
        days = min(MAX_HORIZON_DAYS, max(days, ahead))
    extra = sorted({m for m in moments if m is not None and m > now})
    low, span, step = now, 0, 0
    while span < days:
        span = min(days, span + CHUNKS[min(step, len(CHUNKS) - 1)])
        step += 1
        high = now + timedelta(days=span)
        found = _zone_moments(zone_times, low, high)
        found.update(m for m in extra if low <= m < high)
        if low == now:
            found.add(now)
        for moment in sorted(found):
            if until is not None and moment >= until:
                return None
            if not blocks_at(moment):
                return moment
        low = high
    return None
