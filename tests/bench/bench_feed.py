"""Benchmark the feed loop on PostgreSQL: 1,000,000 pending contacts in 10 campaigns.

Run ``python tests/bench/bench_feed.py [--contacts N] [--url postgresql+psycopg://...]``.
It DROPS AND RECREATES the public schema of the database it is given (default:
BENCH_DATABASE_URL, else postgresql+psycopg://postgres@127.0.0.1:5432/bench_feed,
created if missing), loads the contacts with COPY, then prints:
claim of 1,000 contacts, one tick dispatching 10 x 1,000, results applied per second,
one contact's eligibility answer, and the dashboard page (stats queries included).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("ECM_START_WORKER", "0")

CAMPAIGNS = 10
BATCH = 1000
RANDOM_DUE = False


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


class NullDialer:
    """Accept every batch at once, so the figures are the feed's, not a dialer's."""

    name = "null"

    def __init__(self) -> None:
        self.count = 0

    def list_campaigns(self):
        return []

    def dispatch(self, requests) -> None:
        self.count += len(requests)

    def collect_results(self):
        return []


def load(app, total: int, now) -> list:
    from sqlalchemy import select, text

    from portal import initialise_database
    from portal.extensions import db
    from portal.models import Campaign, Contact, User
    from portal.services import campaigns, preferences, strategies

    initialise_database(app)
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    strategy = strategies.create_strategy(admin, {"name": "Bench", "maxAttempts": 3})
    strategies.create_attempt(
        admin,
        {
            "csId": strategy.id,
            "name": "First",
            "retryMap": [
                {"call_result": 8, "attempt_number": 2, "delay": 30},
                {"call_result": 9, "attempt_number": 1, "delay": 5},
            ],
        },
    )
    strategies.create_attempt(
        admin, {"csId": strategy.id, "name": "Second", "phone": "2"}
    )
    preferences.save_preferences(
        admin, {"campaignBatchSize": BATCH, "ivrBatchSize": BATCH}
    )
    made = []
    for n in range(CAMPAIGNS):
        made.append(
            campaigns.create_campaign(
                admin,
                {
                    "name": f"Bench {n + 1}",
                    "strategyId": strategy.id,
                    "type": n % 2,
                    # as before issue #12 made it the default: the figures stay
                    # comparable, and the regional hours still check every zone
                    "respectContactTimeZone": False,
                },
            )
        )
    first_attempt = strategy.attempts[0].id
    rng = random.Random(7)
    started = time.perf_counter()
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        columns = (
            "campaign_id, phone1, phone2, match_key, business_param1, dial_time, "
            "request_state, call_result, attempt_id, attempt_number, attempts_made, "
            "channel, date_created"
        )
        # as uploads make them: each campaign gets UPLOADS files, interleaved, and a
        # file's contacts share its dial time (or --random-due: any order, worst case)
        uploads = 10
        per = total // CAMPAIGNS // uploads
        with cur.copy(f"COPY contacts ({columns}) FROM STDIN") as copy:
            for upload in range(uploads):
                for campaign in made:
                    base = now - timedelta(minutes=30 * (uploads - upload))
                    for i in range(per):
                        number = (
                            f"+1{rng.randint(201, 989)}{rng.randint(2000000, 9999999)}"
                        )
                        due = (
                            now - timedelta(minutes=rng.randint(1, 600))
                            if RANDOM_DUE
                            else base
                        )
                        copy.write_row(
                            (
                                campaign.id,
                                number,
                                None,
                                number,
                                f"acct-{upload}-{i}",
                                due,
                                0,
                                0,
                                first_attempt,
                                1,
                                0,
                                0,
                                now,
                            )
                        )
        cur.execute(
            "INSERT INTO dnc_entries "
            "(primary_number, match_key, date_created, last_updated) "
            "SELECT '+1555' || lpad(g::text, 7, '0'), "
            "'+1555' || lpad(g::text, 7, '0'), "
            "now(), now() FROM generate_series(1, 10000) g"
        )
        raw.commit()
    finally:
        raw.close()
    loaded = time.perf_counter() - started
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    count = db.session.scalar(select(db.func.count()).select_from(Contact))
    print(
        f"loaded {count:,} contacts in {loaded:.1f} s (COPY + indexes), "
        "VACUUM ANALYZE done"
    )
    return [db.session.get(Campaign, c.id) for c in made]


def interleaved_ticks(app, pairs: int, now, dialer, run_tick) -> int:
    """Ticks of 10 x 1,000 with the rules off and on in turn; the seconds used."""
    rules_on = app.config["ECM_CALLING_RULES"]
    times: dict[bool, list[float]] = {False: [], True: []}
    n = 0
    for _ in range(pairs):
        for on in (False, True):
            app.config["ECM_CALLING_RULES"] = on
            t = time.perf_counter()
            counts = run_tick(now + timedelta(seconds=n), dialer=dialer)
            times[on].append(time.perf_counter() - t)
            assert counts.dispatched == CAMPAIGNS * BATCH, counts
            n += 1
    app.config["ECM_CALLING_RULES"] = rules_on
    off, on = statistics.median(times[False]), statistics.median(times[True])
    print(
        f"ticks of {CAMPAIGNS} x {BATCH:,}, rules off and on in turn ({pairs} each): "
        f"off median {off:.3f} s {_list(times[False])}, "
        f"on median {on:.3f} s {_list(times[True])}, ratio on/off {on / off:.2f}"
    )
    return n


def _list(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"


def main() -> None:
    global RANDOM_DUE, BATCH
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument(
        "--random-due",
        action="store_true",
        help="scatter due times over 10 h in random row order (the claim's worst case)",
    )
    parser.add_argument(
        "--url",
        default=os.environ.get(
            "BENCH_DATABASE_URL",
            "postgresql+psycopg://postgres@127.0.0.1:5432/bench_feed",
        ),
    )
    parser.add_argument(
        "--rules",
        choices=("on", "off"),
        default="on",
        help="the calling rules of issue #12 (ECM_CALLING_RULES)",
    )
    parser.add_argument(
        "--interleave",
        type=int,
        default=0,
        metavar="PAIRS",
        help="first time PAIRS ticks with the rules off and PAIRS with them on, "
        "alternating (off, on, off, on ...) on the one loaded database, so the "
        "machine's load hits both alike; prints each median and their ratio",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="end with one line 'JSON {...}' of the figures, for bench_targets.py",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=BATCH,
        help="contacts a campaign's tick dispatches (the issue's figure: 1,000)",
    )
    args = parser.parse_args()
    RANDOM_DUE = args.random_due
    BATCH = args.batch
    from tests.bench.support import ensure_database

    ensure_database(args.url)

    from sqlalchemy import func, select

    from portal import create_app
    from portal.extensions import db
    from portal.models import CallResultInbox, Contact, utcnow
    from portal.services import stats
    from portal.services.feed import apply_inbox, contact_eligibility, run_tick
    from portal.services.feed.claim import claim_due_contacts, return_to_pending
    from portal.services.feed.plans import load_plans

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": args.url,
            "TESTING": True,
            "SECRET_KEY": "bench-secret-0123456789",
            "ECM_AUTO_INIT": False,
            "ECM_START_WORKER": False,
            "ECM_ADMIN_PASSWORD": "admin",
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
            "ECM_CALLING_RULES": args.rules == "on",
        }
    )
    # 17:00 UTC: inside the legal hours of every continental US zone, so the rules
    # cost their checks and the same contacts are dialed with the rules on and off
    now = utcnow().replace(hour=17, minute=0, second=0, microsecond=0)
    print(f"calling rules: {args.rules}")
    with app.app_context():
        campaigns = load(app, args.contacts, now)
        plans = load_plans(c.strategy_id for c in campaigns)
        for c in campaigns:
            db.session.expunge(c)
        layout = "random due times" if RANDOM_DUE else "upload-ordered due times"
        print(
            f"\n== Feed loop on PostgreSQL, {args.contacts:,} pending contacts, "
            f"{CAMPAIGNS} campaigns, {layout}"
        )

        # claim 1,000 (then give them back: the tick below starts from the same state)
        times = []
        for campaign in campaigns[:5]:
            t = time.perf_counter()
            claim = claim_due_contacts(
                campaign, plans[campaign.strategy_id], BATCH, now
            )
            times.append(time.perf_counter() - t)
            assert len(claim.claimed) == BATCH
            return_to_pending([c.contact_id for c in claim.claimed], now)
        print(
            f"claim {BATCH:,} due contacts (oldest first, SKIP LOCKED): "
            f"median {ms(statistics.median(times))}, max {ms(max(times))}"
        )

        dialer = NullDialer()
        figures: dict[str, float] = {}
        offset = 0
        if args.interleave:
            offset = interleaved_ticks(app, args.interleave, now, dialer, run_tick)
        tick_times = []
        for n in range(offset, offset + 3):
            t = time.perf_counter()
            counts = run_tick(now + timedelta(seconds=n), dialer=dialer)
            tick_times.append(time.perf_counter() - t)
            assert counts.dispatched == CAMPAIGNS * BATCH, counts
        print(
            f"one tick dispatching {CAMPAIGNS} x {BATCH:,} (null dialer): "
            f"median {statistics.median(tick_times):.3f} s, max {max(tick_times):.3f} s"
        )
        figures["tick_median_s"] = statistics.median(tick_times)
        figures["tick_max_s"] = max(tick_times)
        t = time.perf_counter()
        counts = run_tick(
            now + timedelta(seconds=offset + 5)
        )  # the simulator: results into the inbox
        print(
            f"one tick dispatching {counts.dispatched:,} to the simulator "
            f"(results stored in the inbox): {time.perf_counter() - t:.3f} s"
        )

        dispatched = db.session.scalars(
            select(Contact.id).where(Contact.request_state == 1)
        ).all()
        db.session.execute(db.delete(CallResultInbox))
        codes = [8, 9, 10, 12, 3]
        received = now + timedelta(seconds=offset + 30)
        rows = [
            {
                "contact_id": cid,
                "call_result": codes[i % 5],
                "raw": "bench",
                "received_at": received,
            }
            for i, cid in enumerate(dispatched)
        ]
        db.session.execute(db.insert(CallResultInbox.__table__), rows)
        db.session.commit()
        t = time.perf_counter()
        applied = apply_inbox(received)
        spent = time.perf_counter() - t
        print(
            f"results applied: {applied['applied']:,} in {spent:.2f} s = "
            f"{applied['applied'] / spent:,.0f} results/s"
        )
        figures["results_applied"] = applied["applied"]
        figures["results_per_s"] = applied["applied"] / spent

        ids = db.session.scalars(
            select(Contact.id).order_by(func.random()).limit(200)
        ).all()
        answers = []
        for cid in ids:
            db.session.expire_all()
            t = time.perf_counter()
            contact_eligibility(db.session.get(Contact, cid), now)
            answers.append(time.perf_counter() - t)
        answers.sort()
        print(
            "one contact's eligibility answer: "
            f"median {ms(statistics.median(answers))}, "
            f"p95 {ms(answers[int(len(answers) * 0.95)])}"
        )

        t = time.perf_counter()
        stats.refresh(now)
        print(
            f"stats refresh job (recounts all {CAMPAIGNS} campaigns): "
            f"{ms(time.perf_counter() - t)}"
        )
        t = time.perf_counter()
        stats.figures(campaigns, now)
        print(
            f"stats counted live for all {CAMPAIGNS} campaigns: "
            f"{ms(time.perf_counter() - t)}"
        )
        single = []
        for campaign in campaigns[:3]:
            t = time.perf_counter()
            stats.figures([campaign], now)
            single.append(time.perf_counter() - t)
        print(
            f"GET .../campaign/<id>/stats service (one campaign, live): "
            f"median {ms(statistics.median(single))}"
        )

    client = app.test_client()
    res = client.post("/login", data={"username": "admin", "password": "admin"})
    assert res.status_code in (302, 303), res.status_code
    pages = []
    for _ in range(10):
        t = time.perf_counter()
        res = client.get("/")
        pages.append(time.perf_counter() - t)
        assert res.status_code == 200
    pages.sort()
    print(
        f"dashboard page GET / (10 campaigns): median {ms(statistics.median(pages))}, "
        f"max {ms(pages[-1])}"
    )
    if args.json:
        head = {"contacts": args.contacts, "campaigns": CAMPAIGNS, "batch": BATCH}
        print("JSON " + json.dumps({**head, **figures}))


if __name__ == "__main__":
    main()
