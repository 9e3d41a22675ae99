"""``HttpCXoneGateway``: the engine's gateway port spoken over HTTP to CXone's REST API.

One ``httpx.Client`` is built once and reused (building one costs ~32 ms). Every request goes
through the retry policy; every reply is read by ``responses``; every failure leaves here as
one of the engine's ``RemoteError`` types, never as an httpx exception.

A PUT is retried only when CXone certainly did not process it (a 429, a 503, a connection that
never opened). After anything else (a timeout, a dropped connection, a 500) it may have landed,
so the gateway reports ``RemoteUnavailable`` at once and the engine leaves the activation in
doubt for recovery to settle by reading the campaign: retrying it blindly would turn our own
success into a 412.
"""

from __future__ import annotations

import contextvars
import functools
import itertools
import os
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NamedTuple
from urllib.parse import quote, quote_plus, urljoin, urlsplit

import httpx

from adapters.cxone.auth import (
    BearerAuth,
    Credentials,
    SettingsError,
    TokenCache,
    check_base_url,
    refuse_untrusted,
    trust,
)
from adapters.cxone.budget import RequestBudget
from adapters.cxone.responses import (
    MAX_BODY,
    body_of,
    classify,
    contact,
    error_message,
    field,
    next_link,
    page_items,
    version_of,
)
from adapters.cxone.retry import DeadlineExceeded, Retryable, RetryPolicy
from adapters.cxone.tutorial import preview_config
from engine import (
    AuthError,
    BadResponse,
    CampaignSpec,
    Contact,
    RemoteCampaign,
    RemoteRejected,
    RemoteUnavailable,
    UploadRef,
    WebhookRef,
)
from events import Revision

MAX_PAGES = 1_000_000
MAX_TOKEN_LIFE = 7 * 24 * 3600  # a week: anything longer (or infinite) is not a token lifetime
LISTING_TIME = 3600.0  # seconds one listing may take, however many pages it has
"""A bound on the pages one listing follows (a server that never ends its list is a bug)."""


class _Request(NamedTuple):
    method: str
    url: str
    endpoint: str
    params: Any
    json: Any
    headers: dict[str, str]
    idempotent: bool
    until: float  # on the policy's clock: the whole call, reply body included, ends by then


