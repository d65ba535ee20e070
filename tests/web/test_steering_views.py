"""Portal: targeting page (filter editor, dial order, recycling), report, callbacks."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import update

from portal.extensions import db
from portal.models import Campaign, Contact, utcnow
from tests.feed.support import add_contacts
from tests.web.conftest import admin_user, text


def _contacts(app, seed, count=4, **values):
    with app.app_context():
        campaign = db.session.get(Campaign, seed["campaign"])
        ids = add_contacts(campaign, count, dial_time=utcnow() - timedelta(hours=1))
        if values:
            db.session.execute(
                update(Contact).where(Contact.id.in_(ids)).values(**values)
            )
            db.session.commit()
        return ids


def test_campaign_page_shows_targeting_panel(web_admin, seed):
    body = text(web_admin.get(f"/campaigns/{seed['campaign']}"))
    assert 'id="targeting"' in body and "Oldest due first" in body
    assert f"/campaigns/{seed['campaign']}/report" in body


def test_editor_adds_removes_and_counts(web_admin, seed, app):
    ids = _contacts(app, seed, 4)
    with app.app_context():
        db.session.execute(
            update(Contact)
            .where(Contact.id.in_(ids[:1]))
            .values(business_param2="gold")
        )
        db.session.commit()
    url = f"/campaigns/{seed['campaign']}/targeting"
    page = web_admin.get(url)
    assert page.status_code == 200 and 'id="filter-editor"' in text(page)
    added = web_admin.post(
        f"{url}/editor", {"match": "all", "editor_action": "add"}, htmx=True
    )
    body = text(added)
    assert "<html" not in body and body.count('class="filter-rule"') == 1
    rows = {
        "match": "all",
        "rule_field": ["businessParam2", "businessParam3"],
        "rule_op": ["eq", "empty"],
        "rule_value": ["gold", ""],
        "rule_value2": ["", ""],
    }
    counted = web_admin.post(f"{url}/count", _multi(rows), htmx=True)
    assert 'data-kept="1"' in text(counted) and 'data-total="4"' in text(counted)
    removed = web_admin.post(
        f"{url}/editor", _multi({**rows, "editor_action": "remove:0"}), htmx=True
    )
    assert text(removed).count('class="filter-rule"') == 1
    assert 'data-kept="4"' in text(removed)  # businessParam3 is empty everywhere
    bad = web_admin.post(
        f"{url}/count",
        _multi(
            {
                **rows,
                "rule_field": ["region", "region"],
                "rule_op": ["in", "in"],
                "rule_value": ["ZZ", "GB"],
            }
        ),
        htmx=True,
    )
    assert "Not a valid filter yet" in text(bad)


def test_editor_counts_a_zone_condition(web_admin, seed, app):
    """+1212 numbers ring in New York; the editor offers the zones and counts them."""
    _contacts(app, seed, 3)  # +1212555....
    url = f"/campaigns/{seed['campaign']}/targeting"
    rows = {
        "match": "all",
        "rule_field": ["zone"],
        "rule_op": ["in"],
        "rule_value": ["America/New_York"],
        "rule_value2": [""],
    }
    editor = text(web_admin.post(f"{url}/editor", _multi(rows), htmx=True))
    assert (
        'list="phone-zones"' in editor and '<option value="America/Chicago">' in editor
    )
    assert 'data-kept="3"' in editor
    chicago = {**rows, "rule_value": ["America/Chicago, America/Denver"]}
    counted = text(web_admin.post(f"{url}/count", _multi(chicago), htmx=True))
    assert 'data-kept="0"' in counted and 'data-total="3"' in counted
    bad = {**rows, "rule_value": ["Mars/Olympus"]}
    refused = text(web_admin.post(f"{url}/count", _multi(bad), htmx=True))
    assert "Not a valid filter yet" in refused and "not an IANA time zone" in refused


def _multi(data: dict) -> list[tuple[str, str]]:
    return [
        (k, v)
        for k, values in data.items()
        for v in (values if isinstance(values, list) else [values])
    ]


def test_saving_targeting_stores_filter_order_and_rules(web_admin, seed, app):
    url = f"/campaigns/{seed['campaign']}/targeting"
    form = {
        "dialOrder": "priority",
        "match": "any",
        "rule_field": ["businessParam1"],
        "rule_op": ["in"],
        "rule_value": ["a, b"],
        "rule_value2": [""],
        "recycle_results": ["8, 9", ""],
        "recycle_days": ["7", ""],
        "recycle_times": ["2", ""],
    }
    saved = web_admin.post(url, _multi(form))
    assert saved.status_code == 302
    with app.app_context():
        campaign = db.session.get(Campaign, seed["campaign"])
        assert campaign.dial_order == "priority"
        assert campaign.contact_filter["rules"][0]["value"] == ["a", "b"]
        assert campaign.recycle_rules == [
            {"callResults": [8, 9], "afterDays": 7.0, "maxTimes": 2}
        ]
    page = text(web_admin.get(url))
    assert 'value="a, b"' in page and 'value="8, 9"' in page
    refused = web_admin.post(url, _multi({**form, "recycle_results": ["77x", ""]}))
    assert refused.status_code == 422 and "recycleRules" in text(refused)


def test_viewer_may_read_but_not_save(browser_for, seed):
    viewer = browser_for("Viewer", "viewer-steer")
    url = f"/campaigns/{seed['campaign']}/targeting"
    assert viewer.post(url, {"dialOrder": "newest"}).status_code == 403
    assert viewer.get(f"/campaigns/{seed['campaign']}/report").status_code == 200


def test_report_page_draws_svg_and_downloads_csv(web_admin, seed, app):
    from portal.services import reports

    with app.app_context():
        hour = utcnow().replace(minute=0, second=0, microsecond=0)
        reports.count_attempts(
            [
                {
                    "contact_id": 0,
                    "campaign_id": seed["campaign"],
                    "attempt_number": 1,
                    "call_result": code,
                    "result_at": hour,
                }
                for code in [10] * 3 + [8] * 5
            ]
        )
        db.session.commit()
    page = web_admin.get(f"/campaigns/{seed['campaign']}/report")
    body = text(page)
    assert page.status_code == 200
    assert 'id="heatmap"' in body and "<svg" in body and "cdn" not in body.lower()
    assert 'data-total="dials">8<' in body
    assert body.count('class="cell"') == 7 * 24
    download = web_admin.get(f"/campaigns/{seed['campaign']}/report.csv")
    rows = list(csv.reader(io.StringIO(text(download))))
    assert rows[0][0] == "section" and rows[1][3] == "8"
    bad = web_admin.get(f"/campaigns/{seed['campaign']}/report?from=2026-13-01")
    assert bad.status_code == 422 and "YYYY-MM-DD" in text(bad)


def test_contact_page_schedules_callback_and_reopens(web_admin, seed, app):
    ids = _contacts(app, seed, 1, request_state=2, call_result=8)
    page = text(web_admin.get(f"/contacts/{ids[0]}"))
    assert "Priority and callback" in page and "Reopen at the first attempt" in page
    reopened = web_admin.post(f"/contacts/{ids[0]}/reopen")
    assert reopened.status_code == 302
    when = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    done = web_admin.post(f"/contacts/{ids[0]}/callback", {"callbackTime": when})
    assert done.status_code == 302
    with app.app_context():
        contact = db.session.get(Contact, ids[0])
        assert contact.request_state == 0 and contact.callback_at is not None
        assert admin_user() is not None
    assert "Requested for" in text(web_admin.get(f"/contacts/{ids[0]}"))


def test_single_contact_form_takes_priority_and_scope(web_admin, seed, app):
    url = f"/campaigns/{seed['campaign']}/contacts"
    added = web_admin.post(
        url,
        {"phone1": "+12125550177", "priority": "4", "duplicateScope": "campaign"},
        htmx=True,
    )
    assert added.status_code == 200, text(added)
    with app.app_context():
        from sqlalchemy import select

        stored = db.session.scalar(
            select(Contact.priority).where(Contact.phone1 == "+12125550177")
        )
        assert stored == 4
    refused = web_admin.post(
        url, {"phone1": "+12125550178", "priority": "x"}, htmx=True
    )
    assert refused.status_code == 422 and "integer" in text(refused)


def test_recycle_selected_contacts_from_the_list(web_admin, seed, app):
    """Ticked contacts are reopened by the API's service, audited, and the list comes
    back (as the fragment it replaces) with their new state and what happened."""
    from sqlalchemy import select

    from portal.models import AuditLog

    ids = _contacts(app, seed, 4, request_state=3, call_result=9)
    with app.app_context():
        db.session.execute(
            update(Contact).where(Contact.id == ids[3]).values(request_state=0)
        )
        db.session.commit()
    page = text(web_admin.get(f"/campaigns/{seed['campaign']}"))
    assert 'id="contact-selection"' in page and "data-select-page" in page
    assert page.count('name="ids"') == 4 and 'form="contact-selection"' in page
    url = f"/campaigns/{seed['campaign']}/contacts/recycle"
    picked = [("ids", str(i)) for i in (ids[0], ids[1], ids[3])]
    res = web_admin.post(url, picked, htmx=True)
    body = text(res)
    assert res.status_code == 200 and "<html" not in body
    assert 'id="contacts"' in body
    assert "Reopened 2 contact(s)." in body and "1 were not closed" in body
    with app.app_context():
        states = dict(
            db.session.execute(
                select(Contact.id, Contact.request_state).where(Contact.id.in_(ids))
            ).all()
        )
        assert [states[i] for i in ids] == [0, 0, 3, 0]
        entry = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "recycle")
        ).all()[-1]
        assert entry.entity_id == str(seed["campaign"])
        assert sorted(entry.changes["ids"]) == sorted([ids[0], ids[1], ids[3]])
    none = web_admin.post(url, [], htmx=True)
    assert none.status_code == 422 and "Select contacts first" in text(none)
    plain = web_admin.post(url, [("ids", str(ids[2]))])
    assert plain.status_code == 302  # without HTMX: flash and back to the page
    assert "Reopened 1 contact(s)." in text(
        web_admin.get(f"/campaigns/{seed['campaign']}")
    )


def test_viewer_cannot_recycle_a_selection(browser_for, seed, app):
    ids = _contacts(app, seed, 1, request_state=3, call_result=9)
    viewer = browser_for("Viewer", "viewer-recycle")
    page = text(viewer.get(f"/campaigns/{seed['campaign']}"))
    assert 'id="contact-selection"' not in page and 'name="ids"' not in page
    url = f"/campaigns/{seed['campaign']}/contacts/recycle"
    refused = viewer.post(url, [("ids", str(ids[0]))], htmx=True)
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.get(Contact, ids[0]).request_state == 3
    no_token = browser_for().post(url, [("ids", str(ids[0]))], csrf=False)
    assert no_token.status_code in (400, 403)
