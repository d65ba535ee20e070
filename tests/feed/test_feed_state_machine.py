"""Random results, DNC additions, pauses and clock moves against the feed's invariants.

Suppression (issue 13): opt-outs by channel, temporary and campaign-scoped named-list
entries and results that rule a number out are added at random, and each tick runs
as one worker or as three workers at once (threads, each with its own session); no
worker may ever dial a number suppressed for that channel at that moment.

The clock starts on Friday 6 March 2026 and can run past the US change to daylight
saving time (Sunday 8 March), so windows are checked across a DST change. The checks
here re-derive windows, delays and caps from the test's own model, not from the
feed's code.

With the calling rules on (issue #12) a second campaign dials the same numbers, so
the frequency cap (3 per 6 h), the minimum gap (20 min), a restricted date (Monday
9 March, just after the DST change) and the regional hours (08:00-21:00 in the
number's zones) are checked across campaigns, and every pending contact's
nextEligibleAt is checked against the dials that follow.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import current_app
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import delete, func, select

from portal.extensions import db
from portal.models import (
    CallResultInbox,
    Campaign,
    Contact,
    ContactAttempt,
    ContactNumberBlock,
    DialLog,
    DncEntry,
    DncListEntry,
    OptOut,
)
from portal.services import dnc, dnc_lists, optouts, phones
from portal.services.dialers import DialResult
from portal.services.enums import CISCO_NOT_DIALED
from portal.services.errors import ValidationFailed
from portal.services.feed import contact_eligibility, run_tick
from portal.services.feed.results import store_results
from portal.services.feed.tick import TickCounts
from tests.feed.support import RecordingDialer, make_campaign, make_strategy

START = datetime(2026, 3, 6, 17, 30)  # Friday 12:30 in New York, 09:30 in LA
WINDOW = (time(9, 0), time(17, 0))
DAYS = {1, 2, 3, 4, 5}  # Monday-Friday, 0 = Sunday
MAX_ATTEMPTS = 4
# attempt -> {code: (next attempt, delay minutes, expiry minutes)}
RULES = {
    1: {8: (2, 5, 240), 9: (1, 2, None), 12: (3, 10, None)},
    2: {8: (3, 1, None), 9: (2, 3, None)},
    3: {101: (3, 3, None)},
}
CHANNEL = {1: 0, 2: 0, 3: 1}
NUMBERS = [
    "+12125550101",  # New York
    "+12135550102",  # Los Angeles
    "+13125550103",  # Chicago
    "+13035550104",  # Denver
    "+12085550105",  # Boise and Los Angeles: both must be open
    "+12125550106",
    "+13125550107",
    "+12135550108",
]
SEEN = {
    "dispatched": 0,
    "applied": 0,
    "dnc_dispatch_checks": 0,
    "results": 0,
    "no_target": 0,
    "suppressed_checks": 0,
    "suppressions": 0,
    "three_worker_ticks": 0,
    "ruled_out": 0,
    "rule_checks": 0,
    "predictions": 0,
}
WORKERS = 3
LIST_CHANNEL = {"voice": {0}, "sms": {1}, "both": {0, 1}}
LIST_MINUTES = [None, 5, 60, 600]  # how long a named-list entry holds (None: for good)
PHONE2 = {0: "+13125550201", 3: "+12125550202", 6: "+12135550203"}
CAP = (3, timedelta(hours=6))
GAP = timedelta(minutes=20)
RESTRICTED = {datetime(2026, 3, 9).date()}
LEGAL = (time(8, 0), time(21, 0))  # 47 CFR 64.1200(c)(1), in the number's zones


class RecordingSms:
    name = "recording-sms"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, int]] = []
        self.results: list[DialResult] = []

    def send(self, number: str, text: str, contact_id: int) -> None:
        self.sent.append((number, text, contact_id))

    def collect_results(self) -> list[DialResult]:
        out, self.results = self.results, []
        return out


def legal_in(zone: str, moment: datetime) -> bool:
    local = moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
    return LEGAL[0] <= local.time() < LEGAL[1] and local.date() not in RESTRICTED


def open_in(zone: str, moment: datetime) -> bool:
    local = moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
    return local.isoweekday() % 7 in DAYS and WINDOW[0] <= local.time() < WINDOW[1]


def key(number: str) -> str:
    return phones.match_key(number, "US")


@pytest.fixture
def world(admin, app):
    app.config["ECM_CALLING_RULES"] = True
    strategy = make_strategy(
        admin,
        [
            {"phone": "1", "retryMap": []},
            {"phone": "2", "retryMap": []},
            {"phone": "1", "channel": 1, "retryMap": []},
        ],
        max_attempts=MAX_ATTEMPTS,
    )
    for attempt in strategy.attempts:
        attempt.retry_map = [
            {"call_result": code, "attempt_number": to, "delay": delay}
            | ({"expiry": expiry} if expiry is not None else {})
            for code, (to, delay, expiry) in RULES[attempt.attempt_number].items()
        ]
    db.session.commit()
    campaign = make_campaign(
        admin,
        strategy,
        name="Machine",
        timeZone="America/New_York",
        startTime="09:00",
        endTime="17:00",
        weekDays="1,2,3,4,5",
        respectContactTimeZone=True,
        smsTemplate="Hi {businessParam1}",
        frequencyCap={"count": CAP[0], "hours": 6},
        minGapMinutes=20,
        restrictedDates=["2026-03-09"],
    )
    other = make_campaign(
        admin,
        strategy,
        name="Machine 2",
        timeZone="America/New_York",
        startTime="09:00",
        endTime="17:00",
        weekDays="1,2,3,4,5",
        smsTemplate="Hi {businessParam1}",
        frequencyCap={"count": CAP[0], "hours": 6},
        minGapMinutes=20,
        restrictedDates=["2026-03-09"],
    )
    elsewhere = make_campaign(admin, strategy, name="Elsewhere", status=0)
    lists = {
        "global": dnc_lists.create_list(
            admin, {"name": "Temporary holds", "channel": "both"}
        ).id,
        "voice": dnc_lists.create_list(
            admin, {"name": "Voice only", "channel": "voice", "campaignId": campaign.id}
        ).id,
        "other": dnc_lists.create_list(
            admin, {"name": "Other campaign", "campaignId": elsewhere.id}
        ).id,
    }
    ids = {a.attempt_number: a.id for a in strategy.attempts}
    return admin, (campaign.id, other.id), ids, lists


def machine_for(world):
    admin, (campaign_id, other_id), attempt_ids, lists = world
    app = current_app._get_current_object()

    class FeedMachine(RuleBasedStateMachine):
        @initialize()
        def fresh(self) -> None:
            for model in (
                ContactAttempt,
                CallResultInbox,
                ContactNumberBlock,
                Contact,
                DncEntry,
                DncListEntry,
                OptOut,
                DialLog,
            ):
                db.session.execute(delete(model))
            campaign = db.session.get(Campaign, campaign_id)
            campaign.status = 1
            db.session.commit()
            rows = []
            for i, number in enumerate(NUMBERS + NUMBERS):
                rows.append(
                    Contact(
                        campaign_id=campaign_id if i < len(NUMBERS) else other_id,
                        phone1=number,
                        phone2=PHONE2.get(i % len(NUMBERS)),
                        match_key=key(number),
                        business_param1=f"client {i}",
                        dial_time=START,
                        attempt_id=attempt_ids[1],
                        attempt_number=1,
                        channel=0,
                    )
                )
            db.session.add_all(rows)
            db.session.commit()
            self.ids = [c.id for c in rows]
            self.first = set(self.ids[: len(NUMBERS)])
            self.dials: dict[str, list[datetime]] = {}  # match key -> dial times
            self.predicted: dict[int, datetime] = {}
            self.now = START
            self.dialer = RecordingDialer()
            self.sms = RecordingSms()
            self.blocked: set[str] = set()
            self.paused = False
            self.earliest: dict[int, datetime] = {}
            self.closed: set[int] = set()
            self.pending_results: dict[int, int] = {}
            self.uncounted: dict[int, int] = {}  # Cisco-uncounted results so far
            # match key -> [(channels, until or None, campaign or None)] suppressing it;
            # a campaign's named list holds that campaign's contacts only, as
            # services/suppression.hits scopes it (global lists have no campaign)
            self.suppressed: dict[
                str, list[tuple[set[int], datetime | None, int | None]]
            ] = {}
            self.ruled_out: dict[int, set[str]] = {}
            self.phones = {
                cid: (NUMBERS[i % len(NUMBERS)], PHONE2.get(i % len(NUMBERS)))
                for i, cid in enumerate(self.ids)
            }
            self.last_number: dict[int, str] = {}

        def _campaign_of(self, cid: int) -> int:
            return campaign_id if cid in self.first else other_id

        def _suppressed(self, number: str, channel: int, cid: int) -> bool:
            return any(
                channel in channels
                and (until is None or self.now < until)
                and scope in (None, self._campaign_of(cid))
                for channels, until, scope in self.suppressed.get(key(number), [])
            )

        def _run(self) -> TickCounts:
            return run_tick(self.now, dialer=self.dialer, sms=self.sms)

        def _run_three(self) -> TickCounts:
            """Three workers tick at once, each in its own app context and session.

            The results the model queued are received (in the inbox) before they
            start, as the result API and the Dialer_Detail reader deliver them. Left
            in an adapter's memory, a result would reach the product only while the
            three workers run: if its dial is past the response timeout, another
            worker's sweep may return the contact first, and then the result is late
            and stale (docs/feed.md), an order the model cannot know. Single-worker
            ticks still take every result through the adapters.
            """
            store_results(
                self.dialer.collect_results() + self.sms.collect_results(), self.now
            )
            db.session.commit()
            results: list = []
            errors: list = []
            start = threading.Barrier(WORKERS)

            def worker() -> None:
                with app.app_context():
                    try:
                        start.wait(timeout=30)
                        results.append(self._run())
                    except Exception as exc:  # noqa: BLE001 - reported below
                        errors.append(exc)
                    finally:
                        db.session.remove()

            threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
            assert not errors, errors
            SEEN["three_worker_ticks"] += 1
            return TickCounts(
                dispatched=sum(r.dispatched for r in results),
                applied=sum(r.applied for r in results),
            )

        def _contact(self, cid: int) -> Contact:
            return db.session.get(Contact, cid)

        @rule(three=st.booleans(), data=st.data())
        def tick(self, three: bool, data) -> None:
            self._tick(three)
            self._draw_results(data)  # the dialer answers some of what it was given

        def _tick(self, three: bool) -> None:
            db.session.expire_all()
            before = {cid: self._contact(cid) for cid in self.ids}
            state = {
                cid: (c.request_state, c.attempt_number, c.attempts_made)
                for cid, c in before.items()
            }
            queued = dict(self.pending_results)
            self.pending_results.clear()
            answers = {
                cid: contact_eligibility(c, self.now)
                for cid, c in before.items()
                if c.request_state == 0
            }
            for answer in answers.values():
                self._check_prediction(answer)
            voice_before, sms_before = len(self.dialer.dispatched), len(self.sms.sent)
            counts = self._run_three() if three else self._run()
            SEEN["dispatched"] += counts.dispatched
            SEEN["applied"] += counts.applied
            db.session.expire_all()
            # results applied this tick: derive the earliest next dial ourselves
            for cid, code in queued.items():
                attempt = state[cid][1]
                made = state[cid][2] - self._gives_back(cid, code)
                if code in (10, 100):
                    self.closed.add(cid)
                elif code == 3:  # default effect: rule the number out, try the next
                    dialed = self.last_number[cid]
                    out = self.ruled_out.setdefault(cid, set())
                    out.add(key(dialed))
                    SEEN["ruled_out"] += 1
                    left = [n for n in self.phones[cid] if n and key(n) not in out]
                    if left and made < MAX_ATTEMPTS:
                        self.earliest[cid] = self.now
                    else:
                        self.closed.add(cid)
                elif made < MAX_ATTEMPTS and code in RULES[attempt]:
                    self.earliest[cid] = self.now + timedelta(
                        minutes=RULES[attempt][code][1]
                    )
                else:
                    self.closed.add(cid)
            sent = [
                (r.contact_id, r.number, 0)
                for r in self.dialer.dispatched[voice_before:]
            ]
            sent += [(cid, number, 1) for number, _, cid in self.sms.sent[sms_before:]]
            assert len({cid for cid, _, _ in sent}) == len(sent), "dialed twice"
            for cid, number, channel in sent:
                self._check_rules(cid, number, answers)
                self.last_number[cid] = number
                assert not self._suppressed(number, channel, cid), (
                    f"suppressed number {number} dispatched on channel {channel}"
                )
                assert key(number) not in self.ruled_out.get(cid, set()), (
                    f"{number} was ruled out for contact {cid}"
                )
                # dialed although listed: for another channel, expired, or elsewhere
                SEEN["suppressed_checks"] += key(number) in self.suppressed
                assert not (self.paused and cid in self.first), (
                    "dispatched while the campaign is paused"
                )
                assert cid not in self.closed, f"contact {cid} re-queued after closing"
                assert key(number) not in self.blocked, (
                    f"DNC number {number} dispatched"
                )
                SEEN["dnc_dispatch_checks"] += bool(self.blocked)
                assert self.now >= self.earliest.get(cid, START), (
                    "retried before its delay"
                )
                assert open_in("America/New_York", self.now), (
                    "outside the campaign window"
                )
                for zone in phones.number_time_zones(number, "US"):
                    assert open_in(zone, self.now), f"outside the window in {zone}"
                assert state[cid][0] in (0, 1)

        def _check_rules(self, cid: int, number: str, answers) -> None:
            """Cap, gap, restricted date, regional hours; the prediction held."""
            history = self.dials.setdefault(key(number), [])
            recent = [d for d in history if d > self.now - CAP[1]]
            assert len(recent) < CAP[0], f"{number} over its cap across campaigns"
            assert not history or self.now >= history[-1] + GAP, f"{number} in gap"
            for zone in phones.number_time_zones(number, "US"):
                assert legal_in(zone, self.now), f"{number} illegal in {zone}"
            history.append(self.now)
            answer = answers.get(cid)
            if answer is not None:  # pending before the tick (not re-queued in it)
                assert answer.eligible, answer.reasons
                assert answer.next_eligible_at == self.now
            if cid in self.predicted:
                assert self.predicted.pop(cid) <= self.now, "dialed before predicted"
            SEEN["rule_checks"] += 1

        def _check_prediction(self, answer) -> None:
            """nextEligibleAt is never earlier than every rule allows."""
            at = answer.next_eligible_at
            if at is None:
                self.predicted.pop(answer.contact_id, None)
                return
            assert at >= self.now
            self.predicted[answer.contact_id] = at
            number = answer.number_to_call
            if not number or at == self.now:
                return
            SEEN["predictions"] += 1
            history = self.dials.get(key(number), [])
            assert len([d for d in history if d > at - CAP[1]]) < CAP[0]
            assert not history or at >= history[-1] + GAP
            assert open_in("America/New_York", at)
            for zone in phones.number_time_zones(number, "US"):
                assert legal_in(zone, at) and open_in(zone, at)

        @rule(data=st.data())
        def result(self, data) -> None:
            self._draw_results(data)

        def _gives_back(self, cid: int, code: int) -> int:
            """1 when Cisco's table leaves this result uncounted (allowance left)."""
            if code not in CISCO_NOT_DIALED:
                return 0
            used = self.uncounted.get(cid, 0)
            self.uncounted[cid] = used + 1
            return 1 if used < MAX_ATTEMPTS else 0

        def _draw_results(self, data) -> None:
            # The draws have one shape whatever the database holds: which contacts
            # three racing workers dispatched varies from run to run, and a draw
            # that depends on it makes hypothesis stop with FlakyStrategyDefinition.
            picks = data.draw(
                st.lists(st.tuples(st.integers(0, 63), st.integers(0, 5)), min_size=1)
            )
            db.session.expire_all()
            dispatched = [
                c
                for c in (self._contact(cid) for cid in self.ids)
                if c.request_state == 1 and c.id not in self.pending_results
            ]
            if not dispatched:
                SEEN["no_target"] += 1
                return
            SEEN["results"] += 1
            chosen: dict[int, tuple[Contact, int]] = {}
            for which, code_index in picks:
                contact = dispatched[which % len(dispatched)]
                chosen.setdefault(contact.id, (contact, code_index))
            for contact, code_index in chosen.values():
                codes = (
                    [100, 101, 102] if contact.channel == 1 else [10, 8, 9, 12, 3, 3]
                )
                self.last_number[contact.id] = contact.number_to_call
                code = codes[code_index % len(codes)]
                self.pending_results[contact.id] = code
                target = self.sms if contact.channel == 1 else self.dialer
                target.results.append(DialResult(contact.id, code, f"raw{code}", None))

        @rule(data=st.data(), kind=st.sampled_from(["dnc", "opt_out", "list"]))
        def suppress(self, data, kind: str) -> None:
            """One rule for the three ways to suppress a number, drawn as often as a
            tick: as three rules of their own they closed every contact within a few
            steps and the machine hardly dialed."""
            if kind == "dnc":
                index = data.draw(st.integers(0, len(NUMBERS) - 1))
                self.add_dnc(index, data.draw(st.booleans()))
            elif kind == "opt_out":
                self.opt_out(data, data.draw(st.sampled_from(["voice", "sms", "both"])))
            else:
                which = data.draw(st.sampled_from(["global", "voice", "other"]))
                self.list_entry(data, which, data.draw(st.sampled_from(LIST_MINUTES)))

        def add_dnc(self, index: int, second: bool) -> None:
            number = PHONE2.get(index) if second else NUMBERS[index]
            if number is None:
                return
            try:
                dnc.add_entry(admin, {"primaryNumber": number})
            except ValidationFailed:
                pass
            self.blocked.add(key(number))
            self.suppressed.setdefault(key(number), []).append(({0, 1}, None, None))

        def _pending_number(self, data) -> str:
            """A number of a contact still open (any phone), so suppression matters."""
            db.session.expire_all()
            numbers = [
                n
                for cid in self.ids
                if self._contact(cid).request_state == 0
                for n in self.phones[cid]
                if n
            ]
            numbers = numbers or NUMBERS
            return numbers[data.draw(st.integers(0, 255)) % len(numbers)]

        def opt_out(self, data, channel: str) -> None:
            number = self._pending_number(data)
            optouts.record_opt_out(
                admin, {"number": number, "channel": channel}, now=self.now
            )
            entry = (LIST_CHANNEL[channel], None, None)
            SEEN["suppressions"] += 1
            self.suppressed.setdefault(key(number), []).append(entry)

        def list_entry(self, data, which: str, minutes: int | None) -> None:
            number = self._pending_number(data)
            until = self.now + timedelta(minutes=minutes) if minutes else None
            body = {"primaryNumber": number, "reason": "state machine"}
            if until is not None:
                body["expiresAt"] = until.strftime("%Y-%m-%dT%H:%M:%SZ")
            try:
                dnc_lists.add_entry(admin, lists[which], body)
            except ValidationFailed:
                return  # already on that list: the first entry stands
            if which != "other":  # another campaign's list must not matter here
                # the "voice" list is the first campaign's: it holds only that
                # campaign's contacts, never the second campaign's on the same number
                channels, scope = (
                    ({0}, campaign_id) if which == "voice" else ({0, 1}, None)
                )
                SEEN["suppressions"] += 1
                self.suppressed.setdefault(key(number), []).append(
                    (channels, until, scope)
                )

        @rule()
        def toggle_pause(self) -> None:
            campaign = db.session.get(Campaign, campaign_id)
            self.paused = not self.paused
            campaign.status = 0 if self.paused else 1
            db.session.commit()

        @rule(minutes=st.sampled_from([1, 3, 7, 30, 90, 240, 600, 1440, 2880]))
        def advance(self, minutes: int) -> None:
            self.now += timedelta(minutes=minutes)

        @rule(hour=st.sampled_from([13, 17, 20]))
        def next_day(self, hour: int) -> None:
            """The next day at 13:00 (before 09:00 in every zone but New York's),
            17:00 (open everywhere on a weekday) or 20:00 UTC: without it most runs
            leave Friday's window for a weekend and a restricted Monday and hardly
            dial again."""
            self.now = (self.now + timedelta(days=1)).replace(hour=hour, minute=0)

        @invariant()
        def caps_and_history(self) -> None:
            if not hasattr(self, "ids"):
                return
            db.session.expire_all()
            for cid in self.ids:
                contact = self._contact(cid)
                assert contact.attempts_made <= MAX_ATTEMPTS
                dials = db.session.scalars(
                    select(ContactAttempt.call_result).where(
                        ContactAttempt.contact_id == cid
                    )
                ).all()
                # Cisco's "Counted as Attempt? No" codes give the attempt back, up to
                # maxAttempts of them (results.gives_attempt_back), so a contact is
                # dialed at most twice its cap
                free = min(sum(c in CISCO_NOT_DIALED for c in dials), MAX_ATTEMPTS)
                assert len(dials) - free <= contact.attempts_made
                assert len(dials) <= 2 * MAX_ATTEMPTS
                if any(code in (10, 100) for code in dials):
                    assert contact.request_state == 2

    return FeedMachine


