"""Fetching each section's data for a period, every section on its own.

Sections load concurrently; each has a timeout and its failures stay its own: a
connector that is not configured, down, or slow turns into one `Problem` line
("ServiceNow: could not load (…)") and the rest of the digest is still built.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.connections import Connectors
from bot.cost.ledger import daily_spend, spend_by
from bot.digest.model import (
    SOURCES,
    BudgetUse,
    Denials,
    Incidents,
    JiraActivity,
    Problem,
    Run,
    SectionData,
    Spend,
    Ticket,
    Workflows,
)
from bot.storage.db import Database
from bot.storage.models import AuditEvent
from bot.workflows.store import runs_since
from connectors.errors import ConnectorError, NotConfigured
from connectors.jira import JiraIssue
from policies.budget import month_start, next_month_start, scope_of
from policies.policy_file import Budget

log = logging.getLogger(__name__)
JIRA_CAP = 100  # IssueTracker.search returns at most this many
CHART_MIN_DAYS = 7  # a daily digest still charts a week, so there is a trend to see
CHART_MAX_DAYS = 92


class SectionUnavailable(Exception):
    """The section's source is absent (not configured); `reason` is shown as is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    jira_filter: str = ""  # JQL ANDed to the Jira queries, e.g. "project = OPS"


@dataclass(frozen=True)
class Sources:
    db: Database
    connectors: Connectors
    budgets: Callable[[], Mapping[str, Budget]]  # the live policy file's `budgets:`
    timeout: float = 20.0  # seconds per section


async def collect(src: Sources, period: Period,
                  sections: Sequence[str]) -> dict[str, SectionData | Problem]:
    """Every asked-for section, in the order asked, each loaded or explained."""
    loaders: dict[str, Callable[[Sources, Period], Awaitable[SectionData]]] = {
        "incidents": incidents, "jira": jira, "workflows": workflows, "denials": denials,
        "spend": spend}
    results = await asyncio.gather(*(_isolated(name, loaders[name](src, period), src.timeout)
                                     for name in sections))
    return dict(zip(sections, results, strict=True))


async def _isolated(name: str, load: Awaitable[SectionData],
                    seconds: float) -> SectionData | Problem:
    source = SOURCES[name]
    try:
        async with asyncio.timeout(seconds):
            return await load
    except (SectionUnavailable, NotConfigured) as e:
        reason = e.reason if isinstance(e, SectionUnavailable) else "not configured"
        return Problem(source, reason)
    except TimeoutError:
        return Problem(source, f"could not load (no answer within {seconds:g} s)")
    except ConnectorError as e:
        return Problem(source, f"could not load ({e.message})")
    except Exception as e:
        log.exception("digest: the %s section failed", name)
        return Problem(source, f"could not load ({type(e).__name__})")


# -- the sections ---------------------------------------------------------------------------

async def incidents(src: Sources, _: Period) -> Incidents:
    desk = src.connectors.servicenow
    if not desk.configured:
        raise SectionUnavailable("not configured")
    return Incidents(await desk.open_incidents_by_priority())


async def jira(src: Sources, period: Period) -> JiraActivity:
    tracker = src.connectors.jira
    if not tracker.configured:
        raise SectionUnavailable("not configured")
    # Relative minutes ("-90m") mean the same instant whatever time zone Jira's user has.
    minutes = max(1, math.ceil((period.end - period.start).total_seconds() / 60))
    scope = f"({period.jira_filter}) AND " if period.jira_filter.strip() else ""
    created, resolved = await asyncio.gather(
        tracker.search(f"{scope}created >= -{minutes}m ORDER BY created DESC", JIRA_CAP),
        tracker.search(f"{scope}resolved >= -{minutes}m ORDER BY resolved DESC", JIRA_CAP))
    return JiraActivity(_tickets(created), _tickets(resolved), JIRA_CAP)


async def workflows(src: Sources, period: Period) -> Workflows:
    runs = await runs_since(src.db, period.start)
    return Workflows(tuple(Run(str(r.id), r.workflow, r.status, r.error) for r in runs
                           if r.started_at < period.end))


async def denials(src: Sources, period: Period) -> Denials:
    query = (select(AuditEvent.policy, AuditEvent.action, func.count())
             .where(AuditEvent.stage == "policy", AuditEvent.decision == "deny",
                    AuditEvent.at >= period.start, AuditEvent.at < period.end)
             .group_by(AuditEvent.policy, AuditEvent.action))
    async with src.db.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    by_policy: dict[str, int] = {}
    by_action: dict[str, int] = {}
    for policy, action, n in rows:
        by_policy[policy] = by_policy.get(policy, 0) + int(n)
        by_action[action] = by_action.get(action, 0) + int(n)
    return Denials(by_policy, by_action)


async def spend(src: Sources, period: Period) -> Spend:
    db, start, end = src.db, period.start, period.end
    month = (month_start(end), next_month_start(end))
    chart_start = max(min(start, end - timedelta(days=CHART_MIN_DAYS)),
                      end - timedelta(days=CHART_MAX_DAYS))
    by_dept, by_model, month_dept, month_proj, daily = await asyncio.gather(
        spend_by(db, start, end, "department"), spend_by(db, start, end, "model"),
        spend_by(db, *month, "department"), spend_by(db, *month, "project"),
        daily_spend(db, chart_start, end))
    spent = {"department": _usd(month_dept), "project": _usd(month_proj)}
    budgets = tuple(BudgetUse(name, spent[scope].get(key, 0.0), budget.monthly_usd)
                    for name, budget in src.budgets().items()
                    for scope, key in [scope_of(name)])
    return Spend(_usd(by_dept), _usd(by_model), budgets, tuple(daily))


def _usd(rows: Sequence[tuple[str, object, int, int]]) -> dict[str, float]:
    return {key: float(usd) for key, usd, _, _ in rows}  # type: ignore[arg-type]


def _tickets(issues: Sequence[JiraIssue]) -> tuple[Ticket, ...]:
    return tuple(Ticket(i.key, i.summary, i.url) for i in issues)
