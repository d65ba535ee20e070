"""Load benchmark: API clients against gunicorn while a bulk import runs (not a test).

    python tests/bench/bench_load.py [--duration 120] [--clients 200] [--rows 1000000]
        [--think 1.0] [--workers 2] [--threads 4] [--rq-workers 2] [--no-import]
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/test_harden]
        [--redis-url redis://...]   (default: a private redis-server on a unix socket)

What it does, all on this machine:

1. wipes and migrates the PostgreSQL database, starts a private redis-server,
   gunicorn (`--workers` processes x `--threads` threads, gthread) on the portal, the
   same gunicorn settings on a hello-world Flask app, `--rq-workers` `flask worker`
   processes and one `flask scheduler` (feed tick every ECM_FEED_INTERVAL = 10 s,
   simulator dialer);
2. single-client throughput: one keep-alive client on GET /umm/ecm/campaign, then on the
   hello-world endpoint, 10 s each, and their ratio;
3. the load: `--clients` threads, each with its own keep-alive connection, loop over
   list campaigns, getList pages, insertCallback and DNC save (a quarter each), waiting
   `--think` seconds (exponentially distributed) between requests, for `--duration`
   seconds; a few seconds in, a `--rows`-row contacts CSV is uploaded to a paused
   campaign and imported by the workers while the load runs;
4. every 2 s, /metrics is scraped for the feed lag (age of the oldest due contact of a
   dialable campaign) and the queue depth;
5. prints error ratio, latency percentiles per operation, throughput, feed lag, import
   time, and a markdown table for docs/performance.md.

The database named by --database is wiped: never point it at data you want to keep.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bench.support import (  # noqa: E402
    Client,
    Meter,
    Processes,
    admin_client,
    ensure_database,
    init_db,
    log,
    portal_env,
    start_gunicorns,
    start_redis,
    wait_for_gunicorns,
)

DEFAULT_DB = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test_harden"
)
AREAS = ["212", "305", "312", "415", "503", "617", "646", "702", "713", "818"]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


def single_client_rps(port: int, path: str, token: str | None, seconds: float) -> float:
    client = Client(port, token)
    try:
        return Meter(client).rate(lambda n: ("GET", path, None), seconds)
    finally:
        client.close()


def write_csv(path: Path, rows: int) -> None:
    """Contacts by position (phone1..phone5, businessParam1..), unique numbers."""
    with path.open("w") as out:
        out.write("phone1,phone2,phone3,phone4,phone5,businessParam1,businessParam2\n")
        for i in range(rows):
            area = AREAS[i % len(AREAS)]
            out.write(
                f"+1{area}{2000000 + i // len(AREAS):07d},,,,,Customer {i},REF-{i}\n"
            )


def upload_file(
    port: int, token: str, campaign_id: int, path: Path
) -> tuple[int, dict]:
    """POST a multipart upload, streaming the file from disk."""
    boundary = "----bench" + os.urandom(8).hex()
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="campaignId"\r\n\r\n{campaign_id}\r\n'
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = len(head) + path.stat().st_size + len(tail)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.putrequest("POST", "/umm/ecm/callback/uploadBulkCaller")
    conn.putheader("Authorization", f"Bearer {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    conn.send(head)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            conn.send(chunk)
    conn.send(tail)
    response = conn.getresponse()
    body = json.loads(response.read() or b"{}")
    conn.close()
    return response.status, body


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.timeline: list[tuple[float, float]] = []  # (started, seconds)
        self.statuses: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.errors: list[str] = []

    def add(self, op: str, started: float, seconds: float, status: str) -> None:
        with self.lock:
            self.latency[op].append(seconds)
            self.timeline.append((started, seconds))
            self.statuses[op][status] += 1


def client_loop(
    n: int,
    port: int,
    token: str,
    ids: dict,
    think: float,
    stop: threading.Event,
    results: Results,
    bulk_share: float = 0.5,
    keyset: bool = False,
) -> None:
    rng = random.Random(n)
    client = Client(port, token)
    seq = 0
    time.sleep(rng.random() * max(think, 0.2))  # spread the start
    while not stop.is_set():
        op = rng.choice(["campaigns", "getList", "insertCallback", "dncSave"])
        seq += 1
        if op == "campaigns":
            args = ("GET", "/umm/ecm/campaign?max=50", None)
        elif op == "getList":
            campaign = ids["bulk"] if rng.random() < bulk_share else ids["load"]
            page = rng.randrange(20)
            query = f"campaignId={campaign}&size=50"
            if keyset and campaign == ids["bulk"]:
                query += f"&afterId={page * 50}"  # keyset paging: no COUNT(*) total
            else:
                query += f"&page={page}"
            args = ("GET", f"/umm/ecm/callback/getList?{query}", None)
        elif op == "insertCallback":
            number = (n // len(AREAS)) * 100_000 + seq  # unique per client and area
            args = (
                "POST",
                "/umm/ecm/callback/insertCallback",
                {
                    "campaignId": ids["load"],
                    "phone1": f"+1{AREAS[n % len(AREAS)]}{3_000_000 + number:07d}",
                    "businessParam1": f"client {n}",
                },
            )
        else:
            args = (
                "POST",
                "/umm/ecm/contact/save",
                {
                    "primaryNumber": f"+44207{n * 100_000 + seq:08d}",
                    "name": f"client {n}",
                },
            )
        started = time.perf_counter()
        began = time.monotonic()
        try:
            status, _ = client.request(*args)
            label = str(status)
        except Exception as exc:  # noqa: BLE001 - a failure is a result
            label = type(exc).__name__
            client.close()
        results.add(op, began, time.perf_counter() - started, label)
        if think > 0:
            stop.wait(rng.expovariate(1 / think))
    client.close()


def scrape(port: int) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    client = Client(port)
    status, data = client.request("GET", "/metrics")
    client.close()
    out = {}
    if status != 200:
        return out
    for family in text_string_to_metric_families(data.decode()):
        for sample in family.samples:
            if sample.name in (
                "ecm_feed_lag_seconds",
                "ecm_queue_depth",
                "ecm_workers",
            ):
                out[sample.name] = sample.value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-import", action="store_true")
    parser.add_argument(
        "--bulk-share",
        type=float,
        default=0.5,
        help="share of getList calls that page the imported (large) campaign",
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=0,
        help="run the RQ workers at this nice level (web first on a shared machine)",
    )
    parser.add_argument(
        "--keyset",
        action="store_true",
        help="page the imported campaign with afterId (no total) instead of page/size",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rq-workers", type=int, default=2)
    parser.add_argument("--database", default=DEFAULT_DB)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--feed-interval", type=int, default=10)
    parser.add_argument("--single-seconds", type=float, default=10.0)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="ecm-bench-load-"))
    procs = Processes(folder)
    ensure_database(args.database)
    try:
        run(args, folder, procs)
    finally:
        procs.stop_all()
        log(f"logs in {folder}")


def run(args, folder: Path, procs: Processes) -> None:
    from sqlalchemy import create_engine, text

    log(f"wiping and migrating {args.database}")
    engine = create_engine(args.database)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()

    redis_url = args.redis_url or start_redis(procs, folder)
    env = portal_env(args.database, redis_url, folder, args.feed_interval)
    init_db(env)
    port, hello_port = start_gunicorns(procs, env, args.workers, args.threads)
    for i in range(args.rq_workers):
        command = [sys.executable, "-m", "flask", "worker"]
        if args.worker_nice:
            command = ["nice", "-n", str(args.worker_nice), *command]
        procs.start(f"worker{i}", command, env)
    procs.start("scheduler", [sys.executable, "-m", "flask", "scheduler"], env)
    wait_for_gunicorns(port, hello_port)

    admin = admin_client(port)
    token = admin.token
    admin.json(
        "POST",
        "/umm/ecm/preferenceSettings/save",
        {"campaignBatchSize": 2000, "ivrBatchSize": 2000},
    )
    strategy = admin.json(
        "POST", "/umm/ecm/callStrategy/save", {"name": "Load", "maxAttempts": 2}
    )
    admin.json(
        "POST",
        "/umm/ecm/callStrategyAttempt/save",
        {
            "csId": strategy["id"],
            "name": "Dial",
            "phone": "1",
            "channel": 0,
            "retryMap": [{"call_result": 8, "attempt_number": 1, "delay": 1}],
        },
    )
    window = {"startTime": "00:00", "endTime": "00:00", "weekDays": "0,1,2,3,4,5,6"}
    ids = {
        "load": int(
            admin.json(
                "POST",
                "/umm/ecm/campaign/createCampaign",
                {
                    "name": "Load test",
                    "strategyId": strategy["id"],
                    "type": 0,
                    "status": 1,
                    "enabled": True,
                    **window,
                },
            )["id"]
        ),
        "bulk": int(
            admin.json(
                "POST",
                "/umm/ecm/campaign/createCampaign",
                {
                    "name": "Bulk import",
                    "strategyId": strategy["id"],
                    "type": 0,
                    "status": 0,
                    "enabled": True,
                    **window,
                },
            )["id"]
        ),
    }
    for i in range(200):  # something for getList to page through from the start
        admin.json(
            "POST",
            "/umm/ecm/callback/insertCallback",
            {"campaignId": ids["load"], "phone1": f"+1646555{i:04d}"},
        )

    log("single-client throughput (one keep-alive connection, sequential)")
    api_rps = single_client_rps(port, "/umm/ecm/campaign", token, args.single_seconds)
    hello_rps = single_client_rps(hello_port, "/hello", None, args.single_seconds)
    log(
        f"  GET /umm/ecm/campaign {api_rps:.0f} req/s, "
        f"hello-world {hello_rps:.0f} req/s, "
        f"ratio {api_rps / hello_rps:.2f}"
    )

    csv_path = folder / "contacts.csv"
    if not args.no_import:
        log(f"writing a {args.rows:,}-row contacts CSV")
        write_csv(csv_path, args.rows)

    results = Results()
    stop = threading.Event()
    samples: list[tuple[float, dict]] = []
    upload: dict = {}

    def sampler() -> None:
        while not stop.is_set():
            try:
                samples.append((time.monotonic(), scrape(port)))
            except Exception:  # noqa: BLE001 - a missed sample is a gap, not an error
                pass
            stop.wait(2.0)

    def importer() -> None:
        time.sleep(5)
        upload["start"] = time.monotonic()
        status, body = upload_file(port, token, ids["bulk"], csv_path)
        upload["accepted_after"] = time.monotonic() - upload["start"]
        upload["status"] = status
        if status != 200:
            upload["error"] = body
            return
        poll = Client(port, token)
        while True:
            state = poll.json("GET", f"/umm/ecm/upload/{body['uploadId']}")
            upload["last"] = state
            if state["state"] in ("done", "failed"):
                upload["end"] = time.monotonic()
                return
            time.sleep(1)

    log(
        f"load: {args.clients} clients, think {args.think} s, {args.duration:.0f} s"
        + ("" if args.no_import else f", with a {args.rows:,}-row import")
    )
    threads = [
        threading.Thread(
            target=client_loop,
            args=(
                n,
                port,
                token,
                ids,
                args.think,
                stop,
                results,
                args.bulk_share,
                args.keyset,
            ),
            daemon=True,
        )
        for n in range(args.clients)
    ]
    began = time.monotonic()
    for t in threads:
        t.start()
    threading.Thread(target=sampler, daemon=True).start()
    import_thread = None
    if not args.no_import:
        import_thread = threading.Thread(target=importer, daemon=True)
        import_thread.start()
    time.sleep(args.duration)
    stop.set()
    for t in threads:
        t.join(30)
    elapsed = time.monotonic() - began
    if import_thread is not None:
        log("load over; waiting for the import to finish")
        import_thread.join(1800)

    report(args, results, samples, upload, elapsed, api_rps, hello_rps, began)


def report(args, results, samples, upload, elapsed, api_rps, hello_rps, began) -> None:
    total = sum(len(v) for v in results.latency.values())
    errors = sum(
        count
        for op in results.statuses.values()
        for status, count in op.items()
        if not status.startswith("2")
    )
    every = [x for v in results.latency.values() for x in v]
    lag = [s["ecm_feed_lag_seconds"] for _, s in samples if "ecm_feed_lag_seconds" in s]
    depth = [s["ecm_queue_depth"] for _, s in samples if "ecm_queue_depth" in s]
    print()
    print(
        f"requests {total:,} in {elapsed:.0f} s = {total / elapsed:.0f} req/s; "
        f"errors {errors} ({100 * errors / max(total, 1):.2f} %)"
    )
    print(
        f"latency all: p50 {1000 * percentile(every, 50):.0f} ms, "
        f"p95 {1000 * percentile(every, 95):.0f} ms, "
        f"p99 {1000 * percentile(every, 99):.0f} ms"
    )
    rows = []
    for op in sorted(results.latency):
        lat = results.latency[op]
        statuses = dict(results.statuses[op])
        rows.append(
            (
                op,
                len(lat),
                percentile(lat, 50),
                percentile(lat, 95),
                percentile(lat, 99),
                statuses,
            )
        )
        print(
            f"  {op:15s} n={len(lat):6d} p50 {1000 * percentile(lat, 50):6.0f} ms "
            f"p95 {1000 * percentile(lat, 95):6.0f} ms "
            f"p99 {1000 * percentile(lat, 99):6.0f} ms "
            f"{statuses}"
        )
    if upload.get("end"):
        during = [
            x for t, x in results.timeline if upload["start"] <= t <= upload["end"]
        ]
        outside = [
            x for t, x in results.timeline if not upload["start"] <= t <= upload["end"]
        ]
        for name, values in (("while importing", during), ("without import", outside)):
            if values:
                print(
                    f"latency {name}: n={len(values)}, "
                    f"p50 {1000 * percentile(values, 50):.0f} ms, "
                    f"p95 {1000 * percentile(values, 95):.0f} ms"
                )
    if lag:
        print(
            f"feed lag: max {max(lag):.1f} s, p95 {percentile(lag, 95):.1f} s, "
            f"median {statistics.median(lag):.1f} s over {len(lag)} scrapes "
            f"(tick interval {args.feed_interval} s)"
        )
    if depth:
        print(f"queue depth: max {max(depth):.0f}")
    if upload:
        if "end" in upload:
            took = upload["end"] - upload["start"]
            overlap = min(upload["end"], began + elapsed) - upload["start"]
            last = upload.get("last", {})
            print(
                f"import: {last.get('state')} {last.get('accepted', 0):,} accepted, "
                f"{last.get('rejected', 0):,} rejected in {took:.0f} s "
                f"({last.get('accepted', 0) / took:,.0f} rows/s incl. upload), request "
                f"answered after {upload['accepted_after']:.1f} s; "
                f"{overlap:.0f} s of it under load"
            )
        else:
            print(f"import: did not finish: {upload}")
    print(
        f"single client: API {api_rps:.0f} req/s, hello-world {hello_rps:.0f} req/s, "
        f"ratio {api_rps / hello_rps:.2f}"
    )
    summary = {
        "requests": total,
        "seconds": round(elapsed),
        "errors": errors,
        "error_ratio": errors / max(total, 1),
        "p95_ms": 1000 * percentile(every, 95),
        "feed_lag_max_s": max(lag) if lag else None,
        "api_rps": api_rps,
        "hello_rps": hello_rps,
        "per_op": {
            r[0]: {
                "n": r[1],
                "p50_ms": 1000 * r[2],
                "p95_ms": 1000 * r[3],
                "p99_ms": 1000 * r[4],
                "statuses": r[5],
            }
            for r in rows
        },
        "import": {
            k: v for k, v in upload.items() if k in ("status", "accepted_after", "last")
        },
    }
    print("\nJSON " + json.dumps(summary))


if __name__ == "__main__":
    main()
