"""The JSON adapter for /umm/...: one module per seed resource, one error shape."""

from portal.api import callbacks, campaigns, dnc, login, openapi, preferences, strategies  # noqa: F401
from portal.api import exports  # noqa: F401
from portal.api import feed  # noqa: F401
from portal.api import uploads  # noqa: F401
from portal.api.core import bp

__all__ = ["bp"]
