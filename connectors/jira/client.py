"""``JiraConnector``: the IssueTracker over the ``jira`` library (REST API v2).

``jira.JIRA()`` calls ``serverInfo`` while it is constructed, so the client is
built lazily inside the first guarded call (in a worker thread, under the
timeout and the breaker), then reused. The library's own retries are switched
off (``max_retries=0``): the Guard retries, and only reads.

Cloud and Server/DC search differently: Cloud removed ``/rest/api/2/search``
in favour of the token-paged ``/search/jql``; Server/DC only has the former.
``serverInfo.deploymentType`` says which one we are talking to.

Each operation splits its reads (retried) from its single write (never
retried), so a timeout after a write is never followed by a second write.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from connectors.errors import ConnectorError, InvalidRequest, NotConfigured, NotFound
from connectors.jira.fields import (
    EPIC_LINK,
    EPIC_NAME,
    ISSUE_FIELDS,
    check_key,
    check_new_issue,
    comment_from_raw,
    custom_field_ids,
    issue_from_raw,
    translate,
)
from connectors.jira.types import SYSTEM, JiraComment, JiraConfig, JiraIssue
from connectors.resilience import CallObserver, GuardedConnector, ResiliencePolicy

if TYPE_CHECKING:
    from jira import JIRA

T = TypeVar("T")
log = logging.getLogger(__name__)


class JiraConnector(GuardedConnector):
    """``IssueTracker`` over the jira library; every call goes through one ``Guard``."""

    system = SYSTEM

    def __init__(
        self,
        config: JiraConfig,
        policy: ResiliencePolicy = ResiliencePolicy(),
        observer: CallObserver | None = None,
    ) -> None:
        super().__init__(config, policy, translate, observer)
        self.config: JiraConfig = config
        self._lock = threading.Lock()
        self._client: JIRA | None = None
        self._custom: dict[str, str] | None = None  # Agile custom field ids (Server/DC)
        self._server = (config.url or "").rstrip("/")

    # -- reads ------------------------------------------------------------------------------
    async def get_issue(self, key: str) -> JiraIssue:
        key = check_key(key)
        epic_link = (await self._custom_fields()).get(EPIC_LINK)

        def fetch() -> JiraIssue:
            wanted = ",".join([*ISSUE_FIELDS, epic_link] if epic_link else ISSUE_FIELDS)
            raw = self._jira().issue(key, fields=wanted).raw
            return issue_from_raw(raw, self._server, epic_link)

        return await self._read_issue("get_issue", key, fetch)

    async def search(self, jql: str, limit: int = 20) -> list[JiraIssue]:
        if not jql.strip():
            raise InvalidRequest(SYSTEM, "A Jira search needs a JQL query.", {"jql": "is required"})
        cloud = await self._is_cloud()
        limit = max(1, min(limit, 100))

        def fetch() -> list[JiraIssue]:
            client = self._jira()
            if cloud:
                found = client.enhanced_search_issues(jql, maxResults=limit, fields=ISSUE_FIELDS)
            else:
                found = client.search_issues(jql, maxResults=limit, fields=list(ISSUE_FIELDS))
            return [issue_from_raw(issue.raw, self._server) for issue in found]

        return await self._call("search", fetch, idempotent=True)

    # -- writes -----------------------------------------------------------------------------
    async def create_issue(
        self,
        project: str,
        summary: str,
        issue_type: str = "Task",
        description: str | None = None,
        *,
        epic: str | None = None,
        parent: str | None = None,
    ) -> JiraIssue:
        project = check_new_issue(project, summary, issue_type)
        fields: dict[str, Any] = {
            "project": {"key": project},
            "summary": summary.strip(),
            "issuetype": {"name": issue_type.strip()},
        }
        if description:
            fields["description"] = description
        if parent:
            fields["parent"] = {"key": check_key(parent, "parent")}
        await self._add_epic_fields(fields, issue_type, epic)

        def send() -> str:
            return str(self._jira().create_issue(fields=fields, prefetch=False).raw["key"])

        key = await self._call("create_issue", send, idempotent=False)
        sent = JiraIssue(
            key=key, id="", summary=summary.strip(), status="", issue_type=issue_type, assignee=None,
            url=f"{self._server}/browse/{key}", description=description, parent=parent or epic,
        )  # fmt: skip
        return await self._reread(key, sent)

    async def add_comment(self, key: str, body: str) -> JiraComment:
        key = check_key(key)
        if not body.strip():
            raise InvalidRequest(SYSTEM, "A comment needs some text.", {"body": "is required"})

        def send() -> JiraComment:
            comment = self._jira().add_comment(key, body)
            return comment_from_raw(comment.raw, key, self._server)

        return await self._call("add_comment", send, idempotent=False)

    async def transition(self, key: str, name: str) -> JiraIssue:
        """Move ``key`` by a transition's name ("Start Progress") or its target status ("Done")."""
        key = check_key(key)
        options = await self._call("transitions", lambda: self._jira().transitions(key), idempotent=True)
        chosen = _pick_transition(options, name)
        if chosen is None:
            names = ", ".join(str(t.get("name")) for t in options) or "none"
            raise InvalidRequest(
                SYSTEM, f"Jira cannot move {key} with '{name}'. Available: {names}.", {"transition": name}
            )

        def send() -> None:
            self._jira().transition_issue(key, str(chosen["id"]))

        await self._call("transition", send, idempotent=False)
        target = str((chosen.get("to") or {}).get("name") or "")
        moved = JiraIssue(key=key, id="", summary="", status=target, issue_type="", assignee=None,
                          url=f"{self._server}/browse/{key}")  # fmt: skip
        return await self._reread(key, moved)

    async def link(self, link_type: str, inward: str, outward: str) -> None:
        """Link two issues; ``link_type`` may be a name ("Blocks") or a verb ("blocks")."""
        inward, outward = check_key(inward, "inward"), check_key(outward, "outward")
        types = await self._call("link_types", lambda: self._jira().issue_link_types(), idempotent=True)
        resolved = _pick_link_type([t.raw for t in types], link_type)
        if resolved is None:
            names = ", ".join(str(t.raw.get("name")) for t in types) or "none"
            raise InvalidRequest(
                SYSTEM, f"Jira has no link type '{link_type}'. Available: {names}.", {"type": link_type}
            )
        type_name, swap = resolved
        if swap:
            inward, outward = outward, inward

        def send() -> None:
            self._jira().create_issue_link(type_name, inward, outward)

        await self._call("link", send, idempotent=False)

    async def delete_issue(self, key: str, *, delete_subtasks: bool = False) -> None:
        key = check_key(key)
        issue = await self._read_issue("get_issue", key, lambda: self._jira().issue(key, fields="summary"))

        def send() -> None:
            issue.delete(deleteSubtasks=delete_subtasks)  # type: ignore[no-untyped-call]

        await self._call("delete_issue", send, idempotent=False)

    # -- plumbing ---------------------------------------------------------------------------
    async def _read_issue(self, operation: str, key: str, fetch: Callable[[], T]) -> T:
        try:
            return await self._call(operation, fetch, idempotent=True)
        except NotFound as err:  # Jira's own wording is generic; name the key
            raise NotFound(SYSTEM, f"Jira has no issue {key} that Switchboard can see.") from err

    async def _reread(self, key: str, fallback: JiraIssue) -> JiraIssue:
        # The write is done; failing to read it back must not read as "it failed" (people retry).
        try:
            return await self.get_issue(key)
        except ConnectorError as err:
            log.warning("jira: %s written but not re-read (%s)", key, type(err).__name__)
            return fallback

    async def _add_epic_fields(self, fields: dict[str, Any], issue_type: str, epic: str | None) -> None:
        custom = await self._custom_fields()
        if epic:
            epic = check_key(epic, "epic")
            if EPIC_LINK in custom:  # Server/DC: the Epic Link custom field
                fields[custom[EPIC_LINK]] = epic
            else:  # Cloud: epics are parents
                fields.setdefault("parent", {"key": epic})
        if issue_type.strip().lower() == "epic" and EPIC_NAME in custom:
            fields[custom[EPIC_NAME]] = fields["summary"]

    async def _custom_fields(self) -> dict[str, str]:
        """Agile custom field ids on Server/DC; Cloud needs none (epics are parents there)."""
        if self._custom is None:
            if await self._is_cloud():
                self._custom = {}
            else:
                found = await self._call("fields", lambda: self._jira().fields(), idempotent=True)
                self._custom = custom_field_ids(found)
        return self._custom

    async def _is_cloud(self) -> bool:
        def deployment() -> bool:
            return getattr(self._jira(), "deploymentType", None) == "Cloud"

        return await self._call("server_info", deployment, idempotent=True)

    async def _call(self, operation: str, fn: Callable[[], T], *, idempotent: bool) -> T:
        if not self.configured:
            raise NotConfigured(SYSTEM, "Jira is not configured: set JIRA_URL, JIRA_USER and JIRA_TOKEN.")
        return await self._guard.call(operation, fn, idempotent=idempotent)

    def _jira(self) -> JIRA:
        with self._lock:  # built lazily, in a worker thread, once it has succeeded
            if self._client is None:
                from jira import JIRA  # heavy import, paid on first use rather than at startup

                self._client = JIRA(
                    server=self._server,
                    basic_auth=(self.config.user or "", self.config.token or ""),
                    options={"verify": self.config.ca_bundle or True},
                    timeout=self.policy.timeout,
                    max_retries=0,
                )
            return self._client


def _pick_transition(options: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    wanted = name.strip().lower()
    for option in options:
        if str(option.get("name", "")).lower() == wanted:
            return option
    for option in options:
        if str((option.get("to") or {}).get("name", "")).lower() == wanted:
            return option
    return None


def _pick_link_type(types: list[dict[str, Any]], wanted: str) -> tuple[str, bool] | None:
    """(type name, swap inward/outward?) for a name, an outward verb or an inward verb."""
    text = wanted.strip().lower()
    for t in types:
        if str(t.get("name", "")).lower() == text or str(t.get("outward", "")).lower() == text:
            return str(t["name"]), False
    for t in types:
        if str(t.get("inward", "")).lower() == text:
            return str(t["name"]), True
    return None
