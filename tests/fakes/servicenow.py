"""A stateful fake of the ServiceNow Table API (``/api/now/table/<table>``).

Shapes follow the REST API reference: lists answer ``{"result": [...]}``, single
records ``{"result": {...}}``, create 201, delete 204, and errors
``{"error": {"message", "detail"}, "status": "failure"}`` (401 for bad
credentials, 404 for a missing sys_id, 403 for a data-policy violation).
``sysparm_display_value`` (false | true | all), ``sysparm_exclude_reference_link``,
``sysparm_query`` (``field=value^field=value``) and ``sysparm_limit`` are honoured.
Records are stored as raw values; choice labels and reference names are rendered
on the way out, as the platform does.
"""

from __future__ import annotations

import base64
import itertools
import re
import ssl
import uuid
from datetime import UTC, datetime
from typing import Any

from tests.fakes.server import FakeServer, Recorded, Response

TABLE = r"/api/now/table/(?P<table>\w+)"
RECORD = TABLE + r"/(?P<sys_id>[0-9a-f]{32})"
STATS = r"/api/now/stats/(?P<table>\w+)"  # the Aggregate API
INACTIVE_STATES = {"7", "8"}  # Closed, Canceled: the platform clears `active`

CHOICES: dict[str, dict[str, str]] = {
    "state": {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed",
              "8": "Canceled"},
    "urgency": {"1": "1 - High", "2": "2 - Medium", "3": "3 - Low"},
    "impact": {"1": "1 - High", "2": "2 - Medium", "3": "3 - Low"},
    "priority": {"1": "1 - Critical", "2": "2 - High", "3": "3 - Moderate", "4": "4 - Low",
                 "5": "5 - Planning"},
    "stage": {"request_approved": "Request Approved", "fulfillment": "Fulfillment",
              "complete": "Completed"},
}  # fmt: skip
RITM_STATES = {"1": "Open", "2": "Work in Progress", "3": "Closed Complete"}
REFERENCES = {
    "assigned_to": "sys_user",
    "caller_id": "sys_user",
    "requested_for": "sys_user",
    "opened_by": "sys_user",
    "cat_item": "sc_cat_item",
    "department": "cmn_department",
}
USER, PASSWORD = "switchboard", "s3cret"
PREFIXES = {"incident": "INC", "sc_req_item": "RITM"}
RESOLVING_STATES = {"6", "7"}


class ResettableServer(FakeServer):
    """FakeServer plus ``reset()``, so one server can serve a whole test module.

    Stopping a FakeServer costs ~0.5 s (``serve_forever``'s poll interval); a
    module-scoped server that forgets its requests and pending faults between
    tests keeps the contract suites fast."""

    def reset(self) -> None:
        with self._lock:
            self._overrides.clear()
            self.requests.clear()


def snow_error(status: int, message: str, detail: str | None = None) -> Response:
    """An error in the Table API's documented shape."""
    return Response(status, {"error": {"message": message, "detail": detail}, "status": "failure"})


