"""Hosts on one machine: network namespaces joined by veth pairs to a private switch.

Every host is a network namespace (`ip netns`) with one interface `eth0` whose peer
sits on a bridge inside a switch namespace of its own, so the lab's addresses exist
only inside the lab and nothing is added to the machine's own network namespace.
Processes run through `ip netns exec`, which also gives each one its own mount
namespace: a host's upload folder is a tmpfs mounted there, invisible to every other
host, so no disk is shared between hosts.

The test process observes from outside through unix sockets in a temporary folder
(PostgreSQL and Redis listen on their host address and on such a socket); the
application processes only ever use the network.

Cleaning up (`Lab.teardown`) kills every process in every lab namespace and deletes
the namespaces, which deletes their veths: it runs from a finalizer, even on failure.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUBNET = "10.231.0"
PREFIX = 24
POSTGRES_PORT = 5432
REDIS_PORT = 6379
WEB_PORT = 8000
UPLOAD_TMPFS = "size=256m,mode=0700"


class LabUnavailable(Exception):
    """Network namespaces cannot be made here (not root, no `ip`, no CAP_NET_ADMIN)."""


def run(*argv: str, check: bool = True, timeout: float = 30) -> str:
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip() or done.stdout}")
    return done.stdout


def wait_for(
    condition: Callable[[], object],
    timeout: float,
    message: str | Callable[[], str],
    every=0.1,
):
    """condition()'s first true value; past the deadline, an AssertionError with the
    message (a callable is asked then, so it can describe the state at that moment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(
        f"after {timeout:.0f} s: {message() if callable(message) else message}"
    )


def postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise LabUnavailable(f"no PostgreSQL {name} under /usr/lib/postgresql")
    return found[-1]


@dataclass
class Host:
    name: str
    netns: str
    address: str
    link: str  # the veth end on the switch


class Lab:
    """A switch and hosts; processes started in hosts; links cut and mended."""

    def __init__(self, hosts: dict[str, int], tag: str | None = None) -> None:
        # pid and random: two labs at once (a CI run beside a bench) never share a
        # namespace name, even from two PID namespaces; short, for 15-byte link names
        self.tag = tag or f"{os.getpid() % 1000:03d}{secrets.token_hex(2)}"
        self.switch = f"ecm-sw-{self.tag}"
        self.hosts = {
            name: Host(
                name,
                f"ecm-{name}-{self.tag}",
                f"{SUBNET}.{octet}",
                f"v{name[:4]}{self.tag}"[:15],
            )
            for name, octet in hosts.items()
        }
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.folder = Path(tempfile.mkdtemp(prefix=f"ecm-lab-{self.tag}-"))
        self.folder.chmod(0o755)  # the postgres user must reach its data folder

    # ---- building and tearing down ------------------------------------------

    @staticmethod
    def check_available() -> None:
        if os.geteuid() != 0:
            raise LabUnavailable("network namespaces need root")
        for tool in ("ip", "setpriv", "redis-server", "curl"):
            if shutil.which(tool) is None:
                raise LabUnavailable(f"{tool} is not installed")
        probe = f"ecm-probe-{os.getpid()}-{secrets.token_hex(3)}"
        try:
            run("ip", "netns", "add", probe)
        except RuntimeError as exc:
            raise LabUnavailable(f"cannot make a network namespace: {exc}") from None
        run("ip", "netns", "del", probe, check=False)

    def build(self) -> None:
        self.check_available()
        run("ip", "netns", "add", self.switch)
        self.ns(self.switch, "ip", "link", "add", "br0", "type", "bridge")
        self.ns(self.switch, "ip", "link", "set", "br0", "up")
        for host in self.hosts.values():
            run("ip", "netns", "add", host.netns)
            self.ns(host.netns, "ip", "link", "set", "lo", "up")
            # both ends are born inside lab namespaces: nothing touches the machine's
            self.ns(
                self.switch,
                *("ip", "link", "add", host.link, "type", "veth"),
                *("peer", "name", "eth0", "netns", host.netns),
            )
            self.ns(self.switch, "ip", "link", "set", host.link, "master", "br0")
            self.ns(self.switch, "ip", "link", "set", host.link, "up")
            self.ns(
                host.netns,
                "ip",
                "addr",
                "add",
                f"{host.address}/{PREFIX}",
                "dev",
                "eth0",
            )
            self.ns(host.netns, "ip", "link", "set", "eth0", "up")

    def teardown(self) -> None:
        """Every process of every lab namespace ends, then the namespaces go."""
        for _, proc in self.procs:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for _, proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for netns in [h.netns for h in self.hosts.values()] + [self.switch]:
            self.kill_namespace(netns)
        for _, proc in self.procs:
            _signal_group(proc, signal.SIGKILL)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        for netns in [h.netns for h in self.hosts.values()] + [self.switch]:
            run("ip", "netns", "del", netns, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def kill_namespace(self, netns: str) -> None:
        """SIGKILL whatever runs in the namespace: the machine is switched off."""
        for _ in range(20):
            pids = [
                int(p) for p in run("ip", "netns", "pids", netns, check=False).split()
            ]
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.reap()
            time.sleep(0.1)

    def reap(self) -> None:
        for _, proc in self.procs:
            proc.poll()

    # ---- running things in hosts --------------------------------------------

    @staticmethod
    def ns(netns: str, *argv: str, check: bool = True, timeout: float = 30) -> str:
        return run("ip", "netns", "exec", netns, *argv, check=check, timeout=timeout)

    def spawn(
        self,
        host: str,
        label: str,
        argv: list[str],
        env: dict[str, str],
        private_dir: str | None = None,
        user: str | None = None,
    ) -> subprocess.Popen:
        """Start argv in the host; `private_dir` gets a tmpfs only this process sees."""
        prefix: list[str] = []
        if private_dir:
            prefix = [
                "sh",
                "-c",
                f'mount -t tmpfs -o {UPLOAD_TMPFS} ecm-lab "$0" && exec "$@"',
                private_dir,
            ]
        if user:
            prefix += [
                "setpriv",
                f"--reuid={user}",
                f"--regid={user}",
                "--init-groups",
                "--",
            ]
        log = (self.folder / f"{host}-{label}.log").open("ab")
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.hosts[host].netns, *prefix, *argv],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append((f"{host}-{label}", proc))
        return proc

    def flask(self, host: str, label: str, args: list[str], env: dict[str, str]):
        return self.spawn(
            host,
            label,
            [sys.executable, "-m", "flask", *args],
            env,
            private_dir=env.get("ECM_UPLOAD_DIR"),
        )

    def log(self, label: str, tail: int = 4000) -> str:
        path = self.folder / f"{label}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def logs(self, tail: int = 1500) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-tail:]}"
            for p in sorted(self.folder.glob("*.log"))
        )

    # ---- faults ----------------------------------------------------------------

    def cut(self, host: str) -> None:
        """Pull the host's cable: its switch port goes down; its processes live on."""
        self.ns(self.switch, "ip", "link", "set", self.hosts[host].link, "down")

    def mend(self, host: str) -> None:
        self.ns(self.switch, "ip", "link", "set", self.hosts[host].link, "up")

    def shape(self, host: str, rate: str) -> None:
        """A slower link for the host's outgoing traffic (a WAN, a busy uplink)."""
        self.ns(
            self.hosts[host].netns,
            *("tc", "qdisc", "replace", "dev", "eth0", "root", "tbf"),
            *("rate", rate, "burst", "64kb", "latency", "200ms"),
        )

    def unshape(self, host: str) -> None:
        self.ns(
            self.hosts[host].netns,
            *("tc", "qdisc", "del", "dev", "eth0", "root"),
            check=False,  # nothing to delete when the link was never shaped
        )

    def sent_bytes(self, host: str) -> int:
        """Bytes the host's eth0 has sent since its root qdisc was set (tc -s)."""
        stats = self.ns(
            self.hosts[host].netns, "tc", "-s", "qdisc", "show", "dev", "eth0"
        )
        words = stats.split()
        return int(words[words.index("Sent") + 1]) if "Sent" in words else 0

    def power_off(self, host: str) -> None:
        self.kill_namespace(self.hosts[host].netns)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


