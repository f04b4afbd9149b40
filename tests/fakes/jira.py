"""A stateful fake of the Jira REST API, as a Cloud site or as Server/Data Center.

Shapes follow the REST API v2 reference: issues ``{"id", "key", "self", "fields"}``;
create answers 201 ``{"id", "key", "self"}``; transitions, links and delete answer
204/201 with no body; errors are ``{"errorMessages": [...], "errors": {field: msg}}``.
Search differs by deployment, as on the real products: Server answers
``/rest/api/2/search`` (``startAt``/``total`` paging) and has no ``/search/jql``;
Cloud answers ``/rest/api/{2,3}/search/jql`` (``nextPageToken`` paging) and
``/search`` is gone (410). On Server, epics need the "Epic Name" custom field
and stories point at their epic through "Epic Link"; on Cloud both are ``parent``.
"""

from __future__ import annotations

import base64
import itertools
import re
import ssl
from datetime import UTC, datetime
from typing import Any

from tests.fakes.server import Recorded, Response
from tests.fakes.servicenow import ResettableServer

API = r"/rest/api/[23]"
ISSUE = API + r"/issue/(?P<key>[^/]+)"
USER, TOKEN = "switchboard@example.com", "api-token-123"
EPIC_NAME, EPIC_LINK = "customfield_10011", "customfield_10014"

