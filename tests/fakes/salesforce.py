"""A stateful fake of the Salesforce REST API (and its SOAP login), over TLS.

Shapes follow the REST API Developer Guide: records carry ``attributes``;
create answers 201 ``{"id", "success", "errors"}``; update and delete answer
204; errors are a JSON list of ``{"message", "errorCode", "fields"}``; SOQL
answers ``{"totalSize", "done", "records"[, "nextRecordsUrl"]}``. The SOAP
``login`` call answers the partner WSDL's ``loginResponse`` or a ``LoginFault``.

simple-salesforce only speaks https, so the fake must be given a server
``ssl.SSLContext`` (see ``tests/fakes/tls.py``).
"""

from __future__ import annotations

import html
import itertools
import re
import ssl
from datetime import date
from typing import Any

from tests.fakes.server import Recorded, Response
from tests.fakes.tls import FakeServerPlus

API = "59.0"
DATA = rf"/services/data/v{re.escape(API)}"

# sObject -> (id prefix, fields the fake knows, fields required on create)
SCHEMA: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "Opportunity": (
        "006",
        ("Id", "Name", "StageName", "Amount", "CloseDate", "AccountId"),
        ("Name", "StageName", "CloseDate"),
    ),
    "Account": ("001", ("Id", "Name", "Industry"), ("Name",)),
}
STAGES = ("Prospecting", "Qualification", "Negotiation/Review", "Closed Won", "Closed Lost")

