"""The ops team: one member per system plus an analyst, behind a router or a coordinator."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agno.agent import Agent
from agno.models.base import Model
from agno.team import Team
from agno.team.mode import TeamMode

from agents.rules import RouteRule


@dataclass(frozen=True)
class MemberSpec:
    id: str
    name: str
    role: str
    route_pattern: str  # how the offline leader (and the mode choice) recognises its work


MEMBERS: tuple[MemberSpec, ...] = (
    MemberSpec("servicenow", "ServiceNow", "Reads and updates ServiceNow incidents and requests.",
               r"\b(INC|RITM|REQ)\d{4,}\b|\bincidents?\b|\bservicenow\b"),
    MemberSpec("jira", "Jira", "Reads, searches and creates Jira issues.",
               r"\b[A-Z][A-Z0-9]+-\d+\b|\bjira\b|\bepics?\b|\bstory\b|\bbugs?\b"),
    MemberSpec("salesforce", "Salesforce", "Reads and creates Salesforce opportunities.",
               r"\bsalesforce\b|\bopportunit|\bpipeline\b|\bdeals?\b|\b006[a-zA-Z0-9]{12}"),
    MemberSpec("sharepoint", "SharePoint", "Lists SharePoint folders and documents.",
               r"\bsharepoint\b|\bdocuments?\b|\bfolders?\b"),
    MemberSpec("analyst", "Analyst", "Summarises, explains and plans; answers general questions.",
               r"$^"),
)
_PATTERNS = {m.id: re.compile(m.route_pattern, re.I) for m in MEMBERS}

ModelFactory = Callable[[str], Model]  # member id ("leader" for the team's own model) -> model


def systems_named(text: str) -> set[str]:
    return {member for member, rx in _PATTERNS.items() if rx.search(text)}


def choose_mode(text: str) -> TeamMode:
    """Asks that span systems need a coordinator; the rest go straight to one member."""
    return TeamMode.coordinate if len(systems_named(text)) >= 2 else TeamMode.route


def route_rules() -> tuple[RouteRule, ...]:
    return tuple(RouteRule(_PATTERNS[m.id], m.id) for m in MEMBERS if m.id != "analyst")


def build_ops_team(model: ModelFactory, tools: Mapping[str, Sequence[Any]], mode: TeamMode,
                   **team_options: Any) -> Team:
    """`tools` maps a member id to its (already fenced) tools."""
    members: list[Agent | Team] = [
        Agent(id=m.id, name=m.name, role=m.role, model=model(m.id),
              tools=list(tools.get(m.id, ())),
              instructions=["Answer in short Slack-friendly sentences with links.",
                            "Use your tools for facts; never invent ids, numbers or links.",
                            "If a tool says DENIED or REFUSED, tell the person and stop."])
        for m in MEMBERS
    ]
    instructions = (["Route each request to the one member whose system it is about."]
                    if mode is TeamMode.route else
                    ["Break the request into steps for the members, in order, passing each "
                     "member what the previous ones found; then summarise what was done."])
    return Team(name="Switchboard ops team", mode=mode, model=model("leader"), members=members,
                instructions=instructions, **team_options)
