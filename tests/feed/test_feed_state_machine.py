"""Random results, DNC additions, pauses and clock moves against the feed's invariants.

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

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
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
    DialLog,
    DncEntry,
)
from portal.services import dnc, phones
from portal.services.dialers import DialResult
from portal.services.errors import ValidationFailed
from portal.services.feed import contact_eligibility, run_tick
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
    "rule_checks": 0,
    "predictions": 0,
}
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
    ids = {a.attempt_number: a.id for a in strategy.attempts}
    return admin, (campaign.id, other.id), ids


def machine_for(world):
    admin, (campaign_id, other_id), attempt_ids = world

    class FeedMachine(RuleBasedStateMachine):
        @initialize()
        def fresh(self) -> None:
            for model in (ContactAttempt, CallResultInbox, Contact, DncEntry, DialLog):
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

        def _contact(self, cid: int) -> Contact:
            return db.session.get(Contact, cid)

        @rule(data=st.data())
        def tick(self, data) -> None:
            self._tick()
            self._draw_results(data)  # the dialer answers some of what it was given

        def _tick(self) -> None:
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
            counts = run_tick(self.now, dialer=self.dialer, sms=self.sms)
            SEEN["dispatched"] += counts["dispatched"]
            SEEN["applied"] += counts["applied"]
            db.session.expire_all()
            # results applied this tick: derive the earliest next dial ourselves
            for cid, code in queued.items():
                attempt = state[cid][1]
                made = state[cid][2]
                if code in (10, 100):
                    self.closed.add(cid)
                elif made < MAX_ATTEMPTS and code in RULES[attempt]:
                    self.earliest[cid] = self.now + timedelta(
                        minutes=RULES[attempt][code][1]
                    )
                else:
                    self.closed.add(cid)
            sent = [
                (r.contact_id, r.number) for r in self.dialer.dispatched[voice_before:]
            ]
            sent += [(cid, number) for number, _, cid in self.sms.sent[sms_before:]]
            for cid, number in sent:
                self._check_rules(cid, number, answers)
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

        def _draw_results(self, data) -> None:
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
            chosen = data.draw(
                st.lists(
                    st.sampled_from(dispatched), min_size=1, unique_by=lambda c: c.id
                )
            )
            for contact in chosen:
                codes = [100, 101, 102] if contact.channel == 1 else [10, 8, 9, 12, 3]
                code = data.draw(st.sampled_from(codes))
                self.pending_results[contact.id] = code
                target = self.sms if contact.channel == 1 else self.dialer
                target.results.append(DialResult(contact.id, code, f"raw{code}", None))

        @rule(index=st.integers(0, len(NUMBERS) - 1), second=st.booleans())
        def add_dnc(self, index: int, second: bool) -> None:
            number = PHONE2.get(index) if second else NUMBERS[index]
            if number is None:
                return
            try:
                dnc.add_entry(admin, {"primaryNumber": number})
            except ValidationFailed:
                pass
            self.blocked.add(key(number))

        @rule()
        def toggle_pause(self) -> None:
            campaign = db.session.get(Campaign, campaign_id)
            self.paused = not self.paused
            campaign.status = 0 if self.paused else 1
            db.session.commit()

        @rule(minutes=st.sampled_from([1, 3, 7, 30, 90, 240, 600, 1440, 2880]))
        def advance(self, minutes: int) -> None:
            self.now += timedelta(minutes=minutes)

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
                assert len(dials) <= contact.attempts_made
                if any(code in (10, 100) for code in dials):
                    assert contact.request_state == 2

    return FeedMachine


def test_feed_state_machine(world, backend):
    examples = 40 if backend == "sqlite" else 10
    run_state_machine_as_test(
        machine_for(world),
        settings=settings(
            max_examples=examples,
            stateful_step_count=50,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        ),
    )
    print("state machine:", SEEN)
    # the run really dialed, applied results and dialed with numbers on the DNC list
    assert SEEN["dispatched"] > 0 and SEEN["applied"] > 0
    assert SEEN["dnc_dispatch_checks"] > 0
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
