"""``ServiceNowConnector``: the IncidentDesk over pysnow and the Table API.

pysnow is synchronous and builds its URLs as ``("https" if use_ssl else "http") + "://" + host``,
so an operator's ``SERVICENOW_URL`` (http or https, any port, even a path prefix behind a
proxy) is split into ``host`` and ``use_ssl`` here rather than passed as ``instance``
(which always means https://NAME.service-now.com).

Reads ask for ``sysparm_display_value=all`` so each field arrives as
``{"value": ..., "display_value": ...}``: numbers for code, words for people.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import requests

from connectors.errors import InvalidRequest, NotConfigured, NotFound, describe_field_errors
from connectors.resilience import CallObserver, GuardedConnector, ResiliencePolicy
from connectors.servicenow.fields import (
    EMAIL,
    FIELD_NAME,
    JOURNAL_TEXT,
    STATE_RESOLVED,
    check_number,
    count_by,
    display,
    new_incident,
    to_int,
    translate,
    utc,
    value,
)
from connectors.servicenow.types import (
    SYSTEM,
    Incident,
    RequestItem,
    ServiceNowConfig,
    User,
)

if TYPE_CHECKING:
    import pysnow

T = TypeVar("T")


def host_and_ssl(url: str) -> tuple[str, bool]:
    """``http://snow.local:8080/proxy/`` -> ``("snow.local:8080/proxy", False)``.

    A bare instance name (``dev12345``) means ``https://dev12345.service-now.com``.
    """
    text = url.strip()
    if "://" not in text:
        text = f"https://{text}" if "." in text or ":" in text else f"https://{text}.service-now.com"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotConfigured(SYSTEM, f"SERVICENOW_URL is not a usable URL: {url!r}.")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if parts.port:
        host = f"{host}:{parts.port}"
    return host + parts.path.rstrip("/"), parts.scheme == "https"


class ServiceNowConnector(GuardedConnector):
    """``IncidentDesk`` over pysnow; every call goes through one ``Guard``."""

    system = SYSTEM

    def __init__(
        self,
        config: ServiceNowConfig,
        policy: ResiliencePolicy = ResiliencePolicy(),
        observer: CallObserver | None = None,
    ) -> None:
        super().__init__(config, policy, translate, observer)
        self.config: ServiceNowConfig = config
        self._lock = threading.Lock()
        self._client: pysnow.Client | None = None
        self._base = ""

    # -- incidents ---------------------------------------------------------------------
    async def get_incident(self, number: str) -> Incident:
        record = await self._read_one("get_incident", "incident", check_number(number))
        return self._incident(record)

    async def create_incident(
        self,
        short_description: str,
        urgency: int = 3,
        description: str | None = None,
        caller: str | None = None,
    ) -> Incident:
        payload = new_incident(short_description, urgency, description)
        if caller:
            payload["caller_id"] = await self._caller_id(caller)
        record = await self._write("create_incident", "incident", None, payload)
        return self._incident(record)

    async def update_incident(self, number: str, fields: Mapping[str, str]) -> Incident:
        bad = {name: "is not a ServiceNow field name" for name in fields if not FIELD_NAME.match(name)}
        if bad or not fields:
            raise InvalidRequest(
                SYSTEM, describe_field_errors(SYSTEM, bad) if bad else "Nothing to update.", bad
            )
        return await self._patch_incident("update_incident", number, dict(fields))

    async def add_work_note(self, number: str, text: str) -> Incident:
        if not text.strip():
            raise InvalidRequest(SYSTEM, "A work note needs some text.", {"work_notes": "empty"})
        return await self._patch_incident("add_work_note", number, {"work_notes": text})

    async def resolve_incident(
        self, number: str, close_notes: str, close_code: str = "Solved (Permanently)"
    ) -> Incident:
        if not close_notes.strip():
            raise InvalidRequest(
                SYSTEM,
                "Resolving an incident needs close notes saying what fixed it.",
                {"close_notes": "is required"},
            )
        payload = {"state": STATE_RESOLVED, "close_code": close_code, "close_notes": close_notes}
        return await self._patch_incident("resolve_incident", number, payload)

    async def open_incidents_by_priority(self) -> dict[int, int]:
        """Open incidents (active, not resolved) counted per priority, 1 (critical) .. 5 (planning).

        One Aggregate API call (``/api/now/stats/incident``, grouped by priority), however
        many incidents there are; an incident without a priority counts under 0.
        """

        def fetch() -> list[Any]:
            stats = self._snow().resource(api_path="/stats/incident", timeout=self.policy.timeout)
            stats.parameters.add_custom({"sysparm_count": "true", "sysparm_group_by": "priority"})
            return list(stats.get(query=f"active=true^state!={STATE_RESOLVED}").all())

        groups = await self._call("open_incidents_by_priority", fetch, idempotent=True)
        return count_by(groups, "priority")

    # -- requested items, users ------------------------------------------------------------
    async def get_request_item(self, number: str) -> RequestItem:
        record = await self._read_one("get_request_item", "sc_req_item", check_number(number))
        return self._request_item(record)

    def _request_item(self, record: Mapping[str, Any]) -> RequestItem:
        return RequestItem(
            number=value(record, "number"),
            sys_id=value(record, "sys_id"),
            short_description=value(record, "short_description"),
            description=value(record, "description"),
            state=display(record, "state"),
            stage=display(record, "stage"),
            item=display(record, "cat_item"),
            requested_for=display(record, "requested_for") or None,
            opened_at=utc(value(record, "opened_at")),
            url=self._link("sc_req_item", value(record, "sys_id")),
            state_code=value(record, "state"),
        )

    async def update_request_item(
        self, number: str, fields: Mapping[str, str], work_note: str | None = None
    ) -> RequestItem:
        """Change fields of a requested item (``state``, ``stage`` ...) and/or add a work note,
        in one PATCH so the note and the change land together or not at all."""
        bad = {name: "is not a ServiceNow field name" for name in fields if not FIELD_NAME.match(name)}
        payload = dict(fields)
        if work_note is not None and work_note.strip():
            payload["work_notes"] = work_note
        if bad or not payload:
            raise InvalidRequest(
                SYSTEM, describe_field_errors(SYSTEM, bad) if bad else "Nothing to update.", bad
            )
        found = await self._read_one("find_request_item", "sc_req_item", check_number(number))
        record = await self._write("update_request_item", "sc_req_item", value(found, "sys_id"), payload)
        return self._request_item(record)

    async def find_work_notes(self, number: str, containing: str) -> list[str]:
        """Work notes on an incident or requested item that contain ``containing`` (a marker
        such as an idempotency key: letters, digits, ``-`` and ``_`` only), newest first.

        Work notes live in the journal (``sys_journal_field``), not on the record itself."""
        if not JOURNAL_TEXT.match(containing):
            raise InvalidRequest(
                SYSTEM, f"{containing!r} cannot be searched for in work notes.", {"containing": containing}
            )
        number = check_number(number)
        table = "incident" if number.startswith("INC") else "sc_req_item"
        found = await self._read_one("find_record", table, number)
        query = (
            f"element_id={value(found, 'sys_id')}^element=work_notes^valueLIKE{containing}"
            "^ORDERBYDESCsys_created_on"
        )
        records = await self._query("find_work_notes", "sys_journal_field", query, limit=50)
        return [value(r, "value") for r in records]

    async def find_user_by_email(self, email: str) -> User | None:
        if not EMAIL.match(email.strip()):
            raise InvalidRequest(SYSTEM, f"{email!r} is not an email address.", {"email": email})
        records = await self._query("find_user_by_email", "sys_user", {"email": email.strip()})
        if not records:
            return None
        record = records[0]
        return User(
            sys_id=value(record, "sys_id"),
            user_name=value(record, "user_name"),
            name=display(record, "name"),
            email=value(record, "email"),
            title=display(record, "title"),
            department=display(record, "department") or None,
            active=value(record, "active").lower() == "true",
            url=self._link("sys_user", value(record, "sys_id")),
        )

    # -- plumbing ------------------------------------------------------------------------
    async def _caller_id(self, caller: str) -> str:
        if "@" not in caller:
            return caller  # a sys_id or user name: ServiceNow resolves reference values itself
        user = await self.find_user_by_email(caller)
        if user is None:
            raise InvalidRequest(
                SYSTEM, f"ServiceNow has no user with the email {caller}.", {"caller": caller}
            )
        return user.sys_id

    async def _patch_incident(self, operation: str, number: str, payload: dict[str, str]) -> Incident:
        found = await self._read_one("find_incident", "incident", check_number(number))
        record = await self._write(operation, "incident", value(found, "sys_id"), payload)
        return self._incident(record)

    async def _read_one(self, operation: str, table: str, number: str) -> dict[str, Any]:
        records = await self._query(operation, table, {"number": number})
        if not records:
            what = {"incident": "incident", "sc_req_item": "requested item"}.get(table, "record")
            raise NotFound(SYSTEM, f"ServiceNow has no {what} {number}.")
        return dict(records[0])

    async def _query(
        self, operation: str, table: str, query: dict[str, str] | str, limit: int = 1
    ) -> list[Any]:
        def fetch() -> list[Any]:
            return list(self._table(table).get(query=query, limit=limit).all())

        return await self._call(operation, fetch, idempotent=True)

    async def _write(
        self, operation: str, table: str, sys_id: str | None, payload: Mapping[str, str]
    ) -> dict[str, Any]:
        def send() -> dict[str, Any]:
            resource = self._table(table)
            if sys_id is None:
                return dict(resource.create(payload=dict(payload)).one())
            response = resource.request("PATCH", path_append=f"/{sys_id}", data=json.dumps(payload))
            return dict(response.one())

        return await self._call(operation, send, idempotent=False)

    async def _call(self, operation: str, fn: Callable[[], T], *, idempotent: bool) -> T:
        if not self.configured:
            raise NotConfigured(
                SYSTEM,
                "ServiceNow is not configured: set SERVICENOW_URL, SERVICENOW_USER and SERVICENOW_PASSWORD.",
            )
        return await self._guard.call(operation, fn, idempotent=idempotent)

    def _table(self, table: str) -> Any:
        # A fresh Resource per call: pysnow's parameters are shared mutable state.
        resource = self._snow().resource(api_path=f"/table/{table}", timeout=self.policy.timeout)
        resource.parameters.display_value = "all"
        resource.parameters.exclude_reference_link = True
        return resource

    def _snow(self) -> pysnow.Client:
        with self._lock:  # built lazily, in a worker thread, once
            if self._client is None:
                import pysnow  # ~0.6 s of imports, paid on first use rather than at startup

                host, use_ssl = host_and_ssl(self.config.url or "")
                session = _Session()
                session.auth = (self.config.user or "", self.config.password or "")
                if self.config.ca_bundle:
                    session.verify = self.config.ca_bundle
                self._client = pysnow.Client(host=host, use_ssl=use_ssl, session=session)
                self._base = f"{'https' if use_ssl else 'http'}://{host}"
            return self._client

    def _link(self, table: str, sys_id: str) -> str:
        return f"{self._base}/{table}.do?sys_id={sys_id}"

    def _incident(self, record: Mapping[str, Any]) -> Incident:
        return Incident(
            number=value(record, "number"),
            sys_id=value(record, "sys_id"),
            short_description=value(record, "short_description"),
            description=value(record, "description"),
            state=display(record, "state"),
            priority=to_int(value(record, "priority")),
            urgency=to_int(value(record, "urgency")),
            assigned_to=display(record, "assigned_to") or None,
            opened_at=utc(value(record, "opened_at")),
            url=self._link("incident", value(record, "sys_id")),
        )


class _Session(requests.Session):
    """Sends ``verify`` with every request: requests lets REQUESTS_CA_BUNDLE silently
    override ``Session.verify`` (psf/requests#3829), and pysnow passes no ``verify``."""

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("verify", self.verify)
        return super().request(method, url, *args, **kwargs)
