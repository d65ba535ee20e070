"""What the benchmarks share: a PostgreSQL database of their own, child processes,
a keep-alive HTTP client, and the portal and a hello-world app under gunicorn (the
same settings for both, production mode: REDIS_URL set)."""

from __future__ import annotations

import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bench-secret-key-0123456789abcdef"
ADMIN_PASSWORD = "bench-admin-password-1"


def ensure_database(url: str) -> None:
    """Create the database if it is missing, then give it an empty public schema."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}
        ).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def hello_app():
    """The hello-world baseline, served by gunicorn with the portal's settings."""
    from flask import Flask, jsonify

    app = Flask("hello")

    @app.get("/hello")
    def hello():
        return jsonify({"message": "hello"})

    return app


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception:  # noqa: BLE001 - not up yet
            value = None
        if value:
            return value
        time.sleep(every)
    raise SystemExit(f"timed out waiting for {what}")


class Processes:
    """Child processes in their own groups, ended together at exit."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict, cwd: Path = ROOT):
        handle = (self.folder / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append((name, proc))
        return proc

    def stop_all(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for _, proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


class Client:
    """A keep-alive HTTP/1.1 client that reconnects when the server closes."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.port = port
        self.token = token
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body=None, headers=None):
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=60
                )
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status, data
            except (
                http.client.RemoteDisconnected,
                ConnectionResetError,
                BrokenPipeError,
            ):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body=None):
        status, data = self.request(method, path, body)
        if status >= 300:
            raise SystemExit(f"{method} {path} -> {status}: {data[:300]!r}")
        return json.loads(data) if data else None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Meter:
    """Requests/s on one keep-alive connection; every answer must be a success."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.connections = 0
        self.conn = None
        self.numbers = itertools.count()

    def call(self, make) -> None:
        method, path, body = make(next(self.numbers))
        status, data = self.client.request(method, path, body)
        if status >= 300:
            raise SystemExit(f"{method} {path} -> {status}: {data[:300]!r}")
        if self.client.conn is not self.conn:  # None after a close, or a new one
            self.conn = self.client.conn
            self.connections += self.conn is not None

    def rate(self, make, seconds: float) -> float:
        end = time.perf_counter() + min(1.0, seconds / 4)
        while time.perf_counter() < end:  # warm up
            self.call(make)
        count = 0
        start = time.perf_counter()
        end = start + seconds
        while time.perf_counter() < end:
            self.call(make)
            count += 1
        return count / (time.perf_counter() - start)


def start_redis(procs: Processes, folder: Path) -> str:
    """A private redis-server on a unix socket in `folder`; its URL."""
    sock = folder / "redis.sock"
    procs.start(
        "redis",
        [
            "redis-server",
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        os.environ.copy(),
    )
    wait_for(sock.exists, 10, "redis-server")
    return f"unix://{sock}"


def portal_env(database: str, redis_url: str, folder: Path, feed_interval: int):
    """The environment of every portal process: production mode (REDIS_URL set)."""
    return {
        **os.environ,
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "ECM_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ECM_AUTO_INIT": "0",
        "ECM_START_WORKER": "0",
        "ECM_FEED_INTERVAL": str(feed_interval),
        "ECM_UPLOAD_DIR": str(folder / "uploads"),
        "ECM_DIALER": "simulator",
        "ECM_LOGIN_LIMIT": "1000 per minute",
        "FLASK_APP": "portal:create_app",
        "PYTHONUNBUFFERED": "1",
    }


def init_db(env: dict) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "init-db"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def start_gunicorns(
    procs: Processes, env: dict, workers: int, threads: int
) -> tuple[int, int]:
    """gunicorn on the portal and, set up the same way, on hello_app: their ports."""
    port, hello_port = free_port(), free_port()
    gunicorn = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--backlog",
        "2048",
        "--timeout",
        "600",
        "--no-control-socket",
        "--log-level",
        "warning",
    ]
    procs.start(
        "gunicorn", [*gunicorn, "-b", f"127.0.0.1:{port}", "portal:create_app()"], env
    )
    procs.start(
        "hello",
        [
            *gunicorn,
            "-b",
            f"127.0.0.1:{hello_port}",
            "--chdir",
            str(ROOT / "tests" / "bench"),
            "support:hello_app()",
        ],
        env,
    )
    return port, hello_port


def wait_for_gunicorns(port: int, hello_port: int) -> None:
    wait_for(lambda: Client(port).request("GET", "/healthz")[0] == 200, 60, "gunicorn")
    wait_for(lambda: Client(hello_port).request("GET", "/hello")[0] == 200, 60, "hello")


def admin_client(port: int) -> Client:
    """A client signed in as admin through the API, its bearer token set."""
    admin = Client(port)
    admin.token = admin.json(
        "POST", "/umm/api/login", {"username": "admin", "password": ADMIN_PASSWORD}
    )["token"]
    return admin
