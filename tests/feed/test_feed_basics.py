"""The strategy engine, claim and tick on both databases, with an injected clock."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    CallResultInbox,
    Campaign,
    Contact,
    ContactAttempt,
    FeedHeartbeat,
)
from portal.services import dnc
from portal.services.dialers import DialResult
from portal.services.feed import apply_inbox, results, run_tick
from portal.services.feed import claim as claims
from portal.services.feed.plans import load_plan
from portal.services.feed.results import decide
from tests.feed.support import (
    T0,
    RecordingDialer,
    add_contacts,
    check_attempts_follow_cisco,
    make_campaign,
    make_strategy,
)

NO_ANSWER, BUSY, CONNECTED = 8, 9, 10


def _contact(cid: int) -> Contact:
    db.session.expire_all()
    return db.session.get(Contact, cid)


def test_decide_follows_rules_cap_and_channel(admin):
    strategy = make_strategy(
        admin,
        [
            {
                "retryMap": [
                    {"call_result": 8, "attempt_number": 2, "delay": 30, "expiry": 90},
                    {"call_result": 10, "attempt_number": 2, "delay": 1},
                ]
            },
            {
                "channel": 1,
                "phone": "2",
                "retryMap": [{"call_result": 101, "attempt_number": 2, "delay": 5}],
            },
        ],
        max_attempts=3,
    )
    plan = load_plan(strategy.id)
    first, second = plan.by_number[1], plan.by_number[2]
    retry = decide(plan, first.id, 1, 0, 1, NO_ANSWER, T0)
    assert (retry.state, retry.attempt_number, retry.channel) == (0, 2, 1)
    assert retry.dial_time == T0 + timedelta(minutes=30)
    assert retry.expires_at == T0 + timedelta(minutes=90)
    # connected closes even when the map names it
    assert decide(plan, first.id, 1, 0, 1, CONNECTED, T0).state == 2
    # no rule: completed with that result
    busy = decide(plan, first.id, 1, 0, 1, BUSY, T0)
    assert (busy.state, busy.call_result) == (2, BUSY)
    # the one cap per contact; 8 is "Counted as Attempt? No" in Cisco's table,
    # so it reaches the cap only once its allowance (maxAttempts of them) is spent
    assert decide(plan, first.id, 1, 0, 3, BUSY, T0).state == 3
    assert decide(plan, first.id, 1, 0, 3, NO_ANSWER, T0).state == 0
    assert decide(plan, first.id, 1, 0, 3, NO_ANSWER, T0, uncounted=3).state == 3
    # SMS delivered closes; SMS failure retries on SMS
    assert decide(plan, second.id, 2, 1, 2, 100, T0).state == 2
    assert decide(plan, second.id, 2, 1, 2, 101, T0).state == 0


def test_decide_refuses_sms_back_to_voice_at_apply_time(admin):
    strategy = make_strategy(admin, [{}, {"channel": 1}])
    # written straight to the row, as an old strategy might hold it
    attempt = strategy.attempts[1]
    attempt.retry_map = [{"call_result": 101, "attempt_number": 1, "delay": 0}]
    db.session.commit()
    plan = load_plan(strategy.id)
    outcome = decide(plan, attempt.id, 2, 1, 1, 101, T0)
    assert (outcome.state, outcome.call_result) == (2, 101)


def test_sms_campaign_retries_voice_attempts_as_sms(admin):
    strategy = make_strategy(
        admin,
        [{"retryMap": [{"call_result": 101, "attempt_number": 2, "delay": 1}]}, {}],
    )
    plan = load_plan(strategy.id)
    first = plan.by_number[1]
    assert decide(plan, first.id, 1, 1, 1, 101, T0).state == 2  # voice target: refused
    sms = decide(plan, first.id, 1, 1, 1, 101, T0, sms_campaign=True)
    assert (sms.state, sms.attempt_number, sms.channel) == (0, 2, 1)


def test_tick_dispatches_applies_and_retries(admin):
    # busy (9) is counted as an attempt in Cisco's CallResults table; no answer (8)
    # is not (tests/feed/test_dialer_detail.py covers those)
    strategy = make_strategy(
        admin,
        [
            {"retryMap": [{"call_result": BUSY, "attempt_number": 2, "delay": 10}]},
            {"phone": "2"},
        ],
        max_attempts=2,
    )
    campaign = make_campaign(admin, strategy)
    ids = add_contacts(campaign, 3)
    dialer = RecordingDialer()
    counts = run_tick(T0, dialer=dialer, sms=None)
    assert counts.dispatched == 3
    assert sorted(r.contact_id for r in dialer.dispatched) == ids
    c = _contact(ids[0])
    assert (c.request_state, c.attempts_made, c.request_time) == (1, 1, T0)
    assert c.number_to_call == c.phone1
    # a second tick at once claims nothing more
    assert run_tick(T0, dialer=dialer).dispatched == 0
    dialer.results = [
        DialResult(ids[0], BUSY, "BUSY", None),
        DialResult(ids[1], CONNECTED, "OK", None),
        DialResult(ids[2], 999, "weird", None),
    ]
    counts = run_tick(T0 + timedelta(minutes=1), dialer=dialer)
    assert counts.applied == 3
    first = _contact(ids[0])
    assert (first.request_state, first.attempt_number, first.call_result) == (
        0,
        2,
        BUSY,
    )
    assert first.dial_time == T0 + timedelta(minutes=11)
    assert _contact(ids[1]).request_state == 2
    assert (_contact(ids[2]).request_state, _contact(ids[2]).call_result) == (2, 2)
    history = db.session.scalars(
        select(ContactAttempt).where(ContactAttempt.contact_id == ids[0])
    ).all()
    assert [
        (h.call_result, h.number, h.attempt_number, h.dialed_at) for h in history
    ] == [(BUSY, first.phone1, 1, T0)]
    # not due before its delay
    assert run_tick(T0 + timedelta(minutes=10), dialer=dialer).dispatched == 0
    run_tick(T0 + timedelta(minutes=11), dialer=dialer)
    again = _contact(ids[0])
    # phone2 is empty, so attempt 2 falls back to phone1
    assert (again.request_state, again.attempts_made, again.number_to_call) == (
        1,
        2,
        again.phone1,
    )
    dialer.results = [DialResult(ids[0], BUSY, "BUSY", None)]
    run_tick(T0 + timedelta(minutes=12), dialer=dialer)
    assert _contact(ids[0]).request_state == 3  # cap of 2 reached
    beat = db.session.get(FeedHeartbeat, "feed-tick")
    assert beat is not None and beat.detail["applied"] == 1
    # the heartbeat, the job result and `flask feed-tick` keep the names they had
    # when the counts were a dict (the dashboard and /healthz read them)
    assert set(beat.detail) == {
        *("applied", "pulled", "stale", "timedOut", "expired", "spent", "recycled"),
        *("dispatched", "returned", "dncBlocked", "invalid", "skippedTimeZone"),
        *("skippedRules", "errors", "abandonPaused", "seconds", "now"),
    }
    counts = run_tick(T0 + timedelta(minutes=13), dialer=dialer)
    assert db.session.get(FeedHeartbeat, "feed-tick").detail == {
        **counts.as_dict(),
        "now": "2026-03-04T15:13:00Z",
    }


def test_dnc_at_dial_time_and_timeout_and_unavailable(admin, app):
    from portal.services.dialers import DialerUnavailable

    strategy = make_strategy(admin)
    campaign = make_campaign(admin, strategy, responseTimeout=60)
    ids = add_contacts(campaign, 4)
    blocked = _contact(ids[0])
    # added behind the service's back so only the dial-time check can catch it
    db.session.add(
        dnc.DncEntry(primary_number=blocked.phone1, match_key=blocked.phone1)
    )
    db.session.commit()
    down = RecordingDialer(fail=DialerUnavailable("down", accepted=[ids[1]]))
    counts = run_tick(T0, dialer=down)
    assert counts.dnc_blocked == 1
    assert (_contact(ids[0]).request_state, _contact(ids[0]).call_result) == (5, 26)
    # the dialer took ids[1] before failing; the rest went back without using an attempt
    assert _contact(ids[1]).request_state == 1
    for cid in ids[2:]:
        c = _contact(cid)
        assert (c.request_state, c.attempts_made) == (0, 0)
    assert counts.returned == 2
    ok = RecordingDialer()
    run_tick(T0 + timedelta(seconds=1), dialer=ok)
    assert len(ok.dispatched) == 2
    # nobody answers: after responseTimeout they are pending again, attempt not used
    counts = run_tick(
        T0 + timedelta(seconds=62), dialer=RecordingDialer(fail=DialerUnavailable("x"))
    )
    assert counts.timed_out == 3
    for cid in ids[1:]:
        c = _contact(cid)
        assert (c.request_state, c.attempts_made) == (0, 0)


def test_compute_outcomes_is_a_pure_step_over_what_was_loaded(admin):
    """The decision step of applying results reads only what `_load_contacts` gave it:
    a held contact's result is left in the inbox, unknown, duplicate and old ones are
    stale, a dispatched contact's result becomes one attempt row and one update."""
    plan = load_plan(make_strategy(admin).id)
    dispatched = SimpleNamespace(
        id=1,
        campaign_id=7,
        request_state=1,
        attempt_id=plan.by_number[1].id,
        attempt_number=1,
        attempts_made=1,
        channel=0,
        number_to_call="+14155550100",
        request_time=T0,
        expires_at=None,
    )
    loaded = results._Loaded(
        contacts={1: dispatched},
        locked={2},
        strategies={7: plan.id},
        kinds={7: 0},
        plans={plan.id: plan},
        uncounted={},
    )

    def item(inbox_id, contact_id, code, at=T0):
        return SimpleNamespace(
            id=inbox_id,
            contact_id=contact_id,
            call_result=code,
            raw="r",
            received_at=at,
            callback_at=None,
        )

    inbox = [
        item(10, 1, CONNECTED),
        item(11, 1, NO_ANSWER),  # a second result for the same dispatch
        item(12, 2, CONNECTED),  # another worker holds contact 2
        item(13, 3, CONNECTED),  # no such contact
    ]
    now = T0 + timedelta(minutes=1)
    out = results.compute_outcomes(inbox, loaded, now)
    assert (out.done_inbox, out.stale) == ([10, 11, 13], 2)
    assert [
        (a["contact_id"], a["call_result"], a["dialed_at"]) for a in out.attempts
    ] == [(1, CONNECTED, T0)]
    assert [(u["id"], u["request_state"], u["_refund"]) for u in out.updates] == [
        (1, 2, 0)
    ]
    older = results.compute_outcomes(
        [item(14, 1, CONNECTED, T0 - timedelta(1))], loaded, now
    )
    assert (older.done_inbox, older.stale, older.updates) == ([14], 1, [])


