"""Browser tests: one live portal per session on its own SQLite file, in Chromium.

The live server runs the embedded worker (so uploads and the feed work) and has no rate
limit. Every test that uses `page` fails on any console error or uncaught page error
(a CSP violation shows up as a console error too).

Reuse: `live_app` (the Flask app, for setting data up in `with live_app.app_context()`),
`base_url`, `login(page, username, password)` and `screenshot(page, name)`.
"""

from __future__ import annotations

import threading
import traceback
from pathlib import Path

import pytest
from flask import got_request_exception
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ADMIN_PASSWORD = "admin"
EXPECTED_STATUS = "the server responded with a status of 422"


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The portal app on a fresh SQLite file, with the embedded worker running."""
    from portal import create_app

    folder = tmp_path_factory.mktemp("e2e")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'e2e.sqlite3'}",
            "SECRET_KEY": "e2e-secret-key-0123456789",
            "JWT_SECRET": "e2e-jwt-secret-0123456789",
            "REDIS_URL": None,
            "ECM_AUTO_INIT": True,
            "ECM_START_WORKER": True,
            "ECM_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "ECM_UPLOAD_DIR": str(folder / "uploads"),
            "ECM_DIALER": "simulator",
            "ECM_FEED_INTERVAL": 2,
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": True,
            "PROPAGATE_EXCEPTIONS": False,
        }
    )
    got_request_exception.connect(_remember_server_error, app)
    yield app
    runner = app.extensions.get("ecm_embedded_runner")
    if runner:
        runner.stop()


SERVER_ERRORS: list[str] = []


def _remember_server_error(sender, exception, **extra) -> None:
    """Keep the server's tracebacks so a failing browser test can show them."""
    from flask import request

    trace = "".join(traceback.format_exception(exception))
    SERVER_ERRORS.append(f"{request.method} {request.full_path}\n{trace}")


@pytest.fixture(scope="session")
def live_server(live_app):
    """Serve the app on a free loopback port in a daemon thread for the session."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def base_url(live_server):
    return live_server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Use Debian's Chromium: Playwright cannot download its own browser here."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(autouse=True)
def _no_browser_errors(request):
    """Fail a page-driving test on any console error or uncaught exception."""
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    errors: list[str] = []

    def on_console(msg) -> None:
        # A 422 is the portal's answer to a form with field errors, swapped on purpose.
        if msg.type == "error" and EXPECTED_STATUS not in msg.text:
            errors.append(f"console.{msg.type}: {msg.text} @ {page.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc} @ {page.url}"))
    seen = len(SERVER_ERRORS)
    yield
    errors.extend(f"server error: {trace}" for trace in SERVER_ERRORS[seen:])
    if errors:
        pytest.fail("browser errors:\n" + "\n".join(errors))


def login(page, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    """Sign in through the login form and wait for the signed-in navigation."""
    from playwright.sync_api import expect

    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/screenshots/ (gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
