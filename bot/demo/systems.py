"""Stand-ins for ServiceNow and Jira, just enough for the demo's story (the tests use full fakes).

They answer the real client libraries (pysnow, jira) in the vendors' shapes:
ServiceNow's Table API with display values, Jira's REST v2 issue resources.
"""

from __future__ import annotations

import itertools
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

INCIDENT = {
    "sys_id": "9d385017c611228701d22104cc95c371", "number": "INC0010001",
    "short_description": "Checkout returns 502 for a third of requests",
    "description": "Since 09:12 UTC the payment gateway times out; error rate 31%.",
    "state": ("2", "In Progress"), "priority": ("1", "1 - Critical"), "urgency": ("1", "1 - High"),
    "assigned_to": ("", ""), "opened_at": "2026-11-23 09:14:02",
}


class SystemsStandIn:
    def __init__(self) -> None:
        self.issues: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(10001)
        self.base = ""  # set once the server listens
        self.app = Starlette(routes=[
            Route("/api/now/table/incident", self._incidents),
            Route("/rest/api/2/serverInfo", self._server_info),
            Route("/rest/api/2/field", lambda _: JSONResponse([])),
            Route("/rest/api/2/issue", self._create, methods=["POST"]),
            Route("/rest/api/2/issue/{key}", self._issue),
        ])

    async def _incidents(self, request: Request) -> JSONResponse:
        query = request.query_params.get("sysparm_query", "")
        if query != f"number={INCIDENT['number']}":
            return JSONResponse({"result": []})
        row = {k: ({"value": v[0], "display_value": v[1]} if isinstance(v, tuple)
                   else {"value": v, "display_value": v}) for k, v in INCIDENT.items()}
        return JSONResponse({"result": [row]})

    async def _server_info(self, _: Request) -> JSONResponse:
        return JSONResponse({"baseUrl": self.base, "version": "9.12.2",
                             "versionNumbers": [9, 12, 2], "deploymentType": "Server"})

    async def _create(self, request: Request) -> JSONResponse:
        fields = (await request.json())["fields"]
        project = fields["project"]["key"]
        key = f"{project}-{sum(k.startswith(project + '-') for k in self.issues) + 1}"
        self.issues[key] = {"id": str(next(self._ids)), "summary": fields["summary"],
                            "issuetype": fields["issuetype"]["name"],
                            "description": fields.get("description"), "project": project}
        return JSONResponse({"id": self.issues[key]["id"], "key": key,
                             "self": f"{self.base}/rest/api/2/issue/{key}"}, status_code=201)

    async def _issue(self, request: Request) -> Response:
        key = request.path_params["key"]
        issue = self.issues.get(key)
        if issue is None:
            return JSONResponse({"errorMessages": ["Issue does not exist"]}, status_code=404)
        return JSONResponse({"id": issue["id"], "key": key, "self": f"{self.base}/rest/api/2/issue/{key}",
                             "fields": {"summary": issue["summary"], "status": {"name": "To Do"},
                                        "issuetype": {"name": issue["issuetype"]},
                                        "assignee": None, "description": issue["description"],
                                        "project": {"key": issue["project"]}}})
