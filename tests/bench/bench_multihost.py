"""Hosts in network namespaces, longer runs: the fault scenario bigger, and sizing.

    python tests/bench/bench_multihost.py faults [--rows 1000000] [--contacts 20000]
    python tests/bench/bench_multihost.py sizing [--contacts 1000000] [--campaigns 50]
        [--batch 200] [--seconds 60] [--upload-rows 1000000] [--workers 2]
        [--pg shared_buffers=1GB]

Both build the lab of tests/multihost (root; a database host with a private
PostgreSQL and Redis, a web host with gunicorn, two worker hosts with two `flask
worker` and one `flask scheduler` each, a client) and remove it afterwards.

- `faults`: the scenario of tests/multihost/test_namespaces.py (link cut mid-import
  and mid-tick, a host SIGKILLed and restarted, Redis restarted empty) at the sizes
  given, then its proof; prints the figures and the timeline.
- `stall`: (a) alone, nothing else fails: how long until a feed tick runs again and
  the half-done import moves again (at most --stall-limit seconds).
- `sizing`: --contacts due contacts over --campaigns running campaigns (batch --batch
  per campaign per tick, ECM_FEED_INTERVAL 1 s), the feed measured for --seconds (ticks,
  tick durations, dispatches and results a second), then an --upload-rows CSV posted
  by the client and imported by a worker host while the feed goes on, and the sizes of
  the tables. It prints JSON; docs/operations.md ("Sizing") is written from it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.multihost.dialer import read_records  # noqa: E402
from tests.multihost.scenario import (  # noqa: E402
    Scenario,
    Sizes,
    drama_number,
    run_and_check,
    write_csv,
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def seed_many(sizes: Sizes) -> list[int]:
    """Campaigns through the services, their contacts generated inside PostgreSQL."""
    from sqlalchemy import text

    from portal.extensions import db
    from portal.models import Contact, User, utcnow
    from portal.services import preferences
    from tests.feed.support import add_contacts, make_campaign, make_strategy

    admin = db.session.scalar(db.select(User).where(User.username == "admin"))
    retry = [{"call_result": code, "attempt_number": 1, "delay": 0} for code in (8, 9)]
    strategy = make_strategy(admin, [{"retryMap": retry}], max_attempts=3)
    preferences.save_preferences(admin, {"campaignBatchSize": sizes.batch})
    columns = [c.name for c in Contact.__table__.columns if c.name != "id"]
    # London's drama range (no real person, no regional calling hours): any hour
    drama = "'+442079460' || lpad((g.i % 1000)::text, 3, '0')"
    varied = {
        "phone1": drama,
        "match_key": drama,
        "business_param1": "'acct-' || g.i::text",
    }
    select_list = ", ".join(varied.get(c, f"t.{c}") for c in columns)
    per_campaign = sizes.contacts // sizes.campaigns
    ids = []
    for n in range(sizes.campaigns):
        campaign = make_campaign(
            admin,
            strategy,
            name=f"Sizing {n + 1}",
            startTime="00:00",
            endTime="00:00",
            respectContactTimeZone=False,
        )
        (template,) = add_contacts(
            campaign, 1, dial_time=utcnow() - timedelta(minutes=1), phone=drama_number
        )
        db.session.execute(
            text(
                f"INSERT INTO contacts ({', '.join(columns)}) SELECT {select_list} "
                "FROM contacts t, generate_series(2, :n) AS g(i) WHERE t.id = :t"
            ),
            {"n": per_campaign, "t": template},
        )
        db.session.commit()
        ids.append(campaign.id)
    db.session.execute(text("ANALYZE contacts"))
    db.session.commit()
    return ids


class Sizing(Scenario):
    def seed(self) -> list[int]:
        return seed_many(self.sizes)

    def tick_samples(self, seconds: float) -> dict:
        """Sample the feed-tick heartbeat every 0.2 s for `seconds`."""
        started_results = self.sql("SELECT count(*) FROM contact_attempts")[0][0]
        started_dispatches = len(read_records(self.records, "dispatch"))
        seen: dict[str, float] = {}
        begin = time.monotonic()
        while time.monotonic() - begin < seconds:
            rows = self.sql(
                "SELECT detail FROM feed_heartbeats WHERE name = 'feed-tick'"
            )
            if rows and rows[0][0]:
                detail = rows[0][0]
                if isinstance(detail, str):
                    detail = json.loads(detail)
                seen[detail.get("now", "")] = float(detail.get("seconds", 0))
            time.sleep(0.2)
        elapsed = time.monotonic() - begin
        results = self.sql("SELECT count(*) FROM contact_attempts")[0][0]
        dispatches = len(read_records(self.records, "dispatch"))
        durations = sorted(seen.values())
        return {
            "seconds": round(elapsed, 1),
            "ticksSeen": len(durations),
            "ticksPerSecond": round(len(durations) / elapsed, 2),
            "tickSecondsMedian": round(statistics.median(durations), 3)
            if durations
            else None,
            "tickSecondsMax": round(max(durations), 3) if durations else None,
            "dispatchesPerSecond": round((dispatches - started_dispatches) / elapsed),
            "resultsPerSecond": round((results - started_results) / elapsed),
        }

    def sizing(self, seconds: float, upload_rows: int) -> dict:
        self.build()
        self.login()
        out: dict = {"loadBefore": os.getloadavg(), "cores": os.cpu_count()}
        time.sleep(3)  # the first ticks plan and warm the caches
        log("measuring the feed alone")
        out["feed"] = self.tick_samples(seconds)
        csv_path = self.lab.folder / "upload.csv"
        bad = write_csv(csv_path, upload_rows, self.sizes.bad_every)
        out["uploadBytes"] = csv_path.stat().st_size
        log(f"uploading {upload_rows:,} rows")
        started = time.monotonic()
        self.outcome.upload_id = self.upload(csv_path)
        out["uploadAnsweredSeconds"] = round(time.monotonic() - started, 2)
        out["feedDuringImport"] = self.tick_samples(5)
        while self.upload_row()["state"] not in ("done", "failed"):
            time.sleep(0.5)
        took = time.monotonic() - started
        row = self.upload_row()
        out["upload"] = {
            **row,
            "expectedRejected": bad,
            "seconds": round(took, 1),
            "rowsPerSecond": round(upload_rows / took),
        }
        out["tables"] = dict(
            self.sql(
                "SELECT relname, pg_total_relation_size(oid) FROM pg_class"
                " WHERE relname IN ('contacts', 'contact_attempts',"
                " 'call_result_inbox', 'upload_file_chunks')"
            )
        )
        out["contactsStored"] = self.sql("SELECT count(*) FROM contacts")[0][0]
        out["metrics"] = [
            line
            for line in self.curl("/metrics").splitlines()
            if line.startswith(("ecm_queue_depth", "ecm_workers", "ecm_feed_"))
        ]
        out["loadAfter"] = os.getloadavg()
        return out


class Stall(Scenario):
    """(a) alone: how long a lost host holding a tick and an import stalls the rest."""

    def stall(self, limit: float) -> dict:
        self.cut_mid_import_and_tick()
        cut = time.monotonic()
        (at_cut,) = self.sql("SELECT at FROM feed_heartbeats WHERE name = 'feed-tick'")
        found: dict = {}
        while time.monotonic() - cut < limit and len(found) < 2:
            (beat,) = self.sql(
                "SELECT at FROM feed_heartbeats WHERE name = 'feed-tick'"
            )
            if "feedResumedSeconds" not in found and beat[0] != at_cut[0]:
                found["feedResumedSeconds"] = round(time.monotonic() - cut, 1)
            row = self.upload_row()
            if "importResumedSeconds" not in found and (
                row["rowsRead"] > self.outcome.rows_at_cut or row["state"] == "done"
            ):
                found["importResumedSeconds"] = round(time.monotonic() - cut, 1)
            time.sleep(1)
        return {**found, "limitSeconds": limit, "timeline": self.outcome.timeline}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["faults", "sizing", "stall"])
    parser.add_argument("--stall-limit", type=float, default=900)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=None)
    parser.add_argument("--campaigns", type=int, default=50)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2, help="per worker host")
    parser.add_argument("--upload-rows", type=int, default=1_000_000)
    parser.add_argument("--link-rate", default=None, help="e.g. 24mbit")
    parser.add_argument(
        "--import-rate",
        default="4mbit",
        help="the importing host's uplink until its first chunk (faults, stall)",
    )
    parser.add_argument(
        "--crawl-rate",
        default="1mbit",
        help="the importing host's uplink from its first chunk to its cut",
    )
    parser.add_argument("--pg", action="append", default=[], help="name=value")
    args = parser.parse_args()
    pg = dict(item.split("=", 1) for item in args.pg)
    log(f"{os.cpu_count()} cores, load average {os.getloadavg()}")
    if args.mode == "stall":
        run = Stall(
            Sizes(
                rows=args.rows,
                link_rate=args.link_rate,
                import_rate=args.import_rate,
                crawl_rate=args.crawl_rate,
            )
        )
        try:
            print(json.dumps(run.stall(args.stall_limit), indent=2, default=str))
        finally:
            run.lab.teardown()
        return
    if args.mode == "faults":
        sizes = Sizes(
            rows=args.rows,
            contacts=args.contacts or 20_000,
            chunk_rows=50_000,
            link_rate=args.link_rate,
            import_rate=args.import_rate,
            crawl_rate=args.crawl_rate,
            pg_settings=pg,
        )
        print(json.dumps(run_and_check(sizes), indent=2, default=str))
        return
    sizes = Sizes(
        contacts=args.contacts or 1_000_000,
        campaigns=args.campaigns,
        batch=args.batch,
        response_timeout=600,
        workers_per_host=args.workers,
        chunk_rows=50_000,
        link_rate=args.link_rate,
        pg_settings=pg,
    )
    run = Sizing(sizes)
    try:
        figures = run.sizing(args.seconds, args.upload_rows)
        figures["pgSettings"] = run.db.pg_settings
        print(json.dumps(figures, indent=2, default=str))
    except BaseException:
        log(run.lab.logs(3000))
        raise
    finally:
        if run.app is not None:
            from portal.extensions import db

            with run.app.app_context():
                db.engine.dispose()
        run.lab.teardown()


if __name__ == "__main__":
    main()
