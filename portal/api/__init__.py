"""The JSON adapter for /umm/...: one module per seed resource, one error shape."""

# Importing a resource module registers its routes on `bp`: nothing else is used.
from portal.api import (
    callbacks,  # noqa: F401
    campaigns,  # noqa: F401
    consent,  # noqa: F401
    dnc,  # noqa: F401
    exports,  # noqa: F401
    feed,  # noqa: F401
    login,  # noqa: F401
    openapi,
    preferences,  # noqa: F401
    steering,  # noqa: F401
    strategies,  # noqa: F401
    uploads,  # noqa: F401
)
from portal.api.core import bp

__all__ = ["bp", "openapi"]
