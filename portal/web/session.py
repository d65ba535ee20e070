"""The signed-in user, as the actor every service call takes first."""

from __future__ import annotations

from flask_login import current_user

from portal.models import User


def actor() -> User:
    """The signed-in user itself (not Flask-Login's proxy): services keep it."""
    return current_user._get_current_object()
