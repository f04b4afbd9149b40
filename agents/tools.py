"""Agent tools built from connector operations.

Each tool's docstring is the model's instruction: it says what the tool does
and shows the key formats. Each tool declares the permission it needs and
whether it writes; `agents.guard` wraps every one so it runs only for a
person allowed to, with DLP on its arguments and its result.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from connectors.jira import IssueTracker
from connectors.salesforce import Crm
from connectors.servicenow import IncidentDesk
from connectors.sharepoint import DocumentLibrary


@dataclass(frozen=True)
class ToolSpec:
    fn: Callable[..., Awaitable[str]]  # the plain tool: typed parameters, docstring for the model
    member: str  # which team member carries it
    action: str  # RBAC permission, e.g. "jira:issue:create"
    writes: bool  # True: held for approval in Slack before it runs

    @property
    def name(self) -> str:
        return self.fn.__name__


def as_text(value: Any) -> str:
    """Tool results go back to the model as compact JSON."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif isinstance(value, list | tuple):
        value = [dataclasses.asdict(v) if dataclasses.is_dataclass(v) and not isinstance(v, type)
                 else v for v in value]
    return json.dumps(value, default=str, ensure_ascii=False)


def servicenow_tools(desk: IncidentDesk) -> list[ToolSpec]:
    async def get_incident(number: str) -> str:
        """Read a ServiceNow incident: state, priority, urgency, assignee, description and link.

        Args:
            number: the incident number, e.g. INC0010001.
        """
        return as_text(await desk.get_incident(number.strip().upper()))

    async def get_request_item(number: str) -> str:
        """Read a ServiceNow requested item (a catalog request), e.g. RITM0010001.

        Args:
            number: the requested item number, e.g. RITM0010001.
        """
        return as_text(await desk.get_request_item(number.strip().upper()))

    async def add_incident_work_note(number: str, note: str) -> str:
        """Add a work note (internal comment) to a ServiceNow incident. Needs approval.

        Args:
            number: the incident number, e.g. INC0010001.
            note: the text of the note.
        """
        return as_text(await desk.add_work_note(number.strip().upper(), note))

    return [
        ToolSpec(get_incident, "servicenow", "servicenow:incident:read", writes=False),
        ToolSpec(get_request_item, "servicenow", "servicenow:request:read", writes=False),
        ToolSpec(add_incident_work_note, "servicenow", "servicenow:incident:update", writes=True),
    ]


def jira_tools(tracker: IssueTracker) -> list[ToolSpec]:
    async def get_jira_issue(key: str) -> str:
        """Read a Jira issue: summary, status, type, assignee, description and link.

        Args:
            key: the issue key, e.g. OPS-12.
        """
        return as_text(await tracker.get_issue(key.strip().upper()))

    async def search_jira(jql: str) -> str:
        """Search Jira with JQL and return up to 20 issues.

        Args:
            jql: a JQL query, e.g. project = OPS AND status != Done ORDER BY created DESC.
        """
        return as_text(await tracker.search(jql, limit=20))

    async def create_jira_issue(project: str, summary: str, issue_type: str = "Task",
                                description: str = "") -> str:
        """Create a Jira issue. Needs approval by a person before it is created.

        Args:
            project: the project key, e.g. OPS.
            summary: one line, under 100 characters.
            issue_type: Bug, Task, Story or Epic.
            description: details, e.g. the incident number and what happened.
        """
        issue = await tracker.create_issue(project.strip().upper(), summary, issue_type,
                                           description or None)
        return as_text(issue)

    return [
        ToolSpec(get_jira_issue, "jira", "jira:issue:read", writes=False),
        ToolSpec(search_jira, "jira", "jira:issue:read", writes=False),
        ToolSpec(create_jira_issue, "jira", "jira:issue:create", writes=True),
    ]


def salesforce_tools(crm: Crm) -> list[ToolSpec]:
    async def get_opportunity(opportunity_id: str) -> str:
        """Read a Salesforce opportunity: name, stage, amount, close date and link.

        Args:
            opportunity_id: the 15- or 18-character record id, e.g. 0065g00000AbCdEAAV.
        """
        return as_text(await crm.get_opportunity(opportunity_id.strip()))

    async def query_salesforce(soql: str) -> str:
        """Run a read-only SOQL query (SELECT only) and return its rows.

        Args:
            soql: e.g. SELECT Name, StageName, Amount FROM Opportunity WHERE IsClosed = false LIMIT 10
        """
        if not soql.lstrip().lower().startswith("select"):
            return "Refused: only SELECT queries are allowed."
        result = await crm.query(soql)
        return as_text({"total": result.total_size, "rows": list(result.records)})

    async def create_opportunity(name: str, amount: float | None = None,
                                 close_date: str | None = None) -> str:
        """Create a Salesforce opportunity in stage Prospecting. Needs approval.

        Args:
            name: the opportunity name, e.g. "Acme renewal 2027".
            amount: the expected amount in USD, e.g. 25000.
            close_date: expected close date as YYYY-MM-DD.
        """
        close = date.fromisoformat(close_date) if close_date else None
        return as_text(await crm.create_opportunity(name, close_date=close, amount=amount))

    return [
        ToolSpec(get_opportunity, "salesforce", "salesforce:opportunity:read", writes=False),
        ToolSpec(query_salesforce, "salesforce", "salesforce:query:read", writes=False),
        ToolSpec(create_opportunity, "salesforce", "salesforce:opportunity:create", writes=True),
    ]


def sharepoint_tools(library: DocumentLibrary) -> list[ToolSpec]:
    async def list_sharepoint_folder(folder: str) -> str:
        """List the files and subfolders of a SharePoint folder.

        Args:
            folder: a site-relative path, e.g. "Shared Documents/Reports".
        """
        return as_text(await library.list_folder(folder))

    return [ToolSpec(list_sharepoint_folder, "sharepoint", "sharepoint:folder:read", writes=False)]


def all_tools(servicenow: IncidentDesk, jira: IssueTracker, salesforce: Crm,
              sharepoint: DocumentLibrary) -> dict[str, ToolSpec]:
    specs = [*servicenow_tools(servicenow), *jira_tools(jira), *salesforce_tools(salesforce),
             *sharepoint_tools(sharepoint)]
    return {s.name: s for s in specs}