class DatabaseHost:
    """A private PostgreSQL and Redis on the lab's database host."""

    def __init__(self, lab: Lab, host: str = "db", pg_settings: dict | None = None):
        self.lab = lab
        self.host = host
        self.address = lab.hosts[host].address
        self.pg_dir = lab.folder / "pg"
        self.sockets = lab.folder / "sockets"
        self.redis_proc: subprocess.Popen | None = None
        self.pg_settings = {
            # a host that vanishes leaves its connections open on the server: without
            # keepalives its locks (an import chunk's upload row) are held for hours
            "tcp_keepalives_idle": "5",
            "tcp_keepalives_interval": "2",
            "tcp_keepalives_count": "3",
            "tcp_user_timeout": "10000",
            "max_connections": "200",
            **(pg_settings or {}),
        }

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@{self.address}:{POSTGRES_PORT}/ecm"

    @property
    def redis_url(self) -> str:
        return f"redis://{self.address}:{REDIS_PORT}/0"

    @property
    def local_database_url(self) -> str:
        """The same database through the unix socket, for the observing test."""
        return f"postgresql+psycopg://postgres@/ecm?host={self.sockets}&port={POSTGRES_PORT}"

    @property
    def redis_socket(self) -> str:
        return str(self.sockets / "redis.sock")

    def start(self) -> None:
        self.sockets.mkdir()
        self.pg_dir.mkdir()
        shutil.chown(self.sockets, "postgres")
        shutil.chown(self.pg_dir, "postgres")
        run(
            "setpriv",
            *("--reuid=postgres", "--regid=postgres", "--init-groups", "--"),
            postgres_bin("initdb"),
            *("-D", str(self.pg_dir / "data"), "-U", "postgres", "-A", "trust"),
            "--no-sync",
            timeout=120,
        )
        with open(self.pg_dir / "data" / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {SUBNET}.0/{PREFIX} trust\n")
        options = [f"-c{k}={v}" for k, v in self.pg_settings.items()]
        self.lab.spawn(
            self.host,
            "postgres",
            [
                postgres_bin("postgres"),
                *("-D", str(self.pg_dir / "data")),
                f"-clisten_addresses={self.address}",
                f"-cport={POSTGRES_PORT}",
                f"-cunix_socket_directories={self.sockets}",
                *options,
            ],
            dict(os.environ),
            user="postgres",
        )
        socket = self.sockets / f".s.PGSQL.{POSTGRES_PORT}"
        wait_for(socket.exists, 60, f"postgres did not start: {self.lab.logs()}")
        wait_for(
            lambda: run(
                postgres_bin("psql"),
                *("-h", str(self.sockets), "-U", "postgres", "-c", "select 1"),
                check=False,
            ),
            60,
            "postgres does not answer",
        )
        run(
            postgres_bin("psql"),
            *("-h", str(self.sockets), "-U", "postgres"),
            *("-c", "CREATE DATABASE ecm"),
        )
        self.start_redis()

    def start_redis(self) -> None:
        """redis-server on the host address; nothing saved, so a restart forgets all."""
        self.redis_proc = self.lab.spawn(
            self.host,
            "redis",
            [
                "redis-server",
                *("--bind", self.address, "--port", str(REDIS_PORT)),
                *("--unixsocket", self.redis_socket, "--unixsocketperm", "700"),
                *("--save", "", "--appendonly", "no", "--protected-mode", "no"),
                *("--dir", str(self.lab.folder)),
            ],
            dict(os.environ),
        )
        import redis

        def answers() -> bool:
            try:
                return bool(redis.Redis(unix_socket_path=self.redis_socket).ping())
            except redis.RedisError:
                return False

        wait_for(
            answers,
            60,
            lambda: f"redis-server did not start: {self.lab.log('db-redis')}",
        )

    def restart_redis(self) -> None:
        """SIGKILL and start again: every queued job, lock and record is gone."""
        assert self.redis_proc is not None
        _signal_group(self.redis_proc, signal.SIGKILL)
        self.redis_proc.wait(10)
        Path(self.redis_socket).unlink(missing_ok=True)
        self.start_redis()


def process_env(db: DatabaseHost, uploads: str, **extra: str) -> dict[str, str]:
    """The environment every application host gets (production mode)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ECM_", "DATABASE_URL", "REDIS_URL", "PROMETHEUS_"))
    }
    env.update(
        {
            "DATABASE_URL": db.database_url,
            "REDIS_URL": db.redis_url,
            "SECRET_KEY": "lab-secret-key-0123456789-abcdefghijkl",
            "ECM_JWT_SECRET": "lab-jwt-secret-0123456789-abcdefghijkl",
            "ECM_ADMIN_PASSWORD": "lab-admin-password-1",
            "ECM_AUTO_INIT": "0",
            "ECM_START_WORKER": "0",
            "ECM_UPLOAD_DIR": uploads,
            "FLASK_APP": "portal:create_app",
            "PYTHONUNBUFFERED": "1",
            "SESSION_COOKIE_SECURE": "0",
        }
    )
    env.update(extra)
    return env
