"""The ops team: a router in front of one member per system plus an analyst."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agno.agent import Agent
from agno.models.base import Model
from agno.team import Team
from agno.team.mode import TeamMode

from agents.offline import IntentRule, RouteRule


@dataclass(frozen=True)
class MemberSpec:
    id: str
    name: str
    role: str
    route_pattern: str  # how the offline leader recognises this member's work


MEMBERS: tuple[MemberSpec, ...] = (
    MemberSpec("servicenow", "ServiceNow", "Reads and updates ServiceNow incidents and requests.",
               r"\b(INC|RITM|REQ)\d{4,}\b|\bincident|\bservicenow\b"),
    MemberSpec("jira", "Jira", "Reads, searches, creates and comments on Jira issues.",
               r"\b[A-Z][A-Z0-9]+-\d+\b|\bjira\b|\bepic|\bstory|\bbug\b"),
    MemberSpec("salesforce", "Salesforce", "Reads and updates Salesforce opportunities and accounts.",
               r"\bsalesforce\b|\bopportunit|\baccount\b|\bpipeline\b|\bdeal"),
    MemberSpec("sharepoint", "SharePoint", "Lists, uploads and downloads SharePoint documents.",
               r"\bsharepoint\b|\bdocument|\bfolder\b|\bfile\b"),
    MemberSpec("analyst", "Analyst", "Summarises, explains and plans; answers general questions.",
               r".*"),
)

ModelFactory = Callable[[tuple[RouteRule, ...], tuple[IntentRule, ...]], Model]


def route_rules() -> tuple[RouteRule, ...]:
    return tuple(RouteRule(re.compile(m.route_pattern, re.I), m.id) for m in MEMBERS)


def build_ops_team(model: ModelFactory, tools: Mapping[str, Sequence[Any]],
                   intents: tuple[IntentRule, ...] = (), **team_options: Any) -> Team:
    """`tools` maps a member id to its agno tools (already guarded for the asking person)."""
    members = [
        Agent(id=m.id, name=m.name, role=m.role, model=model((), intents),
              tools=list(tools.get(m.id, ())),
              instructions=["Answer in short Slack-friendly sentences.",
                            "Use your tools for facts; never invent ids, numbers or links."])
        for m in MEMBERS
    ]
    return Team(
        name="Switchboard ops team",
        mode=TeamMode.route,
        model=model(route_rules(), ()),
        members=members,
        instructions=["Route each request to the one member whose system it is about.",
                      "Requests spanning several systems go to the analyst."],
        **team_options,
    )
