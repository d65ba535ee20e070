"""Benchmark the bulk uploads end to end and print the figures (not a timed test).

    python tests/bench/bench_uploads.py [--rows 1000000] [--dnc-rows 1000000]
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/bench_uploads]
        [--redis redis://127.0.0.1:6379/2] [--skip-sqlite] [--request-mb 100]

What it measures, each on real files written to a temporary folder:

1. the upload web request (curl, multipart) for a --request-mb file: time to the 200;
2. a DNC CSV of --dnc-rows numbers, upload to done, through `flask worker`;
3. a contacts CSV of --rows rows (two numbers a row in mixed formats, 5% bad rows,
   2% DNC hits), upload to done on PostgreSQL through `flask worker`;
4. a raw COPY of the very rows that import stored, into the same table, and the ratio;
5. the same DNC and contacts files on SQLite in embedded mode (in-process worker);
6. the peak resident memory of the worker process and its work horses (getrusage of
   their reaped tree, taken by a small parent process: see PEAK_WRAPPER).

The PostgreSQL database named by --database is wiped and rebuilt: never point it at
data you want to keep.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from tests.services.upload_files import (  # noqa: E402
    make_campaign,
    write_contacts_csv,
    write_dnc_csv,
)

SECRET = "bench-secret-key-0123456789abcdef"
ADMIN_PASSWORD = "bench-admin-password"
# `flask worker` runs as the child of this small process, which writes the peak RSS
# of its reaped children (the worker and its forked work horses) to the file argv[1].
# Measured from this benchmark instead, getrusage(RUSAGE_CHILDREN) counts the
# benchmark's own RSS: a child that subprocess starts (vfork/posix_spawn, then exec)
# begins with its parent's high-water mark, and each curl this script runs is one.
PEAK_WRAPPER = """
import resource, signal, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
code = child.wait()
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024))
sys.exit(code)
"""


def log(message: str) -> None:
    print(message, flush=True)


def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def make_app(database: str, redis: str | None, upload_dir: Path, start_worker: bool):
    from portal import create_app, initialise_database

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database,
            "REDIS_URL": redis,
            "SECRET_KEY": SECRET,
            "JWT_SECRET": SECRET,
            "ECM_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "ECM_AUTO_INIT": False,
            "ECM_START_WORKER": False,
            "ECM_UPLOAD_DIR": str(upload_dir),
            "TESTING": True,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        initialise_database(app)
    if start_worker:
        from worker import embedded

        embedded.start(app)
    return app


class Server:
    """The app on a loopback port in a daemon thread."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()


