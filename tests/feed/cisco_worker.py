"""A feed worker process for the Cisco end-to-end runs: tick until told to stop.

python -m tests.feed.cisco_worker CONFIG_JSON_FILE  (the app config; STOP_FILE in it)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    from portal import create_app
    from portal.services.feed import run_tick

    app = create_app(config)
    stop = Path(config["STOP_FILE"])
    ticks = 0
    with app.app_context():
        while not stop.exists():
            run_tick()
            ticks += 1
            time.sleep(0.05)
    print(f"ticks={ticks}")


if __name__ == "__main__":
    main()
