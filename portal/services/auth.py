"""Passwords, JWT access tokens and rotating refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import delete, select, update

from portal.extensions import db
from portal.models import (
    PortalSession,
    RefreshToken,
    RevokedAccessToken,
    RevokedTokenFamily,
    User,
    utcnow,
)
from portal.services import token_cache
from portal.services.errors import Unauthorized

ALGORITHM = "HS256"
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """Check a password in constant-ish time whether or not the user exists."""
    target = user.password_hash if user else _DUMMY_HASH
    try:
        ok = _hasher.verify(target, password)
    except (VerificationError, InvalidHashError):
        return False
    if ok and user is not None and _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return ok and user is not None


def authenticate(username: object, password: object) -> User:
    """Return the active user with these credentials, or raise one uniform 401."""
    if not isinstance(username, str) or not isinstance(password, str):
        raise Unauthorized("Invalid username or password")
    if len(username) > 80 or len(password) > 1024:
        raise Unauthorized("Invalid username or password")
    user = db.session.scalar(select(User).where(User.username == username))
    if not verify_password(user, password) or not user.active:
        raise Unauthorized("Invalid username or password")
    user.last_login = utcnow()
    db.session.commit()
    return user


def _secret() -> str:
    return current_app.config["JWT_SECRET"]


def _encode(claims: dict) -> str:
    return jwt.encode(claims, _secret(), algorithm=ALGORITHM)


def issue_tokens(user: User, family: str | None = None) -> dict:
    """Mint an access token and a refresh token (a new family unless rotating)."""
    now = utcnow()
    expires_in = current_app.config["JWT_EXPIRES_IN"]
    family = family or secrets.token_hex(16)
    access = _encode(
        {
            "sub": str(user.id),
            "jti": secrets.token_hex(16),
            "typ": "access",
            "fam": family,
            "sv": user.session_version,
            "role": user.role,
            "iat": now,
            "exp": now + timedelta(seconds=expires_in),
        }
    )
    refresh_jti = secrets.token_hex(16)
    refresh_expires = now + timedelta(seconds=current_app.config["REFRESH_EXPIRES_IN"])
    db.session.add(
        RefreshToken(
            jti=refresh_jti,
            family=family,
            user_id=user.id,
            expires_at=refresh_expires,
        )
    )
    refresh = _encode(
        {
            "sub": str(user.id),
            "jti": refresh_jti,
            "typ": "refresh",
            "fam": family,
            "sv": user.session_version,
            "iat": now,
            "exp": refresh_expires,
        }
    )
    db.session.commit()
    return {
        "token_type": "Bearer",
        "token": access,
        "access_token": access,
        "expires_in": expires_in,
        "refresh_token": refresh,
    }


def _decode(token: str, typ: str) -> dict:
    try:
        claims = jwt.decode(
            token,
            _secret(),
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("Token expired") from None
    except jwt.PyJWTError:
        raise Unauthorized("Invalid token") from None
    if claims.get("typ") != typ:
        raise Unauthorized("Invalid token")
    return claims


def access_claims(token: str) -> dict:
    """An access token's claims once its signature, type and expiry hold (no
    database: a forged or expired token is refused before any connection)."""
    claims = _decode(token, "access")
    try:
        int(claims["sub"])
    except (TypeError, ValueError):
        raise Unauthorized("Invalid token") from None
    return claims


def user_for_access_token(token: str) -> tuple[User, dict]:
    """Resolve a bearer token to its active user, refusing revoked or stale tokens."""
    claims = access_claims(token)
    return user_for_claims(claims), claims


def user_for_claims(claims: dict) -> User:
    """The active user of checked claims, refusing a revoked or stale token.

    A token this process found valid since the last auth change anywhere is
    answered from memory, with no round trip (`token_cache`, PostgreSQL only).
    """
    user_id = int(claims["sub"])
    jti = str(claims["jti"])
    cache = token_cache.for_app()
    remembered, generation = (None, None) if cache is None else cache.lookup(jti)
    if remembered is not None and remembered["id"] == user_id:
        return token_cache.user_in_session(db.session, remembered)
    # one round trip: the user, and whether this token or its family was ended
    # (logout, refresh re-use)
    row = db.session.execute(
        select(User, RevokedAccessToken.jti, RevokedTokenFamily.family)
        .select_from(User)
        .outerjoin(RevokedAccessToken, RevokedAccessToken.jti == jti)
        .outerjoin(
            RevokedTokenFamily, RevokedTokenFamily.family == str(claims.get("fam"))
        )
        .where(User.id == user_id)
    ).first()
    if row is None or row[1] is not None or row[2] is not None:
        raise Unauthorized("Token revoked")
    user = row[0]
    if not user.active or claims.get("sv") != user.session_version:
        raise Unauthorized("Token revoked")
    if cache is not None:
        cache.remember(jti, user, generation)
    return user


def refresh(refresh_token: object) -> dict:
    """Rotate a refresh token; re-use of a spent one ends its whole family.

    The token is spent by one compare-and-set UPDATE (revoked false -> true), so of
    several simultaneous refreshes of one token exactly one wins; the others are
    re-use. A token minted before a password, role or active change (another
    session version) is refused like its access tokens.
    """
    if not isinstance(refresh_token, str) or not refresh_token:
        raise Unauthorized("Invalid refresh token")
    claims = _decode(refresh_token, "refresh")
    row = db.session.scalar(
        select(RefreshToken).where(RefreshToken.jti == str(claims["jti"]))
    )
    if row is None or db.session.get(RevokedTokenFamily, row.family) is not None:
        raise Unauthorized("Invalid refresh token")
    spent = db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.revoked.is_(False))
        .values(revoked=True)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        db.session.rollback()
        revoke_family(row.family)
        db.session.commit()
        raise Unauthorized("Refresh token re-used; all sessions of this login ended")
    user = db.session.get(User, row.user_id)
    if (
        user is None
        or not user.active
        or claims.get("sv") != user.session_version
        or row.expires_at < utcnow()
    ):
        db.session.commit()
        raise Unauthorized("Invalid refresh token")
    return issue_tokens(user, family=row.family)


def revoke_family(family: str) -> None:
    """End every access and refresh token of one login."""
    db.session.execute(
        update(RefreshToken).where(RefreshToken.family == family).values(revoked=True)
    )
    db.session.execute(
        delete(RevokedTokenFamily).where(RevokedTokenFamily.expires_at < utcnow())
    )
    if db.session.get(RevokedTokenFamily, family) is None:
        lifetime = max(
            current_app.config["JWT_EXPIRES_IN"],
            current_app.config["REFRESH_EXPIRES_IN"],
        )
        db.session.add(
            RevokedTokenFamily(
                family=family, expires_at=utcnow() + timedelta(seconds=lifetime)
            )
        )


def logout(access_claims: dict, refresh_token: object = None) -> None:
    """End an access token now and, when given, its refresh token's family."""
    exp = datetime.utcfromtimestamp(access_claims["exp"])
    if db.session.get(RevokedAccessToken, access_claims["jti"]) is None:
        db.session.add(RevokedAccessToken(jti=access_claims["jti"], expires_at=exp))
    if isinstance(refresh_token, str) and refresh_token:
        try:
            claims = _decode(refresh_token, "refresh")
        except Unauthorized:
            claims = None
        if claims and str(claims.get("sub")) == str(access_claims["sub"]):
            revoke_family(claims["fam"])
    db.session.commit()


def _session_digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_portal_session(user: User) -> str:
    """Record a new portal session server-side and return the id its cookie carries."""
    now = utcnow()
    lifetime = current_app.permanent_session_lifetime
    db.session.execute(delete(PortalSession).where(PortalSession.expires_at < now))
    session_id = secrets.token_urlsafe(32)
    db.session.add(
        PortalSession(
            id=_session_digest(session_id),
            user_id=user.id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    db.session.commit()
    return session_id


def portal_session_user(user_id: int, version: int, session_id: object) -> User | None:
    """The user of a live portal session, or None once it was ended or went stale."""
    if not isinstance(session_id, str) or not session_id:
        return None
    row = db.session.execute(
        select(User)
        .join(PortalSession, PortalSession.user_id == User.id)
        .where(
            User.id == user_id,
            PortalSession.id == _session_digest(session_id),
            PortalSession.expires_at > utcnow(),
        )
    ).first()
    user = row[0] if row else None
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def end_portal_session(session_id: object) -> None:
    """Delete a portal session: its cookie, and every copy of it, stops working."""
    if isinstance(session_id, str) and session_id:
        db.session.execute(
            delete(PortalSession).where(PortalSession.id == _session_digest(session_id))
        )
        db.session.commit()
