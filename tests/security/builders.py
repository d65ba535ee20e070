"""Data builders for the security and fault tests, made through the services."""

from __future__ import annotations

import itertools
import re

_names = itertools.count(1)


def new_strategy(actor, name: str | None = None):
    from portal.services import strategies

    strategy = strategies.create_strategy(
        actor, {"name": name or f"Strategy {next(_names)}", "maxAttempts": 3}
    )
    strategies.create_attempt(
        actor,
        {
            "csId": strategy.id,
            "name": "First",
            "phone": "1",
            "channel": 0,
            "retryMap": [],
        },
    )
    return strategy


def new_campaign(actor, name: str | None = None, **fields):
    from portal.services import campaigns

    strategy = new_strategy(actor)
    data = {
        "name": name or f"Campaign {next(_names)}",
        "strategyId": strategy.id,
        "type": 0,
        "status": 1,
        "enabled": True,
        "startTime": "00:00",
        "endTime": "23:59",
        "weekDays": "0,1,2,3,4,5,6",
        **fields,
    }
    return campaigns.create_campaign(actor, data)


def new_contact(actor, campaign, phone1: str = "+14155550100", **fields):
    from portal.services import contacts

    return contacts.insert_contact(
        actor, {"campaignId": campaign.id, "phone1": phone1, **fields}
    )


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def portal_login(client, username: str, password: str, addr: str = "127.0.0.1"):
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": addr},
    )


def as_admin(app, call):
    """Run call(admin) in a short app context of its own.

    Portal tests keep no app context open around their requests: Flask reuses an open
    one for test requests, and Flask-Login caches the user in it, as no real request
    would.
    """
    with app.app_context():
        from sqlalchemy import select

        from portal.extensions import db
        from portal.models import User

        admin = db.session.scalar(select(User).where(User.username == "admin"))
        return call(admin)