ISSUE_TYPES = {name: str(10001 + i) for i, name in enumerate(["Task", "Bug", "Story", "Epic", "Sub-task"])}
STATUSES = {"To Do": "1", "In Progress": "3", "Done": "10001"}
TRANSITIONS = [("11", "Start Progress", "In Progress"), ("21", "Done", "Done"), ("31", "Reopen", "To Do")]
LINK_TYPES = [
    {"id": "10000", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
    {"id": "10001", "name": "Relates", "inward": "relates to", "outward": "relates to"},
    {"id": "10002", "name": "Duplicate", "inward": "is duplicated by", "outward": "duplicates"},
]
JQL_FIELDS = {"project", "status", "issuetype", "type", "key", "assignee", "parent", "summary", "text"}


def jira_error(status: int, *messages: str, **errors: str) -> Response:
    """An error in Jira's documented shape."""
    return Response(status, {"errorMessages": list(messages), "errors": errors})


class FakeJira:
    """``with FakeJira(cloud=True) as jira:`` then point a connector at ``jira.url``."""

    def __init__(
        self, *, cloud: bool = False, tls: ssl.SSLContext | None = None, user: str = USER, token: str = TOKEN
    ) -> None:
        self.cloud = cloud
        self.server = ResettableServer(tls)
        self.user, self.token = user, token
        self.projects = {"OPS": "10000", "WEB": "10001"}
        self.issues: dict[str, dict[str, Any]] = {}  # key -> raw fields (our storage)
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.links: list[tuple[str, str, str]] = []  # (type name, inward key, outward key)
        self._ids = itertools.count(10001)
        self._register()

    # -- lifecycle and test helpers -------------------------------------------------------
    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> FakeJira:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def reset(self, *, cloud: bool | None = None) -> None:
        self.server.reset()
        self.cloud = self.cloud if cloud is None else cloud
        self.issues.clear()
        self.comments.clear()
        self.links.clear()
        self._ids = itertools.count(10001)

    def fail_next(self, method: str, pattern: str, *responses: Response) -> None:
        self.server.fail_next(method, pattern, *responses)

    def calls(self, method: str, pattern: str) -> list[Recorded]:
        return self.server.calls(method, pattern)

    def add_issue(self, project: str, summary: str, issue_type: str = "Task", **fields: Any) -> str:
        """Store an issue as Jira would; returns its key."""
        issue_id = str(next(self._ids))
        key = f"{project}-{sum(1 for k in self.issues if k.startswith(project + '-')) + 1}"
        self.issues[key] = {
            "id": issue_id,
            "summary": summary,
            "issuetype": issue_type,
            "status": "To Do",
            "project": project,
            "description": None,
            "assignee": None,
            **fields,
        }
        return key

    # -- routes --------------------------------------------------------------------------
    def _register(self) -> None:
        routes = [
            ("GET", API + r"/serverInfo", self._server_info),
            ("GET", API + r"/field", self._fields),
            ("POST", API + r"/issue", self._create),
            ("GET", ISSUE, self._get),
            ("DELETE", ISSUE, self._delete),
            ("POST", ISSUE + r"/comment", self._comment),
            ("GET", ISSUE + r"/transitions", self._transitions),
            ("POST", ISSUE + r"/transitions", self._transition),
            ("GET", API + r"/issueLinkType", self._link_types),
            ("POST", API + r"/issueLink", self._link),
            ("GET", API + r"/search", self._search_server),
            ("POST", API + r"/search", self._search_server),
            ("GET", API + r"/search/jql", self._search_cloud),
            ("POST", API + r"/search/jql", self._search_cloud),
        ]
        for method, pattern, handler in routes:
            self.server.route(method, pattern)(self._guarded(handler))

    def _guarded(self, handler: Any) -> Any:
        def check(req: Recorded, match: re.Match[str]) -> Response:
            if not self._authorised(req.headers.get("authorization", "")):
                return Response(
                    401,
                    {"errorMessages": ["You are not authenticated. Authentication required."], "errors": {}},
                    {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"},
                )
            return handler(req, match)  # type: ignore[no-any-return]

        return check

    def _authorised(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        return base64.b64decode(header[6:]).decode(errors="replace") == f"{self.user}:{self.token}"

    def _server_info(self, req: Recorded, _: re.Match[str]) -> Response:
        version = ("1001.0.0-SNAPSHOT", [1001, 0, 0]) if self.cloud else ("9.12.2", [9, 12, 2])
        return Response(200, {
            "baseUrl": self.url, "version": version[0], "versionNumbers": version[1],
            "deploymentType": "Cloud" if self.cloud else "Server", "buildNumber": 100237,
            "serverTime": _now(), "scmInfo": "fake", "serverTitle": "Jira",
        })  # fmt: skip

    def _fields(self, req: Recorded, _: re.Match[str]) -> Response:
        fields = [
            {"id": "summary", "name": "Summary", "custom": False, "clauseNames": ["summary"],
             "schema": {"type": "string", "system": "summary"}},
            {"id": "status", "name": "Status", "custom": False, "clauseNames": ["status"],
             "schema": {"type": "status", "system": "status"}},
        ]  # fmt: skip
        if not self.cloud:
            fields += [
                _custom_field(EPIC_NAME, "Epic Name", "gh-epic-label"),
                _custom_field(EPIC_LINK, "Epic Link", "gh-epic-link"),
            ]
        return Response(200, fields)

    # -- issues --------------------------------------------------------------------------
    def _create(self, req: Recorded, _: re.Match[str]) -> Response:
        fields = (req.json() or {}).get("fields") or {}
        errors = self._validate(fields)
        if errors:
            return jira_error(400, **errors)
        extra = {k: v for k, v in fields.items() if k.startswith("customfield_")}
        parent = (fields.get("parent") or {}).get("key")
        key = self.add_issue(
            fields["project"]["key"], fields["summary"], fields["issuetype"]["name"],
            description=fields.get("description"), parent=parent, **extra,
        )  # fmt: skip
        return Response(201, {"id": self.issues[key]["id"], "key": key, "self": self._self(key)})

    def _validate(self, fields: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        if (fields.get("project") or {}).get("key") not in self.projects:
            errors["project"] = "valid project is required"
        issue_type = (fields.get("issuetype") or {}).get("name")
        if issue_type not in ISSUE_TYPES:
            errors["issuetype"] = "valid issue type is required"
        if not str(fields.get("summary") or "").strip():
            errors["summary"] = "You must specify a summary of the issue."
        if issue_type == "Epic" and not self.cloud and not fields.get(EPIC_NAME):
            errors[EPIC_NAME] = "Epic Name is required."
        if issue_type == "Sub-task" and not fields.get("parent"):
            errors["parent"] = "Sub-task issues must have a parent."
        parent = (fields.get("parent") or {}).get("key")
        if parent and parent not in self.issues:
            errors["parent"] = f"Could not find issue by id or key '{parent}'."
        epic = fields.get(EPIC_LINK)
        if epic and (epic not in self.issues or self.issues[epic]["issuetype"] != "Epic"):
            errors[EPIC_LINK] = f"The issue {epic} is not an epic."
        return errors

    def _get(self, req: Recorded, match: re.Match[str]) -> Response:
        key = self._find(match["key"])
        if key is None:
            return _no_issue()
        return Response(200, self._render(key))

    def _delete(self, req: Recorded, match: re.Match[str]) -> Response:
        key = self._find(match["key"])
        if key is None:
            return _no_issue()
        subtasks = [k for k, f in self.issues.items() if f.get("parent") == key]
        if subtasks and (req.query.get("deleteSubtasks") or ["false"])[0].lower() != "true":
            return jira_error(
                400,
                f"The issue '{key}' has subtasks. You must specify the 'deleteSubtasks' "
                "parameter to delete this issue with all its subtasks.",
            )
        for doomed in [*subtasks, key]:
            del self.issues[doomed]
        return Response(204)

    def _comment(self, req: Recorded, match: re.Match[str]) -> Response:
        key = self._find(match["key"])
        if key is None:
            return _no_issue()
        body = (req.json() or {}).get("body")
        if not body:
            return jira_error(400, **{"comment": "Comment body can not be empty!"})
        comment_id = str(next(self._ids))
        comment = {
            "self": f"{self._self(key)}/comment/{comment_id}", "id": comment_id, "body": body,
            "author": {"displayName": "Switchboard Bot", "name": "switchboard"},
            "created": _now(), "updated": _now(),
        }  # fmt: skip
        self.comments.setdefault(key, []).append(comment)
        return Response(201, comment)

    def _transitions(self, req: Recorded, match: re.Match[str]) -> Response:
        key = self._find(match["key"])
        if key is None:
            return _no_issue()
        current = self.issues[key]["status"]
        return Response(200, {"expand": "transitions", "transitions": [
            {"id": tid, "name": name, "to": {"name": to, "id": STATUSES[to]}}
            for tid, name, to in TRANSITIONS if to != current
        ]})  # fmt: skip

    def _transition(self, req: Recorded, match: re.Match[str]) -> Response:
        key = self._find(match["key"])
        if key is None:
            return _no_issue()
        wanted = str(((req.json() or {}).get("transition") or {}).get("id"))
        for tid, _, to in TRANSITIONS:
            if tid == wanted and to != self.issues[key]["status"]:
                self.issues[key]["status"] = to
                return Response(204)
        return jira_error(400, f"Transition id '{wanted}' is not valid for this issue.")

    def _link_types(self, req: Recorded, _: re.Match[str]) -> Response:
        types = [{**t, "self": f"{self.url}/rest/api/2/issueLinkType/{t['id']}"} for t in LINK_TYPES]
        return Response(200, {"issueLinkTypes": types})

    def _link(self, req: Recorded, _: re.Match[str]) -> Response:
        body = req.json() or {}
        name = (body.get("type") or {}).get("name")
        if name not in {t["name"] for t in LINK_TYPES}:
            return jira_error(404, f"No issue link type with name '{name}' found.")
        inward, outward = (
            self._find((body.get(side) or {}).get("key", "")) for side in ("inwardIssue", "outwardIssue")
        )
        if inward is None or outward is None:
            return _no_issue()
        self.links.append((name, inward, outward))
        return Response(201)

    # -- search ----------------------------------------------------------------------------
    def _search_server(self, req: Recorded, _: re.Match[str]) -> Response:
        if self.cloud:
            return jira_error(410, "The requested API has been removed. Please migrate to the "
                              "/rest/api/3/search/jql API.")  # fmt: skip
        params = _search_params(req)
        keys, error = self._jql(str(params.get("jql") or ""))
        if error:
            return error
        start, size = int(params.get("startAt") or 0), int(params.get("maxResults") or 50)
        page = keys[start : start + size]
        return Response(200, {"expand": "schema,names", "startAt": start, "maxResults": size,
                              "total": len(keys), "issues": [self._render(k) for k in page]})  # fmt: skip

    def _search_cloud(self, req: Recorded, _: re.Match[str]) -> Response:
        if not self.cloud:
            return Response(404, "<html><body>Not Found</body></html>")
        params = _search_params(req)
        keys, error = self._jql(str(params.get("jql") or ""))
        if error:
            return error
        start, size = int(params.get("nextPageToken") or 0), int(params.get("maxResults") or 50)
        page, more = keys[start : start + size], start + size < len(keys)
        body: dict[str, Any] = {"issues": [self._render(k) for k in page], "isLast": not more}
        if more:
            body["nextPageToken"] = str(start + size)
        return Response(200, body)

    def _jql(self, jql: str) -> tuple[list[str], Response | None]:
        """``a = b AND c ~ "d" AND e in (f, g) ORDER BY x`` is all the fake understands."""
        where = re.split(r"\border\s+by\b", jql, flags=re.IGNORECASE)[0].strip()
        keys = list(self.issues)
        for clause in filter(None, re.split(r"\s+and\s+", where, flags=re.IGNORECASE)):
            m = re.match(r"^\s*(\w+)\s*(=|~|in)\s*(.+?)\s*$", clause, re.IGNORECASE)
            if not m or m[1].lower() not in JQL_FIELDS:
                field = m[1] if m else clause
                return [], jira_error(400, f"Field '{field}' does not exist or you do not have "
                                      "permission to view it.")  # fmt: skip
            field, op, raw = m[1].lower(), m[2].lower(), m[3]
            values = (
                [v.strip().strip("\"'") for v in raw.strip("()").split(",")]
                if op == "in"
                else [raw.strip("\"'")]
            )
            keys = [k for k in keys if self._jql_match(k, field, op, values)]
        return keys, None

    def _jql_match(self, key: str, field: str, op: str, values: list[str]) -> bool:
        stored = self.issues[key]
        if op == "~":
            text = f"{stored['summary']} {stored.get('description') or ''}".lower()
            return values[0].lower() in text
        actual = {"key": key, "type": stored["issuetype"]}.get(field, stored.get(field))
        return str(actual).lower() in {v.lower() for v in values}

    # -- rendering --------------------------------------------------------------------------
    def _find(self, key_or_id: str) -> str | None:
        if key_or_id in self.issues:
            return key_or_id
        return next((k for k, f in self.issues.items() if f["id"] == key_or_id), None)

    def _self(self, key: str) -> str:
        return f"{self.url}/rest/api/2/issue/{self.issues[key]['id']}"

    def _render(self, key: str) -> dict[str, Any]:
        stored = self.issues[key]
        fields: dict[str, Any] = {
            "summary": stored["summary"],
            "description": stored.get("description"),
            "issuetype": {"id": ISSUE_TYPES[stored["issuetype"]], "name": stored["issuetype"],
                          "subtask": stored["issuetype"] == "Sub-task"},
            "status": {"id": STATUSES[stored["status"]], "name": stored["status"]},
            "project": {"id": self.projects[stored["project"]], "key": stored["project"]},
            "assignee": {"displayName": stored["assignee"]} if stored.get("assignee") else None,
        }  # fmt: skip
        if stored.get("parent"):
            fields["parent"] = {"key": stored["parent"], "id": self.issues[stored["parent"]]["id"]}
        fields.update({k: v for k, v in stored.items() if k.startswith("customfield_")})
        return {"expand": "renderedFields,names,schema", "id": stored["id"], "self": self._self(key),
                "key": key, "fields": fields}  # fmt: skip


def _custom_field(field_id: str, name: str, kind: str) -> dict[str, Any]:
    number = field_id.removeprefix("customfield_")
    return {
        "id": field_id, "name": name, "custom": True, "clauseNames": [f"cf[{number}]", name],
        "schema": {"type": "any", "custom": f"com.pyxis.greenhopper.jira:{kind}"},
    }  # fmt: skip


def _no_issue() -> Response:
    return jira_error(404, "Issue does not exist or you do not have permission to see it.")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _search_params(req: Recorded) -> dict[str, Any]:
    if req.method == "POST":
        return dict(req.json() or {})
    return {k: v[0] for k, v in req.query.items()}
