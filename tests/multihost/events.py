"""What the multi-host scenario waits for, read where it happens.

Every step of tests/multihost/scenario.py waits on an event seen in PostgreSQL (through
the observer's unix socket) or in the dialer's flight recorder, never on a size or a
sleep tuned to one machine's speed: so the timeline is the same on a quiet machine and
on a loaded one, only longer or shorter. Each wait has a deadline whose message says
which part of the event was missing and what the database held at that moment.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from tests.multihost.dialer import read_records

if TYPE_CHECKING:
    from tests.multihost.scenario import Scenario

DISPATCHED = 1  # contacts.request_state (portal/services/enums.py RequestState)


def held_batch(scenario: Scenario, host: str) -> list[tuple] | None:
    """The batch a tick on `host` holds inside the dialer call, once the database shows
    its claim committed and unresolved: every contact dispatched (state 1) under the
    batch's requestTime, and no result recorded against it."""
    try:
        held = [r for r in read_records(scenario.records, "inflight") if r[0] == host]
    except ValueError:  # the recorder is writing the line now
        return None
    if not held:
        return None
    return held if open_claims(scenario, held) == len(held) else None


def open_claims(scenario: Scenario, held: list[tuple]) -> int:
    """How many of the held claims are still dispatched under the held requestTime
    with no result for it (the claim is unresolved)."""
    ids, stamp = [r[2] for r in held], held[0][4]
    ((count,),) = scenario.sql(
        "SELECT count(*) FROM contacts c WHERE c.id = ANY(:ids)"
        " AND c.request_state = :dispatched AND c.request_time = :at"
        " AND NOT EXISTS (SELECT 1 FROM contact_attempts a"
        " WHERE a.contact_id = c.id AND a.dialed_at = :at)",
        ids=ids,
        at=stamp,
        dispatched=DISPATCHED,
    )
    return int(count)


def still_held(scenario: Scenario, held: list[tuple]) -> int:
    """Held contacts still dispatched under the held claim's requestTime: 0 once the
    response timeout has given them all back (whether or not they were claimed
    again since)."""
    ids, stamp = [r[2] for r in held], held[0][4]
    ((count,),) = scenario.sql(
        "SELECT count(*) FROM contacts WHERE id = ANY(:ids)"
        " AND request_state = :dispatched AND request_time = :at",
        ids=ids,
        at=stamp,
        dispatched=DISPATCHED,
    )
    return int(count)


def redialed_after(
    scenario: Scenario, held: list[tuple], earliest: datetime
) -> set[int]:
    """Held contacts not yet handed to a dialer again at or after `earliest`."""
    again = {
        r[2] for r in read_records(scenario.records, "dispatch") if r[4] >= earliest
    }
    return {r[2] for r in held} - again


def backends_of(scenario: Scenario, host: str) -> int:
    """PostgreSQL backends whose client is the host (a lost host's stay open until
    the server's keepalives give up on them)."""
    ((count,),) = scenario.sql(
        "SELECT count(*) FROM pg_stat_activity WHERE client_addr = CAST(:a AS inet)",
        a=scenario.lab.hosts[host].address,
    )
    return int(count)


def describe_held(
    scenario: Scenario, held: list[tuple], only: set[int] | None = None
) -> str:
    """What the database holds for the held contacts (or those of them in `only`),
    their numbers' abandoned-call lockouts, and the feed's last tick."""
    if not held:
        return "no batch was held"
    ids = sorted(only) if only else [r[2] for r in held]
    rows = scenario.sql(
        "SELECT c.id, c.campaign_id, c.request_state, c.request_time, c.dial_time,"
        " c.attempts_made, k.status, k.enabled, c.phone1 FROM contacts c"
        " JOIN campaigns k ON k.id = c.campaign_id WHERE c.id = ANY(:ids)"
        " ORDER BY c.id LIMIT 5",
        ids=ids,
    )
    locks = scenario.sql("SELECT count(*) FROM number_lockouts")
    beat = scenario.sql("SELECT at, detail FROM feed_heartbeats")
    return (
        f"held at {held[0][4]} ({len(held)} contacts); "
        f"{'those' if only else 'first'} held contacts "
        "(id, campaign, state, requestTime, dialTime, attempts, campaign status,"
        f" enabled, phone1): {rows}; number lockouts: {locks};"
        f" feed heartbeat: {beat}"
    )


def describe_cut_wait(scenario: Scenario, host: str) -> str:
    """Why a batch held mid-import on `host` was not seen."""
    gates = sorted(p.name for p in scenario.records.glob(f"gate-{host}*"))
    inflight = [r for r in read_records(scenario.records, "inflight") if r[0] == host]
    open_now = open_claims(scenario, inflight) if inflight else 0
    dispatched = {r[0] for r in read_records(scenario.records, "dispatch")}
    return (
        f"no batch held mid-import on {host}: gate files {gates}, {len(inflight)}"
        f" held requests ({open_now} open in the database), hosts that dispatched"
        f" {sorted(dispatched)}, upload {scenario.upload_row()}"
    )


def progress_figures(scenario: Scenario, held: list[tuple]) -> dict[str, Any]:
    """The evidence at the cut: the import part-way and the held claims open."""
    row = scenario.upload_row()
    return {
        "uploadStateAtCut": row["state"],
        "rowsAtCut": row["rowsRead"],
        "heldClaims": len(held),
        "heldOpenAtCut": open_claims(scenario, held),
        "heldCampaign": scenario.sql(
            "SELECT DISTINCT campaign_id FROM contacts WHERE id = ANY(:ids)",
            ids=[r[2] for r in held],
        ),
    }
