"""Hosts, not processes: an upload and a running campaign through hosts that fail.

Hosts: `db` (a private PostgreSQL and Redis on its own address), `web` (gunicorn),
`w1` and `w2` (two `flask worker` and one `flask scheduler` each) and `client` (curl,
the integrator's machine). Every application process has its own tmpfs on
ECM_UPLOAD_DIR: the only things hosts share are PostgreSQL and Redis.

The run:
1. a campaign dials through the simulator on both worker hosts;
2. the client uploads a contacts CSV to the web host; a worker host takes the import;
3. (a) that host's uplink is slowed (`tc`) from before it took the import, so the
   import cannot end first on any machine; the host holds its next feed batch after
   the claim committed; once PostgreSQL shows the import part-way (rows committed,
   state running) and the held claims dispatched with no result, its link is cut;
4. (b) the other worker host is switched off (SIGKILL of everything in it) and started
   again;
5. (c) Redis is killed and started with nothing kept;
6. PostgreSQL drops the lost host's backends; the held contacts come back to pending
   after the response timeout and are dialed again by another host; the import is
   resumed from its checkpoint and finishes; every periodic job runs again;
7. the lost host's link comes back: its held call gives up (its claims were given to
   another host long ago and stay theirs), and it dials again.

Every step waits on its event in the database or the recorder (tests/multihost/
events.py), with a deadline that names what was missing. `check` then proves the
counts from the database and the dialer's flight recorder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.multihost import events
from tests.multihost.dialer import read_records
from tests.multihost.lab import (
    WEB_PORT,
    DatabaseHost,
    Lab,
    process_env,
    run,
    wait_for,
)

HOSTS = {"db": 2, "web": 3, "w1": 11, "w2": 12, "client": 20}
WORKER_HOSTS = ("w1", "w2")
PERIODIC = ("feed-tick", "stats-refresh", "uploads-resume")


@dataclass
class Sizes:
    rows: int = 200_000
    contacts: int = 500  # few, so they are dialed again (no answer, busy) in the run
    campaigns: int = 1
    batch: int = 100
    interval: int = 1
    response_timeout: int = 15
    chunk_rows: int = 10_000
    bad_every: int = 1_000  # every Nth row has a number that cannot be dialed
    # with 2, the three periodic jobs can line up so that one worker never ticks
    workers_per_host: int = 3
    link_rate: str | None = None  # the worker hosts' uplink at other times
    # the worker hosts' uplink from just before the upload, kept on the importing host
    # until its first chunk is committed, then `crawl_rate` until its link is cut: a
    # throttle, not a hope. Measured, the importing host sends about 220 bytes a row
    # (11 MB by 50,000 rows), so the rest of 200,000 rows takes about 5 minutes at
    # 1 Mbit/s however fast the machine, while a tick is held there within a minute
    # (53 s at the most, at load 16; the wait's deadline is event_wait)
    import_rate: str = "4mbit"
    crawl_rate: str = "1mbit"
    event_wait: float = 180  # deadline of each wait for an event
    pg_settings: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    sizes: Sizes
    upload_id: int = 0
    campaign_ids: list[int] = field(default_factory=list)
    lost: str = ""
    killed: str = ""
    rows_at_cut: int = 0
    held: list[tuple] = field(default_factory=list)
    timeline: dict[str, float] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def mark(self, event: str) -> None:
        self.timeline[event] = round(time.monotonic() - self.started, 2)


def write_csv(path: Path, rows: int, bad_every: int) -> int:
    """Contacts CSV with a header; returns how many rows must be rejected."""
    bad = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(
            "phone1,phone2,phone3,phone4,phone5,"
            + ",".join(f"businessParam{i}" for i in range(1, 13))
            + ",dialTime\n"
        )
        for i in range(1, rows + 1):
            if bad_every and i % bad_every == 0:
                phone = "not-a-number"
                bad += 1
            else:
                phone = upload_number(i)
            out.write(f"{phone},,,,,acct-{i},segment-{i % 7},,,,,,,,,,,\n")
    return bad


class Scenario:
    def __init__(self, sizes: Sizes) -> None:
        self.sizes = sizes
        self.lab = Lab(HOSTS)
        self.db = DatabaseHost(self.lab, pg_settings=sizes.pg_settings)
        self.records = self.lab.folder / "records"
        self.uploads = self.lab.folder / "uploads"
        self.outcome = Outcome(sizes)
        self.app = None
        self.token = ""

    # ---- bringing the hosts up ------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        s = self.sizes
        return process_env(
            self.db,
            str(self.uploads),
            ECM_FEED_INTERVAL=str(s.interval),
            ECM_RESPONSE_TIMEOUT=str(s.response_timeout),
            ECM_SIMULATOR_DELAY="1",
            ECM_IMPORT_CHUNK_ROWS=str(s.chunk_rows),
            ECM_DIALER_FACTORY="tests.multihost.dialer:recording",
            ECM_LAB_RECORDS=str(self.records),
            **extra,
        )

    def build(self) -> None:
        self.lab.build()
        self.db.start()
        self.records.mkdir()
        self.uploads.mkdir()
        init = self.lab.flask("web", "init-db", ["init-db"], self.env())
        assert init.wait(180) == 0, self.lab.log("web-init-db")
        self.lab.spawn(
            "web",
            "gunicorn",
            [
                sys.executable,
                *("-m", "gunicorn", "-w", "2", "--no-control-socket"),
                *("-b", f"{self.lab.hosts['web'].address}:{WEB_PORT}"),
                "portal:create_app()",
            ],
            self.env(),
            private_dir=str(self.uploads),
        )
        wait_for(
            lambda: '"database"' in self.curl("/healthz", check=False, max_time=10),
            self.sizes.event_wait,
            lambda: f"gunicorn did not answer: {self.lab.log('web-gunicorn')}",
            every=0.5,
        )
        self.app = observer_app(self.db)
        with self.app.app_context():
            self.outcome.campaign_ids = self.seed()
        for host in WORKER_HOSTS:
            self.restore_link(host)
            self.start_worker_host(host)

    def seed(self) -> list[int]:
        return seed_campaigns(self.sizes)

    def restore_link(self, host: str) -> None:
        if self.sizes.link_rate:
            self.lab.shape(host, self.sizes.link_rate)
        else:
            self.lab.unshape(host)

    def start_worker_host(self, host: str) -> None:
        env = self.env(ECM_LAB_HOST=host)
        for n in range(self.sizes.workers_per_host):
            self.lab.flask(host, f"worker{n}", ["worker"], env)
        self.lab.flask(host, "scheduler", ["scheduler"], env)

    def curl(
        self, path: str, *args: str, check: bool = True, max_time: float = 120
    ) -> str:
        """curl on the client host; unchecked, a request that times out answers ''."""
        url = f"http://{self.lab.hosts['web'].address}:{WEB_PORT}{path}"
        argv = ("curl", "-sS", "--max-time", str(max_time), *args, url)
        try:
            return self.lab.ns(
                self.lab.hosts["client"].netns,
                *argv,
                check=check,
                timeout=max_time + 10,
            )
        except subprocess.TimeoutExpired:
            if check:
                raise
            return ""

    def login(self) -> None:
        body = json.dumps({"username": "admin", "password": "lab-admin-password-1"})
        answer = self.curl(
            "/umm/api/login",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
        )
        self.token = json.loads(answer)["token"]

    def upload(self, path: Path) -> int:
        answer = self.curl(
            "/umm/ecm/callback/uploadBulkCaller",
            "-H",
            f"Authorization: Bearer {self.token}",
            "-F",
            f"file=@{path};type=text/csv",
            "-F",
            f"campaignId={self.outcome.campaign_ids[-1]}",
        )
        return int(json.loads(answer)["uploadId"])

    # ---- observing ------------------------------------------------------------

    def sql(self, query: str, **params: Any) -> list[tuple]:
        from sqlalchemy import text

        from portal.extensions import db

        assert self.app is not None
        with self.app.app_context():
            rows = db.session.execute(text(query), params).all()
            db.session.remove()
        return [tuple(r) for r in rows]

    def upload_row(self) -> dict[str, Any]:
        (row,) = self.sql(
            "SELECT state, rows_read, accepted, rejected, duplicates, dnc_flagged,"
            " rows_total, error_message FROM uploads WHERE id = :id",
            id=self.outcome.upload_id,
        )
        keys = (
            "state",
            "rowsRead",
            "accepted",
            "rejected",
            "duplicates",
            "dncFlagged",
            "rowsTotal",
            "error",
        )
        return dict(zip(keys, row, strict=True))

    def redis(self):
        import redis

        return redis.Redis(unix_socket_path=self.db.redis_socket)

    def host_of_job(self, job_id: str) -> str | None:
        """The lab host whose worker runs the job (worker pid -> its namespace)."""
        from rq.job import Job
        from rq.worker import Worker

        try:
            job = Job.fetch(job_id, connection=self.redis())
        except Exception:  # noqa: BLE001 - not there yet
            return None
        if not job.worker_name:
            return None
        worker = Worker.find_by_key(
            Worker.redis_worker_namespace_prefix + job.worker_name,
            connection=self.redis(),
        )
        if worker is None or not worker.pid:
            return None
        netns = run("ip", "netns", "identify", str(worker.pid), check=False).strip()
        return next((h.name for h in self.lab.hosts.values() if h.netns == netns), None)

    def periodic_done_since(self, moment: float) -> set[str]:
        from rq.job import Job

        done = set()
        for job_id in PERIODIC:
            try:
                job = Job.fetch(job_id, connection=self.redis())
            except Exception:  # noqa: BLE001 - not enqueued yet
                continue
            ended = job.ended_at
            if (
                job.get_status() == "finished"
                and ended is not None
                and ended.timestamp() >= moment
            ):
                done.add(job_id)
        return done

    # ---- the run ----------------------------------------------------------------

    def run(self) -> Outcome:
        self.cut_mid_import_and_tick()
        self.power_cycle_other()
        restarted = self.restart_redis()
        self.recover(restarted)
        return self.outcome

    def cut_mid_import_and_tick(self) -> None:
        """Up to (a): the campaign dials, the upload imports, one host is cut off."""
        s, out = self.sizes, self.outcome
        self.build()
        out.mark("hosts up")
        wait_for(
            lambda: self.sql("SELECT count(*) FROM contact_attempts")[0][0] > 0,
            s.event_wait,
            lambda: f"the campaign never got a result: {self.lab.logs()}",
            every=0.5,
        )
        out.mark("campaign dialing")
        csv_path = self.lab.folder / "contacts.csv"
        out.figures["expectedRejected"] = write_csv(csv_path, s.rows, s.bad_every)
        out.figures["csvBytes"] = csv_path.stat().st_size
        self.login()
        for host in WORKER_HOSTS:  # whichever takes the import cannot finish it first
            self.lab.shape(host, s.import_rate)
        started = time.monotonic()
        out.upload_id = self.upload(csv_path)
        out.figures["uploadAnsweredSeconds"] = round(time.monotonic() - started, 2)
        out.mark("uploaded")
        job_id = f"import-{out.upload_id}"
        out.lost = wait_for(
            lambda: self.host_of_job(job_id),
            s.event_wait,
            lambda: f"no worker took the import: {self.upload_row()} {self.lab.logs()}",
            every=0.05,
        )
        out.killed = next(h for h in WORKER_HOSTS if h != out.lost)
        self.restore_link(out.killed)
        out.mark(f"import on {out.lost}")
        (self.records / f"gate-{out.lost}").touch()
        out.held = wait_for(
            self._held_mid_import,
            s.event_wait,
            lambda: events.describe_cut_wait(self, out.lost),
            every=0.05,
        )
        # (a) the cable is pulled: a tick holds a batch, the import is part-way
        self.lab.cut(out.lost)
        out.mark("(a) link cut")
        out.figures["lostHostSentBytes"] = self.lab.sent_bytes(out.lost)
        # the host can change nothing now: what the database shows is the cut's state
        out.figures.update(events.progress_figures(self, out.held))
        out.rows_at_cut = out.figures["rowsAtCut"]

    def _held_mid_import(self) -> list[tuple] | None:
        s, out = self.sizes, self.outcome
        progress = self.upload_row()
        assert progress["state"] in ("queued", "running"), (
            f"the import ended before a batch was held on {out.lost}"
            f" (uplink {s.import_rate}, then {s.crawl_rate}): {progress}"
        )
        if not 0 < progress["rowsRead"] < s.rows:
            return None
        if "crawlFromRow" not in out.figures:  # part-way: now it must stay so
            self.lab.shape(out.lost, s.crawl_rate)
            out.figures["crawlFromRow"] = progress["rowsRead"]
            out.mark(f"{out.lost} uplink {s.crawl_rate}")
        return events.held_batch(self, out.lost)

    def power_cycle_other(self) -> None:
        """(b) the other worker host is switched off, then started again."""
        self.lab.power_off(self.outcome.killed)
        self.outcome.mark("(b) host off")
        self.start_worker_host(self.outcome.killed)
        self.outcome.mark("(b) host restarted")

    def restart_redis(self) -> float:
        """(c) Redis dies and comes back empty; returns when (epoch seconds)."""
        self.db.restart_redis()
        self.outcome.mark("(c) redis restarted")
        return time.time()

    def recover(self, restarted: float) -> None:
        """The lost claims come back and are dialed again, the import finishes,
        every periodic job runs again; then the lost host comes back."""
        s, out = self.sizes, self.outcome
        wait_for(
            lambda: events.backends_of(self, out.lost) == 0,
            s.event_wait,
            lambda: (
                f"PostgreSQL kept {events.backends_of(self, out.lost)} backends"
                f" of the lost host {out.lost}"
            ),
            every=0.5,
        )
        out.mark(f"backends of {out.lost} dropped")
        self.held_back_and_redialed()
        done = wait_for(
            lambda: (row := self.upload_row())["state"] in ("done", "failed") and row,
            s.event_wait + 120,
            lambda: f"the import did not finish: {self.upload_row()} {self.lab.logs()}",
            every=0.5,
        )
        out.mark("import done")
        out.figures["upload"] = done
        wait_for(
            lambda: self.periodic_done_since(restarted) == set(PERIODIC),
            s.event_wait,
            lambda: (
                f"periodic jobs did not run again: "
                f"{self.periodic_done_since(restarted)} {self.lab.logs()}"
            ),
            every=0.5,
        )
        out.mark("periodic jobs ran again")
        self.rejoin()
        for host in ("web", out.killed, out.lost):
            self.lab.power_off(host)
        out.mark("stopped")

    def held_back_and_redialed(self) -> None:
        """The held claims back to pending after the response timeout (the database
        no longer shows them dispatched under the held requestTime), then each handed
        to a dialer again."""
        s, out = self.sizes, self.outcome
        held_at = out.held[0][4]
        wait_for(
            lambda: events.still_held(self, out.held) == 0,
            s.response_timeout + s.event_wait,
            lambda: (
                "the lost host's claims did not come back to pending: "
                + events.describe_held(self, out.held)
            ),
            every=0.25,
        )
        back = datetime.now(UTC).replace(tzinfo=None)
        out.mark("held claims back to pending")
        out.figures["heldBackSeconds"] = round((back - held_at).total_seconds(), 1)
        assert back - held_at >= timedelta(seconds=s.response_timeout), (
            f"held claims given back before the response timeout: {held_at} {back}"
        )
        earliest = held_at + timedelta(seconds=s.response_timeout)
        wait_for(
            lambda: not events.redialed_after(self, out.held, earliest),
            s.event_wait,
            lambda: (
                f"{len(events.redialed_after(self, out.held, earliest))} of the"
                " lost host's contacts were not dialed again: "
                + events.describe_held(
                    self, out.held, events.redialed_after(self, out.held, earliest)
                )
            ),
            every=0.5,
        )
        out.mark("lost claims dialed again")

    def rejoin(self) -> None:
        """The lost host's cable goes back in: its held dialer call gives up, its dead
        connections fail, and its workers take feed ticks again."""
        out = self.outcome
        self.restore_link(out.lost)
        self.lab.mend(out.lost)
        mended = datetime.now(UTC).replace(tzinfo=None)
        (self.records / f"release-{out.lost}").touch()
        out.mark("(a) link mended")
        wait_for(
            lambda: any(
                r[0] == out.lost and r[4] > mended
                for r in read_records(self.records, "dispatch")
            ),
            self.sizes.event_wait,
            lambda: (
                f"{out.lost} did not dial again after its link came back: "
                f"{self.lab.logs()}"
            ),
            every=0.5,
        )
        out.mark(f"{out.lost} dialing again")


# ---- the observer's app and the campaign ------------------------------------------


def observer_app(db: DatabaseHost):
    from portal import create_app

    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": db.local_database_url,
            "REDIS_URL": f"unix://{db.redis_socket}",
            "ECM_AUTO_INIT": False,
            "ECM_START_WORKER": False,
            "SECRET_KEY": "lab-secret-key-0123456789-abcdefghijkl",
            "RATELIMIT_ENABLED": False,
        }
    )


def drama_number(i: int) -> str:
    """London's range Ofcom keeps for drama (020 7946 0xxx): no real person, and no
    regional calling-hours rule, so the campaign dials at any hour of the day."""
    return f"+442079460{i % 1000:03d}"


def upload_number(i: int) -> str:
    """Manchester's drama range (0161 496 0xxx) for the uploaded rows. Not London's:
    an abandoned call (16) locks its number out for ECM_ABANDON_LOCKOUT_HOURS, and
    were the upload dialing the dialing campaign's numbers, a lost host's contact
    whose number the upload campaign had abandoned would rightly wait 72 hours
    instead of being dialed again (CI, stop 19: 1 of 100 held contacts)."""
    return f"+441614960{i % 1000:03d}"


def seed_campaigns(sizes: Sizes) -> list[int]:
    """Running campaigns open all day: no answer and busy are retried at once."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import User, utcnow
    from portal.services import preferences
    from tests.feed.support import add_contacts, make_campaign, make_strategy

    admin = db.session.scalar(select(User).where(User.username == "admin"))
    retry = [{"call_result": code, "attempt_number": 1, "delay": 0} for code in (8, 9)]
    strategy = make_strategy(admin, [{"retryMap": retry}], max_attempts=3)
    preferences.save_preferences(admin, {"campaignBatchSize": sizes.batch})
    ids = []
    # the dialing campaigns, then the one the upload goes to (dialed once imported)
    for n in range(sizes.campaigns + 1):
        campaign = make_campaign(
            admin,
            strategy,
            name=f"Lab {n + 1}" if n < sizes.campaigns else "Lab upload",
            startTime="00:00",
            endTime="00:00",
            respectContactTimeZone=False,
        )
        if n < sizes.campaigns:
            add_contacts(
                campaign,
                sizes.contacts // sizes.campaigns,
                dial_time=utcnow() - timedelta(minutes=1),
                phone=drama_number,
            )
        ids.append(campaign.id)
    db.session.commit()
    return ids


