"""All models, imported here so Alembic and the app see the whole schema."""

from portal.models._base import iso_z, utcnow
from portal.models.campaigns import Campaign, CiscoCampaign
from portal.models.consent import (
    ContactNumberBlock,
    DncList,
    DncListEntry,
    ErasedNumber,
    NumberLockout,
    OptOut,
    ResultEffect,
)
from portal.models.contacts import (
    BUSINESS_PARAMS,
    PHONES,
    CallResultInbox,
    Contact,
    ContactAttempt,
    DialLog,
)
from portal.models.dnc import DncEntry
from portal.models.reports import AttemptCount
from portal.models.settings import (
    AuditLog,
    DialerWatermark,
    FeedHeartbeat,
    PreferenceSettings,
)
from portal.models.strategies import CallStrategy, StrategyAttempt
from portal.models.uploads import Upload, UploadError, UploadFile, UploadFileChunk
from portal.models.users import (
    ROLE_DESCRIPTIONS,
    ROLES,
    PortalSession,
    RefreshToken,
    RevokedAccessToken,
    RevokedTokenFamily,
    User,
)

__all__ = [
    "ResultEffect",
    "OptOut",
    "NumberLockout",
    "ErasedNumber",
    "DncListEntry",
    "DncList",
    "ContactNumberBlock",
    "AttemptCount",
    "AuditLog",
    "BUSINESS_PARAMS",
    "CallResultInbox",
    "CallStrategy",
    "Campaign",
    "CiscoCampaign",
    "Contact",
    "ContactAttempt",
    "DialLog",
    "DialerWatermark",
    "DncEntry",
    "FeedHeartbeat",
    "PHONES",
    "PortalSession",
    "PreferenceSettings",
    "ROLES",
    "ROLE_DESCRIPTIONS",
    "RefreshToken",
    "RevokedAccessToken",
    "RevokedTokenFamily",
    "StrategyAttempt",
    "Upload",
    "UploadError",
    "UploadFile",
    "UploadFileChunk",
    "User",
    "iso_z",
    "utcnow",
]