def _settings(backend: str) -> settings:
    """CI's size and seed, unless run longer locally: ECM_STATE_MACHINE_EXAMPLES sets
    the number of examples, ECM_STATE_MACHINE_RANDOM=1 turns derandomize off (pytest's
    --hypothesis-seed=N then picks the seed, else each run draws its own) and
    ECM_STATE_MACHINE_SHRINK=0 reports a counterexample unshrunk (shrinking one of
    these can take many minutes)."""
    examples = int(os.environ.get("ECM_STATE_MACHINE_EXAMPLES") or 0)
    phases = list(Phase)
    if os.environ.get("ECM_STATE_MACHINE_SHRINK") == "0":
        phases.remove(Phase.shrink)
    return settings(
        max_examples=examples or (12 if backend == "sqlite" else 10),
        stateful_step_count=50,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=os.environ.get("ECM_STATE_MACHINE_RANDOM") != "1",
        phases=phases,
    )


def test_feed_state_machine(world, backend):
    run_state_machine_as_test(machine_for(world), settings=_settings(backend))
    print("state machine:", SEEN)
    # the run really dialed, applied results and dialed with numbers on the DNC list
    assert SEEN["dispatched"] > 0 and SEEN["applied"] > 0
    assert SEEN["dnc_dispatch_checks"] > 0
    assert SEEN["suppressions"] > 0 and SEEN["three_worker_ticks"] > 0
    assert SEEN["ruled_out"] > 0
    assert SEEN["rule_checks"] > 0 and SEEN["predictions"] > 0
    print("state machine:", SEEN)