# ---- the proof ----------------------------------------------------------------


def check(scenario: Scenario) -> dict[str, Any]:
    """Exact counts and the dispatch rules, from the database and the recorder."""
    check_cut(scenario)
    check_upload(scenario)
    return check_dispatches(scenario)


def check_cut(scenario: Scenario) -> None:
    """The lost host was lost mid-import and mid-tick: at the cut the database showed
    the import running part-way and every held claim dispatched with no result."""
    s, figures = scenario.sizes, scenario.outcome.figures
    assert figures["uploadStateAtCut"] == "running", figures
    assert 0 < figures["rowsAtCut"] < s.rows, figures
    assert figures["heldClaims"] > 0, figures
    assert figures["heldOpenAtCut"] == figures["heldClaims"], figures


def check_upload(scenario: Scenario) -> None:
    """Every row counted once: the counters, the stored contacts, the error report."""
    s, out = scenario.sizes, scenario.outcome
    bad = out.figures["expectedRejected"]
    upload = out.figures["upload"]
    assert upload["state"] == "done", upload
    assert (upload["rowsRead"], upload["accepted"], upload["rejected"]) == (
        s.rows,
        s.rows - bad,
        bad,
    ), upload
    assert upload["duplicates"] == 0, upload
    ((stored, distinct_rows),) = scenario.sql(
        "SELECT count(*), count(DISTINCT row_number) FROM contacts"
        " WHERE upload_id = :u",
        u=out.upload_id,
    )
    assert stored == distinct_rows == s.rows - bad, (stored, distinct_rows)
    ((errors,),) = scenario.sql(
        "SELECT count(*) FROM upload_errors WHERE upload_id = :u", u=out.upload_id
    )
    assert errors == bad, errors
    # the import is done, so its stored copy is gone from the database
    assert scenario.sql("SELECT count(*) FROM upload_files")[0][0] == 0
    assert scenario.sql("SELECT count(*) FROM upload_file_chunks")[0][0] == 0


