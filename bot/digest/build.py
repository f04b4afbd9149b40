"""Digest data in, Block Kit blocks and plain text out (pure: no I/O, no clock).

Each section renders to a title line plus a few detail lines; the same lines make the
Block Kit sections (mrkdwn) and the plain-text fallback, so a notification, the
terminal dry run and DLP all read what the channel sees.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.digest.model import (
    TITLES,
    BudgetUse,
    Denials,
    Digest,
    DigestData,
    Incidents,
    JiraActivity,
    Problem,
    Spend,
    Ticket,
    Workflows,
)

Block = dict[str, Any]
_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")
_EMOJI = re.compile(r"(?<!\S):[a-z0-9_+-]+:(?!\S) ?")  # a word of its own, not jira:issue:x
_ITALIC = re.compile(r"(?<!\w)_|_(?!\w)")  # _…and 3 more_, not rate_limit
LIST_LIMIT = 5  # items listed per kind (the counts are always complete)
BUDGET_LIMIT = 25
BAR_WIDTH = 10
PRIORITIES = {1: "P1 Critical", 2: "P2 High", 3: "P3 Moderate", 4: "P4 Low", 5: "P5 Planning"}
FAILED = frozenset({"failed", "compensated", "compensation_failed", "error", "aborted"})


def build(data: DigestData) -> Digest:
    """The whole digest: header, one part per section (in order), then what could not be shown."""
    head = _header(data)
    parts: list[tuple[str, list[str]]] = []
    problems: list[str] = []
    for section in data.sections.values():
        if isinstance(section, Problem):
            problems.append(section.line())
            parts.append(("", [f":grey_question: {_esc(section.line())}"]))
        else:
            parts.extend(_RENDER[type(section)](section))
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": head[0][:150]}},
        _context(head[1]),
    ]
    for title, lines in parts:
        blocks.append({"type": "divider"})
        blocks.append(_section("\n".join([f"*{title}*", *lines] if title else lines)))
    if problems:
        blocks.append(_context(":warning: Could not show " + "; ".join(_esc(p) for p in problems)))
    return Digest(text=_text(head, parts, problems), blocks=tuple(blocks[:50]),
                  problems=tuple(problems))


# -- sections -----------------------------------------------------------------------------

def incidents(data: Incidents) -> list[tuple[str, list[str]]]:
    if not data.total:
        return [(TITLES["incidents"], ["No open incidents. :tada:"])]
    counts = " · ".join(f"{PRIORITIES.get(p, f'P{p}')}: *{n}*"
                        for p, n in sorted(data.by_priority.items()) if n)
    icon = ":red_circle: " if data.by_priority.get(1) else ""
    return [(f"{TITLES['incidents']} — {data.total}", [icon + counts])]


def jira(data: JiraActivity) -> list[tuple[str, list[str]]]:
    created, resolved = _count(data.created, data.cap), _count(data.resolved, data.cap)
    lines = [f"{created} created, {resolved} resolved"]
    for label, tickets in (("Created", data.created), ("Resolved", data.resolved)):
        if tickets:
            shown = ", ".join(_ticket(t) for t in tickets[:LIST_LIMIT])
            more = len(tickets) - LIST_LIMIT
            lines.append(f"{label}: {shown}" + (f" _and {more}+ more_" if more > 0 else ""))
    return [(TITLES["jira"], lines)]


def workflows(data: Workflows) -> list[tuple[str, list[str]]]:
    if not data.runs:
        return [(TITLES["workflows"], ["No workflow runs."])]
    by_status = Counter(r.status for r in data.runs)
    failed = [r for r in data.runs if is_failure(r.status)]
    summary = ", ".join(f"{n} {status}" for status, n in by_status.most_common())
    lines = [f"{len(data.runs)} run(s): {summary}"]
    lines += [f"• `{_esc(r.id)}` {_esc(r.workflow)} {r.status}"
              + (f": {_esc(_clip(r.error, 150))}" if r.error else "") for r in failed[:LIST_LIMIT]]
    if len(failed) > LIST_LIMIT:
        lines.append(f"_…and {len(failed) - LIST_LIMIT} more failure(s)_")
    icon = " :x:" if failed else ""
    return [(f"{TITLES['workflows']}{icon}", lines)]


def denials(data: Denials) -> list[tuple[str, list[str]]]:
    if not data.total:
        return [(TITLES["denials"], ["No requests denied."])]
    policies = " · ".join(f"{p} {n}" for p, n in _top(data.by_policy, 10))
    actions = ", ".join(f"`{_esc(a or '?')}` {n}" for a, n in _top(data.by_action, LIST_LIMIT))
    return [(f"{TITLES['denials']} — {data.total}", [policies, f"Most denied: {actions}"])]


def spend(data: Spend) -> list[tuple[str, list[str]]]:
    lines = [f"{money(data.total)} in this period"]
    if data.by_department:
        lines.append("By department: " + _amounts(data.by_department))
    if data.by_model:
        lines.append("By model: " + _amounts(data.by_model))
    parts = [(TITLES["spend"], lines)]
    if data.budgets:
        shown = sorted(data.budgets, key=lambda b: -b.share)[:BUDGET_LIMIT]
        rows = [budget_line(b) for b in shown]
        if len(data.budgets) > BUDGET_LIMIT:
            rows.append(f"_…and {len(data.budgets) - BUDGET_LIMIT} more budget(s)_")
        parts.append(("Budgets this month", rows))
    return parts


def budget_line(use: BudgetUse) -> str:
    share = use.share
    icon = ":red_circle:" if share >= 0.95 else ":large_yellow_circle:" if share >= 0.8 \
        else ":large_green_circle:"
    return (f"{icon} `{bar(share)}` *{_esc(use.name)}* {share:.0%} · "
            f"{money(use.spent_usd)} of {money(use.limit_usd)}")


def bar(share: float, width: int = BAR_WIDTH) -> str:
    filled = max(0, min(width, round(share * width)))
    return "█" * filled + "░" * (width - filled)


def money(usd: float) -> str:
    if 0 < usd < 0.01:
        return "<$0.01"
    return f"${usd:,.2f}"


def is_failure(status: str) -> bool:
    return status.lower() in FAILED


_RENDER: dict[type, Callable[[Any], list[tuple[str, list[str]]]]] = {
    Incidents: incidents, JiraActivity: jira, Workflows: workflows, Denials: denials, Spend: spend}


def terminal(text: str) -> str:
    """The fallback text for a terminal: links as `label (url)`, no mrkdwn, no emoji codes."""
    text = _LINK.sub(lambda m: f"{m[2]} ({m[1]})", text)
    text = _ITALIC.sub("", _EMOJI.sub("", text)).replace("*", "").replace("`", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# -- helpers ------------------------------------------------------------------------------

def _header(data: DigestData) -> tuple[str, str]:
    zone = ZoneInfo(data.timezone)
    title = f"Switchboard digest — {_when(data.end, zone)}"
    since = f"Since {_when(data.start, zone)} ({data.timezone})"
    return title, since + (f" · schedule `{data.schedule}`" if data.schedule else "")


def _when(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def _text(head: tuple[str, str], parts: Sequence[tuple[str, list[str]]],
          problems: Sequence[str]) -> str:
    lines = [head[0], head[1].replace("`", "")]
    for title, body in parts:
        lines.append("")
        lines += [title, *body] if title else body
    if problems:
        lines += ["", "Could not show: " + "; ".join(problems)]
    return "\n".join(lines)


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, 3000)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(text, 3000)}]}


def _count(found: Sequence[Ticket], cap: int) -> str:
    return f"{len(found)}+" if len(found) >= cap else str(len(found))


def _ticket(t: Ticket) -> str:
    return f"<{t.url}|{_esc(t.key)}> {_esc(_clip(t.summary, 60))}"


def _amounts(values: Mapping[str, float]) -> str:
    return " · ".join(f"{_esc(k or '(none)')} {money(v)}" for k, v in _top(values, LIST_LIMIT))


def _top(values: Mapping[str, float] | Mapping[str, int], n: int) -> Iterable[tuple[str, Any]]:
    return sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _esc(text: str) -> str:
    """Slack mrkdwn control characters, so data cannot become a link or a mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
