"""The JSON adapter for /umm/...: one module per seed resource, one error shape."""

from portal.api import (
    callbacks,
    campaigns,
    dnc,
    exports,  # noqa: F401
    feed,  # noqa: F401
    login,
    openapi,
    preferences,
    steering,  # noqa: F401
    strategies,
    uploads,  # noqa: F401
)  # noqa: F401
from portal.api.core import bp

__all__ = ["bp"]