def test_timeout_leaves_a_contact_whose_result_waits_in_the_inbox(admin):
    """Worker A has stored a result and not applied it yet when worker B's timeout
    sweep runs: the contact keeps its dispatch, the result applies, its retry delay
    holds. The feed state machine found this with three workers ('retried before
    its delay': the result went stale and the contact was redialed at once)."""
    retry = {"call_result": BUSY, "attempt_number": 1, "delay": 10}
    strategy = make_strategy(admin, [{"retryMap": [retry]}], max_attempts=3)
    campaign = make_campaign(admin, strategy, responseTimeout=60)
    answered, silent = add_contacts(campaign, 2)
    run_tick(T0, dialer=RecordingDialer())
    later = T0 + timedelta(minutes=5)  # both are past their response timeout
    results.store_results([DialResult(answered, BUSY, "BUSY", None)], later)
    db.session.expire_all()
    assert claims.return_timed_out([db.session.get(Campaign, campaign.id)], later) == 1
    assert _contact(answered).request_state == 1
    assert apply_inbox(later) == {"applied": 1, "stale": 0}
    c = _contact(answered)
    assert (c.request_state, c.attempts_made, c.call_result) == (0, 1, BUSY)
    assert c.dial_time == later + timedelta(minutes=10)
    dialer = RecordingDialer()
    run_tick(later, dialer=dialer)
    assert [r.contact_id for r in dialer.dispatched] == [silent]


