"""The ACD dialect of the simulator: NICE CXone's access-key token, its API discovery and the
ACD Admin API (``/inContactAPI/services/v30.0/…``) as public sources describe them.

What it mirrors, and from where (each the same source ``adapters/cxone/acd.py`` cites):

- ``POST /authentication/v1/token/access-key`` with ``{accessKeyId, accessKeySecret}`` answers
  ``access_token``, ``refresh_token``, ``id_token`` (a JWT whose claims name the tenant) and
  ``expires_in`` (developer.niceincontact.com, "UserHub: Getting Started"; cxone-mcp
  ``src/cxone.js``);
- ``GET /.well-known/cxone-configuration?tenantId=…`` answers ``api_endpoint``;
- the ACD API wants ``Accept: application/json`` ("No known way to render data" without it),
  pages with ``skip``/``top`` (``top`` at most 100) under ``totalRecords`` and arrays named for
  the resource, sometimes inside ``resultSet`` (cxone-mcp ``listAll``); errors carry ``error``
  and ``error_description`` (or ``message``);
- skills (``skillId``, ``skillName``, ``isOutbound``, ``outboundStrategy``, ``isRunning``), their
  ``parameters/retry-settings`` (``retrySettings.maximumAttempts``, ``minimumRetryMinutes``), DNC
  groups and their records (``phoneNumber`` as a number), calling lists (cxone-mcp
  ``src/tools.js``); no ``ETag``, no ``If-Match``;
- calling lists made (``POST lists/call-lists``: ``listName`` and ``externalIdColumn`` in the
  query, ``destinationMappings`` in the body, ``{listId}`` back), listed (``callingLists``),
  read (``resultSet`` with ``totalRecords``, ``validRecords``, ``invalidRecords``), uploaded to
  (``POST lists/call-lists/{listId}/upload`` with ``listFile``, ``skillId``, …; ``{jobId}``
  back) and the upload jobs (``uploadJobs`` of ``jobId``, ``listId``, ``isComplete``,
  ``isCancelled``) (calljacob/nice-cxone-api ``src/services/admin/AdminListsService.ts``). A
  job completes once it has been asked about ``job_polls`` times.

The routes are served by the same ``Simulator`` as the tutorial's (faults, the request log,
``in_flight``); their fault-plan names start ``acd_``.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import itertools
import json
import re
import secrets
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.simulator.data import Dataset

Handler = Callable[[Request], Awaitable[Response]]


class Host(Protocol):
    """What the ACD routes use of the simulator serving them (``app.Simulator``)."""

    _lock: threading.Lock
    dataset: Dataset
    log: list[dict[str, Any]]
    tokens: dict[str, float]
    issued_tokens: list[str]
    token_ttl: float
    clock: Callable[[], float]

    def _guard(self, route: str, handler: Handler, *, bearer: bool = True) -> Handler: ...
    def _record(self, request: Request, route: str, status: int, **extra: Any) -> None: ...
    def _ok(
        self, request: Request, route: str, body: Any, status: int = 200, **extra: Any
    ) -> Response: ...


PREFIX = "/inContactAPI/services/v30.0"
TENANT = "11eb-sim-tenant-0001"
ACCESS_KEY_ID = "SIMKEY0001"
ACCESS_KEY_SECRET = "simulated-access-key-secret"  # noqa: S105 - the stand-in's own credential
PERSONAL_CONNECTION = "Personal Connection"
MOST = 100  # the largest ``top`` the ACD API accepts


def _jwt(claims: dict[str, Any]) -> str:
    """An unsigned JWT-shaped token carrying ``claims`` (the simulator signs nothing)."""

    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.sim"


class AcdApi:
    """The ACD routes and the tenant they serve: skills, their parameters, DNC groups and
    calling lists (the lists' records and the DNC records come from the simulator's dataset)."""

    def __init__(self, sim: Host, running_previews: int) -> None:
        self.sim = sim
        self.access_key = (ACCESS_KEY_ID, ACCESS_KEY_SECRET)
        self.tenant = TENANT
        self.skills: dict[int, dict[str, Any]] = {}
        self.retry_settings: dict[int, dict[str, Any]] = {}
        for n in range(1001, 1011):
            self.add_skill(n)
        for n in range(running_previews):
            self.add_skill(9000 + n, running=True)
        self.add_skill(500, outbound=False)  # an inbound skill: never counted
        self.call_lists: dict[int, dict[str, Any]] = {}  # the lists made through the API
        self.jobs: dict[int, dict[str, Any]] = {}
        self.job_polls = 1  # how often a job is asked about before it completes
        self.cancel_jobs = 0  # the next jobs someone cancels in CXone before they complete
        self._list_ids = itertools.count(40001)
        self._job_ids = itertools.count(88001)

    def add_skill(
        self, skill_id: int, *, running: bool = False, outbound: bool = True
    ) -> dict[str, Any]:
        """A phone skill of the tenant: a Personal Connection one unless ``outbound`` is false."""
        skill = {
            "skillId": skill_id,
            "skillName": f"Skill {skill_id}",
            "mediaTypeId": 4,
            "mediaTypeName": "Phone Call",
            "isOutbound": outbound,
            "outboundStrategy": PERSONAL_CONNECTION if outbound else None,
            "isRunning": running,
            "isActive": True,
            "campaignName": "Default Campaign",
        }
        with self.sim._lock:
            self.skills[skill_id] = skill
            self.retry_settings[skill_id] = {"maximumAttempts": 1, "minimumRetryMinutes": 60}
        return skill

    def edit_retry_settings(self, skill_id: int, **changes: Any) -> None:
        """Someone else's edit of a skill's retry settings, in CXone's own UI."""
        with self.sim._lock:
            self.retry_settings[skill_id] = {**self.retry_settings[skill_id], **changes}

    def applied_writes(self, skill_id: int | None = None) -> list[dict[str, Any]]:
        """The writes of retry settings that changed a skill (of ``skill_id``, or any), from
        the request log: what tests count to prove a write applied exactly once."""
        with self.sim._lock:
            return [
                e
                for e in self.sim.log
                if e["route"] == "acd_put_retry_settings"
                and e["changed"]
                and skill_id in (None, e.get("skill"))
            ]

    def uploads(self, skill_id: int | None = None) -> list[dict[str, Any]]:
        """The uploads that put records into a calling list (for ``skill_id``, or any), from
        the request log: what tests count to prove an upload applied exactly once."""
        with self.sim._lock:
            return [
                e
                for e in self.sim.log
                if e["route"] == "acd_upload"
                and e["changed"]
                and skill_id in (None, e.get("skill"))
            ]

    def lists_named(self, text: str) -> list[dict[str, Any]]:
        """The calling lists made through the API whose name holds ``text``."""
        with self.sim._lock:
            return [dict(lst) for lst in self.call_lists.values() if text in lst["listName"]]

    def routes(self) -> list[Route]:
        g = self.sim._guard
        return [
            Route(
                "/authentication/v1/token/access-key",
                g("acd_token", self._token, bearer=False),
                methods=["POST"],
            ),
            Route(
                "/.well-known/cxone-configuration",
                g("acd_discovery", self._discovery, bearer=False),
            ),
            Route(f"{PREFIX}/skills", self._acd("acd_skills", self._list_skills)),
            Route(f"{PREFIX}/skills/{{id}}", self._acd("acd_skill", self._skill)),
            Route(
                f"{PREFIX}/skills/{{id}}/parameters/retry-settings",
                self._acd("acd_retry_settings", self._retry),
                methods=["GET"],
            ),
            Route(
                f"{PREFIX}/skills/{{id}}/parameters/retry-settings",
                self._acd("acd_put_retry_settings", self._retry),
                methods=["PUT"],
            ),
            Route(
                f"{PREFIX}/skills/{{id}}/start",
                self._acd("acd_start_skill", self._start),
                methods=["POST"],
            ),
            Route(f"{PREFIX}/dnc-groups", self._acd("acd_dnc_groups", self._dnc_groups)),
            Route(
                f"{PREFIX}/dnc-groups/{{id}}/records",
                self._acd("acd_dnc_records", self._dnc_records),
            ),
            Route(
                f"{PREFIX}/lists/call-lists",
                self._acd("acd_call_lists", self._call_lists),
                methods=["GET"],
            ),
            Route(
                f"{PREFIX}/lists/call-lists",
                self._acd("acd_create_call_list", self._create_call_list),
                methods=["POST"],
            ),
            Route(
                f"{PREFIX}/lists/call-lists/jobs",
                self._acd("acd_upload_jobs", self._upload_jobs),
            ),
            Route(
                f"{PREFIX}/lists/call-lists/jobs/{{id}}",
                self._acd("acd_upload_job", self._upload_job),
            ),
            Route(
                f"{PREFIX}/lists/call-lists/{{id}}/records",
                self._acd("acd_call_list", self._call_list),
            ),
            Route(
                f"{PREFIX}/lists/call-lists/{{id}}/upload",
                self._acd("acd_upload", self._upload),
                methods=["POST"],
            ),
            Route(
                f"{PREFIX}/lists/call-lists/{{id}}",
                self._acd("acd_call_list_summary", self._call_list_summary),
            ),
        ]

    # --- replies ------------------------------------------------------------------------

    def error(self, request: Request, route: str, status: int, code: str, text: str) -> Response:
        """An ACD error body: ``error`` and ``error_description``."""
        self.sim._record(request, route, status)
        return JSONResponse({"error": code, "error_description": text}, status)

    def _acd(self, route: str, handler: Handler) -> Handler:
        """The simulator's guard (faults, bearer token), then ``Accept`` as CXone checks it."""

        async def accepting(request: Request) -> Response:
            accept = request.headers.get("accept", "")
            if "application/json" not in accept and "*/*" not in accept:
                self.sim._record(request, route, 406)
                return JSONResponse({"message": "No known way to render data"}, 406)
            response: Response = await handler(request)
            return response

        return self.sim._guard(route, accepting)

    def _window(self, request: Request, route: str) -> tuple[int, int] | Response:
        """``skip`` and ``top`` from the query (``top`` 1 to 100, as the API allows)."""
        try:
            skip = int(request.query_params.get("skip", 0))
            top = int(request.query_params.get("top", 50))
        except ValueError:
            return self.error(request, route, 400, "InvalidParameter", "skip and top are numbers")
        if skip < 0 or not 1 <= top <= MOST:
            return self.error(
                request, route, 400, "InvalidParameter", f"top must be 1 to {MOST}, skip >= 0"
            )
        return skip, top

    def _page(
        self,
        request: Request,
        route: str,
        key: str,
        rows: list[Any],
        *,
        result_set: bool = False,
    ) -> Response:
        window = self._window(request, route)
        if isinstance(window, Response):
            return window
        skip, top = window
        items = rows[skip : skip + top]
        body: dict[str, Any] = (
            {"resultSet": {key: items}, "totalRecords": len(rows)}
            if result_set
            else {key: items, "totalRecords": len(rows)}
        )
        return self.sim._ok(request, route, body, skip=skip, top=top)

    def _skill_id(self, request: Request, route: str) -> int | Response:
        text = request.path_params["id"]
        if not re.fullmatch(r"[0-9]{1,12}", text) or int(text) not in self.skills:
            return self.error(request, route, 404, "NotFound", f"skill {text[:40]} not found")
        return int(text)

    # --- handlers -----------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict) or "accessKeyId" not in body:
            return self.error(
                request, "acd_token", 400, "invalid_request", "accessKeyId and secret required"
            )
        if (body.get("accessKeyId"), body.get("accessKeySecret")) != self.access_key:
            return self.error(
                request, "acd_token", 401, "invalid_client", "the access key was not accepted"
            )
        token = secrets.token_urlsafe(24)
        with self.sim._lock:
            self.sim.tokens[token] = self.sim.clock() + self.sim.token_ttl
            self.sim.issued_tokens.append(token)
        claims = {"tenantId": self.tenant, "iss": "https://cxone.niceincontact.com"}
        return self.sim._ok(
            request,
            "acd_token",
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": int(self.sim.token_ttl),
                "refresh_token": secrets.token_urlsafe(24),
                "id_token": _jwt(claims),
            },
        )

    async def _discovery(self, request: Request) -> Response:
        tenant = request.query_params.get("tenantId")
        if tenant != self.tenant:
            return self.error(request, "acd_discovery", 404, "NotFound", "no such tenant")
        root = f"{request.url.scheme}://{request.url.netloc}"
        return self.sim._ok(
            request, "acd_discovery", {"api_endpoint": root, "area": "sim1", "tenantId": tenant}
        )

    async def _list_skills(self, request: Request) -> Response:
        with self.sim._lock:
            rows = [dict(s) for _, s in sorted(self.skills.items())]
        return self._page(request, "acd_skills", "skills", rows)

    async def _skill(self, request: Request) -> Response:
        found = self._skill_id(request, "acd_skill")
        if isinstance(found, Response):
            return found
        with self.sim._lock:
            skill = dict(self.skills[found])
        return self.sim._ok(request, "acd_skill", {"skills": [skill]})

    async def _retry(self, request: Request) -> Response:
        route = "acd_retry_settings" if request.method == "GET" else "acd_put_retry_settings"
        found = self._skill_id(request, route)
        if isinstance(found, Response):
            return found
        if request.method == "GET":
            with self.sim._lock:
                settings = dict(self.retry_settings[found])
            return self.sim._ok(request, route, {"retrySettings": settings})
        body = await _json_body(request)
        asked = body.get("retrySettings") if isinstance(body, dict) else None
        problem = _retry_problem(asked)
        if problem is not None:
            return self.error(request, route, 400, "InvalidParameter", problem)
        assert isinstance(asked, dict)
        with self.sim._lock:
            self.retry_settings[found] = {**self.retry_settings[found], **asked}
        self.sim._record(request, route, 204, changed=True, skill=found)
        return Response(status_code=204)

    async def _start(self, request: Request) -> Response:
        route = "acd_start_skill"
        found = self._skill_id(request, route)
        if isinstance(found, Response):
            return found
        with self.sim._lock:
            was = self.skills[found]["isRunning"]
            self.skills[found]["isRunning"] = True
        self.sim._record(request, route, 204, changed=not was, skill=found)
        return Response(status_code=204)

    def starts(self, skill_id: int) -> int:
        """How many starts changed ``skill_id`` from stopped to running (the log's count)."""
        with self.sim._lock:
            return sum(
                1
                for e in self.sim.log
                if e["route"] == "acd_start_skill" and e["changed"] and e.get("skill") == skill_id
            )

    async def _dnc_groups(self, request: Request) -> Response:
        groups = [
            {"dncGroupId": 7001, "dncGroupName": "Internal DNC", "dncGroupDescription": "opt-outs"}
        ]
        return self._page(request, "acd_dnc_groups", "dncGroups", groups, result_set=True)

    async def _dnc_records(self, request: Request) -> Response:
        route = "acd_dnc_records"
        if request.path_params["id"] != "7001":
            return self.error(request, route, 404, "NotFound", "no such DNC group")
        dataset = self.sim.dataset
        rows = [
            {"phoneNumber": int(re.sub(r"\D", "", dataset.suppression(j)["phoneNumber"]))}
            for j in range(dataset.suppressions)
        ]
        return self._page(request, route, "dncGroupRecords", rows)

    async def _call_lists(self, request: Request) -> Response:
        with self.sim._lock:
            rows = [_summary(lst) for _, lst in sorted(self.call_lists.items())]
        return self._page(request, "acd_call_lists", "callingLists", rows)

    async def _create_call_list(self, request: Request) -> Response:
        route = "acd_create_call_list"
        name = request.query_params.get("listName", "")
        id_column = request.query_params.get("externalIdColumn", "")
        if not name or not id_column:
            return self.error(
                request, route, 400, "InvalidParameter", "listName and externalIdColumn required"
            )
        body = await _json_body(request)
        mappings = body.get("destinationMappings") if isinstance(body, dict) else None
        if not isinstance(mappings, list) or not all(
            isinstance(m, dict)
            and isinstance(m.get("fieldName"), str)
            and isinstance(m.get("fieldValue"), str)
            for m in mappings
        ):
            return self.error(
                request,
                route,
                400,
                "InvalidParameter",
                "destinationMappings must be a list of {fieldName, fieldValue}",
            )
        with self.sim._lock:
            list_id = next(self._list_ids)
            self.call_lists[list_id] = {
                "listId": list_id,
                "listName": name,
                "externalIdColumn": id_column,
                "mappings": {m["fieldValue"]: m["fieldName"] for m in mappings},
                "records": [],
                "invalid": 0,
            }
        return self.sim._ok(request, route, {"listId": list_id}, changed=True)

    def _made_list(self, request: Request, route: str) -> int | Response:
        text = request.path_params["id"]
        if not re.fullmatch(r"[0-9]{1,12}", text) or int(text) not in self.call_lists:
            return self.error(
                request, route, 404, "NotFound", f"calling list {text[:40]} not found"
            )
        return int(text)

    async def _call_list_summary(self, request: Request) -> Response:
        route = "acd_call_list_summary"
        found = self._made_list(request, route)
        if isinstance(found, Response):
            return found
        with self.sim._lock:
            summary = _summary(self.call_lists[found])
        return self.sim._ok(request, route, {"resultSet": summary})

    async def _upload(self, request: Request) -> Response:
        route = "acd_upload"
        found = self._made_list(request, route)
        if isinstance(found, Response):
            return found
        body = await _json_body(request)
        problem = _upload_problem(body, self.skills)
        if problem is not None:
            return self.error(request, route, 400, "InvalidParameter", problem)
        text = base64.b64decode(body["listFile"]).decode()
        with self.sim._lock:
            lst = self.call_lists[found]
            rows = list(csv.DictReader(io.StringIO(text)))
            columns = set(rows[0]) if rows else set()
            missing = {lst["externalIdColumn"], *lst["mappings"]} - columns
            if rows and missing:
                problem = f"the file has no column {sorted(missing)[0]!r}"
            else:
                problem = None
                valid = [
                    r
                    for r in rows
                    if all(re.fullmatch(r"\+?[0-9]{7,15}", r.get(c) or "") for c in lst["mappings"])
                ]
                lst["records"] = ([] if body["forceOverwrite"] else lst["records"]) + valid
                lst["invalid"] += len(rows) - len(valid)
                job_id = next(self._job_ids)
                self.jobs[job_id] = {
                    "jobId": job_id,
                    "listId": found,
                    "listName": lst["listName"],
                    "fileName": body.get("fileName"),
                    "isComplete": False,
                    "isCancelled": self.cancel_jobs > 0,
                    "polls": 0,
                }
                self.cancel_jobs = max(0, self.cancel_jobs - 1)
                if body["startSkill"]:
                    self.skills[body["skillId"]]["isRunning"] = True
        if problem is not None:
            return self.error(request, route, 400, "InvalidParameter", problem)
        return self.sim._ok(
            request, route, {"jobId": job_id}, changed=True, list=found, skill=body["skillId"]
        )

    async def _upload_jobs(self, request: Request) -> Response:
        with self.sim._lock:
            rows = [_job(j) for _, j in sorted(self.jobs.items())]
        return self._page(request, "acd_upload_jobs", "uploadJobs", rows)

    async def _upload_job(self, request: Request) -> Response:
        route = "acd_upload_job"
        text = request.path_params["id"]
        if not re.fullmatch(r"[0-9]{1,12}", text) or int(text) not in self.jobs:
            return self.error(request, route, 404, "NotFound", f"upload job {text[:40]} not found")
        with self.sim._lock:
            job = self.jobs[int(text)]
            job["polls"] += 1
            if job["polls"] > self.job_polls and not job["isCancelled"]:
                job["isComplete"] = True
            reply = _job(job)
        return self.sim._ok(request, route, {"uploadJobs": [reply]})

    async def _call_list(self, request: Request) -> Response:
        route = "acd_call_list"
        dataset = self.sim.dataset
        if request.path_params["id"] != dataset.contact_list_id:
            return self.error(request, route, 404, "NotFound", "no such calling list")
        window = self._window(request, route)
        if isinstance(window, Response):
            return window
        skip, top = window
        rows = []
        for i in range(skip, min(skip + top, dataset.contacts)):
            contact = dataset.contact(i)
            row = {"externalId": contact["id"], **contact["fields"]}
            if "phoneNumber" in contact:
                row["phoneNumber"] = contact["phoneNumber"]
            rows.append(row)
        body = {"callingListRecords": rows, "totalRecords": dataset.contacts}
        return self.sim._ok(request, route, body, skip=skip, top=top)


