"""Real processes for fault tests: a throwaway redis-server and flask worker/scheduler.

The machine's shared Redis is never touched: each test starts its own server on a unix
socket in a temporary folder, and kills and restarts only that one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]


class RedisServer:
    """A private redis-server (no persistence) that a test may kill and restart."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "redis.sock"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.ping, 10, "redis-server did not start")

    def ping(self) -> bool:
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket)).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: the way a crash or an OOM kill ends it (no clean shutdown)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None
        self.socket.unlink(missing_ok=True)

    def restart(self) -> None:
        self.kill()
        self.start()


def wait_for(condition, timeout: float, message: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(message)


def process_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a production-mode process on the test database."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key-0123456789-abcdefghijkl",
        "ECM_JWT_SECRET": "test-jwt-secret-0123456789-abcdefghijkl",
        "ECM_ADMIN_PASSWORD": "not-the-default-1",
        "ECM_AUTO_INIT": "0",
        "ECM_START_WORKER": "0",
        "FLASK_APP": "portal:create_app",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def spawn_flask(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start `flask <args>` as its own process group (so a test can end all of it)."""
    handle = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "flask", *args],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen | None) -> None:
    """End a process started by spawn_flask, and its children (RQ work horses)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)