NUMBERS_SHARED = 400


@pytest.mark.postgres
@pytest.mark.slow
def test_three_workers_never_dial_a_number_over_its_cap(
    backend, admin, app, tmp_path, monkeypatch
):
    """Three processes tick three campaigns that share numbers: the cap holds.

    Each number has six contacts (two in each campaign) and a cap of two dials a
    day: without the per-key advisory lock this test sees numbers dialed three times.
    """
    from collections import Counter

    from portal.services import preferences
    from tests.feed.support import add_contacts
    from tests.feed.test_feed_concurrency import _dials, _run_workers

    if backend != "postgresql":
        pytest.skip("several machines claiming at once is the PostgreSQL mode")
    monkeypatch.setenv("ECM_CALLING_RULES", "1")
    strategy = make_strategy(admin, [{}], max_attempts=1)
    numbers = [f"+44207946{n:04d}" for n in range(NUMBERS_SHARED)]  # London: no rule
    past = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    for name in ("A", "B", "C"):
        campaign = make_campaign(admin, strategy, name=name)
        add_contacts(
            campaign,
            2 * NUMBERS_SHARED,
            dial_time=past,
            phone=lambda i: numbers[i % NUMBERS_SHARED],
        )
    preferences.save_preferences(
        admin, {"campaignBatchSize": 15, "frequencyCap": {"count": 2, "hours": 24}}
    )
    files = [tmp_path / f"capped-{n}.csv" for n in range(3)]
    _run_workers(app.config["SQLALCHEMY_DATABASE_URI"], files)
    dials = _dials(files)
    db.session.expire_all()
    number_of = dict(db.session.execute(select(Contact.id, Contact.phone1)).all())
    per_number = Counter(number_of[cid] for cid, _, _ in dials)
    assert max(per_number.values()) <= 2, per_number.most_common(3)
    assert sum(per_number.values()) == 2 * len(numbers)  # every quota was used
    assert len({pid for _, _, pid in dials}) >= 2, "the workers did not overlap"
    logged = db.session.scalar(select(func.count()).select_from(DialLog))
    assert logged == 2 * len(numbers)
