"""The core types every layer shares: who asks, what they ask, and what goes back.

They live here, at the bottom of the import graph, because everything above
(bot/, agents/) needs them and policies/ needs nothing above it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


class Source(StrEnum):
    """Where a request came in."""

    SLASH = "slash"
    MENTION = "mention"
    DM = "dm"
    ACTION = "action"  # a button click
    WEBHOOK = "webhook"
    SCHEDULE = "schedule"
    WORKFLOW = "workflow"  # work a workflow does on someone's behalf (the kickoff's analysis)


class RouteKind(StrEnum):
    COMMAND = "command"  # deterministic, no LLM
    AGENT = "agent"  # free text for an agent team
    WORKFLOW = "workflow"


@dataclass(frozen=True, slots=True)
class Principal:
    """The person (or system) a request acts for."""

    user_id: str
    team_id: str = ""
    email: str | None = None
    groups: frozenset[str] = frozenset()  # Slack user group handles, e.g. "oncall"
    name: str = ""

    @classmethod
    def system(cls, name: str) -> Principal:
        """A non-human principal (webhook source, scheduler)."""
        return cls(user_id=f"system:{name}", name=name)


@dataclass(frozen=True, slots=True)
class Route:
    """What a request asks for, matched before the policy chain so policies can see it."""

    kind: RouteKind
    verb: str  # "help", "jira show", "agent"
    action: str  # permission string checked by RBAC, e.g. "jira:issue:read"
    args: str = ""


@dataclass(frozen=True, slots=True)
class Request:
    """One normalized, immutable inbound request."""

    id: str  # the dedupe key it was stored under
    source: Source
    principal: Principal
    text: str
    channel: str = ""
    thread_ts: str | None = None  # where the answer belongs
    route: Route | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)  # source-specific extras

    def with_text(self, text: str) -> Request:
        return dataclasses.replace(self, text=text)

    def with_route(self, route: Route) -> Request:
        return dataclasses.replace(self, route=route)

    @property
    def action(self) -> str:
        return self.route.action if self.route else ""


Visibility = Literal["ephemeral", "thread", "channel"]


@dataclass(frozen=True, slots=True)
class Reply:
    """What goes back to the person: text (always, for notifications) and optional Block Kit."""

    text: str
    blocks: tuple[Mapping[str, Any], ...] = ()
    visibility: Visibility = "ephemeral"
    ok: bool = True  # False for denials and errors: rendered as such, counted as such

    @classmethod
    def error(cls, text: str) -> Reply:
        return cls(text=text, ok=False)

    def with_text(self, text: str, blocks: tuple[Mapping[str, Any], ...] | None = None) -> Reply:
        return dataclasses.replace(self, text=text, blocks=self.blocks if blocks is None else blocks)


DecisionKind = Literal["allow", "deny", "redact"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What one policy decided about one request, for the audit log and metrics."""

    policy: str
    kind: DecisionKind
    rule: str = ""  # which rule made it (role name, limit, DLP kinds)
    reason: str = ""  # safe to show and store: never holds a blocked value