def test_stale_and_duplicate_results_are_discarded(admin):
    strategy = make_strategy(admin)
    campaign = make_campaign(admin, strategy)
    (cid,) = add_contacts(campaign, 1)
    run_tick(T0, dialer=RecordingDialer())
    db.session.add_all(
        [
            CallResultInbox(contact_id=cid, call_result=10, received_at=T0),
            CallResultInbox(contact_id=cid, call_result=8, received_at=T0),
            CallResultInbox(contact_id=999999, call_result=8, received_at=T0),
            CallResultInbox(
                contact_id=cid, call_result=8, received_at=T0 + timedelta(hours=1)
            ),
        ]
    )
    db.session.commit()
    counts = apply_inbox(T0 + timedelta(seconds=5))
    assert counts == {"applied": 1, "stale": 2}
    assert _contact(cid).request_state == 2
    # the future row waits for its time, then finds the contact closed
    assert db.session.scalar(select(func.count()).select_from(CallResultInbox)) == 1
    assert apply_inbox(T0 + timedelta(hours=2)) == {"applied": 0, "stale": 1}


def test_simulator_runs_a_small_campaign_to_completion(admin, app):
    strategy = make_strategy(
        admin,
        [
            {
                "retryMap": [
                    {"call_result": c, "attempt_number": 1, "delay": 1}
                    for c in (8, 9, 12)
                ]
            }
        ],
        max_attempts=3,
    )
    campaign = make_campaign(admin, strategy)
    ids = add_contacts(campaign, 30)
    now = T0
    for _ in range(40):
        run_tick(now)
        now += timedelta(seconds=30)
    states = dict(
        db.session.execute(
            select(Contact.request_state, func.count()).group_by(Contact.request_state)
        ).all()
    )
    assert set(states) <= {2, 3} and sum(states.values()) == len(ids)
    check_attempts_follow_cisco(max_attempts=3)
