"""The CXone stand-in: an ASGI app (starlette) with the tutorial's endpoints and the behaviour
of the real service that matters here: tokens that expire, 401 without one, clamped and
paginated listings, ``If-Match`` enforced on PUT (428 without, 412 when stale), webhooks with
409 on a duplicate name, error bodies ``{message, code, status, contextId}``, a fault plan, and
a request log (also served at ``/_sim/log``) that tests read to count effects.
"""

from __future__ import annotations

import base64
import itertools
import secrets
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, urlencode

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.simulator.acd import AcdApi
from adapters.simulator.chaos import spoil
from adapters.simulator.data import Dataset
from adapters.simulator.faults import Fault, FaultPlan
from adapters.simulator.shapes import Dialect, DroppedReply

Handler = Callable[[Request], Awaitable[Response]]
PREVIEW_CONFIG = {
    "type": "preview",
    "contactLists": [],
    "dialingRules": {"strategy": "preview", "maxAttempts": 1, "callbackEnabled": False},
    "agentDirectives": [],
    "previewSettings": {
        "previewDialingMode": "manual",
        "agentPromptEnabled": True,
        "previewTimeoutSeconds": 30,
    },
}


class Simulator:
    """CXone in a box. ``app`` is the ASGI application; everything else is for tests."""

    def __init__(
        self,
        dataset: Dataset | None = None,
        *,
        faults: FaultPlan | None = None,
        client_id: str = "cxpreview",
        client_secret: str = "simulated-secret",  # noqa: S107 - the stand-in's own test credential
        token_ttl: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        dialect: Dialect | None = None,
        active_previews: int = 2,
    ) -> None:
        self.dataset = dataset or Dataset()
        self.faults = faults or FaultPlan()
        self.client_id, self._client_secret = client_id, client_secret
        self.token_ttl, self.clock = token_ttl, clock
        self.dialect = dialect or Dialect()
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, float] = {}
        self.issued_tokens: list[str] = []
        self.log: list[dict[str, Any]] = []
        # Requests being answered now, and the most there were at once, by route.
        self.in_flight: Counter[str] = Counter()
        self.most_in_flight: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        for n in range(1001, 1011):
            self.add_campaign(f"cmp-{n}", version=4)
        for n in range(active_previews):
            self.add_campaign(f"cmp-9{n:03d}", status="active", version=7)
        self.acd = AcdApi(self, running_previews=active_previews)  # the ACD dialect's tenant
        self.app = Starlette(
            routes=[
                Route(
                    "/api/v2/oauth/token",
                    self._guard("token", self._token, bearer=False),
                    methods=["POST"],
                ),
                Route("/api/v2/outbound/campaigns", self._guard("campaigns", self._campaigns)),
                Route(
                    "/api/v2/outbound/campaigns/{id}",
                    self._guard("campaign", self._campaign),
                    methods=["GET"],
                ),
                Route(
                    "/api/v2/outbound/campaigns/{id}",
                    self._guard("put_campaign", self._put),
                    methods=["PUT"],
                ),
                Route(
                    "/api/v2/outbound/contactlists/{id}/contacts",
                    self._guard("contacts", self._contacts),
                ),
                Route(
                    "/api/v2/outbound/suppressions", self._guard("suppressions", self._suppressions)
                ),
                Route(
                    "/api/v2/webhooks",
                    self._guard("webhooks", self._webhooks),
                    methods=["GET", "POST"],
                ),
                *self.acd.routes(),
                Route("/_sim/log", self._log_route),
                Route("/_sim/campaigns", self._add_campaign_route, methods=["POST"]),
                Route("/_sim/faults", self._add_fault_route, methods=["POST"]),
            ]
        )

    def __repr__(self) -> str:
        return (
            f"<Simulator {len(self.campaigns)} campaigns, {self.dataset.contacts:,} contacts,"
            f" {len(self.log)} requests>"
        )

    # --- for tests ----------------------------------------------------------------------------

    def add_campaign(
        self, campaign_id: str, *, status: str = "inactive", version: int = 1, **config: Any
    ) -> dict[str, Any]:
        """A preview campaign CXone knows about."""
        campaign = {
            "id": campaign_id,
            "name": f"Campaign {campaign_id}",
            **PREVIEW_CONFIG,
            **config,
            "status": status,
            "version": version,
        }
        with self._lock:
            self.campaigns[campaign_id] = campaign
        return campaign

    def edit(self, campaign_id: str, **changes: Any) -> int:
        """Someone else's edit in CXone: apply ``changes``, bump the version, return it."""
        with self._lock:
            campaign = self.campaigns[campaign_id]
            campaign.update(changes)
            campaign["version"] += 1
            return int(campaign["version"])

    def expire_tokens(self) -> None:
        """Every token issued so far stops working now."""
        with self._lock:
            self.tokens.clear()

    def applied_puts(self, campaign_id: str | None = None) -> list[dict[str, Any]]:
        """The PUTs that changed a campaign (all, or one campaign's)."""
        return [
            e
            for e in self.log
            if e["route"] == "put_campaign"
            and e["changed"]
            and campaign_id in (None, e.get("campaign"))
        ]

    # --- plumbing -----------------------------------------------------------------------------

    def _record(self, request: Request, route: str, status: int, **extra: Any) -> None:
        with self._lock:
            self.log.append(
                {
                    "seq": len(self.log) + 1,
                    "method": request.method,
                    "path": request.url.path,
                    "route": route,
                    "status": status,
                    "changed": extra.pop("changed", False),
                    **extra,
                }
            )

    def _error(  # noqa: PLR0917 - mirrors the error body's fields, in order
        self,
        request: Request,
        route: str,
        status: int,
        message: str,
        code: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> Response:
        self._record(request, route, status, **extra)
        body = {
            "message": message,
            "code": code,
            "status": status,
            "contextId": f"ctx-{next(self._ids):06d}",
        }
        return JSONResponse(body, status, headers=headers)

    def _ok(
        self,
        request: Request,
        route: str,
        body: Any,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> Response:
        self._record(request, route, status, **extra)
        return JSONResponse(body, status, headers=headers)

    def _guard(self, route: str, handler: Handler, *, bearer: bool = True) -> Handler:
        """Faults first, then the bearer token, then the handler (whose reply chaos spoils)."""

        async def guarded(request: Request) -> Response:
            with self._lock:
                self.in_flight[route] += 1
                self.most_in_flight[route] = max(self.most_in_flight[route], self.in_flight[route])
            try:
                return await answer(request)
            finally:
                with self._lock:
                    self.in_flight[route] -= 1

        async def answer(request: Request) -> Response:
            # Like a real server, finish what was asked even when the client stops waiting
            # (its timeout, or its process killed): the body is read as it arrives, before any
            # latency, so a slow PUT still lands after its client has gone.
            if request.method in ("POST", "PUT"):
                await request.body()
            fault = self.faults.take(route)
            if fault is not None and fault.kind != "chaos":
                early = await self._misbehave(request, route, fault)
                if early is not None:
                    return early
            if bearer:
                token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
                with self._lock:
                    expires = self.tokens.get(token)
                if expires is None or expires <= self.clock():
                    return self._error(
                        request, route, 401, "Invalid or expired access token", "Unauthorized"
                    )
            response = await handler(request)
            if fault is not None and fault.kind == "chaos":
                with self._lock:
                    if self.log and self.log[-1]["path"] == request.url.path:
                        self.log[-1]["chaos"] = fault.variant
                return spoil(response, fault.variant, fault.size)
            return response

        return guarded

    async def _misbehave(  # noqa: PLR0911 - one return per kind of fault
        self, request: Request, route: str, fault: Fault
    ) -> Response | None:
        if fault.kind == "latency":
            await anyio.sleep(fault.seconds)
            return None
        if fault.kind == "expire_tokens":
            self.expire_tokens()
            return None
        if fault.kind == "concurrent_edit":
            campaign_id = request.path_params.get("id", "")
            if campaign_id in self.campaigns:
                old = self.campaigns[campaign_id].get(fault.field)
                new = f"{old} (edited)" if isinstance(old, str) else "edited elsewhere"
                self.edit(campaign_id, **{fault.field: new})
            return None
        if fault.kind == "drop":
            self._record(request, route, 0, dropped=True)
            return DroppedReply()
        if fault.kind == "refuse_items":  # a batch endpoint's 200 with an item refused
            body = {"results": [{"success": False, "error": "simulated refusal of this item"}]}
            return self._ok(request, route, body, refused=True)
        if fault.kind == "rate_limit":
            headers = {}
            if fault.retry_after == "seconds":
                headers["Retry-After"] = str(int(fault.seconds))
            elif fault.retry_after == "date":
                headers["Retry-After"] = formatdate(time.time() + fault.seconds, usegmt=True)
            return self._error(request, route, 429, "Too many requests", "TooManyRequests", headers)
        return self._error(request, route, fault.status, "Injected failure", "Injected")

    def _page(
        self, request: Request, route: str, total: int, item: Callable[[int], Any], most: int
    ) -> Response:
        """Page ``page`` (1-based) of ``total`` items, ``limit`` clamped to ``most``."""
        try:
            limit = max(1, min(int(request.query_params.get("limit", most)), most))
            page = max(1, int(request.query_params.get("page", 1)))
        except ValueError:
            return self._error(request, route, 400, "limit and page must be integers", "BadRequest")
        start = (page - 1) * limit
        body: dict[str, Any] = {
            self.dialect.items_key: [item(i) for i in range(start, min(start + limit, total))],
            "totalRecords": total,
        }
        if start + limit < total:
            query = {**dict(request.query_params), "limit": limit, "page": page + 1}
            link = f"{request.url.path}?{urlencode(query)}"
            if self.dialect.absolute_next:
                link = f"{request.url.scheme}://{request.url.netloc}{link}"
            body[self.dialect.next_key] = link
        elif self.dialect.last_page_next != "absent":
            body[self.dialect.next_key] = None if self.dialect.last_page_next == "null" else ""
        return self._ok(request, route, body, page=page)

    # --- routes -------------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            except ValueError:
                client_id = secret = None
        if form.get("grant_type") != "client_credentials":
            return self._error(
                request,
                "token",
                400,
                "grant_type must be client_credentials",
                "UnsupportedGrantType",
            )
        if client_id != self.client_id or secret != self._client_secret:
            return self._error(request, "token", 401, "Invalid client credentials", "InvalidClient")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = self.clock() + self.token_ttl
            self.issued_tokens.append(token)
        return self._ok(
            request,
            "token",
            {"access_token": token, "token_type": "bearer", "expires_in": int(self.token_ttl)},
        )

    async def _campaigns(self, request: Request) -> Response:
        wanted = {
            k: request.query_params[k] for k in ("type", "status") if k in request.query_params
        }
        with self._lock:
            rows = [
                dict(c)
                for c in self.campaigns.values()
                if all(c.get(k) == v for k, v in wanted.items())
            ]
        return self._page(request, "campaigns", len(rows), rows.__getitem__, 100)

    async def _campaign(self, request: Request) -> Response:
        campaign_id = request.path_params["id"]
        with self._lock:
            campaign = dict(self.campaigns.get(campaign_id) or {})
        if not campaign:
            return self._error(
                request, "campaign", 404, f"Campaign {campaign_id} not found", "NotFound"
            )
        return self._ok(
            request,
            "campaign",
            campaign,
            campaign=campaign_id,
            headers={"ETag": f'"{campaign["version"]}"'},
        )

    async def _put(self, request: Request) -> Response:
        campaign_id = request.path_params["id"]
        tag = request.headers.get("if-match")
        if tag is None:
            return self._error(
                request,
                "put_campaign",
                428,
                "If-Match is required",
                "PreconditionRequired",
                campaign=campaign_id,
            )
        expected = tag.strip().removeprefix("W/").strip('"')
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("type") != "preview":
            return self._error(
                request,
                "put_campaign",
                400,
                "body must be a preview campaign configuration",
                "BadRequest",
                campaign=campaign_id,
            )
        with self._lock:
            campaign = self.campaigns.get(campaign_id)
            if campaign is None:
                current = None
            else:
                current = campaign["version"]
                if expected == str(current):
                    campaign.update(
                        {k: v for k, v in body.items() if k not in ("id", "version", "status")}
                    )
                    campaign["version"] = current + 1
                    campaign["status"] = "active"
        if current is None:
            return self._error(
                request,
                "put_campaign",
                404,
                f"Campaign {campaign_id} not found",
                "NotFound",
                campaign=campaign_id,
            )
        if expected != str(current):
            return self._error(
                request,
                "put_campaign",
                412,
                f"Version {expected} is stale; the campaign is at {current}",
                "VersionMismatch",
                headers={"ETag": f'"{current}"'},
                campaign=campaign_id,
                if_match=expected,
            )
        return self._ok(
            request,
            "put_campaign",
            {"version": current + 1, "status": "active"},
            headers={"ETag": f'"{current + 1}"'},
            changed=True,
            campaign=campaign_id,
            if_match=expected,
            version=current + 1,
        )

    async def _contacts(self, request: Request) -> Response:
        list_id = request.path_params["id"]
        if list_id != self.dataset.contact_list_id:
            return self._error(
                request, "contacts", 404, f"Contact list {list_id} not found", "NotFound"
            )
        return self._page(request, "contacts", self.dataset.contacts, self.dataset.contact, 250)

    async def _suppressions(self, request: Request) -> Response:
        return self._page(
            request, "suppressions", self.dataset.suppressions, self.dataset.suppression, 1000
        )

    async def _webhooks(self, request: Request) -> Response:
        if request.method == "GET":
            name = request.query_params.get("name")
            with self._lock:
                rows = [w for w in self.webhooks.values() if name in (None, w["name"])]
            return self._page(request, "webhooks", len(rows), rows.__getitem__, 100)
        try:
            body = await request.json()
        except ValueError:
            body = None
        problem = _webhook_problem(body)
        if problem is not None:
            return self._error(request, "webhooks", 400, problem, "BadRequest")
        with self._lock:
            if any(w["name"] == body["name"] for w in self.webhooks.values()):
                duplicate = True
            else:
                duplicate = False
                hook = {
                    "id": f"wh-{len(self.webhooks) + 1}",
                    "name": body["name"],
                    "uri": body["uri"],
                    "enabled": body["enabled"],
                    "eventFilter": body["eventFilter"],
                    "method": body["method"],
                }
                self.webhooks[hook["id"]] = hook
        if duplicate:
            return self._error(
                request,
                "webhooks",
                409,
                f"A webhook named {body['name']} already exists",
                "Duplicate",
            )
        return self._ok(request, "webhooks", hook, 201, changed=True)

    async def _add_campaign_route(self, request: Request) -> Response:
        """Test set-up over HTTP, for a simulator in another process: add a campaign."""
        body = await request.json()
        campaign = self.add_campaign(
            str(body["id"]),
            status=str(body.get("status", "inactive")),
            version=int(body.get("version", 1)),
        )
        return JSONResponse(campaign, 201)

    async def _add_fault_route(self, request: Request) -> Response:
        """Test set-up over HTTP: plan one more fault (a ``[[fault]]`` table's fields as a
        JSON object); 400 naming the problem when the fault is not one."""
        body = await request.json()
        if not isinstance(body, dict):
            return JSONResponse({"message": "a fault is a JSON object"}, 400)
        try:
            self.faults.add(**body)
        except (TypeError, ValueError) as exc:
            return JSONResponse({"message": str(exc)}, 400)
        return JSONResponse(body, 201)

    async def _log_route(self, request: Request) -> Response:
        with self._lock:
            return JSONResponse(list(self.log))


def _webhook_problem(body: Any) -> str | None:
    """What is wrong with a webhook registration's body, as the tutorial gives it:
    ``{name, enabled, eventFilter, uri, method}`` (None: nothing)."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    for name, kind in (("name", str), ("uri", str), ("eventFilter", str), ("method", str)):
        if not isinstance(body.get(name), kind) or not body[name]:
            return f"{name} is required (a non-empty string)"
    if not isinstance(body.get("enabled"), bool):
        return "enabled is required (true or false)"
    if body["method"] not in ("POST", "PUT"):
        return f"method must be POST or PUT, not {body['method']!r}"
    return None