class FakeServiceNow:
    """``with FakeServiceNow() as snow:`` then point a connector at ``snow.url``."""

    def __init__(
        self,
        tls: ssl.SSLContext | None = None,
        *,
        user: str = USER,
        password: str = PASSWORD,
    ) -> None:
        self.server = ResettableServer(tls)
        self.user, self.password = user, password
        self.tables: dict[str, list[dict[str, str]]] = {}
        self.work_notes: dict[str, list[str]] = {}  # incident sys_id -> journal entries
        self._numbers = itertools.count(10001)
        self._register()

    # -- lifecycle and test helpers -------------------------------------------------------
    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> FakeServiceNow:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def reset(self) -> None:
        """Forget every record, request and pending fault (between tests)."""
        self.server.reset()
        self.tables.clear()
        self.work_notes.clear()
        self._numbers = itertools.count(10001)

    def fail_next(self, method: str, pattern: str, *responses: Response) -> None:
        self.server.fail_next(method, pattern, *responses)

    def calls(self, method: str, pattern: str = TABLE) -> list[Recorded]:
        return self.server.calls(method, pattern)

    def insert(self, table: str, **fields: str) -> dict[str, str]:
        """Store a record as the platform would (sys_id, number, opened_at filled in)."""
        record = {"sys_id": uuid.uuid4().hex, **fields}
        if table in PREFIXES and "number" not in record:
            record["number"] = f"{PREFIXES[table]}{next(self._numbers):07d}"
        if table in PREFIXES:
            record.setdefault("opened_at", datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"))
        if table == "incident":
            record.setdefault("state", "1")
            record.setdefault("impact", "3")
            record.setdefault("urgency", "3")
            record["priority"] = _priority(record)
            record.setdefault("active", _active(record))
        self.tables.setdefault(table, []).append(record)
        return record

    def record(self, table: str, **match: str) -> dict[str, str] | None:
        rows = [r for r in self.tables.get(table, []) if _matches(r, match)]
        return rows[0] if rows else None

    # -- routes --------------------------------------------------------------------------
    def _register(self) -> None:
        srv = self.server
        srv.route("GET", TABLE)(self._guarded(self._list))
        srv.route("POST", TABLE)(self._guarded(self._create))
        srv.route("GET", RECORD)(self._guarded(self._get))
        srv.route("PATCH", RECORD)(self._guarded(self._update))
        srv.route("PUT", RECORD)(self._guarded(self._update))
        srv.route("DELETE", RECORD)(self._guarded(self._delete))
        srv.route("GET", STATS)(self._guarded(self._stats))

    def _guarded(self, handler: Any) -> Any:
        def check(req: Recorded, match: Any) -> Response:
            if not self._authorised(req.headers.get("authorization", "")):
                return snow_error(401, "User Not Authenticated", "Required to provide Auth information")
            return handler(req, match["table"], match.groupdict().get("sys_id"))  # type: ignore[no-any-return]

        return check

    def _authorised(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        given = base64.b64decode(header[6:]).decode(errors="replace")
        return given == f"{self.user}:{self.password}"

    def _list(self, req: Recorded, table: str, _: str | None) -> Response:
        query = _parse_query(_param(req, "sysparm_query"))
        limit = int(_param(req, "sysparm_limit") or 10000)
        rows = [r for r in self.tables.get(table, []) if _matches(r, query)][:limit]
        return Response(200, {"result": [self._render(req, table, r) for r in rows]})

    def _get(self, req: Recorded, table: str, sys_id: str | None) -> Response:
        row = self.record(table, sys_id=sys_id or "")
        if row is None:
            return _no_record()
        return Response(200, {"result": self._render(req, table, row)})

    def _create(self, req: Recorded, table: str, _: str | None) -> Response:
        fields = {k: str(v) for k, v in (req.json() or {}).items()}
        notes = fields.pop("work_notes", "")
        violation = self._data_policy(table, fields)
        if violation:
            return violation
        row = self.insert(table, **fields)
        if notes:
            self._journal(table, row["sys_id"], notes)
        return Response(201, {"result": self._render(req, table, row)})

    def _update(self, req: Recorded, table: str, sys_id: str | None) -> Response:
        row = self.record(table, sys_id=sys_id or "")
        if row is None:
            return _no_record()
        fields = {k: str(v) for k, v in (req.json() or {}).items()}
        notes = fields.pop("work_notes", "")
        violation = self._data_policy(table, {**row, **fields})
        if violation:
            return violation
        row.update(fields)
        if table == "incident":
            row["priority"] = _priority(row)
            row["active"] = fields.get("active") or _active(row)
        if notes:
            self._journal(table, row["sys_id"], notes)
        return Response(200, {"result": self._render(req, table, row)})

    def _journal(self, table: str, sys_id: str, notes: str) -> None:
        """Work notes go to the journal (``sys_journal_field``), as on the platform."""
        self.work_notes.setdefault(sys_id, []).append(notes)
        self.tables.setdefault("sys_journal_field", []).append({
            "sys_id": uuid.uuid4().hex, "element": "work_notes", "element_id": sys_id,
            "name": table, "value": notes,
            "sys_created_on": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        })  # fmt: skip

    def _stats(self, req: Recorded, table: str, _: str | None) -> Response:
        """``sysparm_count=true`` with optional ``sysparm_group_by=a,b``: one result per group
        (``stats.count`` as a string, ``groupby_fields`` raw values), else one object."""
        query = _parse_query(_param(req, "sysparm_query"))
        rows = [r for r in self.tables.get(table, []) if _matches(r, query)]
        group_by = [f for f in (_param(req, "sysparm_group_by") or "").split(",") if f]
        if not group_by:
            return Response(200, {"result": {"stats": {"count": str(len(rows))}}})
        groups: dict[tuple[str, ...], int] = {}
        for row in rows:
            key = tuple(row.get(f, "") for f in group_by)
            groups[key] = groups.get(key, 0) + 1
        return Response(200, {"result": [
            {"stats": {"count": str(n)},
             "groupby_fields": [{"field": f, "value": v} for f, v in zip(group_by, key, strict=True)]}
            for key, n in sorted(groups.items())
        ]})  # fmt: skip

    def _delete(self, req: Recorded, table: str, sys_id: str | None) -> Response:
        row = self.record(table, sys_id=sys_id or "")
        if row is None:
            return _no_record()
        self.tables[table].remove(row)
        return Response(204)

    def _data_policy(self, table: str, row: dict[str, str]) -> Response | None:
        # The out-of-box "resolve needs resolution code and notes" rule.
        if table != "incident" or row.get("state") not in RESOLVING_STATES:
            return None
        missing = [label for field, label in (("close_code", "Resolution code"),
                                              ("close_notes", "Resolution notes"))
                   if not row.get(field)]  # fmt: skip
        if not missing:
            return None
        detail = f"Data Policy Exception: \n\tThe following fields are mandatory: {', '.join(missing)}\n"
        return snow_error(403, "Operation Failed", detail)

    # -- rendering -------------------------------------------------------------------------
    def _render(self, req: Recorded, table: str, row: dict[str, str]) -> dict[str, Any]:
        mode = (_param(req, "sysparm_display_value") or "false").lower()
        no_links = (_param(req, "sysparm_exclude_reference_link") or "false").lower() == "true"
        out: dict[str, Any] = {}
        for name, value in {**row, "work_notes": ""}.items():
            display = self._display(table, name, value)
            link = self._link(name, value)
            if mode == "all":
                out[name] = {"display_value": display, "value": value}
            elif mode == "true":
                out[name] = display
            else:
                out[name] = value
            if link and not no_links and value:
                shown = out[name] if isinstance(out[name], dict) else {"value": out[name]}
                out[name] = {**shown, "link": link}
        return out

    def _display(self, table: str, name: str, value: str) -> str:
        if name in REFERENCES:
            target = self.record(REFERENCES[name], sys_id=value)
            return target.get("name", "") if target else ""
        if table == "sc_req_item" and name == "state":
            return RITM_STATES.get(value, value)
        return CHOICES.get(name, {}).get(value, value)

    def _link(self, name: str, value: str) -> str | None:
        if name not in REFERENCES:
            return None
        return f"{self.url}/api/now/table/{REFERENCES[name]}/{value}"


def _priority(row: dict[str, str]) -> str:
    # The default priority lookup: impact + urgency - 1, capped at 5 (planning).
    return str(min(5, int(row.get("impact", "3")) + int(row.get("urgency", "3")) - 1))


def _active(row: dict[str, str]) -> str:
    return "false" if row.get("state") in INACTIVE_STATES else "true"


def _no_record() -> Response:
    return snow_error(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")


def _param(req: Recorded, name: str) -> str | None:
    values = req.query.get(name)
    return values[0] if values else None


def _parse_query(query: str | None) -> dict[str, str]:
    """``a=1^bLIKEx^c!=2^ORDERBYnumber`` -> ``{"a": "1", "bLIKE": "x", "c!=": "2"}`` (equality,
    inequality and LIKE, which is "contains", are all the fake knows)."""
    clauses: dict[str, str] = {}
    for clause in (query or "").split("^"):
        like = re.match(r"^([a-z_][a-z0-9_]*)LIKE(.*)$", clause)
        if like:
            clauses[f"{like[1]}LIKE"] = like[2]
        elif "!=" in clause:
            field, value = clause.split("!=", 1)
            clauses[f"{field}!="] = value
        elif "=" in clause and not clause.startswith("ORDERBY"):
            field, value = clause.split("=", 1)
            clauses[field] = value
    return clauses


def _matches(row: dict[str, str], query: dict[str, str]) -> bool:
    return all(
        value in row.get(field.removesuffix("LIKE"), "") if field.endswith("LIKE")
        else row.get(field.removesuffix("!="), "") != value if field.endswith("!=")
        else row.get(field, "") == value
        for field, value in query.items()
    )