_LIMITS = httpx.Limits(max_connections=300, max_keepalive_connections=300)
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _seconds(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 3600:
        raise SettingsError(f"{name} must be a number of seconds above 0 and below 3600")
    return value


def _rate(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 10_000:
        raise SettingsError(f"{name} must be a number of requests a second, above 0")
    return value


def http_options(environ: Mapping[str, str] | None, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with ``CXONE_CA_FILE``, ``CXONE_TIMEOUT`` and ``CXONE_MAX_RPS`` from
    ``environ`` (or the process's environment) where not given (both dialects' gateways)."""
    env = os.environ if environ is None else environ
    if env.get("CXONE_CA_FILE"):
        options.setdefault("ca_file", env["CXONE_CA_FILE"])
    if env.get("CXONE_TIMEOUT"):
        options.setdefault("timeout", _seconds(env["CXONE_TIMEOUT"], "CXONE_TIMEOUT"))
    if env.get("CXONE_MAX_RPS"):
        options.setdefault("max_rps", _rate(env["CXONE_MAX_RPS"], "CXONE_MAX_RPS"))
    return options


class HttpCXoneGateway:
    """CXone over HTTP with OAuth2 client credentials, retries and pagination."""

    dialect = "tutorial"  # the API it speaks: a spec of another dialect is refused

    def __init__(
        self,
        credentials: Credentials,
        *,
        client: httpx.Client | None = None,
        policy: RetryPolicy | None = None,
        token_margin: float = 60.0,
        timeout: float = 15.0,
        page_size: int = 250,
        insecure: bool = False,
        ca_file: str | None = None,
        max_rps: float | None = None,
        contact_window: int = 4,
    ) -> None:
        self.credentials = credentials
        self._base = check_base_url(credentials.base_url, insecure=insecure).rstrip("/")
        self._origin = urlsplit(self._base)[:2]
        self._client = (
            client
            if client is not None
            # Kept-alive connections for a pool of workers and the pages they fetch at once
            # (httpx keeps 20 by default; the 21st worker would connect anew every call).
            else httpx.Client(timeout=timeout, verify=trust(ca_file), limits=_LIMITS)
        )
        self._owns_client = client is None
        self.policy = policy or RetryPolicy()
        # Every thread's requests keep one pace, and a 429 holds them all (budget.py).
        self.budget = RequestBudget(max_rps, clock=self.policy.clock, sleep=self.policy.sleep)
        self.tokens = TokenCache(self._fetch_token, self.policy.clock, token_margin)
        self.auth = BearerAuth(self.tokens)
        self.page_size = page_size
        if not 1 <= contact_window <= 32:
            raise SettingsError("contact_window must be a whole number of pages from 1 to 32")
        self.contact_window = contact_window  # contact pages in flight at once (_pages)
        self._issued: list[str] = []  # every token CXone gave us: scrubbed from what it says
        self._needle_cache: tuple[int, tuple[str, ...]] = (-1, ())

    def _scrubbed(self, value: Any) -> Any:
        """Every string inside ``value`` (a reply's JSON, depth-limited already) scrubbed."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, list):
            return [self._scrubbed(v) for v in value]
        if isinstance(value, dict):
            return {self.scrub(str(k)): self._scrubbed(v) for k, v in value.items()}
        return value

    def scrub(self, text: str) -> str:
        """``text`` (from CXone) with the client secret and every token issued so far blanked,
        as written and as a form or URL would encode them: a server that echoes them back in
        an error must not put them into the journal, a log or the screen."""
        for form in self._needles():
            if form in text:
                text = text.replace(form, "[redacted]")
        return text

    def _needles(self) -> tuple[str, ...]:
        """What ``scrub`` blanks: the secret and every token issued so far, each as written
        and encoded, longest first; worked out again only when a token was issued since (a
        reply's every string is scrubbed: quoting them each time cost more than the read)."""
        issued = len(self._issued)
        known = self._needle_cache
        if known[0] == issued:
            return known[1]
        forms: set[str] = set()
        for value in (self.credentials.client_secret.reveal(), *self._issued[:issued]):
            if len(value) >= 4:
                forms |= {value, quote_plus(value), quote(value, safe="")}
        needles = tuple(sorted(forms, key=len, reverse=True))
        self._needle_cache = (issued, needles)  # one assignment: a reader sees old or new
        return needles

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **options: Any) -> HttpCXoneGateway:
        """From ``CXONE_BASE_URL``, ``CXONE_CLIENT_ID`` and ``CXONE_CLIENT_SECRET`` (or
        ``CXONE_CLIENT_SECRET_FILE``), and ``CXONE_CA_FILE``, ``CXONE_TIMEOUT`` (seconds to
        wait for a reply, 15 by default) and ``CXONE_MAX_RPS`` (requests a second, all
        threads together; no limit by default) if set, in ``environ`` or the process's
        environment."""
        return cls(Credentials.from_env(environ), **http_options(environ, options))

    def __repr__(self) -> str:
        return f"HttpCXoneGateway({self._base!r}, client_id={self.credentials.client_id!r})"

    def close(self) -> None:
        """Close the HTTP client if this gateway built it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> HttpCXoneGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the port ---------------------------------------------------------------------------

    def configuration(self, spec: CampaignSpec) -> dict[str, Any]:
        """The body ``put_preview_config`` sends for ``spec``, in the tutorial's shape."""
        return preview_config(spec)

    def count_active_previews(self) -> int:
        """Active preview campaigns, counted over every page."""
        params = {"type": "preview", "status": "active", "limit": 100}
        return sum(
            len(items)
            for items in self._pages("/api/v2/outbound/campaigns", params, "list campaigns")
        )

    def read_campaign(self, campaign_id: str) -> RemoteCampaign:
        """The campaign, its version from the body (or the ``ETag``) and its configuration."""
        endpoint = f"read campaign {campaign_id}"
        response = self._send("GET", self._campaign_path(campaign_id), endpoint)
        body = body_of(response, endpoint)
        version = version_of(body, response, endpoint)
        if "id" in body and str(body["id"]) != campaign_id:
            other = self.scrub(str(body["id"])[:80])
            raise BadResponse(f"{endpoint}: the reply is campaign {other!r}")
        status = body.get("status", "unknown") if isinstance(body, dict) else "unknown"
        config = {
            k: self._scrubbed(v) for k, v in body.items() if k not in ("id", "version", "status")
        }
        return RemoteCampaign(campaign_id, version, self.scrub(str(status)[:80]), config)

    def iter_contacts(self, contact_list_id: str) -> Iterator[Contact]:
        """The list's contacts, one page in memory at a time."""
        path = f"/api/v2/outbound/contactlists/{quote(contact_list_id, safe='')}/contacts"
        endpoint = f"contacts of {contact_list_id}"
        pages = self._pages(path, {"limit": self.page_size}, endpoint, self.contact_window)
        for items in pages:
            for item in items:
                yield contact(item, endpoint)

    def iter_suppressed_numbers(self) -> Iterator[str]:
        """Every suppressed number, over every page (the tutorial read only the first)."""
        endpoint = "suppressions"
        for items in self._pages("/api/v2/outbound/suppressions", {"limit": 1000}, endpoint):
            for item in items:
                number = field(item, "phoneNumber", str, endpoint)
                yield number

    def put_preview_config(
        self, campaign_id: str, config: Mapping[str, Any], if_match: Revision
    ) -> RemoteCampaign:
        """PUT with ``If-Match: "<version>"``; 412 (or a 409 version mismatch) is a conflict."""
        endpoint = f"update campaign {campaign_id}"
        if not isinstance(if_match, int):  # the tutorial's revisions are its integer versions
            raise RemoteRejected(
                f"{endpoint}: revision {str(if_match)[:40]!r} is not a version of this dialect "
                "(an integer); validate the campaign again",
                400,
            )
        response = self._send(
            "PUT",
            self._campaign_path(campaign_id),
            endpoint,
            json=dict(config),
            headers={"If-Match": f'"{if_match}"'},
            idempotent=False,
        )
        body = body_of(response, endpoint)
        version = version_of(body, response, endpoint)
        if version != if_match + 1:
            # CXone moves a campaign on by one per update: anything else is not a reply to
            # this PUT, and the outcome is settled by reading the campaign (in doubt).
            raise BadResponse(
                f"{endpoint}: the reply says version {version}, not {if_match + 1}; "
                "whether the PUT was applied is settled by reading the campaign"
            )
        if "id" in body and str(body["id"]) != campaign_id:
            other = self.scrub(str(body["id"])[:80])
            raise BadResponse(f"{endpoint}: the reply is campaign {other!r}")
        return RemoteCampaign(campaign_id, version, str(body.get("status", "active")), dict(config))

    def ensure_webhook(self, name: str, uri: str, event: str) -> WebhookRef:
        """Find the webhook by name and URI, or create it (a 409 duplicate means found)."""
        found = self._find_webhook(name, uri)
        if found is not None:
            return WebhookRef(found, created=False)
        endpoint = f"create webhook {name}"
        try:
            response = self._send(
                "POST",
                "/api/v2/webhooks",
                endpoint,
                # The tutorial's body, field for field (its step 5, RegisterWebhookAndLog).
                json={
                    "name": name,
                    "enabled": True,
                    "eventFilter": event,
                    "uri": uri,
                    "method": "POST",
                },
                idempotent=False,
            )
        except RemoteRejected as exc:
            if exc.status != 409:
                raise
            found = self._find_webhook(name, uri)
            if found is None:
                raise RemoteRejected(
                    f"a webhook named {name!r} exists with another URI; "
                    "rename ours or remove that one",
                    409,
                ) from None
            return WebhookRef(found, created=False)
        body = body_of(response, endpoint)
        return WebhookRef(str(field(body, "id", (str, int), endpoint)), created=True)

    def upload_contacts(self, campaign_id: str, list_name: str, eligible: bytes) -> UploadRef:
        """The tutorial's campaign names the contact list it dials: nothing is uploaded (the
        engine asks only in the ACD dialect)."""
        raise RemoteRejected(
            f"upload contacts for {campaign_id}: the tutorial's API has no calling list "
            "upload; a campaign dials the contact list its spec names",
            400,
        )

    def start_dialing(self, campaign_id: str) -> bool:
        """The tutorial's campaign dials once its PUT lands: there is nothing to start (the
        engine asks only in the ACD dialect)."""
        raise RemoteRejected(
            f"start dialing {campaign_id}: the tutorial's API has no start of its own; a "
            "campaign is active once its preview configuration is PUT",
            400,
        )

    def _find_webhook(self, name: str, uri: str) -> str | None:
        endpoint = "list webhooks"
        for items in self._pages("/api/v2/webhooks", {"name": name}, endpoint):
            for item in items:
                if not isinstance(item, dict):
                    raise BadResponse(f"{endpoint}: an item is not an object")
                if item.get("name") == name and (item.get("uri") or item.get("callbackUri")) == uri:
                    return str(field(item, "id", (str, int), endpoint))
        return None

    # --- plumbing ---------------------------------------------------------------------------

    @staticmethod
    def _campaign_path(campaign_id: str) -> str:
        return f"/api/v2/outbound/campaigns/{quote(campaign_id, safe='')}"

    def _pages(
        self, path: str, params: dict[str, Any], endpoint: str, window: int = 1
    ) -> Iterator[list[Any]]:
        """Each page's items, following next links (same origin only: they carry our token).

        With a ``window`` above 1, a listing whose first page gives its ``totalRecords`` has
        its other pages asked for by number (the tutorial's ``?limit=&page=``), up to
        ``window`` of them in flight at once and handed on in order: the next pages are on
        their way while this one is judged, and CXone's latency is paid once per window, not
        once per page. At most ``window`` pages are held."""
        url: str | None = self._base + path
        query: dict[str, Any] | None = params
        seen: set[str] = set()
        most, items_seen = MAX_PAGES, 0
        until = self.policy.clock() + LISTING_TIME
        for page in range(MAX_PAGES):
            if url is None:
                return
            if page >= most or self.policy.clock() > until:
                raise BadResponse(
                    f"{endpoint}: the listing goes on past {page} pages and {items_seen:,} "
                    "items, more than its own totals or the time allowed; stopped following it"
                )
            response = self._send("GET", url, endpoint, params=query)
            body = body_of(response, endpoint)
            items = page_items(body, endpoint)
            items_seen += len(items)
            yield items
            total = body.get("totalRecords") if isinstance(body, dict) else None
            if page == 0 and type(total) is int and total >= 0 and items:
                most = -(-total // len(items)) + 1  # its own pages, and one to spare
            link = next_link(body, endpoint)
            if link is None:
                return
            if page == 0 and window > 1 and most < MAX_PAGES:
                pages = most - 1
                yield from self._numbered_pages(
                    path, params, endpoint, per_page=len(items), pages=pages, window=window
                )
                return
            url, query = self._follow(link, endpoint), None
            if url in seen:
                raise BadResponse(f"{endpoint}: next link {link!r} repeats a page")
            seen.add(url)

    def _numbered_pages(
        self,
        path: str,
        params: dict[str, Any],
        endpoint: str,
        *,
        per_page: int,
        pages: int,
        window: int,
    ) -> Iterator[list[Any]]:
        """Pages 2 to ``pages`` of a listing whose first held ``per_page`` items, fetched
        ``window`` at a time by page number, in order. A page short of ``per_page`` before the
        last, or a last page that still links on, means the list changed while it was read:
        ``BadResponse`` (a filter must not judge a list that moved under it)."""

        def fetch(number: int) -> tuple[list[Any], bool]:
            query = {**params, "page": number}
            body = body_of(self._send("GET", self._base + path, endpoint, params=query), endpoint)
            return page_items(body, endpoint), next_link(body, endpoint) is not None

        # A thread of this listing's reports its retries to the step that asked (the
        # tally lives in a context variable: each fetch runs in a copy of the caller's).
        pool = ThreadPoolExecutor(window, thread_name_prefix=f"pages of {endpoint}"[:40])
        try:
            queued: deque[Future[tuple[list[Any], bool]]] = deque()
            numbers = iter(range(2, pages + 1))
            for number in itertools.islice(numbers, window):
                queued.append(pool.submit(contextvars.copy_context().run, fetch, number))
            number = 1
            while queued:
                items, more = queued.popleft().result()
                number += 1
                for following in itertools.islice(numbers, 1):
                    queued.append(pool.submit(contextvars.copy_context().run, fetch, following))
                last = number == pages
                if last and more:
                    raise BadResponse(
                        f"{endpoint}: the listing goes on past page {pages}, more than its "
                        f"own totals say; stopped following it"
                    )
                if not last and (len(items) != per_page or not more):
                    raise BadResponse(
                        f"{endpoint}: page {number} of {pages} holds {len(items)} items"
                        + (" and links on" if more else "")
                        + f" where page 1 held {per_page}: the list changed while it was "
                        "read; read it again"
                    )
                yield items
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _follow(self, link: str, endpoint: str) -> str:
        url = urljoin(self._base + "/", link)
        if urlsplit(url)[:2] != self._origin:
            raise BadResponse(f"{endpoint}: next link points at another host ({urlsplit(url)[1]})")
        return url

    def _send(
        self,
        method: str,
        url: str,
        endpoint: str,
        *,
        params: Any = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        """One request through the retry policy, with a token, and one refresh on a 401."""
        request = _Request(
            method,
            self._base + url if url.startswith("/") else url,
            endpoint,
            params,
            json,
            headers or {},
            idempotent,
            self.policy.clock() + self.policy.deadline,
        )
        return self._retrying(functools.partial(self._attempt, request), endpoint)

    def _attempt(self, request: _Request) -> httpx.Response:
        """One try: the request with a token; after a 401, once more with a fresh one."""
        response = self._once(request)
        if response.status_code == 401:
            self.auth.refused(response.request)
            response = self._once(request)
            if response.status_code == 401:
                raise AuthError(
                    f"{request.endpoint}: CXone refused a freshly issued token (401)", 401
                )
        self._classify(response, request.endpoint, request.idempotent)
        return response

    def _classify(self, response: httpx.Response, endpoint: str, idempotent: bool) -> None:
        """``classify``, and a 429 holds every thread's next request (budget.py)."""
        try:
            classify(response, endpoint, idempotent, self.scrub)
        except Retryable as exc:
            if exc.status == 429:
                # Without a hint: the least wait the policy itself would keep after a 429.
                hint = exc.wait_hint
                self.budget.hold(hint if hint is not None else self.policy.floor(1))
            raise

    def _once(self, request: _Request) -> httpx.Response:
        """One HTTP exchange; the request is built anew each time (no consumed bodies)."""
        self.budget.take()
        try:
            return self._exchange(
                self._client.build_request(
                    request.method,
                    request.url,
                    params=request.params,
                    json=request.json,
                    headers={"Accept": "application/json", **request.headers},
                    timeout=self._timeout_until(request.until),
                ),
                request.endpoint,
                request.until,
                auth=self.auth,
            )
        except _NOT_SENT as exc:
            refuse_untrusted(exc, request.endpoint, request.url)
            raise Retryable(
                f"{request.endpoint}: could not connect ({type(exc).__name__})"
            ) from None
        except httpx.TransportError as exc:
            if request.idempotent:
                raise Retryable(f"{request.endpoint}: {type(exc).__name__}") from None
            raise RemoteUnavailable(
                f"{request.endpoint}: {type(exc).__name__} after the request "
                "was sent; it may or may not have been applied"
            ) from None

    def _timeout_until(self, until: float) -> httpx.Timeout:
        """The client's timeouts, none longer than what is left before ``until``: a reply that
        trickles in a byte at a time cannot hold a call past its deadline."""
        left = max(until - self.policy.clock(), 0.001)
        t = self._client.timeout
        return httpx.Timeout(
            connect=min(t.connect or left, left),
            read=min(t.read or left, left),
            write=min(t.write or left, left),
            pool=min(t.pool or left, left),
        )

    def _exchange(
        self,
        request: httpx.Request,
        endpoint: str,
        until: float,
        auth: httpx.Auth | None = None,
    ) -> httpx.Response:
        """Send and read the reply, never more than ``MAX_BODY`` bytes of it (a reply that
        announces or turns out to be larger is dropped unread: ``BadResponse``), and never
        past ``until`` (``RemoteUnavailable``)."""
        response = self._client.send(request, stream=True, auth=auth)
        try:
            announced = response.headers.get("content-length", "")
            if announced.isdigit() and int(announced) > MAX_BODY:
                raise BadResponse(
                    f"{endpoint}: reply of {int(announced):,} bytes is over the "
                    f"{MAX_BODY:,}-byte limit; not read"
                )
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                if self.policy.clock() > until:
                    raise RemoteUnavailable(
                        f"{endpoint}: the reply was still arriving when the "
                        f"{self.policy.deadline:g}s deadline passed; stopped reading it"
                        + ("" if request.method == "GET" else "; it may have been applied")
                    )
                size += len(chunk)
                if size > MAX_BODY:
                    raise BadResponse(
                        f"{endpoint}: reply is over the {MAX_BODY:,}-byte limit; stopped reading it"
                    )
                chunks.append(chunk)
        except httpx.DecodingError:
            encoding = response.headers.get("content-encoding", "")
            raise BadResponse(f"{endpoint}: reply does not decode as {encoding!r}") from None
        finally:
            response.close()
        # The body is decoded already (the cap counts decoded bytes, so a compressed bomb
        # stops at the cap too): the new response must not decode it again.
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length")
        ]
        return httpx.Response(
            response.status_code, headers=headers, content=b"".join(chunks), request=request
        )

    def _retrying(self, attempt: Any, endpoint: str) -> httpx.Response:
        try:
            response: httpx.Response = self.policy.run(attempt)
        except DeadlineExceeded as exc:
            raise RemoteUnavailable(
                f"{endpoint}: no answer within the {self.policy.deadline:g}s deadline "
                f"({exc.attempts} attempts; last: {exc.last.cause})"
            ) from None
        return response

    def _send_plain(
        self,
        method: str,
        url: str,
        endpoint: str,
        *,
        params: Any = None,
        data: Any = None,
        json: Any = None,
        refused: str | None = None,
    ) -> httpx.Response:
        """A request without our token (a token endpoint, the ACD API's discovery), retried
        as any; with ``refused`` (who we are: the credentials), a 400, 401 or 403 is an
        ``AuthError`` saying CXone refused them."""
        until = self.policy.clock() + self.policy.deadline

        def attempt() -> httpx.Response:
            self.budget.take()
            try:
                response = self._exchange(
                    self._client.build_request(
                        method,
                        url,
                        params=params,
                        data=data,
                        json=json,
                        headers={"Accept": "application/json"},
                        timeout=self._timeout_until(until),
                    ),
                    endpoint,
                    until,
                )
            except httpx.TransportError as exc:
                refuse_untrusted(exc, endpoint, url)
                raise Retryable(f"{endpoint}: {type(exc).__name__}") from None
            if refused is not None and response.status_code in (400, 401, 403):
                raise AuthError(
                    f"CXone refused {refused} "
                    f"({response.status_code}: {self.scrub(error_message(response))})",
                    response.status_code,
                )
            self._classify(response, endpoint, True)
            return response

        return self._retrying(attempt, endpoint)

    def _fetch_token(self) -> tuple[str, float]:
        endpoint = "token"
        creds = self.credentials
        form = {
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret.reveal(),
        }
        response = self._send_plain(
            "POST",
            self._base + "/api/v2/oauth/token",
            endpoint,
            data=form,
            refused=f"the client credentials of {creds.client_id!r}",
        )
        body = body_of(response, endpoint)
        token = field(body, "access_token", str, endpoint)
        expires_in = field(body, "expires_in", (int, float), endpoint)
        self._issued.append(token)
        if not token or not 0 < expires_in <= MAX_TOKEN_LIFE:
            raise BadResponse(
                f"{endpoint}: an empty token, or an expires_in that is not between 0 and "
                f"{MAX_TOKEN_LIFE:,} seconds"
            )
        return token, float(expires_in)
