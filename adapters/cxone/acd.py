"""``AcdGateway``: the engine's gateway port spoken to NICE CXone as it really is: an access
key for a token, the tenant's API host discovered, and the ACD Admin API.

It shares everything below the port with the tutorial's gateway (``HttpCXoneGateway``: one
connection pool, the retry policy, the request budget and its 429 hold, bounded replies,
scrubbing); what differs is the vocabulary. Every endpoint, field and status relied on names
its public source here:

- [start] developer.niceincontact.com, "UserHub: Getting Started" and "Create Access Key": an
  access key (``accessKeyId``, ``accessKeySecret``) is exchanged by ``POST {auth host}/
  authentication/v1/token/access-key`` (JSON body) for ``access_token`` (a bearer token),
  with ``expires_in``; area hosts ``na1``/``au1``/``eu1``.
- [mcp] github.com/outboundani/cxone-mcp, ``src/cxone.js``: the reply also carries
  ``refresh_token`` and ``id_token``, whose JWT claims name the tenant (``tenantId``); the
  tenant's API host is ``api_endpoint`` of ``GET https://cxone.niceincontact.com/.well-known/
  cxone-configuration?tenantId=…``; the ACD API lives under ``{api_endpoint}/inContactAPI/
  services/v30.0/``, answers "No known way to render data" without ``Accept:
  application/json``, pages with ``skip``/``top`` (at most 100) under ``totalRecords`` in
  arrays named for the resource (or inside ``resultSet``), and errors with
  ``error_description``, ``message`` or ``error``; a batch endpoint answers 200 with an item's
  ``success: false``.
- [tools] the same repository, ``src/tools.js``: skills (``skillId``, ``skillName``,
  ``isOutbound``, ``outboundStrategy`` "Personal Connection", ``isRunning``), read at
  ``skills/{id}`` (inside ``skills``); ``PUT skills/{id}/parameters/retry-settings`` with
  ``{retrySettings: {maximumAttempts, minimumRetryMinutes}}``; DNC groups at ``dnc-groups``
  (``dncGroupId``), their records at ``dnc-groups/{id}/records`` (``phoneNumber``, a number);
  calling lists at ``lists/call-lists``.
- [lists] github.com/calljacob/nice-cxone-api, ``src/services/admin/AdminListsService.ts``
  (a client generated from the ACD Admin Lists API's documentation): ``POST lists/call-lists``
  makes a calling list (query ``listName``, ``externalIdColumn``; body ``destinationMappings``
  of ``{fieldName, fieldValue}``; reply ``{listId}``); ``GET lists/call-lists`` lists them
  (``callingLists`` of ``listId``, ``listName``); ``GET lists/call-lists/{listId}`` answers
  ``resultSet`` with ``totalRecords``, ``validRecords``, ``invalidRecords``; ``POST
  lists/call-lists/{listId}/upload`` takes ``{listFile, fileName, skillId, forceOverwrite,
  expirationDate, startSkill, sendEmail}`` and answers ``{jobId}``; ``GET lists/call-lists/
  jobs`` and ``GET lists/call-lists/jobs/{jobId}`` answer ``uploadJobs`` of ``jobId``,
  ``listId``, ``isComplete``, ``isCancelled``.
- [help] help.incontact.com, "Dialer (Personal Connection) Overview": preview is one of
  Personal Connection's dialing modes; "Skill Parameters: General Settings": a skill is
  Running or Stopped, Maximum Attempts is the skill's default; "Calling Lists Overview": a
  calling list record has a phone number and a unique external ID.

What no source settles is a setting, with its default documented in ``AcdSettings``: the
path and array of a calling list's records, the field holding a record's number, the calling
list field an uploaded number is mapped to, how the file travels in ``listFile``, and how
often and how long an upload job is followed. There is
no ``ETag`` and no ``If-Match`` on these resources [mcp, tools]: the revision is a digest of
the fields we manage, and a write first reads them and refuses (a conflict) when they moved
since the engine read them. Between that read and the write one round trip remains in which
someone else's edit could be overwritten; the campaign's lease keeps every other cxpreview
out of it (README, "The ACD dialect").
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs
import httpx

from adapters.cxone.auth import (
    Credentials,
    Secret,
    SettingsError,
    check_base_url,
    read_secret_file,
)
from adapters.cxone.client import MAX_TOKEN_LIFE, HttpCXoneGateway, http_options
from adapters.cxone.responses import body_of, field
from engine import (
    BadResponse,
    CampaignSpec,
    Contact,
    RemoteCampaign,
    RemoteConflict,
    RemoteRejected,
    RemoteUnavailable,
    UploadRef,
    WebhookRef,
)
from events import Revision, content_digest, crash_point

AUTH_URL = "https://cxone.niceincontact.com"  # [mcp] AUTH_HOSTS; [start] uses na1's
DISCOVERY_URL = "https://cxone.niceincontact.com"  # [mcp] the well-known endpoint's host
API_VERSION = "v30.0"  # [mcp] ACD_VERSION
PERSONAL_CONNECTION = "Personal Connection"  # [tools] outboundStrategy
TOP = 100  # [mcp] "max 100" a page
MAX_LISTING_PAGES = 100_000  # a bound on one listing (10M items): a server that never ends


@attrs.frozen
class AccessKey:
    """A CXone access key [start]; the secret never prints."""

    key_id: str
    secret: Secret

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AccessKey:
        """From ``CXONE_ACCESS_KEY_ID`` and ``CXONE_ACCESS_KEY_SECRET`` (or
        ``CXONE_ACCESS_KEY_SECRET_FILE``, a file only its owner may read)."""
        env = dict(os.environ if environ is None else environ)
        secret = env.get("CXONE_ACCESS_KEY_SECRET")
        if secret is None and env.get("CXONE_ACCESS_KEY_SECRET_FILE"):
            secret = read_secret_file(Path(env["CXONE_ACCESS_KEY_SECRET_FILE"]))
        missing = [
            name
            for name, value in (
                ("CXONE_ACCESS_KEY_ID", env.get("CXONE_ACCESS_KEY_ID")),
                ("CXONE_ACCESS_KEY_SECRET", secret),
            )
            if not value
        ]
        if missing:
            raise SettingsError(
                f"CXone access key settings missing from the environment: {', '.join(missing)}"
            )
        return cls(env["CXONE_ACCESS_KEY_ID"], Secret(secret or ""))


@attrs.frozen
class AcdSettings:
    """Where the ACD dialect talks to, and what no public source settles (each a default
    that a tenant whose API differs can change)."""

    auth_url: str = AUTH_URL
    discovery_url: str = DISCOVERY_URL
    api_base: str | None = None  # None: discovered from the token's tenant [mcp]
    api_version: str = API_VERSION
    call_list_records: str = "lists/call-lists/{list_id}/records"  # no source: a setting
    call_list_records_key: str = "callingListRecords"  # no source: a setting
    phone_field: str = "phoneNumber"  # no source names a record's number field: a setting
    id_field: str = "externalId"  # [help] "a unique external ID"
    start_method: str = "POST"  # [mcp] names skills/{id}/start, not its method: a setting
    # An upload's file: two columns of ours, ``externalId`` (the list's externalIdColumn
    # [lists]) and the number, mapped to the list's field below (no source names it).
    list_phone_destination: str = "PhoneNumber"  # no source: a setting
    list_file_base64: bool = True  # [lists] types listFile a string; no source says base64
    upload_poll_seconds: float = 2.0  # how often an upload job is asked about
    upload_wait_seconds: float = 900.0  # how long, before the step fails (retryable)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AcdSettings:
        """``CXONE_AUTH_URL``, ``CXONE_DISCOVERY_URL``, ``CXONE_API_BASE``,
        ``CXONE_API_VERSION``, ``CXONE_LIST_PHONE_FIELD`` and ``CXONE_UPLOAD_POLL_SECONDS``
        over the defaults."""
        env = os.environ if environ is None else environ
        names = {
            "auth_url": "CXONE_AUTH_URL",
            "discovery_url": "CXONE_DISCOVERY_URL",
            "api_base": "CXONE_API_BASE",
            "api_version": "CXONE_API_VERSION",
            "list_phone_destination": "CXONE_LIST_PHONE_FIELD",
        }
        given: dict[str, Any] = {k: env[v] for k, v in names.items() if env.get(v)}
        poll = env.get("CXONE_UPLOAD_POLL_SECONDS")
        if poll:
            try:
                given["upload_poll_seconds"] = float(poll)
            except ValueError:
                raise SettingsError(
                    f"CXONE_UPLOAD_POLL_SECONDS must be a number of seconds, not {poll[:20]!r}"
                ) from None
            if not 0 < given["upload_poll_seconds"] <= 3600:
                raise SettingsError("CXONE_UPLOAD_POLL_SECONDS must be above 0 and at most 3600")
        return cls(**given)


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (they only say where to look; the API checks the
    token itself); empty when ``token`` is not one."""
    parts = token.split(".")
    if len(parts) != 3:  # header, claims, signature
        return {}
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(raw)
    except (ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


MANAGED = {"retrySettings": ("maximumAttempts",)}
"""The fields of a skill this dialect manages, by parameter block: what it writes, compares and
digests. The others (``minimumRetryMinutes``, …) are the tenant's, never sent or compared."""


def managed(config: Mapping[str, Any]) -> dict[str, Any]:
    """Of a skill's parameter blocks, the fields this dialect manages (its revision is a
    digest of them)."""
    out: dict[str, Any] = {}
    for block, names in MANAGED.items():
        given = config.get(block)
        given = given if isinstance(given, dict) else {}
        out[block] = {name: given[name] for name in names if name in given}
    return out


def revision_of(config: Mapping[str, Any]) -> str:
    """A skill's revision: the digest of the fields we manage (the API has no ETag)."""
    return content_digest(managed(config))


class AcdGateway(HttpCXoneGateway):
    """NICE CXone's ACD Admin API behind the engine's gateway port."""

    dialect = "cxone"

    def __init__(
        self,
        key: AccessKey,
        settings: AcdSettings | None = None,
        *,
        insecure: bool = False,
        **options: Any,
    ) -> None:
        self.settings = settings or AcdSettings()
        self.key = key
        s = self.settings
        super().__init__(
            Credentials(s.auth_url, key.key_id, key.secret), insecure=insecure, **options
        )
        self._auth_url = self._base
        self._discovery_url = check_base_url(s.discovery_url, insecure=insecure).rstrip("/")
        self._insecure = insecure
        self._root: str | None = None
        if s.api_base is not None:
            self._root = self._api_root(s.api_base)
        self.tenant_id: str | None = None
        self._discovering = threading.Lock()

    def __repr__(self) -> str:
        return f"AcdGateway({self._auth_url!r}, access_key={self.key.key_id!r})"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **options: Any) -> AcdGateway:
        """The access key and ``AcdSettings`` from the environment (see both), and the HTTP
        settings both dialects share (``CXONE_CA_FILE``, ``CXONE_TIMEOUT``, ``CXONE_MAX_RPS``)."""
        return cls(
            AccessKey.from_env(environ),
            AcdSettings.from_env(environ),
            **http_options(environ, options),
        )

    # --- the port ---------------------------------------------------------------------------

    def configuration(self, spec: CampaignSpec) -> dict[str, Any]:
        """The skill's fields an activation of ``spec`` writes: its retry settings [tools]."""
        return {"retrySettings": {"maximumAttempts": spec.dialing_rules.max_attempts}}

    def count_active_previews(self) -> int:
        """Running Personal Connection skills, over every page [tools]. The skill listing does
        not say a skill's dialing mode, so every running one counts: the limit is kept
        conservatively."""
        return sum(
            1
            for skill in self._listing("skills", "skills", "list skills")
            if isinstance(skill, dict)
            and skill.get("isOutbound") is True
            and skill.get("outboundStrategy") == PERSONAL_CONNECTION
            and skill.get("isRunning") is True
        )

    def read_campaign(self, campaign_id: str) -> RemoteCampaign:
        """The skill ``campaign_id`` (its skill id) and the fields we manage [tools]."""
        skill = self._skill(campaign_id)
        endpoint = f"retry settings of skill {campaign_id}"
        body = self._get(f"{self._skill_path(campaign_id)}/parameters/retry-settings", endpoint)
        settings = field(body, "retrySettings", dict, endpoint)
        config = managed({"retrySettings": self._scrubbed(settings)})
        status = "running" if skill.get("isRunning") is True else "stopped"
        return RemoteCampaign(campaign_id, revision_of(config), status, config)

    def put_preview_config(
        self, campaign_id: str, config: Mapping[str, Any], if_match: Revision
    ) -> RemoteCampaign:
        """Write the skill's retry settings, if the fields we manage are still as read at
        ``if_match`` (compared here: the API has no ``If-Match``); a ``RemoteConflict``
        naming their revision now otherwise."""
        current = self.read_campaign(campaign_id)
        if current.version != if_match:
            raise RemoteConflict(
                f"skill {campaign_id}: the fields we manage changed since they were read "
                "(this API has no If-Match: compared by content)",
                current.version,
            )
        endpoint = f"update retry settings of skill {campaign_id}"
        response = self._send(
            "PUT",
            self._url(f"{self._skill_path(campaign_id)}/parameters/retry-settings"),
            endpoint,
            json=managed(config),  # only our fields: the tenant's others stay as they are
            idempotent=False,
        )
        self._refuse_items(response, endpoint)
        written = managed(config)
        return RemoteCampaign(campaign_id, revision_of(written), current.status, written)

    def iter_contacts(self, contact_list_id: str) -> Iterator[Contact]:
        """The calling list's records, a page at a time (``AcdSettings`` says where)."""
        s = self.settings
        path = s.call_list_records.format(list_id=quote(contact_list_id, safe=""))
        endpoint = f"records of calling list {contact_list_id}"
        for record in self._listing(path, s.call_list_records_key, endpoint):
            if not isinstance(record, dict):
                raise BadResponse(f"{endpoint}: a record is not an object")
            ident = str(field(record, s.id_field, (str, int), endpoint))
            if not ident.isprintable() or not 0 < len(ident) <= 200:
                # A TAB or a line feed in an id would forge a line of the eligible set's blob.
                raise BadResponse(
                    f"{endpoint}: a record's id holds control characters or is too long"
                )
            phone = record.get(s.phone_field)
            fields = {k: v for k, v in record.items() if k not in (s.id_field, s.phone_field)}
            number = str(phone) if isinstance(phone, str | int) and phone is not True else None
            yield Contact(ident, number, fields)

    def iter_suppressed_numbers(self) -> Iterator[str]:
        """Every number of every DNC group, as the API gives them (numbers) [tools]."""
        for group in self._listing("dnc-groups", "dncGroups", "list DNC groups"):
            group_id = field(group, "dncGroupId", (str, int), "list DNC groups")
            path = f"dnc-groups/{quote(str(group_id), safe='')}/records"
            endpoint = f"records of DNC group {group_id}"
            for record in self._listing(path, "dncGroupRecords", endpoint):
                number = field(record, "phoneNumber", (str, int), endpoint)
                yield str(number)

    def upload_contacts(self, campaign_id: str, list_name: str, eligible: bytes) -> UploadRef:
        """The eligible contacts as the calling list ``list_name`` of skill ``campaign_id``
        [lists]: the list found by name or made, its upload found among the upload jobs or
        sent, the job followed until it completes, and the list's valid records counted. A
        list or job an earlier attempt made is found, never made twice (``found``)."""
        self._skill(campaign_id)  # a Personal Connection skill, before anything is made
        list_id = self._find_list(list_name)
        job_id = None if list_id is None else self._find_job(list_id)
        found = job_id is not None
        if list_id is None:
            list_id = self._make_list(list_name)
            crash_point("after-upload-list-made")
        if job_id is None:
            job_id = self._send_upload(campaign_id, list_id, list_name, eligible)
            crash_point("after-upload-sent")
        self._follow_job(job_id)
        return UploadRef(list_id, job_id, self._valid_records(list_id), found)

    def _find_list(self, list_name: str) -> str | None:
        for item in self._listing("lists/call-lists", "callingLists", "list calling lists"):
            if isinstance(item, dict) and item.get("listName") == list_name:
                return str(field(item, "listId", int, "list calling lists"))  # [lists] a number
        return None

    def _make_list(self, list_name: str) -> str:
        endpoint = f"create calling list {list_name!r}"
        response = self._send(
            "POST",
            self._url("lists/call-lists"),
            endpoint,
            params={"listName": list_name, "externalIdColumn": "externalId"},
            json={
                "destinationMappings": [
                    {
                        "fieldName": self.settings.list_phone_destination,
                        "fieldValue": "phoneNumber",
                    }
                ]
            },
            idempotent=False,  # a second POST would make a second list: found by name instead
        )
        self._refuse_items(response, endpoint)
        return str(field(body_of(response, endpoint), "listId", int, endpoint))  # [lists]

    def _find_job(self, list_id: str) -> str | None:
        endpoint = "list upload jobs"
        for job in self._listing("lists/call-lists/jobs", "uploadJobs", endpoint):
            if (
                isinstance(job, dict)
                and str(job.get("listId")) == list_id
                and job.get("isCancelled") is not True
            ):
                return str(field(job, "jobId", int, endpoint))  # [lists] a number
        return None

    def _send_upload(self, skill_id: str, list_id: str, list_name: str, eligible: bytes) -> str:
        text = io.StringIO()
        rows = csv.writer(text, lineterminator="\n")
        rows.writerow(("externalId", "phoneNumber"))
        for line in eligible.decode().splitlines():
            contact_id, _, e164 = line.rpartition("\t")
            rows.writerow((contact_id, e164))
        data = text.getvalue()
        endpoint = f"upload calling list {list_id}"
        response = self._send(
            "POST",
            self._url(f"lists/call-lists/{quote(list_id, safe='')}/upload"),
            endpoint,
            json={
                "skillId": int(self._skill_path(skill_id).removeprefix("skills/")),
                "fileName": f"{list_name}.csv",
                "listFile": (
                    base64.b64encode(data.encode()).decode()
                    if self.settings.list_file_base64
                    else data
                ),
                # The list is ours (named for the campaign, skill and set): should its earlier
                # job no longer be listed, the same upload sent again replaces, not doubles.
                "forceOverwrite": True,
                "expirationDate": "",
                "startSkill": False,  # the skill starts as a step of its own, once configured
                "sendEmail": False,
            },
            idempotent=False,  # a second POST would upload twice: found among the jobs instead
        )
        self._refuse_items(response, endpoint)
        return str(field(body_of(response, endpoint), "jobId", int, endpoint))  # [lists]

    def _follow_job(self, job_id: str) -> None:
        """Until the job completes; a cancelled one is refused; one still running after
        ``upload_wait_seconds`` is unavailable (retryable: the next attempt finds it)."""
        endpoint = f"upload job {job_id}"
        s = self.settings
        clock, sleep = self.policy.clock, self.policy.sleep  # the retry policy's: one time
        until = clock() + s.upload_wait_seconds
        while True:
            body = self._get(f"lists/call-lists/jobs/{quote(job_id, safe='')}", endpoint)
            jobs = field(body, "uploadJobs", list, endpoint)
            job = next(
                (j for j in jobs if isinstance(j, dict) and str(j.get("jobId")) == job_id), None
            )
            if job is None:
                raise BadResponse(f"{endpoint}: the reply does not name job {job_id}")
            if job.get("isCancelled") is True:
                raise RemoteRejected(f"{endpoint}: the upload job was cancelled in CXone", 409)
            if job.get("isComplete") is True:
                return
            if clock() >= until:
                raise RemoteUnavailable(
                    f"{endpoint}: not complete after {s.upload_wait_seconds:g} s; a run "
                    "again follows the same job"
                )
            sleep(s.upload_poll_seconds)

    def _valid_records(self, list_id: str) -> int:
        endpoint = f"calling list {list_id}"
        path = f"lists/call-lists/{quote(list_id, safe='')}"
        body = self._get(path, endpoint, {"includeRecords": "false"})
        result = field(body, "resultSet", dict, endpoint)
        valid: int = field(result, "validRecords", int, endpoint)
        if valid < 0:
            raise BadResponse(f"{endpoint}: field 'validRecords' is negative")
        return valid

    def start_dialing(self, campaign_id: str) -> bool:
        """Start the skill [mcp: ``skills/{id}/start``, the path that starts dialing], unless
        it runs already (``isRunning`` [tools]); True when it did. The method is a setting
        (``AcdSettings.start_method``): no source gives it."""
        if self._skill(campaign_id).get("isRunning") is True:
            return True
        endpoint = f"start skill {campaign_id}"
        try:
            response = self._send(
                self.settings.start_method,
                self._url(f"{self._skill_path(campaign_id)}/start"),
                endpoint,
                json={},
                idempotent=True,  # starting a running skill changes nothing: safe to resend
            )
        except RemoteRejected:
            if self._skill(campaign_id).get("isRunning") is True:
                return True  # a start of ours that landed before its answer was lost
            raise
        self._refuse_items(response, endpoint)
        return False

    def ensure_webhook(self, name: str, uri: str, event: str) -> WebhookRef:
        """No source gives this API a webhook registration: refused, saying so."""
        raise RemoteRejected(
            "the ACD dialect has no webhook registration API: leave [webhook] out of a "
            'dialect = "cxone" spec',
            400,
        )

    # --- plumbing ---------------------------------------------------------------------------

    def _api_root(self, api_endpoint: str) -> str:
        base = check_base_url(api_endpoint, insecure=self._insecure).rstrip("/")
        return f"{base}/inContactAPI/services/{self.settings.api_version}"

    @staticmethod
    def _skill_path(skill_id: str) -> str:
        if not skill_id.isdigit():
            raise RemoteRejected(f"skill id {skill_id[:40]!r} is not a number", 400)
        return f"skills/{skill_id}"

    def _url(self, path: str) -> str:
        """``path`` under the tenant's ACD API, discovered first when it is not known yet."""
        if self._root is None:
            with self._discovering:
                if self._root is None:
                    self._root = self._discover()
        return f"{self._root}/{path}"

    def _discover(self) -> str:
        """The tenant's API host: the token's tenant, looked up at the well-known endpoint."""
        self.tokens.get()  # the token's claims name the tenant
        if not self.tenant_id:
            raise BadResponse("token: its claims name no tenantId, so the API cannot be found")
        endpoint = "API discovery"
        url = f"{self._discovery_url}/.well-known/cxone-configuration"
        response = self._send_plain("GET", url, endpoint, params={"tenantId": self.tenant_id})
        body = body_of(response, endpoint)
        return self._api_root(field(body, "api_endpoint", str, endpoint))

    def _get(self, path: str, endpoint: str, params: Mapping[str, Any] | None = None) -> Any:
        """The JSON body of ``GET path`` under the tenant's API."""
        return body_of(self._send("GET", self._url(path), endpoint, params=params), endpoint)

    def _skill(self, skill_id: str) -> dict[str, Any]:
        endpoint = f"read skill {skill_id}"
        body = self._get(self._skill_path(skill_id), endpoint)
        skills = field(body, "skills", list, endpoint)  # [tools]: the skill inside ``skills``
        if not skills or not isinstance(skills[0], dict):
            raise BadResponse(f"{endpoint}: field 'skills' holds no skill object")
        skill: dict[str, Any] = skills[0]
        if str(skill.get("skillId")) != skill_id:
            raise BadResponse(f"{endpoint}: the reply is not skill {skill_id}")
        if skill.get("isOutbound") is not True or skill.get("outboundStrategy") != (
            PERSONAL_CONNECTION
        ):
            raise RemoteRejected(
                f"skill {skill_id} is not an outbound Personal Connection skill", 400
            )
        return skill

    def _listing(self, path: str, key: str, endpoint: str) -> Iterator[Any]:
        """Every item of a ``skip``/``top`` listing, a page in memory at a time; items under
        ``key`` or ``resultSet.key``; a listing that runs past its ``totalRecords``, or ends
        short of it, changed while read (``BadResponse``)."""
        skip, total = 0, None
        for _ in range(MAX_LISTING_PAGES):
            params = {"skip": skip, "top": TOP}
            body = self._get(path, endpoint, params)
            if not isinstance(body, dict):
                raise BadResponse(f"{endpoint}: expected a JSON object")
            # Counted, never assumed: a reply without its count or its items is not an empty
            # listing (a preview limit counted over one would count nothing).
            count = field(body, "totalRecords", int, endpoint)
            if count < 0:
                raise BadResponse(f"{endpoint}: field 'totalRecords' is negative")
            holder = body if key in body or "resultSet" not in body else body["resultSet"]
            if count == 0 and isinstance(holder, dict) and key not in holder:
                items: list[Any] = []  # an empty listing may leave its array out
            else:
                items = field(holder, key, list, endpoint)
            if total is None:
                total = count
            yield from items
            skip += len(items)
            if skip >= total:
                if skip > total:
                    raise BadResponse(f"{endpoint}: {skip} items, past its totalRecords {total}")
                return
            if not items or len(items) < TOP:
                raise BadResponse(
                    f"{endpoint}: a page of {len(items)} items before {total} were read: "
                    "the list changed while it was read; read it again"
                )
        raise BadResponse(f"{endpoint}: the listing goes on past {MAX_LISTING_PAGES} pages")

    def _refuse_items(self, response: httpx.Response, endpoint: str) -> None:
        """A write's reply: nothing, or a JSON object (anything else is not a reply we can
        read: ``BadResponse``, the write in doubt); one whose items say ``success: false``
        is a refusal [mcp]."""
        if not response.content:
            return
        body = body_of(response, endpoint)
        if not isinstance(body, dict):
            raise BadResponse(f"{endpoint}: expected a JSON object, found {type(body).__name__}")
        lists = [
            v for v in (body.values() if isinstance(body, dict) else []) if isinstance(v, list)
        ]
        for items in lists:
            for item in items:
                if isinstance(item, dict) and item.get("success") is False:
                    why = item.get("error") or item.get("message") or "no reason given"
                    raise RemoteRejected(
                        f"{endpoint}: CXone refused it: {self.scrub(str(why))[:200]}", 400
                    )

    def _fetch_token(self) -> tuple[str, float]:
        """An access key for a token [start]; the tenant from its claims [mcp]."""
        endpoint = "token"
        response = self._send_plain(
            "POST",
            f"{self._auth_url}/authentication/v1/token/access-key",
            endpoint,
            json={"accessKeyId": self.key.key_id, "accessKeySecret": self.key.secret.reveal()},
            refused=f"the access key {self.key.key_id!r}",
        )
        body = body_of(response, endpoint)
        token = field(body, "access_token", str, endpoint)
        expires_in = field(body, "expires_in", (int, float), endpoint)
        extra = [body.get(k) for k in ("refresh_token", "id_token")]
        self._issued.extend([token, *(t for t in extra if isinstance(t, str) and t)])
        if not token or not 0 < expires_in <= MAX_TOKEN_LIFE:
            raise BadResponse(
                f"{endpoint}: an empty token, or an expires_in that is not between 0 and "
                f"{MAX_TOKEN_LIFE:,} seconds"
            )
        for candidate in (body.get("id_token"), token):
            tenant = jwt_claims(candidate).get("tenantId") if isinstance(candidate, str) else None
            if isinstance(tenant, str) and tenant:
                self.tenant_id = tenant
                break
        return token, float(expires_in)