def _summary(lst: dict[str, Any]) -> dict[str, Any]:
    """A made calling list as the API shows it: its name and counts."""
    valid = len(lst["records"])
    return {
        "listId": lst["listId"],
        "listName": lst["listName"],
        "status": "Active",
        "totalRecords": valid + lst["invalid"],
        "validRecords": valid,
        "invalidRecords": lst["invalid"],
    }


def _job(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if k != "polls"}


def _upload_problem(body: Any, skills: dict[int, Any]) -> str | None:
    """What is wrong with an upload's body (None: nothing)."""
    if not isinstance(body, dict):
        return "a JSON object is required"
    for name, kind in (
        ("listFile", str),
        ("skillId", int),
        ("forceOverwrite", bool),
        ("startSkill", bool),
    ):
        if type(body.get(name)) is not kind:
            return f"{name} must be a {kind.__name__}"
    if body["skillId"] not in skills:
        return f"skill {body['skillId']} not found"
    try:
        base64.b64decode(body["listFile"], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "listFile is not base64 text"
    return None


async def _json_body(request: Request) -> Any:
    """The request's JSON body; None when it is not JSON."""
    try:
        return json.loads(await request.body())
    except ValueError:
        return None


def _retry_problem(settings: Any) -> str | None:
    """What is wrong with a ``retrySettings`` object (None: nothing)."""
    if not isinstance(settings, dict) or not settings:
        return "retrySettings is required (an object)"
    for name, value in settings.items():
        if name not in ("maximumAttempts", "minimumRetryMinutes"):
            return f"retrySettings.{name} is not a retry setting"
        if type(value) is not int or value < 0:
            return f"retrySettings.{name} must be a whole number"
    attempts = settings.get("maximumAttempts")
    if attempts is not None and not 1 <= attempts <= 300:
        return "retrySettings.maximumAttempts must be 1 to 300"
    return None
