"""Issue #15's speed table in one run: every measure against its target (not a test).

    python tests/bench/bench_targets.py [--seconds 10] [--contacts 1000000]
        [--rows 1000000] [--dnc-rows N] [--repeat 5] [--callbacks 200]
        [--feed-batch 1000]
        [--only requests,feed,uploads,page] [--workers 2] [--threads 4]
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/bench_targets]
        [--redis redis://127.0.0.1:6379/2]

1. requests: gunicorn on the portal in production mode (REDIS_URL set) on PostgreSQL,
   and a hello-world Flask app under the same gunicorn settings, both started as
   bench_load.py starts them (tests/bench/support.py). 20 campaigns and one campaign
   of `--callbacks` contacts are made through the API with a bearer token; then ONE
   keep-alive connection to each server measures requests/s for `--seconds` each, in
   the order hello, GET /umm/ecm/campaign, hello, getList (50 rows), hello,
   insertCallback, hello, contact/save, hello. Each endpoint's ratio is taken against
   the mean of the two hello-world figures measured either side of it. Every answer
   is checked (status < 300): one that is not fails the run.
2. feed: bench_feed.py --contacts N (one tick of 10 x 1,000, results applied/s;
   --feed-batch shrinks the 1,000 for a quick run, and the table says so);
3. uploads: bench_uploads.py --rows N --skip-sqlite --request-mb 1 (upload to done,
   its ratio to a raw COPY of the stored rows, peak RSS of the `flask worker` and its
   work horses, which also ran the DNC import of --dnc-rows before);
4. page: bench_contacts_page.py --contacts N (server time of the campaign page's
   contact list, every filter, first, middle and last page; the slowest median);
   each started as a process with --json, its figures read from its last line.

Then one table: measure, figure, target, met or not (and the factor it falls short
by), with the load average at the start and at the end.

The database named by --database is wiped, and so are its siblings named
<database>_feed, <database>_uploads and <database>_page (created if missing), and the
Redis database given by --redis is flushed: never point them at data you want to keep.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402

from tests.bench.bench_request_path import calls  # noqa: E402
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
    wait_for_gunicorns,
)

BENCH = Path(__file__).resolve().parent
DEFAULT_DB = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_targets"
)
MEASURES = ("requests", "feed", "uploads", "page")
HELLO = ("GET", "/hello", None)


@dataclass
class Row:
    """One line of the table: `figure` against `target` (at least or at most)."""

    measure: str
    figure: float | None
    target: float
    at_least: bool
    unit: str = ""
    note: str = ""
    aim: str = ""

    def met(self) -> bool:
        if self.figure is None:
            return False
        if self.at_least:
            return self.figure >= self.target
        return self.figure <= self.target

    def verdict(self) -> str:
        if self.figure is None:
            return "**failed**"
        if self.met():
            return "met"
        if self.figure <= 0:
            return "**not met**"
        if self.at_least:
            short = self.target / self.figure
        else:
            short = self.figure / self.target
        return f"**not met** (x{short:.2f} short)"

    def cells(self) -> tuple[str, str, str, str]:
        figure = "—" if self.figure is None else f"{fmt(self.figure)}{self.unit}"
        if self.note:
            figure += f" ({self.note})"
        sign = "≥" if self.at_least else "≤"
        target = f"{sign} {fmt(self.target)}{self.unit}{self.aim}"
        return self.measure, figure, target, self.verdict()


def fmt(value: float) -> str:
    if abs(value) >= 1000 or (abs(value) >= 10 and value == int(value)):
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def sibling(url: str, suffix: str) -> str:
    """The database <name>_<suffix> on the same server."""
    base = make_url(url)
    return base.set(database=f"{base.database}_{suffix}").render_as_string(
        hide_password=False
    )


# --- 1. single keep-alive client through gunicorn -----------------------------------


def seed(admin: Client, contacts: int) -> int:
    """20 campaigns through the API, the first with `contacts` contacts: its id."""
    strategy = admin.json("POST", "/umm/ecm/callStrategy/save", {"name": "Bench"})
    ids = []
    for i in range(20):
        made = admin.json(
            "POST",
            "/umm/ecm/campaign/createCampaign",
            {"name": f"Campaign {i:02d}", "strategyId": str(strategy["id"])},
        )
        ids.append(int(made["id"]))
    for i in range(contacts):
        admin.json(
            "POST",
            "/umm/ecm/callback/insertCallback",
            {"campaignId": ids[0], "phone1": f"+4420794{i:05d}"},
        )
    page = admin.json(
        "GET", f"/umm/ecm/callback/getList?campaignId={ids[0]}&size=50&page=0"
    )
    if len(page["callbackData"]) != min(50, contacts):
        raise SystemExit(f"getList gave {len(page['callbackData'])} rows, not 50")
    return ids[0]


def interleaved(portal: Meter, hello: Meter, endpoints: dict, seconds: float):
    """hello, endpoint, hello, endpoint ... hello: {label: (rps, hello mean)}."""
    before = hello.rate(lambda n: HELLO, seconds)
    log(f"  hello-world {before:,.0f} req/s")
    out = {}
    for label, make in endpoints.items():
        rps = portal.rate(make, seconds)
        after = hello.rate(lambda n: HELLO, seconds)
        mean = (before + after) / 2
        log(
            f"  {label} {rps:,.0f} req/s, hello-world {after:,.0f} req/s, "
            f"ratio {rps / mean:.3f}"
        )
        out[label] = (rps, mean)
        before = after
    return out


def request_rows(args, folder: Path) -> list[Row]:
    log(f"requests: gunicorn on the portal and on hello-world, {args.database}")
    ensure_database(args.database)
    procs = Processes(folder)
    try:
        env = portal_env(args.database, args.redis, folder, feed_interval=10)
        # the app touches no table until a request comes: boot and migrate at once
        port, hello_port = start_gunicorns(procs, env, args.workers, args.threads)
        init_db(env)
        wait_for_gunicorns(port, hello_port)
        admin = admin_client(port)
        campaign_id = seed(admin, args.callbacks)
        admin.close()
        log(
            f"  {args.workers} gunicorn workers x {args.threads} threads each; "
            f"one keep-alive client, {args.seconds:g} s a measure"
        )
        portal = Meter(Client(port, admin.token))
        hello = Meter(Client(hello_port))
        figures = interleaved(portal, hello, calls(campaign_id), args.seconds)
        portal.client.close()  # an open keep-alive connection holds up the shutdown
        hello.client.close()
        log(
            f"  connections opened: {portal.connections} to the portal, "
            f"{hello.connections} to hello-world"
        )
    finally:
        procs.stop_all()
    rows = []
    for label, (rps, mean) in figures.items():
        first = label == "GET /umm/ecm/campaign"
        rows.append(
            Row(
                f"{label} / hello-world, single keep-alive client",
                rps / mean,
                0.5 if first else 0.4,
                at_least=True,
                note=f"{rps:,.0f} / {mean:,.0f} req/s",
                aim=" (aim 0.7)" if first else "",
            )
        )
    return rows


# --- 2-4. the other benchmarks, as processes ----------------------------------------


def run_script(name: str, flags: list[str]) -> dict:
    """Run tests/bench/<name> with --json, echoing its output; its JSON figures."""
    command = [sys.executable, str(BENCH / name), *flags, "--json"]
    log("$ " + " ".join(command[1:]))
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    figures = None
    for line in proc.stdout:
        print(f"    {line}", end="", flush=True)
        if line.startswith("JSON "):
            figures = json.loads(line[5:])
    code = proc.wait()
    if code != 0 or figures is None:
        raise RuntimeError(f"{name} exited {code}" + ("" if figures else ", no JSON"))
    return figures


def feed_rows(args, folder: Path) -> list[Row]:
    url = sibling(args.database, "feed")
    flags = ["--contacts", str(args.contacts), "--batch", str(args.feed_batch)]
    got = run_script("bench_feed.py", [*flags, "--url", url])
    tick = f"{got['campaigns']} x {got['batch']:,}"
    return [
        Row(
            f"one feed tick dispatching {tick} over {args.contacts:,} pending contacts",
            got["tick_median_s"],
            0.25,
            at_least=False,
            unit=" s",
            note=f"median of 3, max {got['tick_max_s']:.3f} s",
        ),
        Row(
            "results applied",
            got["results_per_s"],
            20_000,
            at_least=True,
            unit="/s",
            note=f"{got['results_applied']:,} results",
        ),
    ]


def upload_rows(args, folder: Path) -> list[Row]:
    flags = ["--rows", str(args.rows), "--dnc-rows", str(args.dnc_rows or args.rows)]
    flags += ["--request-mb", "1", "--skip-sqlite"]
    flags += ["--database", sibling(args.database, "uploads"), "--redis", args.redis]
    got = run_script("bench_uploads.py", flags)
    if got["import_state"] != "done":
        raise RuntimeError(f"the contacts import ended {got['import_state']}")
    rows = f"{args.rows:,}-row"
    return [
        Row(
            f"{rows} contacts CSV, upload to done / raw COPY of the stored rows",
            got["import_copy_ratio"],
            1.0,
            at_least=False,
            note=(
                f"{got['import_seconds']:.1f} s / {got['copy_seconds']:.1f} s, "
                f"{got['copy_rows']:,} rows"
            ),
        ),
        Row(
            f"{rows} contacts CSV, upload to done",
            got["import_seconds"],
            10.0,
            at_least=False,
            unit=" s",
            aim=" on a quiet machine",
        ),
        Row(
            f"peak RSS of the import worker, {rows} file",
            got["worker_peak_mb"],
            150,
            at_least=False,
            unit=" MB",
            note=(
                "`flask worker` and its work horses, its DNC import included; every "
                f"child of bench_uploads, itself included: {got['every_child_peak_mb']}"
                " MB"
            ),
        ),
    ]


def page_rows(args, folder: Path) -> list[Row]:
    flags = ["--contacts", str(args.contacts), "--repeat", str(args.repeat)]
    got = run_script(
        "bench_contacts_page.py", [*flags, "--url", sibling(args.database, "page")]
    )
    return [
        Row(
            f"campaign contacts page at {args.contacts:,} contacts, slowest page "
            f"and filter of {got['pages']}",
            got["worst_median_ms"],
            100,
            at_least=False,
            unit=" ms",
            note=f"median of {args.repeat}: {got['worst_page']}; {got['slow']} over",
        )
    ]


# --- the run and its table ----------------------------------------------------------

STEPS = {
    "requests": (request_rows, "single-client ratios through gunicorn"),
    "feed": (feed_rows, "feed tick and results applied"),
    "uploads": (upload_rows, "contacts import, its COPY ratio and worker memory"),
    "page": (page_rows, "campaign contacts page"),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--callbacks", type=int, default=200)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dnc-rows", type=int, default=None, help="default: --rows")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--feed-batch", type=int, default=1000, help="the tick's batch a campaign"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database", default=DEFAULT_DB)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/2")
    parser.add_argument(
        "--only",
        default=",".join(MEASURES),
        help=f"comma-separated, of {', '.join(MEASURES)} (default: all)",
    )
    args = parser.parse_args(argv)
    args.only = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = sorted(set(args.only) - set(MEASURES))
    if unknown or not args.only:
        parser.error(f"--only takes {', '.join(MEASURES)}; not {unknown}")
    if args.callbacks < 200:
        parser.error("--callbacks: getList pages 4 x 50 rows, at least 200")
    return args


def print_table(rows: list[Row], failures: list[str], load: tuple, took: float):
    print("\n## Issue #15 targets\n")
    print("| measure | figure | target | met |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row.cells()) + " |")
    met = sum(row.met() for row in rows)
    print(f"\n{met} of {len(rows)} measures met their target")
    for failure in failures:
        print(f"FAILED: {failure}")
    end = os.getloadavg()
    print(
        f"load average (1, 5, 15 min): start {load[0]:.2f} {load[1]:.2f} "
        f"{load[2]:.2f}, end {end[0]:.2f} {end[1]:.2f} {end[2]:.2f}; "
        f"{os.cpu_count()} cores; run took {took:.0f} s"
    )


def main(argv=None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    load = os.getloadavg()
    log(f"load average at the start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    folder = Path(tempfile.mkdtemp(prefix="ecm-bench-targets-"))
    rows: list[Row] = []
    failures: list[str] = []
    for name in (m for m in MEASURES if m in args.only):
        step, what = STEPS[name]
        log(f"== {name}: {what}")
        try:
            rows += step(args, folder)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - reported, run goes on
            failures.append(f"{name}: {exc}")
            log(f"{name} failed: {exc}")
    log(f"logs in {folder}")
    print_table(rows, failures, load, time.perf_counter() - started)
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
