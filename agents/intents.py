"""What the offline model understands: a few clear phrasings mapped to real tools.

A real model reads the tools' docstrings instead; these rules only keep the
offline default useful (and `switchboard demo` honest) without a network.
"""

from __future__ import annotations

import json
import re

from agents.rules import IntentRule, PlanRule

_I = re.IGNORECASE
DEFAULT_PROJECT = "OPS"


def intents() -> tuple[IntentRule, ...]:
    return (
        IntentRule(re.compile(r"^Create an? (Bug|Task|Story) in ([A-Z][A-Z0-9]+): (.+)$", re.S),
                   "create_jira_issue",
                   lambda m: {"project": m[2], "issue_type": m[1],
                              "summary": m[3].splitlines()[0][:100],
                              "description": m[3]}),
        IntentRule(re.compile(r"\b(INC\d{5,10})\b", _I), "get_incident",
                   lambda m: {"number": m[1].upper()}),
        IntentRule(re.compile(r"\b(RITM\d{5,10})\b", _I), "get_request_item",
                   lambda m: {"number": m[1].upper()}),
        IntentRule(re.compile(r"\b([A-Z][A-Z0-9]+-\d+)\b"), "get_jira_issue",
                   lambda m: {"key": m[1]}),
        IntentRule(re.compile(r"search jira (?:for )?[\"“]?(.+?)[\"”]?$", _I), "search_jira",
                   lambda m: {"jql": f'text ~ "{m[1]}" ORDER BY created DESC'}),
        IntentRule(re.compile(r"(?:list|show) (?:the )?(?:sharepoint )?folder [\"“]?(.+?)[\"”]?$",
                              _I), "list_sharepoint_folder", lambda m: {"folder": m[1]}),
        IntentRule(re.compile(r"\b(00[6][a-zA-Z0-9]{12}(?:[a-zA-Z0-9]{3})?)\b"),
                   "get_opportunity", lambda m: {"opportunity_id": m[1]}),
    )


def plans() -> tuple[PlanRule, ...]:
    """"open a Jira bug for INC0010001 [in OPS]": read the incident, then file the bug from it."""
    pattern = re.compile(
        r"\b(?:open|create|file|raise)\b.*?\b(bug|task|story|issue)\b.*?\b(INC\d{5,10})\b"
        r"(?:.*?\bin ([A-Z][A-Z0-9]+)\b)?", _I | re.S)

    def read_incident(m: re.Match[str], _: list[str]) -> tuple[str, str]:
        return "servicenow", f"Show {m[2].upper()}"

    def file_issue(m: re.Match[str], results: list[str]) -> tuple[str, str]:
        kind = "Bug" if m[1].lower() in ("bug", "issue") else m[1].capitalize()
        title, details = _incident_summary(results[0], m[2].upper())
        return "jira", (f"Create a {kind} in {m[3] or DEFAULT_PROJECT}: {title}\n\n{details}")

    return (PlanRule(pattern, (read_incident, file_issue)),)


_HEADLINE = re.compile(r"\*(INC\d+)\*\s+(.+?)(?:\s+\([^)]*\))?(?:\s+<[^>]+>)?$", re.M)


def _incident_summary(result: str, number: str) -> tuple[str, str]:
    """Title and details for the issue, from the incident as the ServiceNow member reported it."""
    try:
        inc = json.loads(result)
    except ValueError:
        headline = _HEADLINE.search(result)  # the member's readable answer (see humanize)
        title = headline[2] if headline else "Follow-up"
        return f"{title} ({number})", f"From ServiceNow {number}: {result[:800]}"
    if not isinstance(inc, dict) or "short_description" not in inc:
        return f"Follow-up of {number}", result[:500]
    title = f"{inc['short_description']} ({number})"
    details = (f"From ServiceNow {number} (priority {inc.get('priority')}, {inc.get('state')}): "
               f"{inc.get('description') or inc['short_description']}\n{inc.get('url', '')}")
    return title, details