SOQL = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<sobject>\w+)"
    r"(?:\s+WHERE\s+(?P<where_field>\w+)\s*=\s*'(?P<where_value>[^']*)')?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    """One Salesforce REST error, in the list shape the API always uses."""
    return Response(status, [{"message": message, "errorCode": code, "fields": fields or []}])


class FakeSalesforce:
    """``with FakeSalesforce(tls) as sf:`` then point a connector at ``sf.url``."""

    def __init__(
        self,
        tls: ssl.SSLContext,
        *,
        username: str = "ops@example.com",
        password: str = "hunter2",  # noqa: S107 - the fake's own test credentials
        security_token: str = "TOKEN42",  # noqa: S107
    ) -> None:
        self.server = FakeServerPlus(tls=tls)
        self.credentials = (username, password + security_token)
        self.sessions: set[str] = {"00Dfake!static-session"}
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in SCHEMA}
        self.batch_size = 2000  # records per query page, as Salesforce's default
        self._ids = itertools.count(1)
        self._cursors: dict[str, list[dict[str, Any]]] = {}
        self._routes()

    # -- lifecycle and test helpers --------------------------------------------
    @property
    def url(self) -> str:
        return self.server.url

    @property
    def session_id(self) -> str:
        """A session id the fake accepts (the ``SALESFORCE_SESSION_ID`` path)."""
        return "00Dfake!static-session"

    def __enter__(self) -> FakeSalesforce:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def fail_next(self, method: str, pattern: str, *responses: Response) -> None:
        self.server.fail_next(method, pattern, *responses)

    def calls(self, method: str, pattern: str) -> list[Recorded]:
        return self.server.calls(method, pattern)

    def expire_sessions(self) -> None:
        """Every current session id becomes invalid (as after a password reset)."""
        self.sessions.clear()

    def seed(self, sobject: str, **fields: Any) -> str:
        """Store a record directly; returns its new id."""
        record_id = self._new_id(sobject)
        self.records[sobject][record_id] = {"Id": record_id, **fields}
        return record_id

    def _new_id(self, sobject: str) -> str:
        # 18-character ids with the real key prefixes (006 Opportunity, 001 Account)
        return f"{SCHEMA[sobject][0]}5g00000{next(self._ids):05d}AAA"

    # -- routes ------------------------------------------------------------------
    def _routes(self) -> None:
        srv = self.server
        srv.route("POST", rf"/services/Soap/u/{re.escape(API)}")(self._login)
        srv.route("GET", rf"{DATA}/sobjects/(\w+)/(\w*)")(self._authed(self._get))
        srv.route("POST", rf"{DATA}/sobjects/(\w+)/?")(self._authed(self._create))
        srv.route("PATCH", rf"{DATA}/sobjects/(\w+)/(\w*)")(self._authed(self._update))
        srv.route("DELETE", rf"{DATA}/sobjects/(\w+)/(\w*)")(self._authed(self._delete))
        srv.route("GET", rf"{DATA}/query/?")(self._authed(self._query))
        srv.route("GET", rf"{DATA}/query/([\w-]+)")(self._authed(self._query_more))

    def _authed(self, handler: Any) -> Any:
        def check(rec: Recorded, m: re.Match[str]) -> Response:
            token = rec.headers.get("authorization", "").removeprefix("Bearer ")
            if token not in self.sessions:
                return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
            return handler(rec, m)  # type: ignore[no-any-return]

        return check

    def _login(self, rec: Recorded, m: re.Match[str]) -> Response:
        body = rec.body.decode()
        user = re.search(r"<n1:username>(.*?)</n1:username>", body)
        secret = re.search(r"<n1:password>(.*?)</n1:password>", body)
        given = (
            html.unescape(user.group(1)) if user else "",
            html.unescape(secret.group(1)) if secret else "",
        )
        if given != self.credentials:
            return Response(500, _LOGIN_FAULT, {"Content-Type": "text/xml"})
        session = f"00Dfake!login-{next(self._ids)}"
        self.sessions.add(session)
        xml = _LOGIN_OK.format(server=f"{self.url}/services/Soap/u/{API}/00D5g000000fake", session=session)
        return Response(200, xml, {"Content-Type": "text/xml"})

    def _known(self, sobject: str) -> Response | None:
        if sobject not in SCHEMA:
            return sf_error(404, "NOT_FOUND", f"The requested resource does not exist: {sobject}")
        return None

    def _get(self, rec: Recorded, m: re.Match[str]) -> Response:
        sobject, record_id = m.group(1), m.group(2)
        if err := self._known(sobject):
            return err
        record = self.records[sobject].get(record_id)
        if record is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        return Response(200, self._render(sobject, record, SCHEMA[sobject][1]))

    def _create(self, rec: Recorded, m: re.Match[str]) -> Response:
        sobject = m.group(1)
        if err := self._known(sobject):
            return err
        data = rec.json()
        missing = [f for f in SCHEMA[sobject][2] if data.get(f) in (None, "")]
        if missing:
            names = ", ".join(missing)
            return sf_error(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{names}]", missing)
        if err := self._validate(sobject, data):
            return err
        record_id = self._new_id(sobject)
        self.records[sobject][record_id] = {"Id": record_id, **data}
        return Response(201, {"id": record_id, "success": True, "errors": []})

    def _update(self, rec: Recorded, m: re.Match[str]) -> Response:
        sobject, record_id = m.group(1), m.group(2)
        if err := self._known(sobject):
            return err
        record = self.records[sobject].get(record_id)
        if record is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        data = rec.json()
        cleared = [f for f in SCHEMA[sobject][2] if f in data and data[f] in (None, "")]
        if cleared:
            return sf_error(
                400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(cleared)}]", cleared
            )
        if err := self._validate(sobject, data):
            return err
        record.update(data)
        return Response(204)

    def _delete(self, rec: Recorded, m: re.Match[str]) -> Response:
        sobject, record_id = m.group(1), m.group(2)
        if err := self._known(sobject):
            return err
        if self.records[sobject].pop(record_id, None) is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        return Response(204)

    def _validate(self, sobject: str, data: dict[str, Any]) -> Response | None:
        for name in data:
            if name not in SCHEMA[sobject][1] or name == "Id":
                return sf_error(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}")
        stage = data.get("StageName")
        if stage is not None and stage not in STAGES:
            return sf_error(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"Stage: bad value for restricted picklist field: {stage}",
                ["StageName"],
            )
        close = data.get("CloseDate")
        if close is not None and not _is_date(close):
            return sf_error(
                400,
                "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of date from VALUE_STRING value {close}",
            )
        account = data.get("AccountId")
        if account and account not in self.records["Account"]:
            return sf_error(
                400,
                "INVALID_CROSS_REFERENCE_KEY",
                f"Account ID: id value of incorrect type: {account}",
                ["AccountId"],
            )
        return None

    # -- SOQL ----------------------------------------------------------------------
    def _query(self, rec: Recorded, m: re.Match[str]) -> Response:
        soql = rec.query.get("q", [""])[0]
        parsed = SOQL.match(soql)
        if parsed is None:
            return sf_error(
                400, "MALFORMED_QUERY", f"unexpected token: '{soql.split()[-1] if soql.split() else ''}'"
            )
        sobject = parsed["sobject"]
        if sobject not in SCHEMA:
            return sf_error(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        fields = [f.strip() for f in parsed["fields"].split(",")]
        for name in [*fields, parsed["where_field"] or "Id"]:
            if name not in SCHEMA[sobject][1]:
                return sf_error(400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'.")
        rows = [
            self._render(sobject, r, fields)
            for r in self.records[sobject].values()
            if parsed["where_field"] is None or str(r.get(parsed["where_field"])) == parsed["where_value"]
        ]
        if parsed["limit"]:
            rows = rows[: int(parsed["limit"])]
        return Response(200, self._page(rows, len(rows)))

    def _query_more(self, rec: Recorded, m: re.Match[str]) -> Response:
        rows = self._cursors.pop(m.group(1), None)
        if rows is None:
            return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        total = int(m.group(1).split("-")[1])
        return Response(200, self._page(rows, total))

    def _page(self, rows: list[dict[str, Any]], total: int) -> dict[str, Any]:
        page, rest = rows[: self.batch_size], rows[self.batch_size :]
        body: dict[str, Any] = {"totalSize": total, "done": not rest, "records": page}
        if rest:
            locator = f"01gfake{next(self._ids)}-{total}"
            self._cursors[locator] = rest
            body["nextRecordsUrl"] = f"/services/data/v{API}/query/{locator}"
        return body

    @staticmethod
    def _render(sobject: str, record: dict[str, Any], fields: Any) -> dict[str, Any]:
        url = f"/services/data/v{API}/sobjects/{sobject}/{record['Id']}"
        return {"attributes": {"type": sobject, "url": url}, **{f: record.get(f) for f in fields}}


def _is_date(value: Any) -> bool:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return True


_LOGIN_OK = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\
<soapenv:Body><loginResponse><result>\
<metadataServerUrl>{server}</metadataServerUrl><passwordExpired>false</passwordExpired>\
<sandbox>false</sandbox><serverUrl>{server}</serverUrl><sessionId>{session}</sessionId>\
<userId>0055g00000fakeAAA</userId>\
</result></loginResponse></soapenv:Body></soapenv:Envelope>"""

_LOGIN_FAULT = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\
<soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode>\
<faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.\
</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault">\
<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>\
<sf:exceptionMessage>Invalid username, password, security token; or user locked out.\
</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"""