def check_dispatches(scenario: Scenario) -> dict[str, Any]:
    """No result applied twice; a contact handed over again only once its earlier
    dispatch was answered (a result recorded against that very requestTime, so
    applied before the next claim overwrote it) or had timed out; the lost host's
    held claims dialed again only after the response timeout."""
    s, out = scenario.sizes, scenario.outcome
    timeout = timedelta(seconds=s.response_timeout)
    dispatches = read_records(scenario.records, "dispatch")
    per_contact: dict[int, list[datetime]] = defaultdict(list)
    for _, _, contact, _, at in dispatches:
        per_contact[contact].append(at)
    results = scenario.sql(
        "SELECT contact_id, dialed_at, count(*) FROM contact_attempts"
        " GROUP BY contact_id, dialed_at"
    )
    twice = [r for r in results if r[2] > 1]
    assert not twice, f"results applied twice: {twice[:10]}"
    answered = {(c, at) for c, at, _ in results}
    sent = {(c, at) for c, ats in per_contact.items() for at in ats}
    assert answered <= sent, (
        f"results for dispatches never made: {list(answered - sent)[:10]}"
    )
    overlapping = []
    for contact, ats in per_contact.items():
        ats.sort()
        for first, second in zip(ats, ats[1:], strict=False):
            if (contact, first) not in answered and second - first < timeout:
                overlapping.append((contact, first, second))
    assert not overlapping, f"dispatched again while a dial was out: {overlapping[:10]}"
    for _, _, contact, _, held_at in out.held:
        later = [at for at in per_contact.get(contact, []) if at > held_at]
        assert later and min(later) - held_at >= timeout, (contact, held_at, later)
    # a held claim never reached the dialer and went back to pending: no result of it
    assert not {(c, at) for _, _, c, _, at in out.held} & answered
    redialed = sum(1 for ats in per_contact.values() if len(ats) > 1)
    assert redialed, "no contact was dialed twice: the overlap check proved nothing"
    by_host: dict[str, int] = defaultdict(int)
    for host, *_ in dispatches:
        by_host[host] += 1
    return {
        **out.figures,
        "lostHost": out.lost,
        "killedHost": out.killed,
        "rowsAtCut": out.rows_at_cut,
        "heldClaims": len(out.held),
        "dispatches": len(dispatches),
        "dispatchesByHost": dict(by_host),
        "resultsApplied": len(answered),
        "contactsDialed": len(per_contact),
        "contactsDialedAgain": redialed,
        "timeline": out.timeline,
    }


def run_and_check(sizes: Sizes) -> dict[str, Any]:
    scenario = Scenario(sizes)
    try:
        scenario.run()
        return check(scenario)
    except BaseException:
        print(scenario.lab.logs(3000), file=sys.stderr)
        raise
    finally:
        if scenario.app is not None:
            from portal.extensions import db

            with scenario.app.app_context():
                db.engine.dispose()
        scenario.lab.teardown()


if __name__ == "__main__":
    print(
        json.dumps(
            run_and_check(Sizes(rows=int(os.environ.get("ROWS", "20000")))),
            indent=2,
            default=str,
        )
    )
    subprocess.run(["ip", "netns", "list"], check=False)
