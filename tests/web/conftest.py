"""Signed-in test clients for the portal's HTML views (CSRF stays on, as in prod)."""

from __future__ import annotations

import re

import pytest
from werkzeug.datastructures import MultiDict

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


class Browser:
    """A test client that signs in through the login form and sends its CSRF token."""

    def __init__(self, app) -> None:
        self.app = app
        self.client = app.test_client()
        self.token: str | None = None

    def login(self, username: str, password: str):
        page = self.client.get("/login")
        response = self.client.post(
            "/login",
            data={
                "username": username,
                "password": password,
                "csrf_token": csrf_from(page.get_data(as_text=True)),
            },
        )
        if response.status_code == 302:
            self.refresh_token()
        return response

    def refresh_token(self) -> None:
        self.token = csrf_from(self.client.get("/account").get_data(as_text=True))

    @staticmethod
    def _headers(htmx: bool, headers: dict | None) -> dict:
        base = {"HX-Request": "true"} if htmx else {}
        return {**base, **(headers or {})}

    def get(self, path: str, htmx: bool = False, headers: dict | None = None):
        return self.client.get(path, headers=self._headers(htmx, headers))

    def post(
        self, path: str, data=None, htmx: bool = False, csrf: bool = True, headers=None
    ):
        payload = MultiDict(data or {})
        if csrf and "csrf_token" not in payload:
            payload.add("csrf_token", self.token)
        return self.client.post(
            path, data=payload, headers=self._headers(htmx, headers)
        )

    def delete(self, path: str, htmx: bool = True):
        headers = self._headers(htmx, {"X-CSRFToken": self.token})
        return self.client.delete(path, headers=headers)


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def browser_for(app):
    """Make a signed-in Browser for a new user of a role (or for admin)."""

    def make(
        role: str = "Administrator",
        username: str | None = None,
        password: str = "password-123",
    ):
        browser = Browser(app)
        if role == "Administrator" and username is None:
            username, password = "admin", "admin"
        else:
            from tests.conftest import make_user

            username = username or role.lower()
            with app.app_context():
                make_user(role, username, password)
        response = browser.login(username, password)
        assert response.status_code == 302, text(response)
        return browser

    return make


@pytest.fixture
def web_admin(browser_for) -> Browser:
    return browser_for()


@pytest.fixture
def web_viewer(browser_for) -> Browser:
    return browser_for("Viewer", "viewer-web")


@pytest.fixture
def web_supervisor(browser_for) -> Browser:
    return browser_for("Supervisor", "supervisor-web")


@pytest.fixture
def seed(app):
    """A strategy with one attempt and a campaign open all day, made by the admin."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import User
    from portal.services import campaigns, strategies

    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        strategy = strategies.create_strategy(
            admin, {"name": "Base strategy", "maxAttempts": 3}
        )
        strategies.create_attempt(admin, {"csId": strategy.id, "name": "Call"})
        campaign = campaigns.create_campaign(
            admin,
            {
                "name": "Base campaign",
                "strategyId": strategy.id,
                "startTime": "00:00",
                "endTime": "00:00",
                "weekDays": "0,1,2,3,4,5,6",
            },
        )
        return {"strategy": strategy.id, "campaign": campaign.id}


def admin_user():
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import User

    return db.session.scalar(select(User).where(User.username == "admin"))
