"""Jira result types, settings and the ``IssueTracker`` capability."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

SYSTEM = "jira"


@dataclass(frozen=True)
class JiraConfig:
    url: str | None = None  # https://acme.atlassian.net or https://jira.corp:8443/jira
    user: str | None = None  # the account's email on Cloud, its user name on Server/DC
    token: str | None = None  # an API token (Cloud) or password/PAT-as-password (Server)
    ca_bundle: str | None = None  # PEM of extra CAs to trust (private CA, tests)

    @property
    def configured(self) -> bool:
        return bool(self.url and self.user and self.token)


@dataclass(frozen=True)
class JiraIssue:
    key: str
    id: str
    summary: str
    status: str
    issue_type: str
    assignee: str | None  # display name
    url: str  # <server>/browse/<KEY>
    description: str | None = None
    parent: str | None = None  # parent or epic key, when Jira reports one


@dataclass(frozen=True)
class JiraComment:
    id: str
    issue_key: str
    body: str
    author: str | None
    created: str  # as Jira sent it, e.g. 2024-05-01T09:30:00.000+0000
    url: str


@runtime_checkable
class IssueTracker(Protocol):
    """Issues in a tracker: read, create, search, comment, move, link, delete."""

    system: str

    @property
    def configured(self) -> bool: ...
    def health(self) -> str: ...
    async def get_issue(self, key: str) -> JiraIssue: ...
    async def create_issue(
        self,
        project: str,
        summary: str,
        issue_type: str = "Task",
        description: str | None = None,
        *,
        epic: str | None = None,
        parent: str | None = None,
    ) -> JiraIssue: ...
    async def search(self, jql: str, limit: int = 20) -> list[JiraIssue]: ...
    async def add_comment(self, key: str, body: str) -> JiraComment: ...
    async def transition(self, key: str, name: str) -> JiraIssue: ...
    async def link(self, link_type: str, inward: str, outward: str) -> None: ...
    async def delete_issue(self, key: str, *, delete_subtasks: bool = False) -> None: ...
