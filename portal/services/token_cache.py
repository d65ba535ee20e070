"""Access tokens this process has checked, so the next request needs no round trip.

The bearer-token check (`auth.user_for_access_token`) reads the user and the two
revocation tables on every API call. On PostgreSQL this process instead remembers
each token it found valid (its jti and its user's row) and answers the next request
with that token from memory, as long as nothing that decides a token's validity has
changed since:

- triggers on `users`, `revoked_access_tokens` and `revoked_token_families`
  (migration f5a6b7c8d9e0) `NOTIFY ecm_auth` on every write, in the writing
  transaction, so PostgreSQL delivers the notice when, and only when, it commits;
  any process on any host that shares the database hears it;
- this process LISTENs on its own connection and, before it answers from memory,
  reads what has arrived (one non-blocking `select()` on that socket): any notice
  empties the whole cache (revocations are rare; the next request of each token
  checks the database again);
- this process's own commits that touch those tables empty it at once, without
  waiting for the notice (`after_commit`), so a logout holds on the next request;
- while the listening connection is down (not yet connected, the server restarted,
  a network cut) the cache is empty and not used: every request checks the
  database, and the cache starts again, empty, once a new connection listens;
- a token is remembered only if no notice arrived while its check ran (the
  generation), so a check that raced a logout cannot store the token it ended.

What remains: another process's revocation holds here once PostgreSQL has written
the notice to this connection's socket — microseconds after the commit, before the
revoking request's answer has reached its client. SQLite (the embedded mode, one
process) keeps the database check: it has no network round trip to save.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
import weakref
from collections import OrderedDict

from flask import Flask, current_app
from sqlalchemy import event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, make_transient_to_detached

from portal.models import RevokedAccessToken, RevokedTokenFamily, User

log = logging.getLogger(__name__)

CHANNEL = "ecm_auth"
AUTH_MODELS = (User, RevokedAccessToken, RevokedTokenFamily)
AUTH_TABLES = frozenset(m.__tablename__ for m in AUTH_MODELS)
RECONNECT_SECONDS = 5.0
MAX_ENTRIES = 20_000
_COLUMNS = tuple(c.key for c in inspect(User).column_attrs)


class TokenCache:
    """Valid tokens by jti, emptied by any auth change anywhere (see the module)."""

    def __init__(self, database_url: str, max_entries: int = MAX_ENTRIES) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, dict] = OrderedDict()
        self._listener = None
        self._pid = None
        self._retry_at = 0.0
        self.generation = 0  # bumped by every clear
        self.hits = 0

    # -- the listening connection ---------------------------------------------
    def _connect(self) -> bool:
        import psycopg

        if time.monotonic() < self._retry_at:
            return False
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=3)
            conn.execute(f"LISTEN {CHANNEL}")
        except Exception as exc:  # noqa: BLE001 - any failure: the database check
            self._retry_at = time.monotonic() + RECONNECT_SECONDS
            log.warning("token cache off: cannot listen for auth changes: %s", exc)
            return False
        self._listener, self._pid = conn, os.getpid()
        self._clear()  # whatever happened while nobody listened is unknown
        return True

    def _drop_listener(self) -> None:
        conn, self._listener = self._listener, None
        self._clear()
        self._retry_at = time.monotonic() + RECONNECT_SECONDS
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - it is being thrown away
                pass

    def _poll(self) -> bool:
        """Read the notices that arrived; False while nobody listens."""
        if self._listener is not None and self._pid != os.getpid():
            self._listener, self._pid = None, None  # a forked child: not its socket
            self._clear()
        if self._listener is None and not self._connect():
            return False
        pgconn = self._listener.pgconn
        try:
            heard = False
            # until the socket is drained: a server that ends the connection sends
            # its last message first and the end of the stream after it
            for _ in range(8):
                if not select.select([pgconn.socket], [], [], 0)[0]:
                    break
                pgconn.consume_input()  # raises once the stream has ended
                while pgconn.notifies() is not None:
                    heard = True
            if heard:
                self._clear()
            if pgconn.status != 0:  # CONNECTION_OK
                raise ConnectionError("listening connection lost")
        except Exception as exc:  # noqa: BLE001 - a lost connection: start again
            log.warning("token cache off until it listens again: %s", exc)
            self._drop_listener()
            return False
        return True

    def _clear(self) -> None:
        self._entries.clear()
        self.generation += 1

    # -- what the token check asks ----------------------------------------------
    def lookup(self, jti: str) -> tuple[dict | None, int | None]:
        """(the remembered user row or None, the generation to remember under)."""
        with self._lock:
            if not self._poll():
                return None, None
            row = self._entries.get(jti)
            if row is not None:
                self._entries.move_to_end(jti)
                self.hits += 1
            return row, self.generation

    def remember(self, jti: str, user: User, generation: int | None) -> None:
        """Keep a token found valid, unless a notice arrived while it was checked."""
        if generation is None:
            return
        row = {key: getattr(user, key) for key in _COLUMNS}
        with self._lock:
            if not self._poll() or generation != self.generation:
                return
            self._entries[jti] = row
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._clear()

    def close(self) -> None:
        with self._lock:
            self._drop_listener()
            self._retry_at = float("inf")


def user_in_session(session: Session, row: dict) -> User:
    """The remembered user as a persistent object of this request's session."""
    key = session.identity_key(User, (row["id"],))
    existing = session.identity_map.get(key)
    if existing is not None:
        return existing
    user = User(**row)
    make_transient_to_detached(user)  # as if just loaded: no pending changes
    session.add(user)
    return user


def for_app(app: Flask | None = None) -> TokenCache | None:
    app = app or current_app
    return app.extensions.get("ecm_token_cache")


def init_app(app: Flask, db) -> None:
    """Turn the cache on for PostgreSQL when ECM_TOKEN_CACHE allows it."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not app.config.get("ECM_TOKEN_CACHE") or not url.startswith("postgresql"):
        return
    cache = app.extensions["ecm_token_cache"] = TokenCache(url)
    _CACHES.add(cache)
    _watch_own_commits(db)


_watching: set[int] = set()
_CACHES: weakref.WeakSet[TokenCache] = weakref.WeakSet()  # every app's, in this process


def _watch_own_commits(db) -> None:
    """Empty every cache of this process when it commits a change to the auth tables."""
    if id(db) in _watching:
        return
    _watching.add(id(db))
    session_class = db.session.session_factory.class_

    @event.listens_for(session_class, "after_flush")
    def _flushed(session, _context) -> None:
        touched = (*session.new, *session.dirty, *session.deleted)
        if any(isinstance(obj, AUTH_MODELS) for obj in touched):
            session.info["ecm_auth_changed"] = True

    @event.listens_for(session_class, "do_orm_execute")
    def _bulk(orm_execute_state) -> None:
        if orm_execute_state.is_select:
            return
        table = getattr(orm_execute_state.statement, "table", None)
        if getattr(table, "name", None) in AUTH_TABLES:
            orm_execute_state.session.info["ecm_auth_changed"] = True

    @event.listens_for(session_class, "after_commit")
    def _committed(session) -> None:
        if session.info.pop("ecm_auth_changed", False):
            for cache in list(_CACHES):
                cache.clear()

    @event.listens_for(session_class, "after_rollback")
    def _rolled_back(session) -> None:
        session.info.pop("ecm_auth_changed", None)
