"""CXone over HTTP: OAuth2 client credentials, a tenacity retry policy, the gateway itself.

httpx and tenacity are used here and nowhere else; what leaves this package is the engine's
own ``RemoteError`` family.
"""

from adapters.cxone.auth import Credentials, Secret, SettingsError, TokenCache, check_base_url
from adapters.cxone.client import HttpCXoneGateway
from adapters.cxone.retry import RetryPolicy

__all__ = [
    "Credentials",
    "HttpCXoneGateway",
    "RetryPolicy",
    "Secret",
    "SettingsError",
    "TokenCache",
    "check_base_url",
]
