"""One worker process for the concurrency test: tick until nothing is left to claim.

python -m tests.feed.tick_worker DATABASE_URL RECORD_FILE START_AT_EPOCH
"""

from __future__ import annotations

import sys
import time


def main() -> None:
    url, record_file, start_at = sys.argv[1], sys.argv[2], float(sys.argv[3])
    from portal import create_app
    from portal.services.feed import run_tick

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "concurrency-secret-0123456789",
            "ECM_AUTO_INIT": False,
            "ECM_START_WORKER": False,
            "RATELIMIT_ENABLED": False,
            "ECM_DIALER_FACTORY": "tests.feed.recording:file_dialer",
            "ECM_RECORD_FILE": record_file,
        }
    )
    with app.app_context():
        while time.time() < start_at:  # start all workers together
            time.sleep(0.002)
        idle = ticks = 0
        while idle < 3:
            counts = run_tick()
            ticks += 1
            idle = idle + 1 if counts.dispatched == 0 else 0
        print(f"ticks={ticks}")


if __name__ == "__main__":
    main()
