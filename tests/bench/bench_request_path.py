"""Where one API request's time goes (issue #15): the hot path, phase by phase.

    python tests/bench/bench_request_path.py [--requests 2000]
        [--url postgresql+psycopg://postgres@127.0.0.1:5432/bench_request_path]

In one process, on PostgreSQL (the database is wiped and migrated), with production
settings (no TESTING, the API's real token check, pool pre-ping as configured), it
makes 20 campaigns and a 200-contact campaign, then for each hot endpoint of the
issue's table (`GET /umm/ecm/campaign`, `getList` of 50 rows, `insertCallback`,
`contact/save`) it times `--requests` calls through Flask's test client next to a
hello-world route registered on the same app, and prints their ratio (the same
ratio the issue measures through gunicorn, without the HTTP server).

Then it profiles `GET /umm/ecm/campaign` and `getList` with cProfile and prints each
phase's share of the request: the token's signature check (PyJWT) and its database
check, the view (service, ORM, serialisation), the database round trips as the driver
sees them, ORM row loading, JSON encoding, and what Flask and its extensions add
before and after the view. cProfile
inflates Python-heavy phases; the shares are for choosing what to work on, the
unprofiled ratios above are the measure.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bench.support import ensure_database  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_request_path"
SECRET = "bench-request-path-secret-0123456789"

# phase -> the functions whose cumulative time is that phase (file suffix, name)
PHASES = {
    "token signature (PyJWT decode)": [("portal/services/auth.py", "_decode")],
    "token check (whole, with its query)": [
        ("portal/services/auth.py", "user_for_access_token")
    ],
    "token check + the view (service, ORM, serialisation)": [
        ("portal/api/core.py", "wrapper")
    ],
    "driver round trips (psycopg execute)": [("psycopg/cursor.py", "execute")],
    "ORM result loading (instances)": [("sqlalchemy/orm/loading.py", "instances")],
    "JSON encoding (jsonify)": [("flask/json/__init__.py", "jsonify")],
    "before-request hooks": [("flask/app.py", "preprocess_request")],
    "after-request hooks": [("flask/app.py", "process_response")],
    "teardown (session removal, pool return)": [
        ("flask/app.py", "do_teardown_appcontext")
    ],
}


def build_app(url: str):
    from flask import jsonify

    from portal import create_app, initialise_database

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": SECRET,
            "JWT_SECRET": SECRET,
            "ECM_ADMIN_PASSWORD": "bench-admin-password",
            "ECM_START_WORKER": False,
            "ECM_AUTO_INIT": False,
            "RATELIMIT_ENABLED": False,
        }
    )

    @app.get("/hello")
    def hello():
        return jsonify({"hello": "world"})

    with app.app_context():
        initialise_database(app)
    return app


def seed(client, headers: dict) -> int:
    """20 campaigns (the list the issue measures) and one with 200 contacts."""
    strategy = client.post(
        "/umm/ecm/callStrategy/save",
        json={"name": "Bench"},
        headers=headers,
    ).get_json()
    campaign_id = None
    for i in range(20):
        body = {"name": f"Campaign {i:02d}", "strategyId": str(strategy["id"])}
        res = client.post(
            "/umm/ecm/campaign/createCampaign", json=body, headers=headers
        )
        assert res.status_code in (200, 201), res.get_data(as_text=True)
        campaign_id = campaign_id or res.get_json()["id"]
    for i in range(200):
        res = client.post(
            "/umm/ecm/callback/insertCallback",
            json={"campaignId": campaign_id, "phone1": f"+4420794{i:05d}"},
            headers=headers,
        )
        assert res.status_code in (200, 201), res.get_data(as_text=True)
    return campaign_id


def calls(campaign_id: int):
    """Each endpoint of the issue's table as a function of the call's number."""
    return {
        "GET /umm/ecm/campaign": lambda n: ("GET", "/umm/ecm/campaign", None),
        "getList (50 rows)": lambda n: (
            "GET",
            f"/umm/ecm/callback/getList?campaignId={campaign_id}&size=50&page={n % 4}",
            None,
        ),
        "insertCallback": lambda n: (
            "POST",
            "/umm/ecm/callback/insertCallback",
            {"campaignId": campaign_id, "phone1": f"+4420795{n:05d}"},
        ),
        "contact/save": lambda n: (
            "POST",
            "/umm/ecm/contact/save",
            {"primaryNumber": f"+4420796{n:05d}", "name": f"bench {n}"},
        ),
    }


def per_request(client, make, headers: dict, count: int) -> float:
    """Seconds per request, after a short warm-up, with every answer checked."""
    for n in range(20):
        method, path, body = make(count + n)
        client.open(path, method=method, json=body, headers=headers)
    started = time.perf_counter()
    for n in range(count):
        method, path, body = make(n)
        res = client.open(path, method=method, json=body, headers=headers)
        if res.status_code >= 300:
            raise SystemExit(f"{method} {path}: {res.status_code} {res.get_data()!r}")
    return (time.perf_counter() - started) / count


def phase_shares(client, make, headers: dict, count: int):
    """(profiled seconds in all, seconds per phase) for `count` calls of `make`."""
    profile = cProfile.Profile()
    profile.enable()
    for n in range(count):
        method, path, body = make(10_000 + n)
        client.open(path, method=method, json=body, headers=headers)
    profile.disable()
    stats = pstats.Stats(profile).stats  # (file, line, name) -> (cc, nc, tt, ct, ...)
    total = sum(tt for (_, _, tt, _, _) in stats.values())
    shares = {}
    for phase, targets in PHASES.items():
        shares[phase] = sum(
            ct
            for (path, _, name), (_, _, _, ct, _) in stats.items()
            if any(path.endswith(suffix) and name == fn for suffix, fn in targets)
        )
    return total, shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument(
        "--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    )
    args = parser.parse_args()
    ensure_database(args.url)
    app = build_app(args.url)
    client = app.test_client()
    login = {"username": "admin", "password": "bench-admin-password"}
    token = client.post("/umm/api/login", json=login).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    campaign_id = seed(client, headers)
    print(f"load average: {os.getloadavg()[0]:.1f}; {args.requests} requests each")

    hello = per_request(client, lambda n: ("GET", "/hello", None), {}, args.requests)
    print("\n| endpoint | ms per request | hello-world ms | hello / endpoint |")
    print("|---|---|---|---|")
    for label, make in calls(campaign_id).items():
        seconds = per_request(client, make, headers, args.requests)
        print(
            f"| {label} | {seconds * 1000:.2f} | {hello * 1000:.2f} "
            f"| {hello / seconds:.2f} |"
        )

    for label in ("GET /umm/ecm/campaign", "getList (50 rows)"):
        make = calls(campaign_id)[label]
        total, shares = phase_shares(client, make, headers, args.requests)
        print(f"\n{label} under cProfile, each phase's share of the request:")
        print("\n| phase | ms per request | share |")
        print("|---|---|---|")
        for phase, seconds in shares.items():
            each = seconds / args.requests * 1000
            print(f"| {phase} | {each:.2f} | {seconds / total:.0%} |")
        print(f"| whole request | {total / args.requests * 1000:.2f} | 100% |")


if __name__ == "__main__":
    main()