def token(url: str) -> str:
    out = subprocess.run(
        [
            "curl",
            "-s",
            "-X",
            "POST",
            f"{url}/umm/api/login",
            "-H",
            "Content-Type: application/json",
            "-d",
            json.dumps({"username": "admin", "password": ADMIN_PASSWORD}),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)["token"]


def post_file(
    url: str, bearer: str, path: Path, fields: dict[str, str]
) -> tuple[float, dict]:
    """curl streams the file from disk as multipart; returns (seconds, JSON answer)."""
    command = [
        "curl",
        "-s",
        "-H",
        f"Authorization: Bearer {bearer}",
        "-F",
        f"file=@{path}",
    ]
    for key, value in fields.items():
        command += ["-F", f"{key}={value}"]
    started = time.perf_counter()
    out = subprocess.run(
        command + [url], capture_output=True, text=True, check=True
    ).stdout
    return time.perf_counter() - started, json.loads(out)


def status(url: str, bearer: str, upload_id: int) -> dict:
    out = subprocess.run(
        [
            "curl",
            "-s",
            "-H",
            f"Authorization: Bearer {bearer}",
            f"{url}/umm/ecm/upload/{upload_id}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def upload_and_wait(
    url: str, bearer: str, endpoint: str, path: Path, fields: dict
) -> dict:
    started = time.perf_counter()
    request_s, answer = post_file(f"{url}{endpoint}", bearer, path, fields)
    upload_id = answer["uploadId"]
    while True:
        state = status(url, bearer, upload_id)
        if state["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    state["seconds"] = time.perf_counter() - started
    state["request_seconds"] = request_s
    return state


def describe(label: str, state: dict) -> None:
    rows = state["rowsRead"]
    log(
        f"{label}: {state['state']} in {state['seconds']:.2f} s "
        f"(request {state['request_seconds']:.2f} s), {rows:,} rows, "
        f"{rows / state['seconds']:,.0f} rows/s; accepted {state['accepted']:,}, "
        f"rejected {state['rejected']:,}, duplicates {state['duplicates']:,}, "
        f"dncFlagged {state['dncFlagged']:,}"
    )


def raw_copy(database: str, upload_id: int) -> tuple[int, float]:
    """COPY the rows that import stored back into contacts, as prepared text."""
    import psycopg

    dsn = database.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        columns = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'contacts' AND column_name <> 'id' "
                "ORDER BY ordinal_position"
            )
        ]
        names = ", ".join(columns)
        data = bytearray()
        with conn.cursor().copy(
            f"COPY (SELECT {names.replace('upload_id', 'upload_id + 1000000')} "
            f"FROM contacts WHERE upload_id = {int(upload_id)}) TO STDOUT"
        ) as copy:
            for block in copy:
                data += block
        rows = data.count(b"\n")
        started = time.perf_counter()
        with conn.cursor().copy(f"COPY contacts ({names}) FROM STDIN") as copy:
            view = memoryview(data)
            for start in range(0, len(view), 1 << 20):
                copy.write(view[start : start + (1 << 20)])
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute(
            "DELETE FROM contacts WHERE upload_id = %s", (upload_id + 1_000_000,)
        )
        conn.commit()
    return rows, seconds


def start_worker(
    database: str, redis: str, upload_dir: Path, peak_file: Path
) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "REDIS_URL": redis,
        "SECRET_KEY": SECRET,
        "ECM_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ECM_UPLOAD_DIR": str(upload_dir),
        "FLASK_APP": "portal:create_app",
    }
    return subprocess.Popen(
        [sys.executable, "-c", PEAK_WRAPPER, str(peak_file)]
        + [sys.executable, "-m", "flask", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop_worker(worker: subprocess.Popen, peak_file: Path) -> tuple[int, int]:
    """Warm-stop the worker: (its and its work horses' peak RSS, the peak RSS of
    every child this benchmark reaped, itself included through curl), in MB."""
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)
    every = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    return int(peak_file.read_text()), every


def write_padded(path: Path, megabytes: int) -> None:
    """A contacts file of about `megabytes` MB for the upload-request timing."""
    line = (
        "2025550143,+44 20 7946 0958,,,,Customer name here,ref-000000,"
        + "x" * 60
        + "\n"
    ).encode()
    target = megabytes * 1024 * 1024
    block = line * 10_000
    with open(path, "wb") as out:
        written = 0
        while written < target:
            out.write(block)
            written += len(block)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dnc-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--database",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_uploads",
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/2")
    parser.add_argument("--request-mb", type=int, default=100)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--json",
        action="store_true",
        help="end with one line 'JSON {...}' of the figures, for bench_targets.py",
    )
    args = parser.parse_args()
    from tests.bench.support import ensure_database

    ensure_database(args.database)
    work = Path(tempfile.mkdtemp(prefix="bench-uploads-"))
    uploads = work / "uploads"
    log(f"files in {work}; {os.cpu_count()} cores; load average {os.getloadavg()}")

    started = time.perf_counter()
    contacts_csv = write_contacts_csv(
        work / "contacts.csv", args.rows, bad_every=20, dnc_every=50, seed=11
    )
    dnc_rows = write_dnc_csv(
        work / "dnc.csv",
        contacts_csv.dnc_keys,
        extra=max(0, args.dnc_rows - len(contacts_csv.dnc_keys)),
    )
    log(
        f"generated {args.rows:,} contact rows "
        f"({(work / 'contacts.csv').stat().st_size / 1e6:.0f} MB, "
        f"{contacts_csv.rejected:,} bad, {contacts_csv.dnc_flagged:,} on DNC) and "
        f"{dnc_rows:,} DNC rows in {time.perf_counter() - started:.1f} s"
    )

    # 1. the web request alone, on an app whose queue nobody works
    reset_postgres(args.database)
    quiet = make_app(args.database, None, uploads, start_worker=False)
    server = Server(quiet)
    bearer = token(server.url)
    with quiet.app_context():
        from portal.extensions import db
        from portal.models import User

        admin = db.session.query(User).filter_by(username="admin").one()
        campaign = make_campaign(admin, name="Bench")
        campaign_id = campaign.id
    big = work / "big.csv"
    write_padded(big, args.request_mb)
    seconds, answer = post_file(
        f"{server.url}/umm/ecm/callback/uploadBulkCaller",
        bearer,
        big,
        {"campaignId": str(campaign_id)},
    )
    log(
        f"upload request, {big.stat().st_size / 1e6:.0f} MB file: {seconds:.2f} s "
        f"to the 200 ({answer})"
    )
    server.stop()
    with quiet.app_context():
        from portal.models import Upload

        db.session.query(Upload).delete()
        db.session.commit()
        db.engine.dispose()

    # 2-4. PostgreSQL with a real `flask worker`
    import redis as redis_lib

    redis_lib.Redis.from_url(args.redis).flushdb()
    app = make_app(args.database, args.redis, uploads, start_worker=False)
    server = Server(app)
    bearer = token(server.url)
    peak_file = work / "worker-peak-mb"
    worker = start_worker(args.database, args.redis, uploads, peak_file)
    time.sleep(2)  # let the worker start, as it would be in production
    dnc_state = upload_and_wait(
        server.url, bearer, "/umm/ecm/contact/uploadCsv", work / "dnc.csv", {}
    )
    describe("PostgreSQL DNC upload", dnc_state)
    pg_state = upload_and_wait(
        server.url,
        bearer,
        "/umm/ecm/callback/uploadBulkCaller",
        work / "contacts.csv",
        {"campaignId": str(campaign_id)},
    )
    describe("PostgreSQL contacts upload", pg_state)
    peak, every = stop_worker(worker, peak_file)
    log(f"worker peak RSS (`flask worker` and its work horses, getrusage): {peak} MB")
    log(
        f"peak RSS of every child of this benchmark (what this line printed as the "
        f"worker's before: it counts this process too, through curl): {every} MB"
    )
    server.stop()
    with app.app_context():
        db.engine.dispose()

    # 5. SQLite in embedded mode (the web process runs the worker thread)
    if not args.skip_sqlite:
        sqlite_file = work / "bench.sqlite3"
        lite = make_app(
            f"sqlite:///{sqlite_file}", None, work / "uploads-lite", start_worker=True
        )
        server = Server(lite)
        bearer = token(server.url)
        with lite.app_context():
            admin = db.session.query(User).filter_by(username="admin").one()
            lite_campaign = make_campaign(admin, name="Bench").id
        state = upload_and_wait(
            server.url, bearer, "/umm/ecm/contact/uploadCsv", work / "dnc.csv", {}
        )
        describe("SQLite DNC upload (embedded)", state)
        state = upload_and_wait(
            server.url,
            bearer,
            "/umm/ecm/callback/uploadBulkCaller",
            work / "contacts.csv",
            {"campaignId": str(lite_campaign)},
        )
        describe("SQLite contacts upload (embedded)", state)
        server.stop()
        log(
            "embedded process peak RSS (web app + worker thread + this benchmark): "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB"
        )

    # 4. the same rows by a bare COPY, last: it holds them all in this process
    copied, copy_seconds = raw_copy(args.database, pg_state["uploadId"])
    log(
        f"raw COPY of the same {copied:,} stored rows: {copy_seconds:.2f} s "
        f"({copied / copy_seconds:,.0f} rows/s); import/COPY time ratio "
        f"{pg_state['seconds'] / copy_seconds:.2f}"
    )
    log(f"load average at the end: {os.getloadavg()}")
    if args.json:
        figures = {
            "rows": args.rows,
            "import_state": pg_state["state"],
            "import_seconds": pg_state["seconds"],
            "rows_read": pg_state["rowsRead"],
            "accepted": pg_state["accepted"],
            "copy_rows": copied,
            "copy_seconds": copy_seconds,
            "import_copy_ratio": pg_state["seconds"] / copy_seconds,
            "dnc_seconds": dnc_state["seconds"],
            "worker_peak_mb": peak,
            "every_child_peak_mb": every,
        }
        print("JSON " + json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
