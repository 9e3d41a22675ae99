"""Credentials that never print, and a token cache that refreshes once, early, for everyone.

The tutorial's cache refreshed with no margin (a token could expire in flight) and let every
caller refresh at once. Here a token is replaced ``margin`` seconds before it expires, under a
lock, so one caller fetches while the others wait for its result; a 401 invalidates exactly the
token that was refused (not a fresher one another thread already fetched).
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import threading
from collections.abc import Callable, Generator
from pathlib import Path
from urllib.parse import urlsplit

import attrs
import certifi
import httpx

from engine import RemoteRejected
from events import CxpreviewError


class Secret:
    """A string that shows as ``'***'`` in every repr, str and f-string; ``reveal()`` to use it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@attrs.frozen
class Credentials:
    """Where CXone is and who we are to it. The secret is redacted in the repr."""

    base_url: str
    client_id: str
    client_secret: Secret

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Credentials:
        """From ``CXONE_BASE_URL``, ``CXONE_CLIENT_ID`` and ``CXONE_CLIENT_SECRET``
        (or ``CXONE_CLIENT_SECRET_FILE``, a file only its owner may read)."""
        env = dict(os.environ if environ is None else environ)
        missing = [k for k in ("CXONE_BASE_URL", "CXONE_CLIENT_ID") if not env.get(k)]
        secret = env.get("CXONE_CLIENT_SECRET")
        if secret is None and env.get("CXONE_CLIENT_SECRET_FILE"):
            secret = read_secret_file(Path(env["CXONE_CLIENT_SECRET_FILE"]))
        if secret is None:
            missing.append("CXONE_CLIENT_SECRET")
        if missing:
            raise SettingsError(
                f"CXone settings missing from the environment: {', '.join(missing)}"
            )
        return cls(env["CXONE_BASE_URL"], env["CXONE_CLIENT_ID"], Secret(secret or ""))


class SettingsError(CxpreviewError, ValueError):
    """CXone settings that are missing, unreadable or unsafe: a configuration problem, not
    the engine's (exit 2)."""


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, *, insecure: bool = False) -> str:
    """The base URL, if it is safe to send a client secret to: ``https://``, or ``http://`` to
    a loopback address (the simulator), or ``http://`` anywhere with ``insecure``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            f"CXone base URL must be https://host[:port] (found scheme {parts.scheme!r}, "
            f"host {parts.hostname!r})"
        )
    if parts.username or parts.password:
        raise SettingsError("CXone base URL must not carry a user or password")
    if parts.scheme == "http" and not insecure and not is_loopback(parts.hostname):
        raise SettingsError(
            f"refusing http://{parts.hostname}: the client secret and tokens would cross the "
            "network unencrypted; use https://, or --insecure if this is really meant"
        )
    return url


def read_secret_file(path: Path) -> str:
    """A secret from a file that group and others cannot read."""
    try:
        mode = path.stat().st_mode
        if mode & 0o077:
            raise SettingsError(
                f"{path} is readable by group or others (mode {mode & 0o777:o}); "
                f"chmod 600 {path} and try again"
            )
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"cannot read the client secret file {path}: {exc.strerror}") from None


Fetch = Callable[[], tuple[str, float]]
"""Fetches a fresh token: ``(access_token, expires_in_seconds)``."""


class TokenCache:
    """One bearer token shared by all threads, refreshed ``margin`` seconds before expiry."""

    def __init__(self, fetch: Fetch, clock: Callable[[], float], margin: float = 60.0) -> None:
        self._fetch = fetch
        self._clock = clock
        self._margin = margin
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        self.fetches = 0

    def get(self) -> str:
        """A token good for at least ``margin`` more seconds (fetched if need be, once)."""
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                token, expires_in = self._fetch()
                self.fetches += 1
                # A token that lives shorter than twice the margin is used for half its life.
                early = min(self._margin, expires_in / 2)
                self._token, self._refresh_at = token, self._clock() + expires_in - early
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (refused with a 401) unless a fresher one has replaced it already."""
        with self._lock:
            if self._token == token:
                self._token = None

    def __repr__(self) -> str:
        state = "empty" if self._token is None else "holding a token"
        return f"<TokenCache {state}, {self.fetches} fetches>"


class BearerAuth(httpx.Auth):
    """The OAuth2 bearer token on every request, as an httpx auth flow over the cache.

    The one retry after a 401 is the gateway's, not this flow's: httpx reads a reply in full
    before an auth flow may send again, which would let a refused reply's body past the
    gateway's size limit.
    """

    def __init__(self, tokens: TokenCache) -> None:
        self.tokens = tokens

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send ``request`` with a token good for at least the cache's margin."""
        request.headers["Authorization"] = f"Bearer {self.tokens.get()}"
        yield request

    def refused(self, request: httpx.Request) -> None:
        """CXone answered ``request`` 401: forget the token it carried (unless a fresher one
        has replaced it already), so the next request fetches a new one."""
        self.tokens.invalidate(request.headers.get("Authorization", "").removeprefix("Bearer "))


def trust(ca_file: str | None) -> ssl.SSLContext:
    """Verification against the usual CA bundle, plus ``ca_file`` (a private CA) if given."""
    context = ssl.create_default_context(cafile=certifi.where())
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise SettingsError(f"cannot use {ca_file} as a CA file: {exc}") from None
    return context


def refuse_untrusted(exc: httpx.TransportError, endpoint: str, url: str) -> None:
    """A TLS certificate that does not verify is not a network blip: no retry, and no way
    around it but trusting the right CA (verification is never switched off)."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
        reason = getattr(cause, "verify_message", None) or "certificate verify failed"
        raise RemoteRejected(
            f"{endpoint}: the TLS certificate of {urlsplit(url).netloc} is not trusted "
            f"({reason}); nothing was sent. Trust the CA that issued it with --ca-file "
            "(CXONE_CA_FILE); verification is never turned off.",
            None,
        ) from None
