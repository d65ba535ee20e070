"""All models, imported here so Alembic and the app see the whole schema."""

from portal.models._base import iso_z, utcnow
from portal.models.campaigns import Campaign, CiscoCampaign
from portal.models.contacts import (
    BUSINESS_PARAMS,
    PHONES,
    CallResultInbox,
    Contact,
    ContactAttempt,
)
from portal.models.dnc import DncEntry
from portal.models.settings import AuditLog, FeedHeartbeat, PreferenceSettings
from portal.models.strategies import CallStrategy, StrategyAttempt
from portal.models.uploads import Upload, UploadError
from portal.models.users import (
    ROLE_DESCRIPTIONS,
    ROLES,
    RefreshToken,
    RevokedAccessToken,
    User,
)

__all__ = [
    "AuditLog",
    "BUSINESS_PARAMS",
    "CallResultInbox",
    "CallStrategy",
    "Campaign",
    "CiscoCampaign",
    "Contact",
    "ContactAttempt",
    "DncEntry",
    "FeedHeartbeat",
    "PHONES",
    "PreferenceSettings",
    "ROLES",
    "ROLE_DESCRIPTIONS",
    "RefreshToken",
    "RevokedAccessToken",
    "StrategyAttempt",
    "Upload",
    "UploadError",
    "User",
    "iso_z",
    "utcnow",
]
