"""Configuration read from the environment; one class per run mode."""

from __future__ import annotations

import copy
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

DEFAULT_SECRET = "dev-secret-change-me"  # printed in old READMEs: never trusted
# Values anyone can guess: the old default and the usual placeholders.
KNOWN_SECRETS = frozenset(
    {DEFAULT_SECRET, "dev", "secret", "changeme", "change-me", "development", "test"}
)
MIN_SECRET_LENGTH = 16
SECRET_FILE = "secret_key"
DEFAULT_ADMIN_PASSWORD = "admin"
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def _float(value: str | None, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        return default


Reader = Callable[[str | None], Any]  # a variable's text (None when unset) -> value


def text(default: str | None = None) -> Reader:
    """The variable's text; unset or empty gives `default`."""
    return lambda value: value or default


def as_given(value: str | None) -> str | None:
    """The variable's text as set, empty included; None when unset."""
    return value


def integer(default: int) -> Reader:
    return lambda value: _int(value, default)


def number(default: float) -> Reader:
    return lambda value: _float(value, default)


def flag(default: bool) -> Reader:
    return lambda value: _bool(value, default)


class Setting(NamedTuple):
    """One Config attribute read from one environment variable (README's table)."""

    name: str
    read: Reader
    variable: str = ""  # when it is not named like the attribute

    @property
    def env_name(self) -> str:
        return self.variable or self.name


# Settings read alone from the environment; the ones whose default depends on the
# run mode or on another setting are in Config._derive.
SETTINGS: tuple[Setting, ...] = (
    Setting("JWT_EXPIRES_IN", integer(36000), "ECM_JWT_EXPIRES_IN"),
    Setting("ECM_TOKEN_CACHE", flag(True)),
    Setting("REFRESH_EXPIRES_IN", integer(30 * 86400), "ECM_REFRESH_EXPIRES_IN"),
    Setting("ECM_TIMEZONE", text("UTC")),
    Setting("ECM_DEFAULT_REGION", lambda value: (value or "US").upper()),
    Setting("ECM_DIALER", text("simulator")),
    Setting("ECM_SMS_GATEWAY", text("simulator")),
    Setting("ECM_SMS_WEBHOOK_URL", as_given),
    Setting("ECM_SMS_WEBHOOK_TOKEN", as_given),
    Setting("ECM_SMS_TIMEOUT", number(10.0)),
    Setting("ECM_SMS_DELIVERY_REPORTS", flag(False)),
    Setting("ECM_SMS_FACTORY", text()),
    Setting("ECM_DIALER_FACTORY", text()),
    Setting("ECM_DIALER_TIMEOUT", number(10.0)),
    Setting("ECM_DIALER_MAX_RETRIES", integer(5)),
    Setting("ECM_DIALER_BACKOFF", number(1.0)),
    # "1"/"0", or the path of a CA bundle; None verifies with the system's CAs
    Setting("ECM_DIALER_VERIFY_TLS", text()),
    Setting("ECM_SIMULATOR_SEED", integer(42)),
    Setting("ECM_SIMULATOR_DELAY", number(2.0)),
    Setting("ECM_UCCE_URL", as_given),
    Setting("ECM_UCCE_USER", as_given),
    Setting("ECM_UCCE_PASSWORD", as_given),
    Setting("ECM_UCCX_URL", as_given),
    Setting("ECM_UCCX_USER", as_given),
    Setting("ECM_UCCX_PASSWORD", as_given),
    # SQLAlchemy URL of UCCX's db_cra, whose DialingList holds the final outcomes
    Setting("ECM_UCCX_RESULTS_URL", text()),
    # SQLAlchemy URL of the UCCE HDS/AW database whose Dialer_Detail table holds
    # the call results, e.g. mssql+pymssql://user:pw@hds:1433/ucce_awdb
    Setting("ECM_UCCE_RESULTS_URL", text()),
    # ... and of the Outbound Option database whose Personal_Callback_List holds
    # the callback times of results 14 and 15
    Setting("ECM_UCCE_CALLBACK_URL", text()),
    # what replaces the leading '+' of a number in what Cisco dials ("" drops it)
    Setting("ECM_CISCO_PLUS_PREFIX", text("")),
    # the delimiter of the Outbound Option import rule the file dialer feeds
    Setting("ECM_CISCO_FILE_DELIMITER", text(",")),
    Setting("ECM_ADMIN_PASSWORD", text(DEFAULT_ADMIN_PASSWORD)),
    Setting("ECM_FEED_INTERVAL", integer(10)),
    Setting("ECM_RESPONSE_TIMEOUT", integer(1800)),
    Setting("ECM_ABANDON_LOCKOUT_HOURS", integer(72)),
    Setting("ECM_OPT_OUT_DEADLINE_DAYS", integer(10)),
    Setting("ECM_ERASURE_KEEP_HASH", flag(True)),
    # calling rules (frequency caps, restricted dates, regional hours, dates)
    Setting("ECM_CALLING_RULES", flag(True)),
    Setting("ECM_SAFE_WINDOW", text("11:00-20:00")),
    Setting("ECM_SAFE_WINDOW_ZONE", text("America/New_York")),
    Setting("ECM_UPLOAD_DIR", text(str(INSTANCE_DIR / "uploads"))),
    # "database" or "disk"; empty: database on PostgreSQL, disk on SQLite
    Setting("ECM_UPLOAD_STORAGE", lambda value: (value or "").strip().lower()),
    Setting("ECM_UPLOAD_RETENTION_HOURS", integer(168)),
    Setting("ECM_MAX_UPLOAD_MB", integer(512)),
    Setting("ECM_IMPORT_CHUNK_ROWS", lambda value: _int(value, 0) or None),
    Setting("ECM_IMPORT_JOB_TIMEOUT", lambda value: _int(value, 0) or None),
    Setting("ECM_COUNT_CACHE_SECONDS", number(5.0)),
    Setting("ECM_METRICS_TOKEN", text()),
    Setting("PROMETHEUS_MULTIPROC_DIR", text()),
    Setting("ECM_WORKER_STOP_TIMEOUT", number(25.0)),
    Setting("ECM_QUEUE_STALL_SECONDS", number(30.0)),
    Setting("ECM_LOGIN_LIMIT", text("10 per minute")),
    Setting("ECM_LOGIN_ADDRESS_LIMIT", text("50 per minute")),
    Setting("ECM_LOGIN_DELAY_MAX", integer(4)),
    Setting("ECM_LOGIN_MAX_WAIT", integer(5)),
)

# Settings no variable changes (the libraries' switches); copied into every Config.
FIXED: dict[str, Any] = {
    "ECM_KNOWN_SECRET": False,  # set by resolve_secrets
    "RATELIMIT_ENABLED": True,  # the login throttle (tests switch it off)
    "RATELIMIT_HEADERS_ENABLED": True,
    # Redis down: keep throttling per process in memory rather than failing logins
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_SWALLOW_ERRORS": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "WTF_CSRF_ENABLED": True,
    "WTF_CSRF_TIME_LIMIT": None,
    "WTF_CSRF_HEADERS": ["X-CSRFToken"],
    "TESTING": False,
}


class Config:
    """Settings for both run modes; production is chosen by setting REDIS_URL."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ if env is None else env)
        INSTANCE_DIR.mkdir(exist_ok=True)
        for setting in SETTINGS:
            setattr(self, setting.name, setting.read(env.get(setting.env_name)))
        vars(self).update(copy.deepcopy(FIXED))
        self._derive(env)

    def _derive(self, env: dict[str, str]) -> None:
        """The settings whose default depends on the run mode or on another one."""
        self.SQLALCHEMY_DATABASE_URI = _database_url(
            env.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'ecm.sqlite3'}"
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = _engine_options(self.SQLALCHEMY_DATABASE_URI)
        self.REDIS_URL = env.get("REDIS_URL") or None
        self.EMBEDDED = self.REDIS_URL is None
        self.RATELIMIT_STORAGE_URI = limiter_storage(self.REDIS_URL)
        # unset: embedded mode makes a random one in the instance folder (see
        # resolve_secrets); production refuses to start without one
        self.SECRET_KEY = env.get("SECRET_KEY") or None
        self.JWT_SECRET = env.get("ECM_JWT_SECRET") or self.SECRET_KEY
        self.ECM_ERASURE_HASH_KEY = env.get("ECM_ERASURE_HASH_KEY") or self.SECRET_KEY
        self.ECM_AUTO_INIT = _bool(env.get("ECM_AUTO_INIT"), self.EMBEDDED)
        self.ECM_START_WORKER = _bool(env.get("ECM_START_WORKER"), self.EMBEDDED)
        self.SESSION_COOKIE_SECURE = _bool(
            env.get("SESSION_COOKIE_SECURE"), not self.EMBEDDED
        )
        self.MAX_CONTENT_LENGTH = self.ECM_MAX_UPLOAD_MB * 1024 * 1024

    def resolve_secrets(self, instance_dir: Path = INSTANCE_DIR) -> None:
        """Fill a missing secret (embedded mode) and flag a guessable one."""
        if not self.SECRET_KEY and self.EMBEDDED:
            self.SECRET_KEY = instance_secret(instance_dir)
        self.JWT_SECRET = self.JWT_SECRET or self.SECRET_KEY
        self.ECM_KNOWN_SECRET = any(
            guessable_secret(value) for value in (self.SECRET_KEY, self.JWT_SECRET)
        )

    def check_production_safety(self) -> None:
        """Refuse to run a production deployment with a guessable secret or password."""
        if self.EMBEDDED:
            return
        if guessable_secret(self.SECRET_KEY):
            raise RuntimeError("production mode needs SECRET_KEY (16+ characters)")
        if self.JWT_SECRET and guessable_secret(self.JWT_SECRET):
            raise RuntimeError("production mode needs ECM_JWT_SECRET (16+ characters)")
        if self.ECM_ADMIN_PASSWORD == DEFAULT_ADMIN_PASSWORD:
            raise RuntimeError("production mode refuses ECM_ADMIN_PASSWORD=admin")


def guessable_secret(value: str | None) -> bool:
    return not value or value in KNOWN_SECRETS or len(value) < MIN_SECRET_LENGTH


def instance_secret(instance_dir: Path) -> str:
    """The random secret kept in the instance folder, made on first start (0600)."""
    path = Path(instance_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text(encoding="ascii").strip()
        if value:
            return value
        path.unlink()  # an empty file left by a crash: make it again
        return instance_secret(instance_dir)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        value = secrets.token_urlsafe(48)
        handle.write(value)
    return value


def limiter_storage(redis_url: str | None) -> str:
    """Where the login throttle counts: the queue's Redis, or memory when embedded."""
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):  # the limits library's name for a socket
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url


def _database_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    # no pool_pre_ping: portal/__init__.py checks a pooled connection's socket instead
    return {"pool_size": 10, "max_overflow": 10}
