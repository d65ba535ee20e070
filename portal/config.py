"""Configuration read from the environment; one class per run mode."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

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


class Config:
    """Settings for both run modes; production is chosen by setting REDIS_URL."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ if env is None else env)
        INSTANCE_DIR.mkdir(exist_ok=True)
        self.SQLALCHEMY_DATABASE_URI = _database_url(
            env.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'ecm.sqlite3'}"
        )
        self.REDIS_URL = env.get("REDIS_URL") or None
        self.EMBEDDED = self.REDIS_URL is None
        # unset: embedded mode makes a random one in the instance folder (see
        # resolve_secrets); production refuses to start without one
        self.SECRET_KEY = env.get("SECRET_KEY") or None
        self.JWT_SECRET = env.get("ECM_JWT_SECRET") or self.SECRET_KEY
        self.ECM_KNOWN_SECRET = False
        self.JWT_EXPIRES_IN = _int(env.get("ECM_JWT_EXPIRES_IN"), 36000)
        self.REFRESH_EXPIRES_IN = _int(env.get("ECM_REFRESH_EXPIRES_IN"), 30 * 86400)
        self.ECM_TIMEZONE = env.get("ECM_TIMEZONE") or "UTC"
        self.ECM_DEFAULT_REGION = (env.get("ECM_DEFAULT_REGION") or "US").upper()
        self.ECM_DIALER = env.get("ECM_DIALER") or "simulator"
        self.ECM_SMS_GATEWAY = env.get("ECM_SMS_GATEWAY") or "simulator"
        self.ECM_SMS_WEBHOOK_URL = env.get("ECM_SMS_WEBHOOK_URL")
        self.ECM_SMS_WEBHOOK_TOKEN = env.get("ECM_SMS_WEBHOOK_TOKEN")
        self.ECM_SMS_TIMEOUT = _float(env.get("ECM_SMS_TIMEOUT"), 10.0)
        self.ECM_SMS_DELIVERY_REPORTS = _bool(
            env.get("ECM_SMS_DELIVERY_REPORTS"), False
        )
        self.ECM_SMS_FACTORY = env.get("ECM_SMS_FACTORY") or None
        self.ECM_DIALER_FACTORY = env.get("ECM_DIALER_FACTORY") or None
        self.ECM_DIALER_TIMEOUT = _float(env.get("ECM_DIALER_TIMEOUT"), 10.0)
        self.ECM_DIALER_MAX_RETRIES = _int(env.get("ECM_DIALER_MAX_RETRIES"), 5)
        self.ECM_DIALER_BACKOFF = _float(env.get("ECM_DIALER_BACKOFF"), 1.0)
        # "1"/"0", or the path of a CA bundle; None verifies with the system's CAs
        self.ECM_DIALER_VERIFY_TLS = env.get("ECM_DIALER_VERIFY_TLS") or None
        self.ECM_SIMULATOR_SEED = _int(env.get("ECM_SIMULATOR_SEED"), 42)
        self.ECM_SIMULATOR_DELAY = _float(env.get("ECM_SIMULATOR_DELAY"), 2.0)
        self.ECM_UCCE_URL = env.get("ECM_UCCE_URL")
        self.ECM_UCCE_USER = env.get("ECM_UCCE_USER")
        self.ECM_UCCE_PASSWORD = env.get("ECM_UCCE_PASSWORD")
        self.ECM_UCCX_URL = env.get("ECM_UCCX_URL")
        self.ECM_UCCX_USER = env.get("ECM_UCCX_USER")
        self.ECM_UCCX_PASSWORD = env.get("ECM_UCCX_PASSWORD")
        self.ECM_UCCX_RESULTS_URL = env.get("ECM_UCCX_RESULTS_URL") or None
        # SQLAlchemy URL of the UCCE HDS/AW database whose Dialer_Detail table holds
        # the call results, e.g. mssql+pymssql://user:pw@hds:1433/ucce_awdb
        self.ECM_UCCE_RESULTS_URL = env.get("ECM_UCCE_RESULTS_URL") or None
        self.ECM_UCCE_CALLBACK_URL = env.get("ECM_UCCE_CALLBACK_URL") or None
        # what replaces the leading '+' of a number in what Cisco dials ("" drops it)
        self.ECM_CISCO_PLUS_PREFIX = env.get("ECM_CISCO_PLUS_PREFIX") or ""
        # the delimiter of the Outbound Option import rule the file dialer feeds
        self.ECM_CISCO_FILE_DELIMITER = env.get("ECM_CISCO_FILE_DELIMITER") or ","
        self.ECM_ADMIN_PASSWORD = (
            env.get("ECM_ADMIN_PASSWORD") or DEFAULT_ADMIN_PASSWORD
        )
        self.ECM_FEED_INTERVAL = _int(env.get("ECM_FEED_INTERVAL"), 10)
        self.ECM_RESPONSE_TIMEOUT = _int(env.get("ECM_RESPONSE_TIMEOUT"), 1800)
        self.ECM_ABANDON_LOCKOUT_HOURS = _int(env.get("ECM_ABANDON_LOCKOUT_HOURS"), 72)
        self.ECM_OPT_OUT_DEADLINE_DAYS = _int(env.get("ECM_OPT_OUT_DEADLINE_DAYS"), 10)
        self.ECM_ERASURE_KEEP_HASH = _bool(env.get("ECM_ERASURE_KEEP_HASH"), True)
        self.ECM_ERASURE_HASH_KEY = env.get("ECM_ERASURE_HASH_KEY") or self.SECRET_KEY
        # calling rules (frequency caps, restricted dates, regional hours, dates)
        self.ECM_CALLING_RULES = _bool(env.get("ECM_CALLING_RULES"), True)
        self.ECM_SAFE_WINDOW = env.get("ECM_SAFE_WINDOW") or "11:00-20:00"
        self.ECM_SAFE_WINDOW_ZONE = (
            env.get("ECM_SAFE_WINDOW_ZONE") or "America/New_York"
        )
        self.ECM_UPLOAD_DIR = env.get("ECM_UPLOAD_DIR") or str(INSTANCE_DIR / "uploads")
        # "database" or "disk"; empty: database on PostgreSQL, disk on SQLite
        self.ECM_UPLOAD_STORAGE = (env.get("ECM_UPLOAD_STORAGE") or "").strip().lower()
        self.ECM_UPLOAD_RETENTION_HOURS = _int(
            env.get("ECM_UPLOAD_RETENTION_HOURS"), 168
        )
        self.ECM_MAX_UPLOAD_MB = _int(env.get("ECM_MAX_UPLOAD_MB"), 512)
        self.ECM_IMPORT_CHUNK_ROWS = _int(env.get("ECM_IMPORT_CHUNK_ROWS"), 0) or None
        self.ECM_IMPORT_JOB_TIMEOUT = _int(env.get("ECM_IMPORT_JOB_TIMEOUT"), 0) or None
        self.ECM_COUNT_CACHE_SECONDS = _float(env.get("ECM_COUNT_CACHE_SECONDS"), 5.0)
        self.ECM_METRICS_TOKEN = env.get("ECM_METRICS_TOKEN") or None
        self.PROMETHEUS_MULTIPROC_DIR = env.get("PROMETHEUS_MULTIPROC_DIR") or None
        self.ECM_WORKER_STOP_TIMEOUT = _float(env.get("ECM_WORKER_STOP_TIMEOUT"), 25.0)
        self.ECM_QUEUE_STALL_SECONDS = _float(env.get("ECM_QUEUE_STALL_SECONDS"), 30.0)
        self.MAX_CONTENT_LENGTH = self.ECM_MAX_UPLOAD_MB * 1024 * 1024
        self.ECM_AUTO_INIT = _bool(env.get("ECM_AUTO_INIT"), self.EMBEDDED)
        self.ECM_START_WORKER = _bool(env.get("ECM_START_WORKER"), self.EMBEDDED)
        self.ECM_LOGIN_LIMIT = env.get("ECM_LOGIN_LIMIT") or "10 per minute"
        self.ECM_LOGIN_ADDRESS_LIMIT = (
            env.get("ECM_LOGIN_ADDRESS_LIMIT") or "50 per minute"
        )
        self.ECM_LOGIN_DELAY_MAX = _int(env.get("ECM_LOGIN_DELAY_MAX"), 4)
        self.ECM_LOGIN_MAX_WAIT = _int(env.get("ECM_LOGIN_MAX_WAIT"), 5)
        self.RATELIMIT_STORAGE_URI = limiter_storage(self.REDIS_URL)
        self.RATELIMIT_ENABLED = True  # the login throttle (tests switch it off)
        self.RATELIMIT_HEADERS_ENABLED = True
        # Redis down: keep throttling per process in memory rather than failing logins
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RATELIMIT_SWALLOW_ERRORS = True
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _bool(
            env.get("SESSION_COOKIE_SECURE"), not self.EMBEDDED
        )
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.WTF_CSRF_ENABLED = True
        self.WTF_CSRF_TIME_LIMIT = None
        self.WTF_CSRF_HEADERS = ["X-CSRFToken"]
        self.SQLALCHEMY_ENGINE_OPTIONS = _engine_options(self.SQLALCHEMY_DATABASE_URI)
        self.TESTING = False

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
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10}
