"""Configuration read from the environment; one class per run mode."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SECRET = "dev-secret-change-me"
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
        self.SECRET_KEY = env.get("SECRET_KEY") or DEFAULT_SECRET
        self.JWT_SECRET = env.get("ECM_JWT_SECRET") or self.SECRET_KEY
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
        self.ECM_ADMIN_PASSWORD = (
            env.get("ECM_ADMIN_PASSWORD") or DEFAULT_ADMIN_PASSWORD
        )
        self.ECM_FEED_INTERVAL = _int(env.get("ECM_FEED_INTERVAL"), 10)
        self.ECM_RESPONSE_TIMEOUT = _int(env.get("ECM_RESPONSE_TIMEOUT"), 1800)
        # calling rules (frequency caps, restricted dates, regional hours, dates)
        self.ECM_CALLING_RULES = _bool(env.get("ECM_CALLING_RULES"), True)
        self.ECM_SAFE_WINDOW = env.get("ECM_SAFE_WINDOW") or "11:00-20:00"
        self.ECM_SAFE_WINDOW_ZONE = (
            env.get("ECM_SAFE_WINDOW_ZONE") or "America/New_York"
        )
        self.ECM_UPLOAD_DIR = env.get("ECM_UPLOAD_DIR") or str(INSTANCE_DIR / "uploads")
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
        self.RATELIMIT_STORAGE_URI = limiter_storage(self.REDIS_URL)
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

    def check_production_safety(self) -> None:
        """Refuse to run a production deployment with a guessable secret or password."""
        if self.EMBEDDED:
            return
        if self.SECRET_KEY == DEFAULT_SECRET or len(self.SECRET_KEY) < 16:
            raise RuntimeError("production mode needs SECRET_KEY (16+ characters)")
        if self.ECM_ADMIN_PASSWORD == DEFAULT_ADMIN_PASSWORD:
            raise RuntimeError("production mode refuses ECM_ADMIN_PASSWORD=admin")


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
